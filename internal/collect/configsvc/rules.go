package configsvc

// This file collects the compliance of AWS Config rules as yagura findings, one per
// non-compliant resource of each rule.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name: "config.rule-compliance", Service: "config",
		Actions: []string{"config:DescribeComplianceByConfigRule", "config:GetComplianceDetailsByConfigRule", "config:BatchGetResourceConfig"},
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
		fs := make([]*finding.Finding, len(page.EvaluationResults))
		keys := make([]resourceKey, len(page.EvaluationResults))
		for i := range page.EvaluationResults {
			fs[i] = native.FromConfigEvaluation(t.Partition, t.AccountID, t.Region, &page.EvaluationResults[i])
			keys[i] = keyOf(t.AccountID, t.Region, &page.EvaluationResults[i])
		}
		if err := putResolved(sink, fs, keys, func(ks []resourceKey) (map[resourceKey]string, error) {
			return resourceARNs(ctx, client, ks)
		}); err != nil {
			return err
		}
	}
	return nil
}

// resourceKey names a resource as Config does: account, region, type and Config's resource id.
type resourceKey struct{ account, region, rtype, id string }

func keyOf(account, region string, r *cfgtypes.EvaluationResult) resourceKey {
	k := resourceKey{account: account, region: region}
	if r.EvaluationResultIdentifier != nil && r.EvaluationResultIdentifier.EvaluationResultQualifier != nil {
		q := r.EvaluationResultIdentifier.EvaluationResultQualifier
		k.rtype, k.id = aws.ToString(q.ResourceType), aws.ToString(q.ResourceId)
	}
	return k
}

// putResolved writes one page of findings (keys[i] names fs[i]'s resource). Those whose resource
// Config names by an id that is not the stuff of an ARN (IAM unique ids, RDS resource ids, …)
// are first resolved with one lookup of the page's configuration items, which carry the real
// ARN; what the lookup cannot resolve keeps Config's id, marked unmatched with the reason. A
// failed lookup (permission, throttling) does not fail the task: the findings are still true.
func putResolved(sink collect.Sink, fs []*finding.Finding, keys []resourceKey, lookup func([]resourceKey) (map[resourceKey]string, error)) error {
	var want []resourceKey
	seen := map[resourceKey]bool{}
	for i, f := range fs {
		if k := keys[i]; native.Unmatched(f) != "" && k.rtype != "" && k.id != "" && !seen[k] {
			seen[k] = true
			want = append(want, k)
		}
	}
	var arns map[resourceKey]string
	var lookupErr error
	if len(want) > 0 {
		arns, lookupErr = lookup(want)
	}
	for i, f := range fs {
		if seen[keys[i]] {
			switch arn := arns[keys[i]]; {
			case arn != "":
				native.Matched(f, arn)
			case lookupErr != nil:
				_, reason := awsx.Classify(lookupErr)
				native.MarkUnmatched(f, keys[i].id, native.Unmatched(f)+"; its configuration item could not be read: "+reason)
			default:
				native.MarkUnmatched(f, keys[i].id, native.Unmatched(f)+"; Config has no configuration item with its ARN")
			}
		}
		if err := sink.PutFinding(f); err != nil {
			return err
		}
	}
	return nil
}

// resourceARNs reads the ARNs of the account-region's resources ks from their configuration
// items (BatchGetResourceConfig takes up to 100 keys, a page of evaluations at most).
func resourceARNs(ctx context.Context, client *configservice.Client, ks []resourceKey) (map[resourceKey]string, error) {
	in := &configservice.BatchGetResourceConfigInput{}
	for _, k := range ks {
		in.ResourceKeys = append(in.ResourceKeys, cfgtypes.ResourceKey{ResourceType: cfgtypes.ResourceType(k.rtype), ResourceId: aws.String(k.id)})
	}
	out, err := client.BatchGetResourceConfig(ctx, in)
	if err != nil {
		return nil, err
	}
	arns := map[resourceKey]string{}
	for _, ci := range out.BaseConfigurationItems {
		arns[resourceKey{account: ks[0].account, region: ks[0].region, rtype: string(ci.ResourceType), id: aws.ToString(ci.ResourceId)}] = aws.ToString(ci.Arn)
	}
	return arns, nil
}

// aggregateResourceARNs is resourceARNs through an aggregator, for resources of any account and
// region it covers.
func aggregateResourceARNs(ctx context.Context, client *configservice.Client, aggregator string, ks []resourceKey) (map[resourceKey]string, error) {
	in := &configservice.BatchGetAggregateResourceConfigInput{ConfigurationAggregatorName: aws.String(aggregator)}
	for _, k := range ks {
		in.ResourceIdentifiers = append(in.ResourceIdentifiers, cfgtypes.AggregateResourceIdentifier{ResourceType: cfgtypes.ResourceType(k.rtype),
			ResourceId: aws.String(k.id), SourceAccountId: aws.String(k.account), SourceRegion: aws.String(k.region)})
	}
	out, err := client.BatchGetAggregateResourceConfig(ctx, in)
	if err != nil {
		return nil, err
	}
	arns := map[resourceKey]string{}
	for _, ci := range out.BaseConfigurationItems {
		arns[resourceKey{account: aws.ToString(ci.AccountId), region: aws.ToString(ci.AwsRegion), rtype: string(ci.ResourceType),
			id: aws.ToString(ci.ResourceId)}] = aws.ToString(ci.Arn)
	}
	return arns, nil
}

func init() {
	collect.Register(&collect.Collector{
		Name: "config.aggregate-compliance", Service: "config",
		Actions: []string{"config:DescribeConfigurationAggregators", "config:DescribeAggregateComplianceByConfigRules",
			"config:GetAggregateComplianceDetailsByConfigRule", "config:BatchGetAggregateResourceConfig"},
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
		fs := make([]*finding.Finding, 0, len(page.AggregateEvaluationResults))
		keys := make([]resourceKey, 0, len(page.AggregateEvaluationResults))
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
			fs = append(fs, native.FromConfigEvaluation(t.Partition, account, region, &ev))
			keys = append(keys, keyOf(account, region, &ev))
		}
		if err := putResolved(sink, fs, keys, func(ks []resourceKey) (map[resourceKey]string, error) {
			return aggregateResourceARNs(ctx, client, aggregator, ks)
		}); err != nil {
			return err
		}
	}
	return nil
}
