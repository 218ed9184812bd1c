package collecttest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Mgmt is the emulator's default account, the management account once an organization exists.
const Mgmt = "123456789012"

// MemberAccount creates an organization and one member account, returning the member's id and
// a configuration whose credentials the emulator ties to it.
func MemberAccount(t *testing.T, cfg aws.Config) (string, aws.Config) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	_, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	Must(t, err, "CreateOrganization")
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member"), Email: aws.String("member@example.com")})
	Must(t, err, "CreateAccount")
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	return id, awsx.AssumeConfig(cfg, Mgmt, id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
}

// Must fails the test when err is set.
func Must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Decode returns a resource's configuration as a generic map.
func Decode(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	if r == nil {
		t.Fatalf("resource missing")
	}
	var m map[string]any
	Must(t, json.Unmarshal(r.Config, &m), "config of "+r.ARN)
	return m
}

// RegionConfig is cfg talking to another region.
func RegionConfig(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}
