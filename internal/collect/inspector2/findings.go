package inspector2

// This file collects Amazon Inspector's findings (package and code vulnerabilities, network
// reachability, on EC2 instances, ECR images and Lambda functions) as yagura findings.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsi2 "github.com/aws/aws-sdk-go-v2/service/inspector2"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "inspector2.findings",
		Service: "inspector2",
		Actions: []string{"inspector2:ListFindings"},
		Run:     collectFindings,
	})
}

// collectFindings reads the account's active findings in the region. It filters on the account
// itself because an Inspector delegated administrator also sees its members' findings, which
// the members' own tasks read.
func collectFindings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	eq := func(v string) []i2types.StringFilter {
		return []i2types.StringFilter{{Comparison: i2types.StringComparisonEquals, Value: aws.String(v)}}
	}
	in := &awsi2.ListFindingsInput{
		MaxResults: aws.Int32(100),
		FilterCriteria: &i2types.FilterCriteria{
			AwsAccountId:  eq(t.AccountID),
			FindingStatus: eq(string(i2types.FindingStatusActive)),
		},
	}
	p := awsi2.NewListFindingsPaginator(awsi2.NewFromConfig(t.Config), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Findings {
			if err := sink.PutFinding(native.FromInspector(&page.Findings[i])); err != nil {
				return err
			}
		}
	}
	return nil
}
