package configsvc_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscfg "github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	cfgc "github.com/yagura-dev/yagura/internal/collect/configsvc"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestConfig(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)
	_, err := s3.NewFromConfig(cfg, awsx.S3Options(cfg)).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config-bucket")})
	must(t, err, "CreateBucket")

	role := aws.String("arn:aws:iam::" + mgmt + ":role/config")
	use1 := awscfg.NewFromConfig(cfg)
	_, err = use1.PutConfigurationRecorder(ctx, &awscfg.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: role,
		RecordingGroup: &types.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}})
	must(t, err, "PutConfigurationRecorder")
	_, err = use1.PutDeliveryChannel(ctx, &awscfg.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String("config-bucket")}})
	must(t, err, "PutDeliveryChannel")
	_, err = use1.StartConfigurationRecorder(ctx, &awscfg.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
	must(t, err, "StartConfigurationRecorder")
	_, err = use1.PutConfigurationAggregator(ctx, &awscfg.PutConfigurationAggregatorInput{ConfigurationAggregatorName: aws.String("org"),
		AccountAggregationSources: []types.AccountAggregationSource{{AccountIds: []string{mgmt, memberID}, AllAwsRegions: true}}})
	must(t, err, "PutConfigurationAggregator")
	// eu-west-1 records only some types and is started: recording, but not all resources.
	eu := awscfg.NewFromConfig(regionCfg(cfg, "eu-west-1"))
	_, err = eu.PutConfigurationRecorder(ctx, &awscfg.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("partial"), RoleARN: role,
		RecordingGroup: &types.RecordingGroup{ResourceTypes: []types.ResourceType{types.ResourceTypeBucket},
			RecordingStrategy: &types.RecordingStrategy{UseOnly: types.RecordingStrategyTypeInclusionByResourceTypes}}}})
	must(t, err, "PutConfigurationRecorder eu")
	_, err = eu.PutDeliveryChannel(ctx, &awscfg.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String("config-bucket")}})
	must(t, err, "PutDeliveryChannel eu")
	_, err = eu.StartConfigurationRecorder(ctx, &awscfg.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("partial")})
	must(t, err, "StartConfigurationRecorder eu")

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

	t.Run("recorders", func(t *testing.T) {
		s := run("config.recorders", cfg, mgmt, "us-east-1")
		recs := s.ByType(cfgc.TypeRecorder)
		if len(recs) != 1 || recs[0].Name != "default" {
			t.Fatalf("recorders %+v", recs)
		}
		m := decode(t, recs[0])
		if st, _ := m["Status"].(map[string]any); st["Recording"] != true {
			t.Errorf("Status %v", m["Status"])
		}
		if g, _ := m["RecordingGroup"].(map[string]any); g["AllSupported"] != true || g["IncludeGlobalResourceTypes"] != true {
			t.Errorf("RecordingGroup %v", m["RecordingGroup"])
		}
		sum := decode(t, s.ByARN("arn:aws:config:us-east-1:"+mgmt+":recorder-status"))
		if sum["AllResourcesRecording"] != true || sum["AnyRecording"] != true || sum["IncludeGlobalResourceTypes"] != true {
			t.Errorf("us-east-1 summary %v", sum)
		}
	})
	t.Run("partial recorder", func(t *testing.T) {
		s := run("config.recorders", cfg, mgmt, "eu-west-1")
		sum := decode(t, s.ByARN("arn:aws:config:eu-west-1:"+mgmt+":recorder-status"))
		if sum["AllResourcesRecording"] != false || sum["AnyRecording"] != true {
			t.Errorf("eu-west-1 summary %v", sum)
		}
	})
	t.Run("member without recorder", func(t *testing.T) {
		s := run("config.recorders", memberCfg, memberID, "us-east-1")
		if len(s.ByType(cfgc.TypeRecorder)) != 0 {
			t.Errorf("member has no recorder: %+v", s.Resources)
		}
		sum := decode(t, s.ByARN("arn:aws:config:us-east-1:"+memberID+":recorder-status"))
		if sum["AllResourcesRecording"] != false || sum["AnyRecording"] != false {
			t.Errorf("member summary %v", sum)
		}
	})
	t.Run("delivery channels", func(t *testing.T) {
		s := run("config.delivery-channels", cfg, mgmt, "us-east-1")
		arn := "arn:aws:config:us-east-1:" + mgmt + ":delivery-channel/default"
		if r := s.ByARN(arn); r == nil || r.Type != cfgc.TypeDeliveryChannel || decode(t, r)["S3BucketName"] != "config-bucket" {
			t.Fatalf("channels %+v", s.Resources)
		}
		if !s.HasRelationship(arn, inventory.RelDeliversTo, "arn:aws:s3:::config-bucket") {
			t.Errorf("relationships %v", s.Relationships)
		}
	})
	t.Run("aggregators", func(t *testing.T) {
		s := run("config.aggregators", cfg, mgmt, "us-east-1")
		ags := s.ByType(cfgc.TypeAggregator)
		if len(ags) != 1 || ags[0].Name != "org" {
			t.Fatalf("aggregators %+v", ags)
		}
		src, _ := decode(t, ags[0])["AccountAggregationSources"].([]any)
		if len(src) != 1 || len(src[0].(map[string]any)["AccountIds"].([]any)) != 2 {
			t.Errorf("sources %v", src)
		}
	})
}

func TestRecordsAll(t *testing.T) {
	for _, c := range []struct {
		name string
		g    *types.RecordingGroup
		want bool
	}{
		{"default group", nil, true},
		{"all supported", &types.RecordingGroup{AllSupported: true}, true},
		{"some types", &types.RecordingGroup{ResourceTypes: []types.ResourceType{types.ResourceTypeBucket}}, false},
		{"exclusions", &types.RecordingGroup{AllSupported: true, RecordingStrategy: &types.RecordingStrategy{UseOnly: types.RecordingStrategyTypeExclusionByResourceTypes}}, false},
	} {
		if got := cfgc.RecordsAll(types.ConfigurationRecorder{RecordingGroup: c.g}); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
