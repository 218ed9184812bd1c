package cloudwatch_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	cwc "github.com/yagura-dev/yagura/internal/collect/cloudwatch"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const rootPattern = `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`

func TestMonitoring(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)

	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{})
	must(t, err, "CreateKey")
	keyArn := aws.ToString(key.KeyMetadata.Arn)
	logs := cloudwatchlogs.NewFromConfig(cfg)
	_, err = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("cloudtrail"), KmsKeyId: aws.String(keyArn)})
	must(t, err, "CreateLogGroup")
	_, err = logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("cloudtrail"), RetentionInDays: aws.Int32(365)})
	must(t, err, "PutRetentionPolicy")
	_, err = logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("cloudtrail"), FilterName: aws.String("root-usage"),
		FilterPattern: aws.String(rootPattern), MetricTransformations: []logtypes.MetricTransformation{{
			MetricName: aws.String("RootAccountUsage"), MetricNamespace: aws.String("CISBenchmark"), MetricValue: aws.String("1")}}})
	must(t, err, "PutMetricFilter")

	topics := sns.NewFromConfig(cfg)
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("security-alerts"), Tags: []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	must(t, err, "CreateTopic")
	topicArn := aws.ToString(topic.TopicArn)
	_, err = topics.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("sec@example.com")})
	must(t, err, "Subscribe")

	_, err = awscw.NewFromConfig(cfg, cwc.CloudWatchOptions(cfg)).PutMetricAlarm(ctx, &awscw.PutMetricAlarmInput{AlarmName: aws.String("root-usage"),
		MetricName: aws.String("RootAccountUsage"), Namespace: aws.String("CISBenchmark"), Statistic: cwtypes.StatisticSum,
		Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{topicArn}})
	must(t, err, "PutMetricAlarm")

	euTopic, err := sns.NewFromConfig(regionCfg(memberCfg, "eu-west-1")).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("member-eu")})
	must(t, err, "CreateTopic member")

	run := func(name string, c aws.Config, account, region string) *collecttest.Sink {
		t.Helper()
		s, err := collecttest.Run(t, name, c, account, region)
		must(t, err, name)
		for _, r := range s.Resources {
			if r.Region != region || r.AccountID != account || len(r.Errors) != 0 {
				t.Errorf("%s: %s region %q account %q errors %v", name, r.ARN, r.Region, r.AccountID, r.Errors)
			}
		}
		return s
	}

	t.Run("log groups", func(t *testing.T) {
		s := run("logs.log-groups", cfg, mgmt, "us-east-1")
		r := s.ByARN("arn:aws:logs:us-east-1:" + mgmt + ":log-group:cloudtrail")
		if r == nil || r.Type != cwc.TypeLogGroup || r.Name != "cloudtrail" {
			t.Fatalf("log groups %+v", s.Resources)
		}
		if m := decode(t, r); m["RetentionInDays"] != float64(365) {
			t.Errorf("log group %s", r.Config)
		}
		if !s.HasRelationship(r.ARN, inventory.RelEncryptedBy, keyArn) {
			t.Errorf("relationships %v", s.Relationships)
		}
	})
	t.Run("metric filters", func(t *testing.T) {
		s := run("logs.metric-filters", cfg, mgmt, "us-east-1")
		arn := "arn:aws:logs:us-east-1:" + mgmt + ":log-group:cloudtrail:metric-filter:root-usage"
		r := s.ByARN(arn)
		if r == nil || r.Type != cwc.TypeMetricFilter {
			t.Fatalf("filters %+v", s.Resources)
		}
		m := decode(t, r)
		mt, _ := m["MetricTransformations"].([]any)
		if m["FilterPattern"] != rootPattern || len(mt) != 1 || mt[0].(map[string]any)["MetricName"] != "RootAccountUsage" {
			t.Errorf("filter %s", r.Config)
		}
		if !s.HasRelationship(arn, inventory.RelAttachedTo, "arn:aws:logs:us-east-1:"+mgmt+":log-group:cloudtrail") {
			t.Errorf("relationships %v", s.Relationships)
		}
		if es := run("logs.metric-filters", cfg, mgmt, "eu-west-1"); len(es.Resources) != 0 {
			t.Errorf("eu-west-1 has no filters: %+v", es.Resources)
		}
	})
	t.Run("alarms", func(t *testing.T) {
		s := run("cloudwatch.alarms", cfg, mgmt, "us-east-1")
		as := s.ByType(cwc.TypeAlarm)
		if len(as) != 1 || as[0].Name != "root-usage" || as[0].ARN != "arn:aws:cloudwatch:us-east-1:"+mgmt+":alarm:root-usage" {
			t.Fatalf("alarms %+v", s.Resources)
		}
		m := decode(t, as[0])
		if m["MetricName"] != "RootAccountUsage" || m["Namespace"] != "CISBenchmark" {
			t.Errorf("alarm %s", as[0].Config)
		}
		if !s.HasRelationship(as[0].ARN, cwc.RelNotifies, topicArn) {
			t.Errorf("relationships %v", s.Relationships)
		}
	})
	t.Run("topics", func(t *testing.T) {
		s := run("sns.topics", cfg, mgmt, "us-east-1")
		r := s.ByARN(topicArn)
		if r == nil || r.Type != cwc.TypeTopic || r.Name != "security-alerts" || r.Tags["team"] != "sec" {
			t.Fatalf("topics %+v", s.Resources)
		}
		m := decode(t, r)
		subs, _ := m["Subscriptions"].([]any)
		if len(subs) != 1 || subs[0].(map[string]any)["Protocol"] != "email" || subs[0].(map[string]any)["Endpoint"] != "sec@example.com" {
			t.Errorf("subscriptions %v", m["Subscriptions"])
		}
		if pol, ok := m["Policy"].(map[string]any); !ok || pol["Statement"] == nil {
			t.Errorf("policy not parsed: %v", m["Policy"])
		}
		ms := run("sns.topics", memberCfg, memberID, "eu-west-1")
		if len(ms.Resources) != 1 || ms.Resources[0].ARN != aws.ToString(euTopic.TopicArn) {
			t.Errorf("member eu-west-1 topics %+v", ms.Resources)
		}
	})
}
