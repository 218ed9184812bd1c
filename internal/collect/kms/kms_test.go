package kms_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	kmsc "github.com/yagura-dev/yagura/internal/collect/kms"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestKeys(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)
	use1 := awskms.NewFromConfig(cfg)

	rotated, err := use1.CreateKey(ctx, &awskms.CreateKeyInput{Tags: []types.Tag{{TagKey: aws.String("Name"), TagValue: aws.String("logs-key")}}})
	must(t, err, "CreateKey")
	_, err = use1.EnableKeyRotation(ctx, &awskms.EnableKeyRotationInput{KeyId: rotated.KeyMetadata.KeyId})
	must(t, err, "EnableKeyRotation")
	_, err = use1.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String("alias/logs"), TargetKeyId: rotated.KeyMetadata.KeyId})
	must(t, err, "CreateAlias")
	plain, err := use1.CreateKey(ctx, &awskms.CreateKeyInput{})
	must(t, err, "CreateKey")
	signing, err := use1.CreateKey(ctx, &awskms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	must(t, err, "CreateKey RSA")
	eu, err := awskms.NewFromConfig(regionCfg(cfg, "eu-west-1")).CreateKey(ctx, &awskms.CreateKeyInput{})
	must(t, err, "CreateKey eu-west-1")
	member, err := awskms.NewFromConfig(memberCfg).CreateKey(ctx, &awskms.CreateKeyInput{})
	must(t, err, "CreateKey member")

	s, err := collecttest.Run(t, "kms.keys", cfg, mgmt, "us-east-1")
	must(t, err, "kms.keys")
	if n := len(s.ByType(kmsc.TypeKey)); n != 3 {
		t.Fatalf("us-east-1: %d keys, want 3", n)
	}
	for _, r := range s.Resources {
		if r.AccountID != mgmt || r.Region != "us-east-1" || len(r.Errors) != 0 {
			t.Errorf("key %s: account %s region %s errors %v", r.ARN, r.AccountID, r.Region, r.Errors)
		}
		if m := decode(t, r); m["Policy"] == nil {
			t.Errorf("key %s: no policy", r.ARN)
		} else if _, ok := m["Policy"].(map[string]any)["Statement"]; !ok {
			t.Errorf("key %s: policy not parsed: %v", r.ARN, m["Policy"])
		}
	}

	r := s.ByARN(aws.ToString(rotated.KeyMetadata.Arn))
	m := decode(t, r)
	if m["KeyRotationEnabled"] != true || m["KeyManager"] != "CUSTOMER" || r.Name != "logs-key" || r.Tags["Name"] != "logs-key" {
		t.Errorf("rotated key %s name %q", r.Config, r.Name)
	}
	if al, _ := m["Aliases"].([]any); len(al) != 1 || al[0] != "alias/logs" {
		t.Errorf("aliases %v", m["Aliases"])
	}
	if m := decode(t, s.ByARN(aws.ToString(plain.KeyMetadata.Arn))); m["KeyRotationEnabled"] != false {
		t.Errorf("plain key rotation %v, want false", m["KeyRotationEnabled"])
	}
	// Rotation does not apply to asymmetric keys: null, not false.
	if m := decode(t, s.ByARN(aws.ToString(signing.KeyMetadata.Arn))); m["KeyRotationEnabled"] != nil || m["KeySpec"] != "RSA_2048" {
		t.Errorf("signing key %v", m)
	}

	es, err := collecttest.Run(t, "kms.keys", cfg, mgmt, "eu-west-1")
	must(t, err, "kms.keys eu-west-1")
	if len(es.Resources) != 1 || es.Resources[0].ARN != aws.ToString(eu.KeyMetadata.Arn) || es.Resources[0].Region != "eu-west-1" {
		t.Errorf("eu-west-1 keys %+v", es.Resources)
	}
	ms, err := collecttest.Run(t, "kms.keys", memberCfg, memberID, "us-east-1")
	must(t, err, "kms.keys member")
	if len(ms.Resources) != 1 || ms.Resources[0].ARN != aws.ToString(member.KeyMetadata.Arn) || ms.Resources[0].AccountID != memberID {
		t.Errorf("member keys %+v", ms.Resources)
	}
}

func TestRotationApplies(t *testing.T) {
	base := types.KeyMetadata{KeyManager: types.KeyManagerTypeCustomer, KeySpec: types.KeySpecSymmetricDefault, KeyState: types.KeyStateEnabled, Origin: types.OriginTypeAwsKms}
	if !kmsc.RotationApplies(&base) {
		t.Errorf("customer symmetric enabled key")
	}
	for name, mod := range map[string]func(*types.KeyMetadata){
		"aws managed": func(m *types.KeyMetadata) { m.KeyManager = types.KeyManagerTypeAws },
		"asymmetric":  func(m *types.KeyMetadata) { m.KeySpec = types.KeySpecRsa2048 },
		"disabled":    func(m *types.KeyMetadata) { m.KeyState = types.KeyStateDisabled },
		"imported":    func(m *types.KeyMetadata) { m.Origin = types.OriginTypeExternal },
	} {
		md := base
		mod(&md)
		if kmsc.RotationApplies(&md) {
			t.Errorf("%s: rotation must not apply", name)
		}
	}
}
