// Package organizations collects the AWS Organization itself (feature set, enabled policy
// types, delegated administrators) and its service control policies with their targets. It runs
// only in the management account (or a delegated administrator), where these APIs answer.
package organizations

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypePolicy       = "AWS::Organizations::Policy"
	TypeOrganization = "AWS::Organizations::Organization"
)

func init() {
	collect.Register(&collect.Collector{
		Name:           "organizations.policies",
		Service:        "organizations",
		Global:         true,
		ManagementOnly: true,
		Actions: []string{
			"organizations:ListPolicies", "organizations:DescribePolicy", "organizations:ListTargetsForPolicy",
		},
		ResourceTypes: []string{TypePolicy},
		Run:           collectPolicies,
	})
	collect.Register(&collect.Collector{
		Name:           "organizations.organization",
		Service:        "organizations",
		Global:         true,
		ManagementOnly: true,
		Actions: []string{
			"organizations:DescribeOrganization", "organizations:ListRoots",
			"organizations:ListDelegatedAdministrators", "organizations:ListDelegatedServicesForAccount",
		},
		ResourceTypes: []string{TypeOrganization},
		Run:           collectOrganization,
	})
}

// notInOrganization is the answer of an account that belongs to no organization: there is
// nothing to collect, which is not a failure.
func notInOrganization(err error) bool {
	return awsx.ErrorCode(err) == "AWSOrganizationsNotInUseException"
}

func setError(r *inventory.Resource, attr string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	_, r.Errors[attr] = awsx.Classify(err)
}

type policyConfig struct {
	*types.PolicySummary
	// Content is the policy document, parsed.
	Content json.RawMessage
	// Targets are the roots, OUs and accounts the policy is attached to.
	Targets []types.PolicyTargetSummary
}

func collectPolicies(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := organizations.NewFromConfig(t.Config)
	p := organizations.NewListPoliciesPaginator(client, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if notInOrganization(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := range page.Policies {
			if err := putPolicy(ctx, t, client, sink, &page.Policies[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func putPolicy(ctx context.Context, t *collect.Target, client *organizations.Client, sink collect.Sink, ps *types.PolicySummary) error {
	r := &inventory.Resource{
		ARN:       aws.ToString(ps.Arn),
		Type:      TypePolicy,
		AccountID: t.AccountID,
		Region:    "global",
		Name:      aws.ToString(ps.Name),
	}
	cfg := policyConfig{PolicySummary: ps}
	if out, err := client.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: ps.Id}); err != nil {
		setError(r, "Content", err)
	} else if out.Policy != nil {
		doc := aws.ToString(out.Policy.Content)
		if json.Valid([]byte(doc)) {
			cfg.Content = json.RawMessage(doc)
		} else {
			if r.Errors == nil {
				r.Errors = map[string]string{}
			}
			r.Errors["Content"] = "policy document is not valid JSON"
		}
	}
	cfg.Targets = []types.PolicyTargetSummary{}
	tp := organizations.NewListTargetsForPolicyPaginator(client, &organizations.ListTargetsForPolicyInput{PolicyId: ps.Id})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			cfg.Targets = nil
			setError(r, "Targets", err)
			break
		}
		cfg.Targets = append(cfg.Targets, page.Targets...)
	}
	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	if err := sink.PutResource(r); err != nil {
		return err
	}
	for _, target := range cfg.Targets {
		if err := sink.PutRelationship(inventory.Relationship{From: r.ARN, To: aws.ToString(target.Arn), Kind: inventory.RelAttachedTo}); err != nil {
			return err
		}
	}
	return nil
}

type organizationConfig struct {
	*types.Organization
	// Roots carry the policy types enabled in the organization (Organization's own
	// AvailablePolicyTypes is deprecated and says nothing about them).
	Roots []types.Root
	// EnabledPolicyTypes are the policy types ENABLED on the root, e.g. SERVICE_CONTROL_POLICY.
	EnabledPolicyTypes []string
	// DelegatedAdministrators lists member accounts administering services for the
	// organization, each with the services delegated to it.
	DelegatedAdministrators []delegatedAdmin
}

type delegatedAdmin struct {
	types.DelegatedAdministrator
	Services []types.DelegatedService
}

func collectOrganization(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := organizations.NewFromConfig(t.Config)
	out, err := client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if notInOrganization(err) {
		return nil
	}
	if err != nil {
		return err
	}
	org := out.Organization
	if org == nil {
		return nil
	}
	r := &inventory.Resource{
		ARN:       aws.ToString(org.Arn),
		Type:      TypeOrganization,
		AccountID: t.AccountID,
		Region:    "global",
		Name:      aws.ToString(org.Id),
	}
	cfg := organizationConfig{Organization: org, Roots: []types.Root{}, EnabledPolicyTypes: []string{}}

	rp := organizations.NewListRootsPaginator(client, &organizations.ListRootsInput{})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			cfg.Roots, cfg.EnabledPolicyTypes = nil, nil
			setError(r, "Roots", err)
			setError(r, "EnabledPolicyTypes", err)
			break
		}
		for _, root := range page.Roots {
			cfg.Roots = append(cfg.Roots, root)
			for _, pt := range root.PolicyTypes {
				if pt.Status == types.PolicyTypeStatusEnabled {
					cfg.EnabledPolicyTypes = append(cfg.EnabledPolicyTypes, string(pt.Type))
				}
			}
		}
	}

	// An organization has a handful of delegated administrators at most, so holding them for
	// one record is fine.
	cfg.DelegatedAdministrators = []delegatedAdmin{}
	dp := organizations.NewListDelegatedAdministratorsPaginator(client, &organizations.ListDelegatedAdministratorsInput{})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			cfg.DelegatedAdministrators = nil
			setError(r, "DelegatedAdministrators", err)
			break
		}
		for _, admin := range page.DelegatedAdministrators {
			d := delegatedAdmin{DelegatedAdministrator: admin, Services: []types.DelegatedService{}}
			sp := organizations.NewListDelegatedServicesForAccountPaginator(client, &organizations.ListDelegatedServicesForAccountInput{AccountId: admin.Id})
			for sp.HasMorePages() {
				sv, err := sp.NextPage(ctx)
				if err != nil {
					d.Services = nil
					setError(r, "DelegatedAdministrators", err)
					break
				}
				d.Services = append(d.Services, sv.DelegatedServices...)
			}
			cfg.DelegatedAdministrators = append(cfg.DelegatedAdministrators, d)
		}
	}
	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	return sink.PutResource(r)
}
