package configsvc

// This file collects the compliance of AWS Config rules as yagura findings, one per
// non-compliant resource of each rule.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name: "config.rule-compliance", Service: "config",
		Actions: []string{"config:DescribeComplianceByConfigRule", "config:GetComplianceDetailsByConfigRule"},
		Run:     collectRuleCompliance,
	})
}

// collectRuleCompliance lists the rules that are not met in the account-region and reads their
// non-compliant evaluations. Compliant evaluations are not written: a resource that becomes
// compliant drops out, and the lifecycle resolves its finding because this task succeeded.
func collectRuleCompliance(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := configservice.NewFromConfig(t.Config)
	p := configservice.NewDescribeComplianceByConfigRulePaginator(client, &configservice.DescribeComplianceByConfigRuleInput{
		ComplianceTypes: []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNonCompliant},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, rule := range page.ComplianceByConfigRules {
			if rule.Compliance != nil && rule.Compliance.ComplianceType != cfgtypes.ComplianceTypeNonCompliant {
				continue
			}
			if err := ruleEvaluations(ctx, client, t, aws.ToString(rule.ConfigRuleName), sink); err != nil {
				return err
			}
		}
	}
	return nil
}

func ruleEvaluations(ctx context.Context, client *configservice.Client, t *collect.Target, rule string, sink collect.Sink) error {
	p := configservice.NewGetComplianceDetailsByConfigRulePaginator(client, &configservice.GetComplianceDetailsByConfigRuleInput{
		ConfigRuleName:  aws.String(rule),
		ComplianceTypes: []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNonCompliant},
		Limit:           100,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.EvaluationResults {
			if err := sink.PutFinding(native.FromConfigEvaluation(t.Partition, t.AccountID, t.Region, &page.EvaluationResults[i])); err != nil {
				return err
			}
		}
	}
	return nil
}
