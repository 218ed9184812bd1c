package demo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// SmallOrg creates the smallest interesting organization: the management account plus prod and
// dev in OU "Workloads" and tooling in OU "Security", each member tagged with Environment.
// Members maps prod, dev and tooling to their ids.
func SmallOrg(ctx context.Context, cfg aws.Config) (mgmt string, members map[string]string, err error) {
	oc := organizations.NewFromConfig(cfg)
	if _, err := oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		return "", nil, err
	}
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return "", nil, err
	}
	root := aws.ToString(roots.Roots[0].Id)
	ous := map[string]string{}
	for _, name := range []string{"Workloads", "Security"} {
		ou, err := oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String(name)})
		if err != nil {
			return "", nil, err
		}
		ous[name] = aws.ToString(ou.OrganizationalUnit.Id)
	}
	members = map[string]string{}
	for _, m := range []struct{ name, ou, env string }{{"prod", "Workloads", "prod"}, {"dev", "Workloads", "dev"}, {"tooling", "Security", "shared"}} {
		out, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(m.name), Email: aws.String(m.name + "@example.com"),
			Tags: []orgtypes.Tag{{Key: aws.String("Environment"), Value: aws.String(m.env)}}})
		if err != nil {
			return "", nil, err
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: aws.String(ous[m.ou])}); err != nil {
			return "", nil, err
		}
		members[m.name] = id
	}
	return "123456789012", members, nil
}
