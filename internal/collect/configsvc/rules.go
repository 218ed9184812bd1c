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

func init() {
	collect.Register(&collect.Collector{
		Name: "config.aggregate-compliance", Service: "config",
		Actions: []string{"config:DescribeConfigurationAggregators", "config:DescribeAggregateComplianceByConfigRules",
			"config:GetAggregateComplianceDetailsByConfigRule"},
		Run: collectAggregateCompliance,
	})
}

// collectAggregateCompliance reads rule compliance through every configuration aggregator of
// the account-region (usually the organization's, in the delegated administrator's account). It
// complements the per-account reading: it covers accounts whose audit role is missing and
// accounts outside the scan. A finding read both ways gets the same id (the source id names
// account, region, rule and resource), so the two copies are one finding.
func collectAggregateCompliance(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := configservice.NewFromConfig(t.Config)
	ap := configservice.NewDescribeConfigurationAggregatorsPaginator(client, &configservice.DescribeConfigurationAggregatorsInput{})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, agg := range page.ConfigurationAggregators {
			if err := aggregateRules(ctx, client, t, aws.ToString(agg.ConfigurationAggregatorName), sink); err != nil {
				return err
			}
		}
	}
	return nil
}

func aggregateRules(ctx context.Context, client *configservice.Client, t *collect.Target, aggregator string, sink collect.Sink) error {
	p := configservice.NewDescribeAggregateComplianceByConfigRulesPaginator(client, &configservice.DescribeAggregateComplianceByConfigRulesInput{
		ConfigurationAggregatorName: aws.String(aggregator),
		Filters:                     &cfgtypes.ConfigRuleComplianceFilters{ComplianceType: cfgtypes.ComplianceTypeNonCompliant},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range page.AggregateComplianceByConfigRules {
			if r.Compliance != nil && r.Compliance.ComplianceType != cfgtypes.ComplianceTypeNonCompliant {
				continue
			}
			if err := aggregateEvaluations(ctx, client, t, aggregator, &r, sink); err != nil {
				return err
			}
		}
	}
	return nil
}

func aggregateEvaluations(ctx context.Context, client *configservice.Client, t *collect.Target, aggregator string,
	r *cfgtypes.AggregateComplianceByConfigRule, sink collect.Sink) error {
	p := configservice.NewGetAggregateComplianceDetailsByConfigRulePaginator(client, &configservice.GetAggregateComplianceDetailsByConfigRuleInput{
		ConfigurationAggregatorName: aws.String(aggregator),
		ConfigRuleName:              r.ConfigRuleName,
		AccountId:                   r.AccountId,
		AwsRegion:                   r.AwsRegion,
		ComplianceType:              cfgtypes.ComplianceTypeNonCompliant,
		Limit:                       100,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, e := range page.AggregateEvaluationResults {
			ev := cfgtypes.EvaluationResult{Annotation: e.Annotation, ComplianceType: e.ComplianceType, ConfigRuleInvokedTime: e.ConfigRuleInvokedTime,
				EvaluationResultIdentifier: e.EvaluationResultIdentifier, ResultRecordedTime: e.ResultRecordedTime}
			account, region := aws.ToString(e.AccountId), aws.ToString(e.AwsRegion)
			if account == "" {
				account = aws.ToString(r.AccountId)
			}
			if region == "" {
				region = aws.ToString(r.AwsRegion)
			}
			if err := sink.PutFinding(native.FromConfigEvaluation(t.Partition, account, region, &ev)); err != nil {
				return err
			}
		}
	}
	return nil
}
