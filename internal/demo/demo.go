// Package demo seeds a realistic AWS Organization, with deliberately planted weaknesses in every
// area yagura covers, into any AWS endpoint (in practice moto). `yagura demo` and the tests use
// the same seeding, so what the demo shows is what the tests prove.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// Regions the demo organization uses.
var Regions = []string{"us-east-1", "eu-west-1"}

// RoleName is the role Organizations creates in every new account (moto does too).
const RoleName = "OrganizationAccountAccessRole"

// ExternalAddress is the "former contractor's" address planted in a security group.
const ExternalAddress = "203.0.113.7"

// Org describes what was seeded, for summaries and test assertions.
type Org struct {
	ManagementID string
	OrgID        string
	Accounts     map[string]string // role name (management, security, log-archive, prod, staging, dev) -> id
	OUs          map[string]string // OU name -> id
	// Planted names the resources holding each planted weakness, by a short key.
	Planted map[string]string
}

type accountSpec struct {
	key, name, ou string
	tags          map[string]string
}

var accountSpecs = []accountSpec{
	{"security", "security-tooling", "Security", map[string]string{"Environment": "shared", "Owner": "secops"}},
	{"log-archive", "log-archive", "Security", map[string]string{"Environment": "shared", "Owner": "secops"}},
	{"prod", "workload-prod", "Workloads/Prod", map[string]string{"Environment": "prod", "Owner": "platform", "CostCenter": "1001"}},
	{"staging", "workload-staging", "Workloads/NonProd", map[string]string{"Environment": "staging", "Owner": "platform"}},
	{"dev", "workload-dev", "Workloads/NonProd", map[string]string{"Environment": "dev", "Owner": "app-team"}},
}

// Seed builds the organization using cfg, the management account's credentials.
func Seed(ctx context.Context, cfg aws.Config) (*Org, error) {
	o := &Org{ManagementID: "123456789012", Accounts: map[string]string{}, OUs: map[string]string{}, Planted: map[string]string{}}
	if err := o.buildOrganization(ctx, cfg); err != nil {
		return nil, fmt.Errorf("demo organization: %w", err)
	}
	o.Accounts["management"] = o.ManagementID
	steps := []struct {
		name string
		fn   func(context.Context, aws.Config) error
	}{
		{"logging", o.seedLogging},
		{"network and compute", o.seedNetwork},
		{"storage", o.seedStorage},
		{"identity", o.seedIdentity},
		{"security services", o.seedSecurityServices},
	}
	for _, s := range steps {
		if err := s.fn(ctx, cfg); err != nil {
			return nil, fmt.Errorf("demo %s: %w", s.name, err)
		}
	}
	return o, nil
}

// Config returns credentials for one of the demo's accounts in region.
func (o *Org) Config(base aws.Config, key, region string) aws.Config {
	c := awsx.AssumeConfig(base, o.ManagementID, o.Accounts[key], awsx.RoleOptions{RoleName: RoleName})
	c.Region = region
	return c
}

func (o *Org) buildOrganization(ctx context.Context, cfg aws.Config) error {
	oc := organizations.NewFromConfig(cfg)
	out, err := oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return err
	}
	o.OrgID = aws.ToString(out.Organization.Id)
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return err
	}
	root := aws.ToString(roots.Roots[0].Id)
	ouID := func(path string) (string, error) {
		parent, full := root, ""
		for _, name := range splitPath(path) {
			full += "/" + name
			if id, ok := o.OUs[full[1:]]; ok {
				parent = id
				continue
			}
			ou, err := oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
			if err != nil {
				return "", err
			}
			parent = aws.ToString(ou.OrganizationalUnit.Id)
			o.OUs[full[1:]] = parent
		}
		return parent, nil
	}
	for _, spec := range accountSpecs {
		var tags []orgtypes.Tag
		for k, v := range spec.tags {
			tags = append(tags, orgtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		acct, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(spec.name),
			Email: aws.String(spec.name + "@example.com"), Tags: tags})
		if err != nil {
			return err
		}
		id := aws.ToString(acct.CreateAccountStatus.AccountId)
		dest, err := ouID(spec.ou)
		if err != nil {
			return err
		}
		if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: aws.String(dest)}); err != nil {
			return err
		}
		o.Accounts[spec.key] = id
	}
	// The security tooling account is the delegated administrator of the security services
	// (those the emulator lets be delegated).
	for _, svc := range []string{"guardduty.amazonaws.com", "access-analyzer.amazonaws.com", "config-multiaccountsetup.amazonaws.com"} {
		if _, err := oc.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(svc)}); err != nil {
			return fmt.Errorf("trusted access for %s: %w", svc, err)
		}
		if _, err := oc.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
			AccountId: aws.String(o.Accounts["security"]), ServicePrincipal: aws.String(svc)}); err != nil {
			return fmt.Errorf("delegate %s: %w", svc, err)
		}
	}
	scp := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`
	pol, err := oc.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("deny-leave-organization"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Description: aws.String("Workload accounts may not leave"), Content: aws.String(scp)})
	if err != nil {
		return err
	}
	_, err = oc.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pol.Policy.PolicySummary.Id, TargetId: aws.String(o.OUs["Workloads"])})
	return err
}

func splitPath(p string) []string {
	var out []string
	cur := ""
	for _, r := range p {
		if r == '/' {
			out = append(out, cur)
			cur = ""
			continue
		}
		cur += string(r)
	}
	return append(out, cur)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var demoTime = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
