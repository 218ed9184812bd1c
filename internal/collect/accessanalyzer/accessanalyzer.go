// Package accessanalyzer collects IAM Access Analyzer analyzers and whether each account-region
// has an active external-access analyzer. Access Analyzer's findings are collected elsewhere.
package accessanalyzer

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeAnalyzer      = "AWS::AccessAnalyzer::Analyzer"
	TypeAccountStatus = "AWS::AccessAnalyzer::AccountStatus"
)

func init() {
	collect.Register(&collect.Collector{
		Name:          "accessanalyzer.analyzers",
		Service:       "accessanalyzer",
		Actions:       []string{"access-analyzer:ListAnalyzers"},
		ResourceTypes: []string{TypeAnalyzer, TypeAccountStatus},
		Run:           collectAnalyzers,
	})
}

// AccountStatusARN is the synthetic ARN of the Access Analyzer status of an account-region.
func AccountStatusARN(t *collect.Target) string {
	return t.ARN("access-analyzer", t.Region, "analyzer-status")
}

// accountStatus says whether external access to this account-region's resources is analysed.
type accountStatus struct {
	// Enabled is true when an ACTIVE analyzer of type ACCOUNT or ORGANIZATION (external access)
	// exists. Unused-access analyzers do not find public or cross-account resources.
	Enabled bool
	// AnalyzerArns lists every analyzer of the region, whatever its type and status.
	AnalyzerArns []string
}

func externalAccess(t types.Type) bool {
	return t == types.TypeAccount || t == types.TypeOrganization
}

func collectAnalyzers(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	status := accountStatus{AnalyzerArns: []string{}}
	p := accessanalyzer.NewListAnalyzersPaginator(accessanalyzer.NewFromConfig(t.Config), &accessanalyzer.ListAnalyzersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for i := range page.Analyzers {
			a := &page.Analyzers[i]
			arn := aws.ToString(a.Arn)
			status.AnalyzerArns = append(status.AnalyzerArns, arn)
			if a.Status == types.AnalyzerStatusActive && externalAccess(a.Type) {
				status.Enabled = true
			}
			r := &inventory.Resource{
				ARN:         arn,
				Type:        TypeAnalyzer,
				AccountID:   t.AccountID,
				Region:      t.Region,
				Name:        aws.ToString(a.Name),
				Config:      inventory.MarshalConfig(a),
				CollectedAt: now,
			}
			if len(a.Tags) > 0 {
				r.Tags = a.Tags
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
	}
	return sink.PutResource(&inventory.Resource{
		ARN:         AccountStatusARN(t),
		Type:        TypeAccountStatus,
		AccountID:   t.AccountID,
		Region:      t.Region,
		Name:        "access-analyzer",
		Config:      inventory.MarshalConfig(status),
		CollectedAt: time.Now().UTC(),
	})
}
