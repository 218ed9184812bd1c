// Package configsvc collects AWS Config's own setup in each region: configuration recorders and
// their status, delivery channels and aggregators, plus a per-region summary saying whether
// anything records all resources (CIS "AWS Config is enabled in all regions").
package configsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscfg "github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types.
const (
	TypeRecorder        = "AWS::Config::ConfigurationRecorder"
	TypeRecorderStatus  = "AWS::Config::RecorderStatus"
	TypeDeliveryChannel = "AWS::Config::DeliveryChannel"
	TypeAggregator      = "AWS::Config::ConfigurationAggregator"
)

func init() {
	collect.Register(&collect.Collector{
		Name: "config.recorders", Service: "config",
		Actions:       []string{"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus"},
		ResourceTypes: []string{TypeRecorder, TypeRecorderStatus},
		Run:           runRecorders,
	})
	collect.Register(&collect.Collector{
		Name: "config.delivery-channels", Service: "config",
		Actions:       []string{"config:DescribeDeliveryChannels"},
		ResourceTypes: []string{TypeDeliveryChannel},
		Run:           runDeliveryChannels,
	})
	collect.Register(&collect.Collector{
		Name: "config.aggregators", Service: "config",
		Actions:       []string{"config:DescribeConfigurationAggregators"},
		ResourceTypes: []string{TypeAggregator},
		Run:           runAggregators,
	})
}

func toMap(v any) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(inventory.MarshalConfig(v), &m)
	delete(m, "ResultMetadata")
	return m
}

func resource(t *collect.Target, arn, typ, name string, cfg any, errs map[string]string) *inventory.Resource {
	r := &inventory.Resource{ARN: arn, Type: typ, AccountID: t.AccountID, Region: t.Region, Name: name,
		Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC()}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}

// RecorderStatusARN is the synthetic ARN of the per-region recording summary.
func RecorderStatusARN(t *collect.Target) string { return t.ARN("config", t.Region, "recorder-status") }

// RecordsAll reports whether a recorder's settings cover every supported resource type.
func RecordsAll(rec types.ConfigurationRecorder) bool {
	g := rec.RecordingGroup
	if g == nil {
		// No recording group means the API's default: all supported types.
		return true
	}
	if g.RecordingStrategy != nil && g.RecordingStrategy.UseOnly != "" && g.RecordingStrategy.UseOnly != types.RecordingStrategyTypeAllSupportedResourceTypes {
		return false
	}
	return g.AllSupported
}

// runRecorders lists the recorders (DescribeConfigurationRecorders is not paginated: a region
// holds at most one customer recorder plus service-linked ones) and writes the region summary.
func runRecorders(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awscfg.NewFromConfig(t.Config)
	out, err := client.DescribeConfigurationRecorders(ctx, &awscfg.DescribeConfigurationRecordersInput{})
	if err != nil {
		return err
	}
	statuses := map[string]types.ConfigurationRecorderStatus{}
	var statusErr string
	if len(out.ConfigurationRecorders) > 0 {
		st, err := client.DescribeConfigurationRecorderStatus(ctx, &awscfg.DescribeConfigurationRecorderStatusInput{})
		if err != nil {
			_, statusErr = awsx.Classify(err)
		} else {
			for _, s := range st.ConfigurationRecordersStatus {
				statuses[aws.ToString(s.Name)] = s
			}
		}
	}
	summary := map[string]any{
		"Recorders": []string{}, "AnyRecording": false, "AllResourcesRecording": false,
		"IncludeGlobalResourceTypes": false, "LastStatus": nil,
	}
	var names []string
	for _, rec := range out.ConfigurationRecorders {
		name := aws.ToString(rec.Name)
		names = append(names, name)
		arn := aws.ToString(rec.Arn)
		if arn == "" {
			arn = t.ARN("config", t.Region, "configuration-recorder/"+name)
		}
		cfg := toMap(rec)
		errs := map[string]string{}
		cfg["Status"] = nil
		st, ok := statuses[name]
		switch {
		case statusErr != "":
			errs["Status"] = statusErr
		case ok:
			cfg["Status"] = toMap(st)
		}
		if ok && st.Recording {
			summary["AnyRecording"] = true
			if RecordsAll(rec) {
				summary["AllResourcesRecording"] = true
				summary["LastStatus"] = st.LastStatus
				if rec.RecordingGroup == nil || rec.RecordingGroup.IncludeGlobalResourceTypes {
					summary["IncludeGlobalResourceTypes"] = true
				}
			}
		}
		if err := sink.PutResource(resource(t, arn, TypeRecorder, name, cfg, errs)); err != nil {
			return err
		}
	}
	if names != nil {
		summary["Recorders"] = names
	}
	var errs map[string]string
	if statusErr != "" {
		errs = map[string]string{"AllResourcesRecording": statusErr, "AnyRecording": statusErr}
	}
	return sink.PutResource(resource(t, RecorderStatusARN(t), TypeRecorderStatus, "recorder-status", summary, errs))
}

// runDeliveryChannels lists delivery channels (not paginated). Their delivery status is left
// out: no check needs it, and moto does not implement DescribeDeliveryChannelStatus.
func runDeliveryChannels(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awscfg.NewFromConfig(t.Config)
	out, err := client.DescribeDeliveryChannels(ctx, &awscfg.DescribeDeliveryChannelsInput{})
	if err != nil {
		return err
	}
	if len(out.DeliveryChannels) == 0 {
		return nil
	}
	p := t.Partition
	if p == "" {
		p = "aws"
	}
	for _, ch := range out.DeliveryChannels {
		name := aws.ToString(ch.Name)
		arn := t.ARN("config", t.Region, "delivery-channel/"+name)
		if err := sink.PutResource(resource(t, arn, TypeDeliveryChannel, name, ch, nil)); err != nil {
			return err
		}
		if b := aws.ToString(ch.S3BucketName); b != "" {
			rel := inventory.Relationship{From: arn, To: fmt.Sprintf("arn:%s:s3:::%s", p, b), Kind: inventory.RelDeliversTo}
			if err := sink.PutRelationship(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

func runAggregators(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	pg := awscfg.NewDescribeConfigurationAggregatorsPaginator(awscfg.NewFromConfig(t.Config), &awscfg.DescribeConfigurationAggregatorsInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, a := range page.ConfigurationAggregators {
			name := aws.ToString(a.ConfigurationAggregatorName)
			arn := aws.ToString(a.ConfigurationAggregatorArn)
			if arn == "" {
				arn = t.ARN("config", t.Region, "config-aggregator/"+name)
			}
			if err := sink.PutResource(resource(t, arn, TypeAggregator, name, a, nil)); err != nil {
				return err
			}
		}
	}
	return nil
}
