package inspector2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/inspector2"
	"github.com/aws/aws-sdk-go-v2/service/inspector2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/inspector2"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

type statusConfig struct {
	AccountId        string
	Enabled          bool
	Ec2, Ecr, Lambda string
	State            struct{ Status string }
}

func TestInspectorAccountStatus(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("ws"), Email: aws.String("ws@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	// Management us-east-1: EC2 and ECR scanning on, Lambda off.
	if _, err := inspector2.NewFromConfig(cfg).Enable(ctx, &inspector2.EnableInput{AccountIds: []string{mgmt}, ResourceTypes: []types.ResourceScanType{types.ResourceScanTypeEc2, types.ResourceScanTypeEcr}}); err != nil {
		t.Fatal(err)
	}
	// Member eu-west-1: was enabled, then switched off.
	eu := memberCfg.Copy()
	eu.Region = "eu-west-1"
	mi := inspector2.NewFromConfig(eu)
	if _, err := mi.Enable(ctx, &inspector2.EnableInput{AccountIds: []string{member}, ResourceTypes: []types.ResourceScanType{types.ResourceScanTypeEc2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := mi.Disable(ctx, &inspector2.DisableInput{AccountIds: []string{member}, ResourceTypes: []types.ResourceScanType{types.ResourceScanTypeEc2}}); err != nil {
		t.Fatal(err)
	}

	sink, err := collecttest.Run(t, "inspector2.account-status", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r := sink.ByARN("arn:aws:inspector2:us-east-1:" + mgmt + ":account-status")
	if r == nil || r.Type != "AWS::Inspector2::AccountStatus" || r.AccountID != mgmt || r.Region != "us-east-1" || len(r.Errors) != 0 {
		t.Fatalf("resources = %+v", sink.Resources)
	}
	var c statusConfig
	json.Unmarshal(r.Config, &c)
	if !c.Enabled || c.Ec2 != "ENABLED" || c.Ecr != "ENABLED" || c.Lambda != "DISABLED" || c.AccountId != mgmt {
		t.Errorf("management status = %s", r.Config)
	}

	ms, err := collecttest.Run(t, "inspector2.account-status", memberCfg, member, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	r = ms.ByARN("arn:aws:inspector2:eu-west-1:" + member + ":account-status")
	if r == nil {
		t.Fatalf("member resources = %+v", ms.Resources)
	}
	c = statusConfig{}
	json.Unmarshal(r.Config, &c)
	if c.Enabled || c.Ec2 != "DISABLED" || len(r.Errors) != 0 {
		t.Errorf("member status = %s errors %v", r.Config, r.Errors)
	}
}

// BatchGetAccountStatus reports per-account failures beside the successes; the status resource
// then carries the reason instead of claiming "disabled".
func TestInspectorFailedAccount(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status/batch/get" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"accounts":[],"failedAccounts":[{"accountId":"` + mgmt + `","errorCode":"ACCESS_DENIED","errorMessage":"not a member"}]}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "inspector2.account-status", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Resources) != 1 || sink.Resources[0].Errors["Enabled"] != "ACCESS_DENIED: not a member" {
		t.Errorf("resources = %+v", sink.Resources)
	}
}

func TestInspectorAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"User is not authorized to perform: inspector2:BatchGetAccountStatus"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "inspector2.account-status", cfg, mgmt, "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
		t.Errorf("outcome %q (err %v), %d resources", outcome, err, len(sink.Resources))
	}
}
