package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

// newMoto is mototest.New without AWS_PROFILE in moto's environment: SetTestEnv sets it to "",
// and moto's own botocore then fails every KMS call and every S3 error answer with
// ProfileNotFound (HTTP 500).
func newMoto(t *testing.T) *mototest.Server {
	t.Helper()
	mototest.SetTestEnv(t)
	os.Unsetenv("AWS_PROFILE") // t.Setenv above restores the original value after the test
	s, err := mototest.Start(context.Background(), "")
	if errors.Is(err, mototest.ErrMissing) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

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
