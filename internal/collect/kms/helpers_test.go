package kms_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/inventory"
)

const mgmt = "123456789012"

// memberAccount creates an organization and one member account, returning the member's id and
// a configuration whose credentials moto ties to it.
func memberAccount(t *testing.T, cfg aws.Config) (string, aws.Config) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	_, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	must(t, err, "CreateOrganization")
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member"), Email: aws.String("member@example.com")})
	must(t, err, "CreateAccount")
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	return id, awsx.AssumeConfig(cfg, mgmt, id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func decode(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	if r == nil {
		t.Fatalf("resource missing")
	}
	var m map[string]any
	must(t, json.Unmarshal(r.Config, &m), "config of "+r.ARN)
	return m
}

// regionCfg is cfg talking to another region.
func regionCfg(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}
