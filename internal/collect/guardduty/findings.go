package guardduty

// This file collects GuardDuty's findings as yagura findings; detector configuration is
// collected in guardduty.go.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsgd "github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/iamname"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "guardduty.findings",
		Service: "guardduty",
		Actions: append([]string{"guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings"}, iamname.Actions...),
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
	names := iamname.New(t.Config)
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

func detectorFindings(ctx context.Context, client *awsgd.Client, t *collect.Target, detector string, names *iamname.Resolver, sink collect.Sink) error {
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
				names.Resolve(ctx, f)
				if err := sink.PutFinding(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
