package ec2

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

func init() {
	reg := func(name, action, typ string, run func(context.Context, *collect.Target, collect.Sink) error, more ...string) {
		collect.Register(&collect.Collector{
			Name: name, Service: "ec2", Actions: append([]string{"ec2:" + action}, more...),
			ResourceTypes: []string{typ}, Run: run,
		})
	}
	reg("ec2.vpcs", "DescribeVpcs", TypeVPC, collectVPCs)
	reg("ec2.subnets", "DescribeSubnets", TypeSubnet, collectSubnets)
	reg("ec2.route-tables", "DescribeRouteTables", TypeRouteTable, collectRouteTables)
	reg("ec2.internet-gateways", "DescribeInternetGateways", TypeInternetGateway, collectInternetGateways)
	reg("ec2.nat-gateways", "DescribeNatGateways", TypeNatGateway, collectNatGateways)
	reg("ec2.network-acls", "DescribeNetworkAcls", TypeNetworkACL, collectNetworkACLs)
	reg("ec2.network-interfaces", "DescribeNetworkInterfaces", TypeNetworkInterface, collectNetworkInterfaces)
	reg("ec2.prefix-lists", "DescribeManagedPrefixLists", TypePrefixList, collectPrefixLists, "ec2:GetManagedPrefixListEntries")
	reg("ec2.vpc-endpoints", "DescribeVpcEndpoints", TypeVPCEndpoint, collectVPCEndpoints)
	reg("ec2.flow-logs", "DescribeFlowLogs", TypeFlowLog, collectFlowLogs)
	reg("ec2.elastic-ips", "DescribeAddresses", TypeEIP, collectAddresses)
	reg("ec2.security-groups", "DescribeSecurityGroups", TypeSecurityGroup, collectSecurityGroups, "ec2:DescribeSecurityGroupRules")
}

// pageSize is the MaxResults of every paginated EC2 call: the API's maximum for most of them,
// and it puts the calls into EC2's (larger) paginated throttling bucket.
const pageSize = 1000

func collectVPCs(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeVpcsPaginator(client(t), &ec2.DescribeVpcsInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeVpcsOutput) error {
		for _, v := range out.Vpcs {
			id := aws.ToString(v.VpcId)
			if err := sink.PutResource(newResource(t, TypeVPC, arnOf(t, id), id, v.Tags, v, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

func collectSubnets(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeSubnetsPaginator(client(t), &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeSubnetsOutput) error {
		for _, s := range out.Subnets {
			id := aws.ToString(s.SubnetId)
			arn := aws.ToString(s.SubnetArn)
			if arn == "" {
				arn = arnOf(t, id)
			}
			if err := sink.PutResource(newResource(t, TypeSubnet, arn, id, s.Tags, s, nil)); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(s.VpcId))); err != nil {
				return err
			}
		}
		return nil
	})
}

// routeTargets lists the ids a route sends traffic to (gateways, peerings, interfaces…).
func routeTargets(r types.Route) []string {
	var ids []string
	for _, p := range []*string{r.GatewayId, r.NatGatewayId, r.EgressOnlyInternetGatewayId, r.TransitGatewayId,
		r.VpcPeeringConnectionId, r.NetworkInterfaceId, r.InstanceId, r.CarrierGatewayId, r.LocalGatewayId} {
		if id := aws.ToString(p); id != "" && id != "local" {
			ids = append(ids, id)
		}
	}
	return ids
}

func collectRouteTables(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeRouteTablesPaginator(client(t), &ec2.DescribeRouteTablesInput{MaxResults: aws.Int32(100)})
	return eachPage(ctx, p, func(out *ec2.DescribeRouteTablesOutput) error {
		for _, rt := range out.RouteTables {
			id := aws.ToString(rt.RouteTableId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeRouteTable, arn, id, rt.Tags, rt, nil)); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(rt.VpcId))); err != nil {
				return err
			}
			for _, a := range rt.Associations {
				if err := relate(sink, arn, inventory.RelAssociatedWith, arnOf(t, aws.ToString(a.SubnetId))); err != nil {
					return err
				}
			}
			seen := map[string]bool{}
			for _, r := range rt.Routes {
				for _, target := range routeTargets(r) {
					if seen[target] {
						continue
					}
					seen[target] = true
					if err := relate(sink, arn, inventory.RelRoutesVia, arnOf(t, target)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func collectInternetGateways(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeInternetGatewaysPaginator(client(t), &ec2.DescribeInternetGatewaysInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeInternetGatewaysOutput) error {
		for _, g := range out.InternetGateways {
			id := aws.ToString(g.InternetGatewayId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeInternetGateway, arn, id, g.Tags, g, nil)); err != nil {
				return err
			}
			for _, a := range g.Attachments {
				if err := relate(sink, arn, inventory.RelAttachedTo, arnOf(t, aws.ToString(a.VpcId))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func collectNatGateways(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeNatGatewaysPaginator(client(t), &ec2.DescribeNatGatewaysInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeNatGatewaysOutput) error {
		for _, g := range out.NatGateways {
			id := aws.ToString(g.NatGatewayId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeNatGateway, arn, id, g.Tags, g, nil)); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInSubnet, arnOf(t, aws.ToString(g.SubnetId))); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(g.VpcId))); err != nil {
				return err
			}
		}
		return nil
	})
}

func collectNetworkACLs(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeNetworkAclsPaginator(client(t), &ec2.DescribeNetworkAclsInput{MaxResults: aws.Int32(100)})
	return eachPage(ctx, p, func(out *ec2.DescribeNetworkAclsOutput) error {
		for _, n := range out.NetworkAcls {
			id := aws.ToString(n.NetworkAclId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeNetworkACL, arn, id, n.Tags, n, nil)); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(n.VpcId))); err != nil {
				return err
			}
			for _, a := range n.Associations {
				if err := relate(sink, arn, inventory.RelAssociatedWith, arnOf(t, aws.ToString(a.SubnetId))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func collectNetworkInterfaces(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeNetworkInterfacesPaginator(client(t), &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeNetworkInterfacesOutput) error {
		for _, n := range out.NetworkInterfaces {
			id := aws.ToString(n.NetworkInterfaceId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeNetworkInterface, arn, id, n.TagSet, n, nil)); err != nil {
				return err
			}
			for _, g := range n.Groups {
				if err := relate(sink, arn, inventory.RelUsesSecurityGroup, arnOf(t, aws.ToString(g.GroupId))); err != nil {
					return err
				}
			}
			if err := relate(sink, arn, inventory.RelInSubnet, arnOf(t, aws.ToString(n.SubnetId))); err != nil {
				return err
			}
			if n.Attachment != nil {
				if err := relate(sink, arn, inventory.RelAttachedTo, arnOf(t, aws.ToString(n.Attachment.InstanceId))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// collectPrefixLists writes every managed prefix list the region shows the account: its own
// and the AWS-managed ones (a handful per region) that security group rules and routes refer to.
func collectPrefixLists(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := ec2.NewDescribeManagedPrefixListsPaginator(c, &ec2.DescribeManagedPrefixListsInput{MaxResults: aws.Int32(100)})
	return eachPage(ctx, p, func(out *ec2.DescribeManagedPrefixListsOutput) error {
		for _, pl := range out.PrefixLists {
			id := aws.ToString(pl.PrefixListId)
			arn := aws.ToString(pl.PrefixListArn)
			if arn == "" {
				arn = arnOf(t, id)
			}
			entries, err := prefixListEntries(ctx, c, id)
			if gone(err) {
				continue
			}
			r := newResource(t, TypePrefixList, arn, aws.ToString(pl.PrefixListName), pl.Tags, pl, map[string]any{"Entries": entries})
			if err != nil {
				setErr(r, "Entries", err)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// prefixListEntries reads one list's entries; a list holds at most a few thousand, so they are
// kept for the one record they belong to. nil on error.
func prefixListEntries(ctx context.Context, c *ec2.Client, id string) ([]types.PrefixListEntry, error) {
	entries := []types.PrefixListEntry{}
	p := ec2.NewGetManagedPrefixListEntriesPaginator(c, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id), MaxResults: aws.Int32(100)})
	err := eachPage(ctx, p, func(out *ec2.GetManagedPrefixListEntriesOutput) error {
		entries = append(entries, out.Entries...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

func collectVPCEndpoints(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeVpcEndpointsPaginator(client(t), &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeVpcEndpointsOutput) error {
		for _, e := range out.VpcEndpoints {
			id := aws.ToString(e.VpcEndpointId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeVPCEndpoint, arn, id, e.Tags, e, nil)); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(e.VpcId))); err != nil {
				return err
			}
			for _, s := range e.SubnetIds {
				if err := relate(sink, arn, inventory.RelInSubnet, arnOf(t, s)); err != nil {
					return err
				}
			}
			for _, g := range e.Groups {
				if err := relate(sink, arn, inventory.RelUsesSecurityGroup, arnOf(t, aws.ToString(g.GroupId))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func collectFlowLogs(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeFlowLogsPaginator(client(t), &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeFlowLogsOutput) error {
		for _, f := range out.FlowLogs {
			id := aws.ToString(f.FlowLogId)
			arn := arnOf(t, id)
			if err := sink.PutResource(newResource(t, TypeFlowLog, arn, id, f.Tags, f, nil)); err != nil {
				return err
			}
			// The flow log watches a VPC, subnet or interface and writes to S3, CloudWatch
			// Logs or Firehose (LogDestination is that destination's ARN).
			if err := relate(sink, arn, inventory.RelAttachedTo, arnOf(t, aws.ToString(f.ResourceId))); err != nil {
				return err
			}
			if d := aws.ToString(f.LogDestination); strings.HasPrefix(d, "arn:") {
				if err := relate(sink, arn, inventory.RelDeliversTo, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// collectAddresses writes the Elastic IPs. DescribeAddresses has no pagination: one call
// returns them all (an account has a few, by quota).
func collectAddresses(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	out, err := client(t).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return err
	}
	for _, a := range out.Addresses {
		arn := arnOf(t, aws.ToString(a.AllocationId))
		if arn == "" { // EC2-Classic addresses had no allocation id
			arn = t.ARN("ec2", t.Region, "elastic-ip/"+aws.ToString(a.PublicIp))
		}
		if err := sink.PutResource(newResource(t, TypeEIP, arn, aws.ToString(a.PublicIp), a.Tags, a, nil)); err != nil {
			return err
		}
		if err := relate(sink, arn, inventory.RelAssociatedWith, arnOf(t, aws.ToString(a.InstanceId))); err != nil {
			return err
		}
		if err := relate(sink, arn, inventory.RelAssociatedWith, arnOf(t, aws.ToString(a.NetworkInterfaceId))); err != nil {
			return err
		}
	}
	return nil
}

// collectSecurityGroups writes each security group with its rules (DescribeSecurityGroupRules,
// which adds rule ids and descriptions per rule) as the extra key Rules. Rules are read for the
// groups of one page at a time, with a group-id filter, so memory stays bounded by the page.
func collectSecurityGroups(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(sgPage)})
	return eachPage(ctx, p, func(out *ec2.DescribeSecurityGroupsOutput) error {
		ids := make([]string, 0, len(out.SecurityGroups))
		for _, g := range out.SecurityGroups {
			ids = append(ids, aws.ToString(g.GroupId))
		}
		rules, rulesErr := securityGroupRules(ctx, c, ids)
		for _, g := range out.SecurityGroups {
			id := aws.ToString(g.GroupId)
			arn := aws.ToString(g.SecurityGroupArn)
			if arn == "" {
				arn = arnOf(t, id)
			}
			extras := map[string]any{"Rules": nil}
			if rulesErr == nil {
				own := rules[id]
				if own == nil {
					own = []types.SecurityGroupRule{}
				}
				extras["Rules"] = own
			}
			r := newResource(t, TypeSecurityGroup, arn, aws.ToString(g.GroupName), g.Tags, g, extras)
			if rulesErr != nil {
				setErr(r, "Rules", rulesErr)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(g.VpcId))); err != nil {
				return err
			}
		}
		return nil
	})
}

// sgPage bounds a page of security groups so that their ids fit into one filter of
// DescribeSecurityGroupRules (filters take at most 200 values).
const sgPage = 200

func securityGroupRules(ctx context.Context, c *ec2.Client, ids []string) (map[string][]types.SecurityGroupRule, error) {
	rules := map[string][]types.SecurityGroupRule{}
	if len(ids) == 0 {
		return rules, nil
	}
	p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{
		Filters:    []types.Filter{{Name: aws.String("group-id"), Values: ids}},
		MaxResults: aws.Int32(pageSize),
	})
	err := eachPage(ctx, p, func(out *ec2.DescribeSecurityGroupRulesOutput) error {
		for _, r := range out.SecurityGroupRules {
			g := aws.ToString(r.GroupId)
			rules[g] = append(rules[g], r)
		}
		return nil
	})
	return rules, err
}
