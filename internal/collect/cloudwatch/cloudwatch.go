// Package cloudwatch collects what the CIS monitoring controls join together: CloudWatch Logs
// metric filters, CloudWatch alarms and the SNS topics (with their subscriptions) that alarms
// notify.
package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types.
const (
	TypeLogGroup       = "AWS::Logs::LogGroup"
	TypeMetricFilter   = "AWS::Logs::MetricFilter"
	TypeAlarm          = "AWS::CloudWatch::Alarm"
	TypeCompositeAlarm = "AWS::CloudWatch::CompositeAlarm"
	TypeTopic          = "AWS::SNS::Topic"
)

// RelNotifies links an alarm to the SNS topic its alarm actions publish to.
const RelNotifies = "notifies"

func init() {
	collect.Register(&collect.Collector{
		Name: "logs.metric-filters", Service: "logs",
		Actions:       []string{"logs:DescribeMetricFilters"},
		ResourceTypes: []string{TypeMetricFilter},
		Run:           runMetricFilters,
	})
	collect.Register(&collect.Collector{
		Name: "logs.log-groups", Service: "logs",
		Actions:       []string{"logs:DescribeLogGroups"},
		ResourceTypes: []string{TypeLogGroup},
		Run:           runLogGroups,
	})
	collect.Register(&collect.Collector{
		Name: "cloudwatch.alarms", Service: "cloudwatch",
		Actions:       []string{"cloudwatch:DescribeAlarms"},
		ResourceTypes: []string{TypeAlarm, TypeCompositeAlarm},
		Run:           runAlarms,
	})
	collect.Register(&collect.Collector{
		Name: "sns.topics", Service: "sns",
		Actions:       []string{"sns:ListTopics", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"},
		ResourceTypes: []string{TypeTopic},
		Run:           runTopics,
	})
}

// LogGroupARN is the ARN of a log group without the ":*" suffix that CloudTrail's
// CloudWatchLogsLogGroupArn carries; the cloudtrail collector normalizes to the same form.
func LogGroupARN(t *collect.Target, group string) string {
	return t.ARN("logs", t.Region, "log-group:"+group)
}

// MetricFilterARN is the synthetic ARN of a metric filter (filters have no ARN of their own).
func MetricFilterARN(t *collect.Target, group, filter string) string {
	return t.ARN("logs", t.Region, "log-group:"+group+":metric-filter:"+filter)
}

func resource(t *collect.Target, arn, typ, name string, tags map[string]string, cfg any, errs map[string]string) *inventory.Resource {
	r := &inventory.Resource{ARN: arn, Type: typ, AccountID: t.AccountID, Region: t.Region, Name: name, Tags: tags,
		Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC()}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}

// runLogGroups lists log groups, so that a trail's log group can be found and its retention and
// encryption judged. Tags are not read (one call per group).
func runLogGroups(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(cloudwatchlogs.NewFromConfig(t.Config), &cloudwatchlogs.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, g := range page.LogGroups {
			name := aws.ToString(g.LogGroupName)
			arn := LogGroupARN(t, name)
			if err := sink.PutResource(resource(t, arn, TypeLogGroup, name, nil, g, nil)); err != nil {
				return err
			}
			if k := aws.ToString(g.KmsKeyId); k != "" {
				if err := sink.PutRelationship(inventory.Relationship{From: arn, To: k, Kind: inventory.RelEncryptedBy}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func runMetricFilters(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(cloudwatchlogs.NewFromConfig(t.Config), &cloudwatchlogs.DescribeMetricFiltersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, f := range page.MetricFilters {
			group, name := aws.ToString(f.LogGroupName), aws.ToString(f.FilterName)
			arn := MetricFilterARN(t, group, name)
			if err := sink.PutResource(resource(t, arn, TypeMetricFilter, name, nil, f, nil)); err != nil {
				return err
			}
			if err := sink.PutRelationship(inventory.Relationship{From: arn, To: LogGroupARN(t, group), Kind: inventory.RelAttachedTo}); err != nil {
				return err
			}
		}
	}
	return nil
}

// CloudWatchOptions makes the CloudWatch client speak awsQuery to emulators. The SDK speaks Smithy
// RPC v2 CBOR by default, which moto does not understand; CloudWatch itself accepts both, so
// real AWS keeps the SDK's default.
func CloudWatchOptions(cfg aws.Config) func(*awscw.Options) {
	return func(o *awscw.Options) {
		if awsx.IsEmulator(cfg) {
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	}
}

func runAlarms(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := awscw.NewDescribeAlarmsPaginator(awscw.NewFromConfig(t.Config, CloudWatchOptions(t.Config)), &awscw.DescribeAlarmsInput{
		// Without AlarmTypes DescribeAlarms returns metric alarms only.
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, a := range page.MetricAlarms {
			if err := putAlarm(t, sink, aws.ToString(a.AlarmArn), TypeAlarm, aws.ToString(a.AlarmName), a, a.AlarmActions); err != nil {
				return err
			}
		}
		for _, a := range page.CompositeAlarms {
			if err := putAlarm(t, sink, aws.ToString(a.AlarmArn), TypeCompositeAlarm, aws.ToString(a.AlarmName), a, a.AlarmActions); err != nil {
				return err
			}
		}
	}
	return nil
}

func putAlarm(t *collect.Target, sink collect.Sink, arn, typ, name string, cfg any, actions []string) error {
	if err := sink.PutResource(resource(t, arn, typ, name, nil, cfg, nil)); err != nil {
		return err
	}
	for _, a := range actions {
		if strings.Contains(a, ":sns:") {
			if err := sink.PutRelationship(inventory.Relationship{From: arn, To: a, Kind: RelNotifies}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Subscription is one subscription of a topic as ListSubscriptionsByTopic returns it.
type Subscription struct {
	SubscriptionArn *string
	Protocol        *string
	Endpoint        *string
	Owner           *string
}

func runTopics(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := sns.NewFromConfig(t.Config)
	p := sns.NewListTopicsPaginator(client, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, tp := range page.Topics {
			r, key := describeTopic(ctx, t, client, aws.ToString(tp.TopicArn))
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if key != "" {
				if err := sink.PutRelationship(inventory.Relationship{From: r.ARN, To: key, Kind: inventory.RelEncryptedBy}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// describeTopic reads a topic's attributes and subscriptions; it returns the topic and the ARN
// of its KMS key, if encrypted.
func describeTopic(ctx context.Context, t *collect.Target, client *sns.Client, arn string) (*inventory.Resource, string) {
	errs := map[string]string{}
	fail := func(key string, err error) {
		_, reason := awsx.Classify(err)
		errs[key] = reason
	}
	cfg := map[string]any{"TopicArn": arn, "Attributes": nil, "Policy": nil, "Subscriptions": nil}
	var key string
	if out, err := client.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)}); err != nil {
		fail("Attributes", err)
		fail("Policy", err)
	} else {
		cfg["Attributes"] = out.Attributes
		if pol := out.Attributes["Policy"]; pol != "" {
			var doc any
			if err := json.Unmarshal([]byte(pol), &doc); err != nil {
				cfg["Policy"] = pol
				errs["Policy"] = fmt.Sprintf("malformed policy document: %v", err)
			} else {
				cfg["Policy"] = doc
			}
		}
		if k := out.Attributes["KmsMasterKeyId"]; k != "" {
			key = k
			if !strings.HasPrefix(k, "arn:") {
				if !strings.HasPrefix(k, "alias/") {
					k = "key/" + k
				}
				key = t.ARN("kms", t.Region, k)
			}
		}
	}
	subs := []Subscription{}
	sp := sns.NewListSubscriptionsByTopicPaginator(client, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			fail("Subscriptions", err)
			subs = nil
			break
		}
		for _, s := range page.Subscriptions {
			subs = append(subs, Subscription{SubscriptionArn: s.SubscriptionArn, Protocol: s.Protocol, Endpoint: s.Endpoint, Owner: s.Owner})
		}
	}
	if subs != nil {
		cfg["Subscriptions"] = subs
	}
	tags := map[string]string{}
	if out, err := client.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); err != nil {
		fail("Tags", err)
	} else {
		for _, tag := range out.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return resource(t, arn, TypeTopic, arn[strings.LastIndex(arn, ":")+1:], tags, cfg, errs), key
}
