package guardduty

// This file collects GuardDuty's findings as yagura findings; detector configuration is
// collected in guardduty.go.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsgd "github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "guardduty.findings",
		Service: "guardduty",
		Actions: []string{"guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings", "iam:GetUser", "iam:GetRole"},
		Run:     collectFindings,
	})
}

// getFindingsMax is how many ids GetFindings accepts at once; ListFindings pages are asked for
// at that size so that each page costs exactly one GetFindings.
const getFindingsMax = 50

// collectFindings reads the unarchived findings of every detector of the account-region, page
// by page. A region without a detector has nothing to read and is not an error. Findings are
// limited to the account's own, because a GuardDuty administrator's detector also lists its
// members' findings, which their own tasks read.
func collectFindings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsgd.NewFromConfig(t.Config)
	names := &iamNames{client: iam.NewFromConfig(t.Config), arns: map[string]string{}, errs: map[string]string{}}
	dp := awsgd.NewListDetectorsPaginator(client, &awsgd.ListDetectorsInput{})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, det := range page.DetectorIds {
			if err := detectorFindings(ctx, client, t, det, names, sink); err != nil {
				return err
			}
		}
	}
	return nil
}

func detectorFindings(ctx context.Context, client *awsgd.Client, t *collect.Target, detector string, names *iamNames, sink collect.Sink) error {
	in := &awsgd.ListFindingsInput{
		DetectorId: aws.String(detector),
		MaxResults: aws.Int32(getFindingsMax),
		FindingCriteria: &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{
			"service.archived": {Equals: []string{"false"}},
			"accountId":        {Equals: []string{t.AccountID}},
		}},
	}
	p := awsgd.NewListFindingsPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for start := 0; start < len(page.FindingIds); start += getFindingsMax {
			ids := page.FindingIds[start:min(start+getFindingsMax, len(page.FindingIds))]
			out, err := client.GetFindings(ctx, &awsgd.GetFindingsInput{DetectorId: aws.String(detector), FindingIds: ids})
			if err != nil {
				return err
			}
			for i := range out.Findings {
				if s := out.Findings[i].Service; s != nil && aws.ToBool(s.Archived) {
					// The criterion already excludes archived findings; an archived one that
					// slips through (an emulator, a finding archived between the two calls) is
					// dropped too, so that archiving a finding resolves it like a fix does.
					continue
				}
				f := native.FromGuardDuty(&out.Findings[i])
				names.resolve(ctx, f)
				if err := sink.PutFinding(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// iamNames gives the IAM users and roles GuardDuty names by name alone their inventory ARNs,
// which carry the path (arn:aws:iam::ACCOUNT:user/PATH/NAME): one GetUser or GetRole per
// distinct name and task. A principal that cannot be read (deleted since, permission) keeps
// the path-less ARN, marked unmatched with the reason.
type iamNames struct {
	client *iam.Client
	arns   map[string]string // kind/name → ARN
	errs   map[string]string // kind/name → why it could not be read
}

func (n *iamNames) resolve(ctx context.Context, f *finding.Finding) {
	kind, name := native.GuardDutyIAMName(f)
	if kind == "" || name == "" {
		return
	}
	key := kind + "/" + name
	if _, done := n.arns[key]; !done && n.errs[key] == "" {
		var arn *string
		var err error
		if kind == "user" {
			var out *iam.GetUserOutput
			if out, err = n.client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)}); err == nil && out.User != nil {
				arn = out.User.Arn
			}
		} else {
			var out *iam.GetRoleOutput
			if out, err = n.client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil && out.Role != nil {
				arn = out.Role.Arn
			}
		}
		switch {
		case err != nil:
			_, n.errs[key] = awsx.Classify(err)
		case aws.ToString(arn) == "":
			n.errs[key] = "IAM returned no ARN"
		default:
			n.arns[key] = aws.ToString(arn)
		}
	}
	if arn := n.arns[key]; arn != "" {
		native.Matched(f, arn)
		return
	}
	native.MarkUnmatched(f, "", native.Unmatched(f)+"; IAM could not resolve it: "+n.errs[key])
}
