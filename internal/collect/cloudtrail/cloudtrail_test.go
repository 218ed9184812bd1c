package cloudtrail_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/yagura-dev/yagura/internal/awsx"
	ctc "github.com/yagura-dev/yagura/internal/collect/cloudtrail"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestTrails(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)

	for bucket, c := range map[string]aws.Config{"trail-logs-m": cfg, "trail-logs-x": memberCfg} {
		_, err := s3.NewFromConfig(c, awsx.S3Options(c)).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		must(t, err, "CreateBucket "+bucket)
	}
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{})
	must(t, err, "CreateKey")
	keyArn := aws.ToString(key.KeyMetadata.Arn)
	logGroup := "arn:aws:logs:us-east-1:" + mgmt + ":log-group:cloudtrail:*"

	ct := awsct.NewFromConfig(cfg)
	main, err := ct.CreateTrail(ctx, &awsct.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("trail-logs-m"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true),
		KmsKeyId: aws.String(keyArn), CloudWatchLogsLogGroupArn: aws.String(logGroup),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + mgmt + ":role/trail-to-logs"),
		TagsList:              []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	must(t, err, "CreateTrail")
	org, err := ct.CreateTrail(ctx, &awsct.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("trail-logs-m"),
		IsMultiRegionTrail: aws.Bool(true), IsOrganizationTrail: aws.Bool(true)})
	must(t, err, "CreateTrail org")
	_, err = ct.StartLogging(ctx, &awsct.StartLoggingInput{Name: aws.String("main")})
	must(t, err, "StartLogging")
	_, err = ct.PutEventSelectors(ctx, &awsct.PutEventSelectorsInput{TrailName: aws.String("main"), EventSelectors: []types.EventSelector{{
		IncludeManagementEvents: aws.Bool(true), ReadWriteType: types.ReadWriteTypeAll,
		DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}},
	}}})
	must(t, err, "PutEventSelectors")
	eu, err := awsct.NewFromConfig(regionCfg(cfg, "eu-west-1")).CreateTrail(ctx, &awsct.CreateTrailInput{Name: aws.String("eu-only"), S3BucketName: aws.String("trail-logs-m")})
	must(t, err, "CreateTrail eu")
	_, err = awsct.NewFromConfig(memberCfg).CreateTrail(ctx, &awsct.CreateTrailInput{Name: aws.String("member-trail"), S3BucketName: aws.String("trail-logs-x")})
	must(t, err, "CreateTrail member")

	s, err := collecttest.Run(t, "cloudtrail.trails", cfg, mgmt, "us-east-1")
	must(t, err, "cloudtrail.trails")
	if len(s.Resources) != 2 || s.ByARN(aws.ToString(org.TrailARN)) == nil {
		t.Fatalf("us-east-1: %d trails, want the two whose home it is: %+v", len(s.Resources), s.Resources)
	}
	if len(s.ByARN(aws.ToString(org.TrailARN)).Errors) != 0 {
		t.Errorf("org trail errors %v", s.ByARN(aws.ToString(org.TrailARN)).Errors)
	}
	if m := decode(t, s.ByARN(aws.ToString(org.TrailARN))); m["IsOrganizationTrail"] != true {
		t.Errorf("org trail %v", m)
	}
	r := s.ByARN(aws.ToString(main.TrailARN))
	if r == nil || r.Type != ctc.TypeTrail || r.Region != "us-east-1" || r.AccountID != mgmt || r.Name != "main" || len(r.Errors) != 0 {
		t.Fatalf("trail %+v", r)
	}
	m := decode(t, r)
	if m["IsMultiRegionTrail"] != true || m["LogFileValidationEnabled"] != true || m["KmsKeyId"] != keyArn {
		t.Errorf("trail config %s", r.Config)
	}
	if st, _ := m["Status"].(map[string]any); st["IsLogging"] != true {
		t.Errorf("Status %v", m["Status"])
	} else if _, ok := st["ResultMetadata"]; ok {
		t.Errorf("ResultMetadata stored in Status")
	}
	if es, _ := m["EventSelectors"].([]any); len(es) != 1 || es[0].(map[string]any)["ReadWriteType"] != "All" {
		t.Errorf("EventSelectors %v", m["EventSelectors"])
	}
	if r.Tags["team"] != "sec" {
		t.Errorf("tags %v", r.Tags)
	}
	for _, rel := range []inventory.Relationship{
		{From: r.ARN, Kind: inventory.RelDeliversTo, To: "arn:aws:s3:::trail-logs-m"},
		{From: r.ARN, Kind: inventory.RelDeliversTo, To: "arn:aws:logs:us-east-1:" + mgmt + ":log-group:cloudtrail"},
		{From: r.ARN, Kind: inventory.RelEncryptedBy, To: keyArn},
	} {
		if !s.HasRelationship(rel.From, rel.Kind, rel.To) {
			t.Errorf("missing %+v in %v", rel, s.Relationships)
		}
	}

	es, err := collecttest.Run(t, "cloudtrail.trails", cfg, mgmt, "eu-west-1")
	must(t, err, "cloudtrail.trails eu-west-1")
	if len(es.Resources) != 1 || es.Resources[0].ARN != aws.ToString(eu.TrailARN) || es.Resources[0].Region != "eu-west-1" {
		t.Errorf("eu-west-1 must hold only its own trail, not the multi-region one: %+v", es.Resources)
	}
	if st, _ := decode(t, es.Resources[0])["Status"].(map[string]any); st["IsLogging"] != false {
		t.Errorf("eu trail never started: %v", st)
	}

	ms, err := collecttest.Run(t, "cloudtrail.trails", memberCfg, memberID, "us-east-1")
	must(t, err, "cloudtrail.trails member")
	// The organization trail is written by its owner only, whether or not the member sees it.
	if len(ms.Resources) != 1 || ms.Resources[0].Name != "member-trail" || ms.Resources[0].AccountID != memberID {
		t.Errorf("member trails %+v", ms.Resources)
	}
	if out, err := awsct.NewFromConfig(memberCfg).DescribeTrails(ctx, &awsct.DescribeTrailsInput{}); err == nil {
		t.Logf("moto lists %d trails to the member", len(out.TrailList))
	}
}

func TestOwnerAccount(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/org":   "123456789012",
		"arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/x": "111122223333",
		"not-an-arn": "",
	} {
		if got := ctc.OwnerAccount(arn); got != want {
			t.Errorf("OwnerAccount(%q) = %q, want %q", arn, got, want)
		}
	}
}
