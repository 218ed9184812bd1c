package ecr_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/ecr"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

func configOf(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Config, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestECR(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("build"), Email: aws.String("build@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	c := ecr.NewFromConfig(cfg)
	// No scan on push, mutable tags, no policies.
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("legacy"), Tags: []types.Tag{{Key: aws.String("Team"), Value: aws.String("ops")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String("app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
	}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"]}]}`
	if _, err := c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	lifecycle := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(lifecycle)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{
		ScanType: types.ScanTypeEnhanced,
		Rules:    []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyContinuousScan, RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}},
	}); err != nil {
		t.Fatal(err)
	}
	eu := memberCfg.Copy()
	eu.Region = "eu-west-1"
	if _, err := ecr.NewFromConfig(eu).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("images")}); err != nil {
		t.Fatal(err)
	}

	t.Run("repositories", func(t *testing.T) {
		sink, err := collecttest.Run(t, "ecr.repositories", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		legacy := sink.ByARN("arn:aws:ecr:us-east-1:" + mgmt + ":repository/legacy")
		app := sink.ByARN("arn:aws:ecr:us-east-1:" + mgmt + ":repository/app")
		if legacy == nil || app == nil {
			t.Fatalf("repositories not collected: %+v", sink.Resources)
		}
		if legacy.Type != "AWS::ECR::Repository" || legacy.AccountID != mgmt || legacy.Region != "us-east-1" || legacy.Name != "legacy" || legacy.Tags["Team"] != "ops" {
			t.Errorf("legacy = %+v", legacy)
		}
		lc := configOf(t, legacy)
		if scan, _ := lc["ImageScanningConfiguration"].(map[string]any); scan["ScanOnPush"] != false {
			t.Errorf("legacy scanning = %v", lc["ImageScanningConfiguration"])
		}
		if lc["ImageTagMutability"] != "MUTABLE" || lc["Policy"] != nil || lc["LifecyclePolicy"] != nil || len(legacy.Errors) != 0 {
			t.Errorf("legacy config = %v errors %v", lc, legacy.Errors)
		}
		ac := configOf(t, app)
		if scan, _ := ac["ImageScanningConfiguration"].(map[string]any); scan["ScanOnPush"] != true {
			t.Errorf("app scanning = %v", ac["ImageScanningConfiguration"])
		}
		pol, _ := ac["Policy"].(map[string]any)
		if st, _ := pol["Statement"].([]any); len(st) != 1 || st[0].(map[string]any)["Principal"] != "*" {
			t.Errorf("app Policy = %v", ac["Policy"])
		}
		lp, _ := ac["LifecyclePolicy"].(map[string]any)
		if rules, _ := lp["rules"].([]any); len(rules) != 1 {
			t.Errorf("app LifecyclePolicy = %v", ac["LifecyclePolicy"])
		}
		if ac["ImageTagMutability"] != "IMMUTABLE" {
			t.Errorf("app mutability = %v", ac["ImageTagMutability"])
		}

		ms, err := collecttest.Run(t, "ecr.repositories", memberCfg, member, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms.Resources) != 1 || ms.Resources[0].ARN != "arn:aws:ecr:eu-west-1:"+member+":repository/images" || ms.Resources[0].Region != "eu-west-1" {
			t.Errorf("member repositories = %+v", ms.Resources)
		}
	})

	t.Run("registry scanning", func(t *testing.T) {
		sink, err := collecttest.Run(t, "ecr.registry-scanning", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN("arn:aws:ecr:us-east-1:" + mgmt + ":registry-scanning-configuration")
		if r == nil || r.Type != "AWS::ECR::RegistryScanningConfiguration" || r.AccountID != mgmt {
			t.Fatalf("resources = %+v", sink.Resources)
		}
		sc, _ := configOf(t, r)["ScanningConfiguration"].(map[string]any)
		if sc["ScanType"] != "ENHANCED" {
			t.Errorf("ScanningConfiguration = %v", sc)
		}
		ms, err := collecttest.Run(t, "ecr.registry-scanning", memberCfg, member, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		r = ms.ByARN("arn:aws:ecr:eu-west-1:" + member + ":registry-scanning-configuration")
		if r == nil {
			t.Fatalf("member resources = %+v", ms.Resources)
		}
		if sc, _ := configOf(t, r)["ScanningConfiguration"].(map[string]any); sc["ScanType"] != "BASIC" {
			t.Errorf("member ScanningConfiguration = %v", sc)
		}
	})
}

func TestECRAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"AccessDeniedException","message":"User is not authorized to perform: ecr:DescribeRepositories"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ecr.repositories", "ecr.registry-scanning"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
			t.Errorf("%s: outcome %q (err %v), %d resources", name, outcome, err, len(sink.Resources))
		}
	}
}
