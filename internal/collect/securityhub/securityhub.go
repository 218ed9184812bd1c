// Package securityhub collects whether AWS Security Hub is enabled in each account and region,
// which standards are enabled, who administers the account, and the finding aggregator.
// Security Hub's findings are collected elsewhere.
package securityhub

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeHub               = "AWS::SecurityHub::Hub"
	TypeFindingAggregator = "AWS::SecurityHub::FindingAggregator"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "securityhub.hub",
		Service: "securityhub",
		Actions: []string{
			"securityhub:DescribeHub", "securityhub:GetEnabledStandards", "securityhub:GetAdministratorAccount",
		},
		ResourceTypes: []string{TypeHub},
		Run:           collectHub,
	})
	collect.Register(&collect.Collector{
		Name:          "securityhub.finding-aggregators",
		Service:       "securityhub",
		Actions:       []string{"securityhub:ListFindingAggregators", "securityhub:GetFindingAggregator"},
		ResourceTypes: []string{TypeFindingAggregator},
		Run:           collectAggregators,
	})
}

// notSubscribed reports Security Hub's answer for an account-region where it is not enabled;
// that is a valid state to record, not a failed collection.
func notSubscribed(err error) bool {
	return awsx.ErrorCode(err) == "InvalidAccessException"
}

// HubARN is the ARN of the account-region's hub; AWS names every hub "default".
func HubARN(t *collect.Target) string {
	return t.ARN("securityhub", t.Region, "hub/default")
}

type hubConfig struct {
	*securityhub.DescribeHubOutput
	// ResultMetadata shadows the SDK's call metadata, which is not part of the hub.
	ResultMetadata *struct{} `json:",omitempty"`
	Enabled        bool
	// Standards are the enabled standards subscriptions (GetEnabledStandards).
	Standards []types.StandardsSubscription
	// AdministratorAccount is the Security Hub administrator this account is a member of, null
	// when it has none (it is standalone or the administrator itself).
	AdministratorAccount *types.Invitation
}

func collectHub(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := securityhub.NewFromConfig(t.Config)
	r := &inventory.Resource{
		ARN:       HubARN(t),
		Type:      TypeHub,
		AccountID: t.AccountID,
		Region:    t.Region,
		Name:      "default",
	}
	hub, err := client.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	if notSubscribed(err) {
		r.Config = inventory.MarshalConfig(map[string]bool{"Enabled": false})
		r.CollectedAt = time.Now().UTC()
		return sink.PutResource(r)
	}
	if err != nil {
		return err
	}
	if hub.HubArn != nil {
		r.ARN = aws.ToString(hub.HubArn)
	}
	cfg := hubConfig{DescribeHubOutput: hub, Enabled: true, Standards: []types.StandardsSubscription{}}
	fail := func(attr string, err error) {
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		_, r.Errors[attr] = awsx.Classify(err)
	}
	p := securityhub.NewGetEnabledStandardsPaginator(client, &securityhub.GetEnabledStandardsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			cfg.Standards = nil
			fail("Standards", err)
			break
		}
		cfg.Standards = append(cfg.Standards, page.StandardsSubscriptions...)
	}
	if admin, err := client.GetAdministratorAccount(ctx, &securityhub.GetAdministratorAccountInput{}); err != nil {
		fail("AdministratorAccount", err)
	} else {
		cfg.AdministratorAccount = admin.Administrator
	}
	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	return sink.PutResource(r)
}

type aggregatorConfig struct {
	*securityhub.GetFindingAggregatorOutput
	ResultMetadata *struct{} `json:",omitempty"`
}

func collectAggregators(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := securityhub.NewFromConfig(t.Config)
	p := securityhub.NewListFindingAggregatorsPaginator(client, &securityhub.ListFindingAggregatorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if notSubscribed(err) {
			// No hub, so no aggregator: the hub collector records that Security Hub is off.
			return nil
		}
		if err != nil {
			return err
		}
		for _, a := range page.FindingAggregators {
			arn := aws.ToString(a.FindingAggregatorArn)
			r := &inventory.Resource{
				ARN:       arn,
				Type:      TypeFindingAggregator,
				AccountID: t.AccountID,
				Region:    t.Region,
				Name:      arn[strings.LastIndex(arn, "/")+1:],
			}
			out, err := client.GetFindingAggregator(ctx, &securityhub.GetFindingAggregatorInput{FindingAggregatorArn: a.FindingAggregatorArn})
			if err != nil {
				_, reason := awsx.Classify(err)
				r.Errors = map[string]string{"FindingAggregator": reason}
				r.Config = inventory.MarshalConfig(a)
			} else {
				// The account's one aggregator may be visible from other regions too; the task
				// of its aggregation region records it, so that a scan holds it once.
				if home := aws.ToString(out.FindingAggregationRegion); home != "" && home != t.Region {
					continue
				}
				r.Config = inventory.MarshalConfig(aggregatorConfig{GetFindingAggregatorOutput: out})
			}
			r.CollectedAt = time.Now().UTC()
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
	}
	return nil
}
