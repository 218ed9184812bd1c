package securityhub

// This file collects Security Hub's findings (ASFF) as yagura findings; the hub's configuration
// is collected in securityhub.go.

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/iamname"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "securityhub.findings",
		Service: "securityhub",
		Actions: append([]string{"securityhub:GetFindings", "securityhub:ListFindingAggregators",
			"securityhub:GetFindingAggregator", "securityhub:GetAdministratorAccount"}, iamname.Actions...),
		Run: collectFindings,
	})
}

// collectFindings reads the active findings of every product. Where the organization has a
// Security Hub administrator, the administrator's tasks read the findings of all members: in the
// finding aggregation region for every linked region, elsewhere region by region; the members'
// own tasks then read nothing (they would read the same findings again). Without an
// administrator each account reads its own findings in each region.
func collectFindings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := securityhub.NewFromConfig(t.Config)
	if readElsewhere(ctx, client, t) {
		return nil
	}
	in := &securityhub.GetFindingsInput{
		MaxResults: aws.Int32(100),
		Filters: &types.AwsSecurityFindingFilters{
			RecordState: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("ACTIVE")}},
		},
	}
	names := iamname.New(t.Config)
	p := securityhub.NewGetFindingsPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Findings {
			// The filter already asks for active records; checking again costs nothing and keeps
			// archived ones out where a filter is ignored (moto ignores it).
			if page.Findings[i].RecordState == types.RecordStateArchived {
				continue
			}
			f := native.FromASFF(&page.Findings[i])
			if f.AccountID == t.AccountID {
				// A credential finding names the principal without its IAM path; IAM here can
				// only tell about this account's principals (a member's are resolved when
				// read directly, and that copy wins the merge).
				names.Resolve(ctx, f)
			}
			// A control yagura also checks takes the yagura finding's id, so the two merge.
			native.AdoptControl(f)
			if err := sink.PutFinding(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// readElsewhere reports whether another task of the scan reads this account-region's findings:
// a finding aggregator in this account links this region to another aggregation region, or the
// account is a member of a Security Hub administrator inside the organization. Failures of these
// lookups (an emulator that lacks them, a role without the permission) mean "read here": reading
// twice is harmless (the ids are the same), reading nothing is not.
func readElsewhere(ctx context.Context, client *securityhub.Client, t *collect.Target) bool {
	if aggRegion, linked, ok := aggregation(ctx, client); ok {
		if aggRegion == t.Region {
			return false
		}
		if linked(t.Region) {
			return true
		}
	}
	out, err := client.GetAdministratorAccount(ctx, &securityhub.GetAdministratorAccountInput{})
	if err != nil || out.Administrator == nil {
		return false
	}
	admin := aws.ToString(out.Administrator.AccountId)
	return admin != "" && admin != t.AccountID && strings.EqualFold(aws.ToString(out.Administrator.MemberStatus), "Enabled") &&
		slices.Contains(t.OrgAccounts, admin)
}

// aggregation returns the account's finding aggregation region and which regions it links.
func aggregation(ctx context.Context, client *securityhub.Client) (region string, linked func(string) bool, ok bool) {
	list, err := client.ListFindingAggregators(ctx, &securityhub.ListFindingAggregatorsInput{})
	if err != nil || len(list.FindingAggregators) == 0 {
		return "", nil, false
	}
	arn := aws.ToString(list.FindingAggregators[0].FindingAggregatorArn)
	agg, err := client.GetFindingAggregator(ctx, &securityhub.GetFindingAggregatorInput{FindingAggregatorArn: aws.String(arn)})
	if err != nil {
		return "", nil, false
	}
	region = aws.ToString(agg.FindingAggregationRegion)
	if region == "" {
		if p := strings.Split(arn, ":"); len(p) > 3 {
			region = p[3]
		}
	}
	regions := agg.Regions
	mode := aws.ToString(agg.RegionLinkingMode)
	return region, func(r string) bool {
		switch mode {
		case "ALL_REGIONS":
			return true
		case "ALL_REGIONS_EXCEPT_SPECIFIED":
			return !slices.Contains(regions, r)
		case "SPECIFIED_REGIONS":
			return slices.Contains(regions, r)
		case "NO_REGIONS":
			return false
		}
		return false
	}, true
}
