package accessanalyzer

// This file collects IAM Access Analyzer's active findings (external access and unused access)
// as yagura findings; analyzers themselves are collected in accessanalyzer.go.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsaa "github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "accessanalyzer.findings",
		Service: "accessanalyzer",
		Actions: []string{"access-analyzer:ListAnalyzers", "access-analyzer:ListFindings", "access-analyzer:ListFindingsV2"},
		Run:     collectFindings,
	})
}

// collectFindings reads the active findings of every active analyzer of the account-region,
// whatever its type: account or organization zone of trust, external or unused access. An
// organization analyzer (in the management or delegated administrator account) reports the
// members' resources too; those findings keep the analyzer in their id, so they do not collide
// with an account analyzer's finding about the same resource.
func collectFindings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsaa.NewFromConfig(t.Config)
	ap := awsaa.NewListAnalyzersPaginator(client, &awsaa.ListAnalyzersInput{})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, a := range page.Analyzers {
			if a.Status != aatypes.AnalyzerStatusActive {
				continue
			}
			var err error
			switch a.Type {
			case aatypes.TypeAccount, aatypes.TypeOrganization:
				err = externalFindings(ctx, client, t, aws.ToString(a.Arn), sink)
			default:
				err = analyzerFindings(ctx, client, t, aws.ToString(a.Arn), sink)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// externalFindings reads an external access analyzer's findings with ListFindings, whose
// summaries carry the principals, actions and public flag that ListFindingsV2's lack.
func externalFindings(ctx context.Context, client *awsaa.Client, t *collect.Target, analyzer string, sink collect.Sink) error {
	p := awsaa.NewListFindingsPaginator(client, &awsaa.ListFindingsInput{
		AnalyzerArn: aws.String(analyzer),
		MaxResults:  aws.Int32(100),
		Filter:      map[string]aatypes.Criterion{"status": {Eq: []string{string(aatypes.FindingStatusActive)}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Findings {
			if err := sink.PutFinding(native.FromAccessAnalyzerExternal(analyzer, t.Region, &page.Findings[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// analyzerFindings reads an unused access analyzer's findings with ListFindingsV2.
func analyzerFindings(ctx context.Context, client *awsaa.Client, t *collect.Target, analyzer string, sink collect.Sink) error {
	p := awsaa.NewListFindingsV2Paginator(client, &awsaa.ListFindingsV2Input{
		AnalyzerArn: aws.String(analyzer),
		MaxResults:  aws.Int32(100),
		Filter:      map[string]aatypes.Criterion{"status": {Eq: []string{string(aatypes.FindingStatusActive)}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Findings {
			if err := sink.PutFinding(native.FromAccessAnalyzer(analyzer, t.Region, &page.Findings[i])); err != nil {
				return err
			}
		}
	}
	return nil
}
