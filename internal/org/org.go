// Package org discovers the accounts to scan: every ACTIVE account of the AWS Organization with
// its name, email, OU path and tags when the caller may list them, otherwise the caller's own
// account.
package org

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// Account is one account to scan.
type Account struct {
	ID     string
	Name   string
	Email  string
	Status string
	// OUPath is "Root/Workloads/Prod" style, names from the root down; OUIDs the same path as ids.
	OUPath string
	OUIDs  []string
	Tags   map[string]string
}

// Caller is who yagura runs as.
type Caller struct {
	ARN       string
	AccountID string
	Partition string
}

// Organization is the discovery result.
type Organization struct {
	Caller   Caller
	OrgID    string
	Accounts []Account
	// AllIDs lists every ACTIVE account id of the organization, known before EachAccount
	// yields the first account.
	AllIDs []string
	// Standalone is set when the caller cannot list the organization; Reason says why.
	Standalone bool
	Reason     string
}

// WhoAmI asks STS who the caller is.
func WhoAmI(ctx context.Context, cfg aws.Config) (Caller, error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Caller{}, fmt.Errorf("who am I (sts:GetCallerIdentity): %w", err)
	}
	c := Caller{ARN: aws.ToString(out.Arn), AccountID: aws.ToString(out.Account), Partition: "aws"}
	if parts := strings.SplitN(c.ARN, ":", 3); len(parts) == 3 {
		c.Partition = parts[1]
	}
	return c, nil
}

// Discover lists the organization's ACTIVE accounts with OU paths and tags. When the caller is
// not allowed to list accounts (not the management account or a delegated administrator) or no
// organization exists, it returns the caller's own account with Standalone set.
func Discover(ctx context.Context, cfg aws.Config) (*Organization, error) {
	o, err := Identify(ctx, cfg)
	if err != nil {
		return nil, err
	}
	err = o.EachAccount(ctx, cfg, func(a Account) error {
		o.Accounts = append(o.Accounts, a)
		return nil
	})
	sort.Slice(o.Accounts, func(i, j int) bool { return o.Accounts[i].ID < o.Accounts[j].ID })
	return o, err
}

// Identify finds out who the caller is and which organization it belongs to, without listing
// accounts yet.
func Identify(ctx context.Context, cfg aws.Config) (*Organization, error) {
	caller, err := WhoAmI(ctx, cfg)
	if err != nil {
		return nil, err
	}
	o := &Organization{Caller: caller}
	desc, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return standalone(o, err)
	}
	o.OrgID = aws.ToString(desc.Organization.Id)
	return o, nil
}

// EachAccount streams the organization's ACTIVE accounts, each with its OU path and tags, as soon
// as it is known, so that a scan can start on the first accounts while later ones are still being
// discovered (Organizations' API is slow and rate-limited; large organizations take minutes). When
// the caller may not list accounts, it yields the caller's own account and marks o Standalone.
func (o *Organization) EachAccount(ctx context.Context, cfg aws.Config, fn func(Account) error) error {
	if o.Standalone {
		return fn(o.Accounts[0])
	}
	client := organizations.NewFromConfig(cfg)
	// The account list itself is cheap (a page per 20 accounts) and collectors judging trust
	// need all of it, so it is read first; the slow per-account lookups then stream.
	var listed []Account
	pager := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if len(listed) > 0 {
				return fmt.Errorf("listing the organization's accounts: %w", err)
			}
			if _, serr := standalone(o, err); serr != nil {
				return serr
			}
			o.AllIDs = []string{o.Caller.AccountID}
			return fn(o.Accounts[0])
		}
		for _, a := range page.Accounts {
			// Status is deprecated in favour of State in newer APIs; accept either.
			status := string(a.Status)
			if status != "" && status != string(orgtypes.AccountStatusActive) {
				continue
			}
			if status == "" {
				status = "ACTIVE"
			}
			listed = append(listed, Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), Status: status})
			o.AllIDs = append(o.AllIDs, aws.ToString(a.Id))
		}
	}
	d := &discoverer{client: client, ouNames: map[string]string{}, parents: map[string]string{}}
	for i := range listed {
		if err := d.fill(ctx, &listed[i]); err != nil {
			return err
		}
		if err := fn(listed[i]); err != nil {
			return err
		}
	}
	return nil
}

// Match reports whether an account passes the --accounts, --exclude-accounts and --ous filters.
func Match(a Account, include, exclude, ous []string) bool {
	return len(Filter([]Account{a}, include, exclude, ous)) == 1
}

func standalone(o *Organization, err error) (*Organization, error) {
	code := awsx.ErrorCode(err)
	switch {
	case code == "AWSOrganizationsNotInUseException":
		o.Reason = "the account is not in an AWS Organization"
	case awsx.IsDenied(err):
		o.Reason = "the caller may not list the organization's accounts (not the management account or a delegated administrator)"
	default:
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) {
			return nil, fmt.Errorf("organization discovery: %w", err)
		}
		o.Reason = "organization discovery failed: " + err.Error()
	}
	o.Standalone = true
	o.Accounts = []Account{{ID: o.Caller.AccountID, Status: "ACTIVE"}}
	return o, nil
}

type discoverer struct {
	client  *organizations.Client
	ouNames map[string]string // OU or root id -> name
	parents map[string]string // child id -> parent id
}

func (d *discoverer) fill(ctx context.Context, a *Account) error {
	ids, err := d.path(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("OU path of account %s: %w", a.ID, err)
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, d.ouNames[id])
	}
	a.OUIDs = ids
	a.OUPath = strings.Join(names, "/")
	a.Tags = map[string]string{}
	pager := organizations.NewListTagsForResourcePaginator(d.client, &organizations.ListTagsForResourceInput{ResourceId: aws.String(a.ID)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if awsx.IsDenied(err) {
				return nil // tags are optional context; the account is still scanned
			}
			return fmt.Errorf("tags of account %s: %w", a.ID, err)
		}
		for _, t := range page.Tags {
			a.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return nil
}

// path returns the ids from the root down to the account's parent.
func (d *discoverer) path(ctx context.Context, child string) ([]string, error) {
	var ids []string
	for cur := child; ; {
		parent, ok := d.parents[cur]
		if !ok {
			out, err := d.client.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(cur)})
			if err != nil {
				return nil, err
			}
			if len(out.Parents) == 0 {
				break
			}
			p := out.Parents[0]
			parent = aws.ToString(p.Id)
			d.parents[cur] = parent
			if _, known := d.ouNames[parent]; !known {
				if p.Type == orgtypes.ParentTypeRoot {
					d.ouNames[parent] = "Root"
				} else {
					ou, err := d.client.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(parent)})
					if err != nil {
						return nil, err
					}
					d.ouNames[parent] = aws.ToString(ou.OrganizationalUnit.Name)
				}
			}
			if p.Type == orgtypes.ParentTypeRoot {
				d.parents[parent] = ""
			}
		}
		if parent == "" {
			break
		}
		ids = append(ids, parent)
		cur = parent
	}
	slices.Reverse(ids)
	return ids, nil
}

// Filter keeps the accounts selected by ids (empty: all), drops excluded ids, and keeps only
// accounts under one of the OUs (by id or name anywhere in the path; empty: all).
func Filter(accts []Account, include, exclude, ous []string) []Account {
	var out []Account
	for _, a := range accts {
		if len(include) > 0 && !slices.Contains(include, a.ID) {
			continue
		}
		if slices.Contains(exclude, a.ID) {
			continue
		}
		if len(ous) > 0 && !underAny(a, ous) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func underAny(a Account, ous []string) bool {
	names := strings.Split(a.OUPath, "/")
	for _, ou := range ous {
		if slices.Contains(a.OUIDs, ou) || slices.Contains(names, ou) || a.OUPath == ou || strings.HasPrefix(a.OUPath, ou+"/") {
			return true
		}
	}
	return false
}
