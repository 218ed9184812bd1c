// Package cloudtrail collects CloudTrail trails with their logging status and event selectors,
// and links each trail to the bucket, log group and KMS key it uses.
package cloudtrail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeTrail is the resource type of a trail.
const TypeTrail = "AWS::CloudTrail::Trail"

func init() {
	collect.Register(&collect.Collector{
		Name:          "cloudtrail.trails",
		Service:       "cloudtrail",
		Actions:       []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "cloudtrail:ListTags"},
		ResourceTypes: []string{TypeTrail},
		Run:           runTrails,
	})
}

// LogGroupARN normalizes the log group ARN a trail names ("…:log-group:NAME:*") to the form
// the logs collectors use for the group itself ("…:log-group:NAME").
func LogGroupARN(arn string) string {
	return strings.TrimSuffix(arn, ":*")
}

// runTrails lists the trails whose home is this region (DescribeTrails is not paginated).
// Shadow trails are left out, and the home-region filter makes sure a multi-region or
// organization trail is written once per account, by the task of its home region.
func runTrails(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsct.NewFromConfig(t.Config)
	out, err := client.DescribeTrails(ctx, &awsct.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return err
	}
	for _, tr := range out.TrailList {
		if home := aws.ToString(tr.HomeRegion); home != "" && home != t.Region {
			continue
		}
		if owner := OwnerAccount(aws.ToString(tr.TrailARN)); owner != "" && owner != t.AccountID {
			// An organization trail seen from a member account: its owner's task writes it,
			// so that the record keeps its real account.
			continue
		}
		r := describeTrail(ctx, t, client, tr)
		if err := sink.PutResource(r); err != nil {
			return err
		}
		for _, rel := range relationships(t, tr) {
			if err := sink.PutRelationship(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

// OwnerAccount is the account field of an ARN, "" when it is not an ARN.
func OwnerAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

func describeTrail(ctx context.Context, t *collect.Target, client *awsct.Client, tr types.Trail) *inventory.Resource {
	errs := map[string]string{}
	fail := func(key string, err error) {
		_, reason := awsx.Classify(err)
		errs[key] = reason
	}
	arn := aws.ToString(tr.TrailARN)
	cfg := map[string]any{}
	if err := jsonMerge(cfg, tr); err != nil {
		errs["Trail"] = err.Error()
	}
	cfg["Status"] = nil
	if st, err := client.GetTrailStatus(ctx, &awsct.GetTrailStatusInput{Name: aws.String(arn)}); err != nil {
		fail("Status", err)
	} else {
		status := map[string]any{}
		_ = jsonMerge(status, st)
		delete(status, "ResultMetadata") // transport detail, not trail state
		cfg["Status"] = status
	}
	cfg["EventSelectors"], cfg["AdvancedEventSelectors"] = nil, nil
	if es, err := client.GetEventSelectors(ctx, &awsct.GetEventSelectorsInput{TrailName: aws.String(arn)}); err != nil {
		fail("EventSelectors", err)
		fail("AdvancedEventSelectors", err)
	} else {
		cfg["EventSelectors"], cfg["AdvancedEventSelectors"] = es.EventSelectors, es.AdvancedEventSelectors
	}
	tags := map[string]string{}
	tp := awsct.NewListTagsPaginator(client, &awsct.ListTagsInput{ResourceIdList: []string{arn}})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			fail("Tags", err)
			break
		}
		for _, rt := range page.ResourceTagList {
			for _, tag := range rt.TagsList {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		}
	}
	region := aws.ToString(tr.HomeRegion)
	if region == "" {
		region = t.Region
	}
	r := &inventory.Resource{
		ARN: arn, Type: TypeTrail, AccountID: t.AccountID, Region: region, Name: aws.ToString(tr.Name),
		Tags: tags, Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC(),
	}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}

func relationships(t *collect.Target, tr types.Trail) []inventory.Relationship {
	arn := aws.ToString(tr.TrailARN)
	p := t.Partition
	if p == "" {
		p = "aws"
	}
	var rels []inventory.Relationship
	if b := aws.ToString(tr.S3BucketName); b != "" {
		rels = append(rels, inventory.Relationship{From: arn, To: fmt.Sprintf("arn:%s:s3:::%s", p, b), Kind: inventory.RelDeliversTo})
	}
	if lg := aws.ToString(tr.CloudWatchLogsLogGroupArn); lg != "" {
		rels = append(rels, inventory.Relationship{From: arn, To: LogGroupARN(lg), Kind: inventory.RelDeliversTo})
	}
	if k := aws.ToString(tr.KmsKeyId); k != "" {
		if !strings.HasPrefix(k, "arn:") {
			k = t.ARN("kms", aws.ToString(tr.HomeRegion), "key/"+k)
		}
		rels = append(rels, inventory.Relationship{From: arn, To: k, Kind: inventory.RelEncryptedBy})
	}
	return rels
}
