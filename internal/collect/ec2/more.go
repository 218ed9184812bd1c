package ec2

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// More resource types: launch templates (what future instances will look like), transit
// gateways and VPC peering connections (paths between networks).
const (
	TypeLaunchTemplate       = "AWS::EC2::LaunchTemplate"
	TypeTransitGateway       = "AWS::EC2::TransitGateway"
	TypeVPCPeeringConnection = "AWS::EC2::VPCPeeringConnection"
)

func init() {
	collect.Register(&collect.Collector{
		Name: "ec2.launch-templates", Service: "ec2",
		Actions:       []string{"ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"},
		ResourceTypes: []string{TypeLaunchTemplate}, Run: collectLaunchTemplates,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.transit-gateways", Service: "ec2", Actions: []string{"ec2:DescribeTransitGateways"},
		ResourceTypes: []string{TypeTransitGateway}, Run: collectTransitGateways,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.vpc-peering-connections", Service: "ec2", Actions: []string{"ec2:DescribeVpcPeeringConnections"},
		ResourceTypes: []string{TypeVPCPeeringConnection}, Run: collectPeerings,
	})
}

// collectLaunchTemplates writes each launch template with its default and latest versions
// (extra keys DefaultVersion and LatestVersion, types.LaunchTemplateVersion, whose
// LaunchTemplateData holds MetadataOptions, NetworkInterfaces, IamInstanceProfile…).
func collectLaunchTemplates(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := ec2.NewDescribeLaunchTemplatesPaginator(c, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(200)})
	return eachPage(ctx, p, func(out *ec2.DescribeLaunchTemplatesOutput) error {
		for _, lt := range out.LaunchTemplates {
			id := aws.ToString(lt.LaunchTemplateId)
			def, latest := aws.ToInt64(lt.DefaultVersionNumber), aws.ToInt64(lt.LatestVersionNumber)
			extras := map[string]any{"DefaultVersion": nil, "LatestVersion": nil}
			versions, err := templateVersions(ctx, c, id, def, latest)
			if gone(err) {
				continue
			}
			if err == nil {
				for _, v := range versions {
					if n := aws.ToInt64(v.VersionNumber); n == def {
						extras["DefaultVersion"] = v
					} else if n == latest {
						extras["LatestVersion"] = v
					}
				}
				if def == latest {
					extras["LatestVersion"] = extras["DefaultVersion"]
				}
			}
			r := newResource(t, TypeLaunchTemplate, arnOf(t, id), aws.ToString(lt.LaunchTemplateName), lt.Tags, lt, extras)
			if err != nil {
				setErr(r, "DefaultVersion", err)
				setErr(r, "LatestVersion", err)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// templateVersions reads the default and latest versions of one template by number.
func templateVersions(ctx context.Context, c *ec2.Client, id string, def, latest int64) ([]types.LaunchTemplateVersion, error) {
	want := []string{strconv.FormatInt(def, 10)}
	if latest != def {
		want = append(want, strconv.FormatInt(latest, 10))
	}
	var out []types.LaunchTemplateVersion
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(c, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: want})
	err := eachPage(ctx, p, func(o *ec2.DescribeLaunchTemplateVersionsOutput) error {
		out = append(out, o.LaunchTemplateVersions...)
		return nil
	})
	return out, err
}

func collectTransitGateways(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeTransitGatewaysPaginator(client(t), &ec2.DescribeTransitGatewaysInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeTransitGatewaysOutput) error {
		for _, g := range out.TransitGateways {
			id := aws.ToString(g.TransitGatewayId)
			arn := aws.ToString(g.TransitGatewayArn)
			if arn == "" {
				arn = arnOf(t, id)
			}
			if err := sink.PutResource(newResource(t, TypeTransitGateway, arn, id, g.Tags, g, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

// collectPeerings writes each VPC peering connection the account is a side of, with edges to
// both VPCs (the other side may be in another account or region).
func collectPeerings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeVpcPeeringConnectionsPaginator(client(t), &ec2.DescribeVpcPeeringConnectionsInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeVpcPeeringConnectionsOutput) error {
		for _, pc := range out.VpcPeeringConnections {
			id := aws.ToString(pc.VpcPeeringConnectionId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeVPCPeeringConnection, arn, id, pc.Tags, pc, nil)); err != nil {
				return err
			}
			for _, side := range []*types.VpcPeeringConnectionVpcInfo{pc.RequesterVpcInfo, pc.AccepterVpcInfo} {
				if side == nil {
					continue
				}
				region, owner := aws.ToString(side.Region), aws.ToString(side.OwnerId)
				if region == "" {
					region = t.Region
				}
				if owner == "" {
					owner = t.AccountID
				}
				to := ARNForID(t.Partition, region, owner, aws.ToString(side.VpcId))
				if err := relate(sink, arn, inventory.RelAttachedTo, to); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
