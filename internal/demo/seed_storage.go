package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// seedStorage plants a bucket public by ACL, one public by policy, one without default
// encryption, and a confidential data bucket in prod.
func (o *Org) seedStorage(ctx context.Context, base aws.Config) error {
	stg := o.Config(base, "staging", Regions[0])
	sc := s3.NewFromConfig(stg, awsx.S3Options(stg))
	suffix := o.Accounts["staging"]
	aclBucket := "staging-assets-" + suffix
	if err := createBucket(ctx, sc, aclBucket, Regions[0], nil); err != nil {
		return err
	}
	if _, err := sc.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(aclBucket), ACL: s3types.BucketCannedACLPublicRead}); err != nil {
		return err
	}
	o.Planted["bucket-public-acl"] = aclBucket

	policyBucket := "staging-downloads-" + suffix
	if err := createBucket(ctx, sc, policyBucket, Regions[0], nil); err != nil {
		return err
	}
	policy := mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
		"Resource": "arn:aws:s3:::" + policyBucket + "/*"}}})
	if _, err := sc.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(policyBucket), Policy: aws.String(policy)}); err != nil {
		return err
	}
	o.Planted["bucket-public-policy"] = policyBucket

	dev := o.Config(base, "dev", Regions[1])
	dc := s3.NewFromConfig(dev, awsx.S3Options(dev))
	plain := "dev-scratch-" + o.Accounts["dev"]
	if err := createBucket(ctx, dc, plain, Regions[1], nil); err != nil {
		return err
	}
	// Some emulators apply SSE-S3 by default, as AWS does since 2023; remove it so the bucket
	// really has no default encryption configured.
	_, _ = dc.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(plain)})
	o.Planted["bucket-unencrypted"] = plain

	prod := o.Config(base, "prod", Regions[0])
	pc := s3.NewFromConfig(prod, awsx.S3Options(prod))
	data := "prod-customer-data-" + o.Accounts["prod"]
	if err := createBucket(ctx, pc, data, Regions[0], map[string]string{"DataClassification": "confidential"}); err != nil {
		return err
	}
	if _, err := pc.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(data), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}); err != nil {
		return err
	}
	if _, err := pc.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(data), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		return err
	}
	o.Planted["bucket-confidential"] = data
	return nil
}

func createBucket(ctx context.Context, c *s3.Client, name, region string, tags map[string]string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in, func(o *s3.Options) { o.Region = region }); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	if len(tags) == 0 {
		return nil
	}
	var ts []s3types.Tag
	for k, v := range tags {
		ts = append(ts, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: ts}}, func(o *s3.Options) { o.Region = region })
	return err
}
