// Package s3 collects S3 buckets (with their policy, ACL, public access block, encryption,
// versioning, logging, object lock and ownership settings) and the account-level public access
// block, so that checks can judge exposure and data protection of every bucket.
package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types.
const (
	TypeBucket                   = "AWS::S3::Bucket"
	TypeAccountPublicAccessBlock = "AWS::S3::AccountPublicAccessBlock"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "s3.buckets",
		Service: "s3",
		Global:  true,
		Actions: []string{
			"s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketPolicy",
			"s3:GetBucketPolicyStatus", "s3:GetBucketAcl", "s3:GetBucketPublicAccessBlock",
			"s3:GetEncryptionConfiguration", "s3:GetBucketVersioning", "s3:GetBucketLogging",
			"s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls",
			"s3:GetBucketTagging",
		},
		ResourceTypes: []string{TypeBucket},
		Run:           runBuckets,
	})
	collect.Register(&collect.Collector{
		Name:          "s3.account-public-access-block",
		Service:       "s3",
		Global:        true,
		Actions:       []string{"s3:GetAccountPublicAccessBlock"},
		ResourceTypes: []string{TypeAccountPublicAccessBlock},
		Run:           runAccountPAB,
	})
}

// AccountPABARN is the synthetic ARN of an account's S3 public access block setting.
func AccountPABARN(partition, account string) string {
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:s3::%s:account-public-access-block", partition, account)
}

// BucketARN is the ARN of a bucket.
func BucketARN(partition, name string) string {
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:s3:::%s", partition, name)
}

func runAccountPAB(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := s3control.NewFromConfig(t.Config)
	out, err := client.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(t.AccountID)})
	cfg := map[string]any{"PublicAccessBlockConfiguration": nil}
	switch {
	case err == nil:
		cfg["PublicAccessBlockConfiguration"] = out.PublicAccessBlockConfiguration
	case awsx.ErrorCode(err) == "NoSuchPublicAccessBlockConfiguration":
		// not configured: the setting exists as "off", which is what checks judge
	default:
		return err
	}
	return sink.PutResource(&inventory.Resource{
		ARN: AccountPABARN(t.Partition, t.AccountID), Type: TypeAccountPublicAccessBlock,
		AccountID: t.AccountID, Region: "global", Name: "account-public-access-block",
		Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC(),
	})
}

// bucketClients keeps one client per region: follow-up calls must go to the bucket's own region
// (S3 answers PermanentRedirect otherwise).
type bucketClients struct {
	base    aws.Config
	clients map[string]*awss3.Client
}

func (b *bucketClients) get(region string) *awss3.Client {
	if c, ok := b.clients[region]; ok {
		return c
	}
	cfg := b.base.Copy()
	cfg.Region = region
	c := awss3.NewFromConfig(cfg, awsx.S3Options(cfg))
	b.clients[region] = c
	return c
}

func runBuckets(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	clients := &bucketClients{base: t.Config, clients: map[string]*awss3.Client{}}
	home := clients.get(t.Region)
	// MaxBuckets makes S3 include each bucket's BucketRegion, the fallback when GetBucketLocation fails.
	p := awss3.NewListBucketsPaginator(home, &awss3.ListBucketsInput{MaxBuckets: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, b := range page.Buckets {
			r := describeBucket(ctx, t, clients, home, b)
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if key := kmsKeyOf(r); key != "" {
				to := keyARN(t, r.Region, key)
				if err := sink.PutRelationship(inventory.Relationship{From: r.ARN, To: to, Kind: inventory.RelEncryptedBy}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// notConfigured lists the error codes that mean "this setting is absent", which is an answer and
// not a failure.
var notConfigured = map[string]bool{
	"NoSuchBucketPolicy":                             true,
	"NoSuchPublicAccessBlockConfiguration":           true,
	"ServerSideEncryptionConfigurationNotFoundError": true,
	"ObjectLockConfigurationNotFoundError":           true,
	"OwnershipControlsNotFoundError":                 true,
	"NoSuchTagSet":                                   true,
	"NoSuchTagSetError":                              true,
}

// bucket holds what is read about one bucket while it is described.
type bucket struct {
	cfg  map[string]any
	errs map[string]string
}

// follow records the answer of one follow-up read under key: the value, null when the setting
// is not configured, or an Errors entry.
func (b *bucket) follow(key string, err error, value func() any) {
	switch {
	case err == nil:
		b.cfg[key] = value()
	case notConfigured[awsx.ErrorCode(err)]:
		b.cfg[key] = nil
	default:
		b.cfg[key] = nil
		_, reason := awsx.Classify(err)
		b.errs[key] = reason
	}
}

func describeBucket(ctx context.Context, t *collect.Target, clients *bucketClients, home *awss3.Client, b types.Bucket) *inventory.Resource {
	name := aws.ToString(b.Name)
	bk := &bucket{cfg: map[string]any{"Name": name, "CreationDate": b.CreationDate}, errs: map[string]string{}}
	if b.BucketArn != nil {
		bk.cfg["BucketArn"] = b.BucketArn
	}
	region, err := bucketRegion(ctx, home, name)
	if err != nil {
		_, reason := awsx.Classify(err)
		bk.errs["Region"] = reason
		// Fall back to what ListBuckets says, then to the home region, so that the other reads
		// still have a chance.
		region = aws.ToString(b.BucketRegion)
		if region == "" {
			region = t.Region
		}
	}
	bk.cfg["Region"] = region
	c := clients.get(region)
	in := func() *string { return aws.String(name) }

	pol, err := c.GetBucketPolicy(ctx, &awss3.GetBucketPolicyInput{Bucket: in()})
	bk.follow("Policy", err, func() any {
		doc, perr := ParsePolicy(aws.ToString(pol.Policy))
		if perr != nil {
			bk.errs["Policy"] = perr.Error()
		}
		return doc
	})
	ps, err := c.GetBucketPolicyStatus(ctx, &awss3.GetBucketPolicyStatusInput{Bucket: in()})
	bk.follow("PolicyStatus", err, func() any { return ps.PolicyStatus })
	acl, err := c.GetBucketAcl(ctx, &awss3.GetBucketAclInput{Bucket: in()})
	bk.follow("Acl", err, func() any { return map[string]any{"Owner": acl.Owner, "Grants": acl.Grants} })
	pab, err := c.GetPublicAccessBlock(ctx, &awss3.GetPublicAccessBlockInput{Bucket: in()})
	bk.follow("PublicAccessBlock", err, func() any { return pab.PublicAccessBlockConfiguration })
	enc, err := c.GetBucketEncryption(ctx, &awss3.GetBucketEncryptionInput{Bucket: in()})
	bk.follow("Encryption", err, func() any { return enc.ServerSideEncryptionConfiguration })
	ver, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: in()})
	bk.follow("Versioning", err, func() any { return map[string]any{"Status": ver.Status, "MFADelete": ver.MFADelete} })
	lg, err := c.GetBucketLogging(ctx, &awss3.GetBucketLoggingInput{Bucket: in()})
	bk.follow("Logging", err, func() any { return lg.LoggingEnabled })
	ol, err := c.GetObjectLockConfiguration(ctx, &awss3.GetObjectLockConfigurationInput{Bucket: in()})
	bk.follow("ObjectLock", err, func() any { return ol.ObjectLockConfiguration })
	oc, err := c.GetBucketOwnershipControls(ctx, &awss3.GetBucketOwnershipControlsInput{Bucket: in()})
	bk.follow("OwnershipControls", err, func() any { return oc.OwnershipControls })

	tags := map[string]string{}
	tg, err := c.GetBucketTagging(ctx, &awss3.GetBucketTaggingInput{Bucket: in()})
	switch {
	case err == nil:
		for _, tag := range tg.TagSet {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	case !notConfigured[awsx.ErrorCode(err)]:
		_, reason := awsx.Classify(err)
		bk.errs["Tags"] = reason
	}

	r := &inventory.Resource{
		ARN: BucketARN(t.Partition, name), Type: TypeBucket, AccountID: t.AccountID, Region: region,
		Name: name, Tags: tags, Config: inventory.MarshalConfig(bk.cfg), CollectedAt: time.Now().UTC(),
	}
	if len(bk.errs) > 0 {
		r.Errors = bk.errs
	}
	return r
}

// bucketRegion maps GetBucketLocation's constraint to a region: empty means us-east-1 and the
// legacy "EU" means eu-west-1.
func bucketRegion(ctx context.Context, c *awss3.Client, name string) (string, error) {
	out, err := c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String(name)})
	if err != nil {
		return "", err
	}
	switch loc := string(out.LocationConstraint); loc {
	case "":
		return "us-east-1", nil
	case "EU":
		return "eu-west-1", nil
	default:
		return loc, nil
	}
}

// ErrMalformedPolicy says a policy document is not JSON; the document is kept as a string.
var ErrMalformedPolicy = errors.New("malformed policy document")

// ParsePolicy decodes a policy document. A document that is not JSON is returned as the string
// itself with an error, so that it stays visible and checks report ERROR rather than guess.
func ParsePolicy(doc string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return doc, fmt.Errorf("%w: %v", ErrMalformedPolicy, err)
	}
	return v, nil
}

// kmsKeyOf returns the KMS key named by a bucket's default SSE-KMS rule, if any.
func kmsKeyOf(r *inventory.Resource) string {
	var c struct {
		Encryption *types.ServerSideEncryptionConfiguration
	}
	if json.Unmarshal(r.Config, &c) != nil || c.Encryption == nil {
		return ""
	}
	for _, rule := range c.Encryption.Rules {
		d := rule.ApplyServerSideEncryptionByDefault
		if d != nil && strings.HasPrefix(string(d.SSEAlgorithm), "aws:kms") && aws.ToString(d.KMSMasterKeyID) != "" {
			return aws.ToString(d.KMSMasterKeyID)
		}
	}
	return ""
}

// keyARN turns a key id, alias name or ARN into an ARN in the bucket's region and account.
func keyARN(t *collect.Target, region, key string) string {
	if strings.HasPrefix(key, "arn:") {
		return key
	}
	if strings.HasPrefix(key, "alias/") {
		return t.ARN("kms", region, key)
	}
	return t.ARN("kms", region, "key/"+key)
}
