// Package kms collects KMS keys of each region with their key policy, rotation status, aliases
// and tags, so that checks can judge rotation and who may use or administer a key.
package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeKey is the resource type of a KMS key.
const TypeKey = "AWS::KMS::Key"

func init() {
	collect.Register(&collect.Collector{
		Name:    "kms.keys",
		Service: "kms",
		Actions: []string{"kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:GetKeyPolicy",
			"kms:ListAliases", "kms:ListResourceTags"},
		ResourceTypes: []string{TypeKey},
		Run:           runKeys,
	})
}

func runKeys(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awskms.NewFromConfig(t.Config)
	p := awskms.NewListKeysPaginator(client, &awskms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, k := range page.Keys {
			if err := sink.PutResource(describeKey(ctx, t, client, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// RotationApplies reports whether automatic rotation can be asked about: KMS rotates only
// enabled symmetric encryption keys that the customer manages, and refuses the question
// (UnsupportedOperationException) for the others.
func RotationApplies(md *types.KeyMetadata) bool {
	return md.KeyManager == types.KeyManagerTypeCustomer && md.KeySpec == types.KeySpecSymmetricDefault &&
		md.KeyState == types.KeyStateEnabled && md.Origin != types.OriginTypeExternal &&
		md.CustomKeyStoreId == nil
}

func describeKey(ctx context.Context, t *collect.Target, client *awskms.Client, k types.KeyListEntry) *inventory.Resource {
	errs := map[string]string{}
	fail := func(key string, err error) {
		_, reason := awsx.Classify(err)
		errs[key] = reason
	}
	arn := aws.ToString(k.KeyArn)
	if arn == "" {
		arn = t.ARN("kms", t.Region, "key/"+aws.ToString(k.KeyId))
	}
	cfg := map[string]any{"KeyId": k.KeyId, "Arn": arn}
	var md *types.KeyMetadata
	if out, err := client.DescribeKey(ctx, &awskms.DescribeKeyInput{KeyId: k.KeyId}); err != nil {
		fail("KeyMetadata", err)
	} else {
		md = out.KeyMetadata
		if err := json.Unmarshal(inventory.MarshalConfig(md), &cfg); err != nil {
			errs["KeyMetadata"] = err.Error()
		}
	}

	cfg["KeyRotationEnabled"] = nil
	if md != nil && RotationApplies(md) {
		if out, err := client.GetKeyRotationStatus(ctx, &awskms.GetKeyRotationStatusInput{KeyId: k.KeyId}); err != nil {
			fail("KeyRotationEnabled", err)
		} else {
			cfg["KeyRotationEnabled"] = out.KeyRotationEnabled
			if out.RotationPeriodInDays != nil {
				cfg["RotationPeriodInDays"] = out.RotationPeriodInDays
			}
		}
	}

	cfg["Policy"] = nil
	if out, err := client.GetKeyPolicy(ctx, &awskms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")}); err != nil {
		fail("Policy", err)
	} else {
		var doc any
		if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
			cfg["Policy"] = aws.ToString(out.Policy)
			errs["Policy"] = fmt.Sprintf("malformed policy document: %v", err)
		} else {
			cfg["Policy"] = doc
		}
	}

	aliases := []string{}
	ap := awskms.NewListAliasesPaginator(client, &awskms.ListAliasesInput{KeyId: k.KeyId})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			fail("Aliases", err)
			aliases = nil
			break
		}
		for _, a := range page.Aliases {
			aliases = append(aliases, aws.ToString(a.AliasName))
		}
	}
	cfg["Aliases"] = aliases

	tags := map[string]string{}
	if md != nil && md.KeyManager == types.KeyManagerTypeCustomer {
		tp := awskms.NewListResourceTagsPaginator(client, &awskms.ListResourceTagsInput{KeyId: k.KeyId})
		for tp.HasMorePages() {
			page, err := tp.NextPage(ctx)
			if err != nil {
				fail("Tags", err)
				break
			}
			for _, tag := range page.Tags {
				tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
			}
		}
	}

	name := aws.ToString(k.KeyId)
	if len(aliases) > 0 {
		name = aliases[0]
	}
	if v := tags["Name"]; v != "" {
		name = v
	}
	r := &inventory.Resource{
		ARN: arn, Type: TypeKey, AccountID: t.AccountID, Region: t.Region, Name: name, Tags: tags,
		Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC(),
	}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}
