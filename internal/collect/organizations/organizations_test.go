package organizations_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/organizations"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

func TestOrganizationsCollectorsAreManagementOnly(t *testing.T) {
	for _, c := range collect.All() {
		if c.Service == "organizations" && (!c.ManagementOnly || !c.Global) {
			t.Errorf("%s: ManagementOnly %v Global %v", c.Name, c.ManagementOnly, c.Global)
		}
	}
}

const denyLeave = `{"Version":"2012-10-17","Statement":[{"Sid":"NoLeaving","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`

func TestOrganizations(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(cfg)
	created, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("security"), Email: aws.String("security@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := roots.Roots[0]
	if _, err := org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: root.Id, PolicyType: types.PolicyTypeServiceControlPolicy}); err != nil {
		var already *types.PolicyTypeAlreadyEnabledException
		if !errors.As(err, &already) {
			t.Fatal(err)
		}
	}
	ou, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: root.Id, Name: aws.String("workloads")})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("deny-leave"), Description: aws.String("members stay"), Type: types.PolicyTypeServiceControlPolicy, Content: aws.String(denyLeave),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pol.Policy.PolicySummary.Id, TargetId: ou.OrganizationalUnit.Id}); err != nil {
		t.Fatal(err)
	}
	// moto accepts only a few service principals for delegation (guardduty is one of them).
	if _, err := org.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(member), ServicePrincipal: aws.String("guardduty.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}

	t.Run("service control policies", func(t *testing.T) {
		sink, err := collecttest.Run(t, "organizations.policies", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(pol.Policy.PolicySummary.Arn)
		r := sink.ByARN(arn)
		if r == nil {
			t.Fatalf("SCP not collected: %+v", sink.Resources)
		}
		if r.Type != "AWS::Organizations::Policy" || r.Region != "global" || r.AccountID != mgmt || r.Name != "deny-leave" || len(r.Errors) != 0 {
			t.Errorf("policy = %+v", r)
		}
		var c struct {
			Type, Description string
			AwsManaged        bool
			Content           struct {
				Statement []struct{ Effect, Action string }
			}
			Targets []struct{ TargetId, Type, Arn, Name string }
		}
		if err := json.Unmarshal(r.Config, &c); err != nil {
			t.Fatal(err)
		}
		if c.Type != "SERVICE_CONTROL_POLICY" || c.AwsManaged || len(c.Content.Statement) != 1 || c.Content.Statement[0].Action != "organizations:LeaveOrganization" {
			t.Errorf("policy config = %s", r.Config)
		}
		if len(c.Targets) != 1 || c.Targets[0].TargetId != aws.ToString(ou.OrganizationalUnit.Id) || c.Targets[0].Type != "ORGANIZATIONAL_UNIT" {
			t.Errorf("targets = %+v", c.Targets)
		}
		if !sink.HasRelationship(arn, inventory.RelAttachedTo, aws.ToString(ou.OrganizationalUnit.Arn)) {
			t.Errorf("no policy->OU relationship: %+v", sink.Relationships)
		}
		// Every SCP of the organization is listed, the AWS-managed FullAWSAccess included.
		if len(sink.ByType("AWS::Organizations::Policy")) < 2 {
			t.Errorf("policies = %+v", sink.Resources)
		}
	})

	t.Run("organization", func(t *testing.T) {
		sink, err := collecttest.Run(t, "organizations.organization", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN(aws.ToString(created.Organization.Arn))
		if r == nil || r.Type != "AWS::Organizations::Organization" || r.Region != "global" || r.Name != aws.ToString(created.Organization.Id) || len(r.Errors) != 0 {
			t.Fatalf("organization = %+v (all %+v)", r, sink.Resources)
		}
		var c struct {
			FeatureSet, MasterAccountId string
			EnabledPolicyTypes          []string
			Roots                       []struct{ Id string }
			DelegatedAdministrators     []struct {
				Id       string
				Services []struct{ ServicePrincipal string }
			}
		}
		if err := json.Unmarshal(r.Config, &c); err != nil {
			t.Fatal(err)
		}
		if c.FeatureSet != "ALL" || c.MasterAccountId != mgmt || !slices.Contains(c.EnabledPolicyTypes, "SERVICE_CONTROL_POLICY") || len(c.Roots) != 1 {
			t.Errorf("organization config = %s", r.Config)
		}
		if len(c.DelegatedAdministrators) != 1 || c.DelegatedAdministrators[0].Id != member ||
			len(c.DelegatedAdministrators[0].Services) != 1 || c.DelegatedAdministrators[0].Services[0].ServicePrincipal != "guardduty.amazonaws.com" {
			t.Errorf("delegated administrators = %+v", c.DelegatedAdministrators)
		}
	})
}

// organizationsAPI answers every call with one error in the Organizations JSON 1.1 wire format.
func organizationsAPI(t *testing.T, status int, code, message string) aws.Config {
	t.Helper()
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		w.Write([]byte(`{"__type":"` + code + `","Message":"` + message + `"}`))
	}))
	t.Cleanup(srv.Close)
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOrganizationsAccessDenied(t *testing.T) {
	cfg := organizationsAPI(t, http.StatusBadRequest, "AccessDeniedException", "You don't have permissions to access this resource.")
	for _, name := range []string{"organizations.policies", "organizations.organization"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
			t.Errorf("%s: outcome %q (err %v), %d resources", name, outcome, err, len(sink.Resources))
		}
	}
}

// A standalone account has no organization: nothing to collect, and nothing failed.
func TestOrganizationsNotInUse(t *testing.T) {
	cfg := organizationsAPI(t, http.StatusBadRequest, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
	for _, name := range []string{"organizations.policies", "organizations.organization"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		if err != nil || len(sink.Resources) != 0 {
			t.Errorf("%s: err %v, %d resources", name, err, len(sink.Resources))
		}
	}
}
