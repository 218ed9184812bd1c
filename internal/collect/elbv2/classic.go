package elbv2

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	clb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	clbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeClassicLoadBalancer is a Classic Load Balancer (the 2012-06-01 Elastic Load Balancing API).
const TypeClassicLoadBalancer = "AWS::ElasticLoadBalancing::LoadBalancer"

func init() {
	// Classic load balancers live in this package and service so that --services elbv2 covers
	// every load balancer of an account; IAM uses one action prefix for both APIs.
	collect.Register(&collect.Collector{
		Name: "elbv2.classic-load-balancers", Service: "elbv2",
		Actions:       []string{svc + "DescribeLoadBalancers", svc + "DescribeLoadBalancerAttributes", svc + "DescribeTags"},
		ResourceTypes: []string{TypeClassicLoadBalancer}, Run: collectClassic,
	})
}

// collectClassic writes each Classic Load Balancer with its attributes (extra key Attributes,
// types.LoadBalancerAttributes: AccessLog, ConnectionDraining, CrossZoneLoadBalancing,
// ConnectionSettings, AdditionalAttributes).
func collectClassic(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := clb.NewFromConfig(t.Config)
	p := clb.NewDescribeLoadBalancersPaginator(c, &clb.DescribeLoadBalancersInput{PageSize: aws.Int32(pageSize)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(out.LoadBalancerDescriptions))
		for _, lb := range out.LoadBalancerDescriptions {
			names = append(names, aws.ToString(lb.LoadBalancerName))
		}
		tags, tagErr := classicTags(ctx, c, names)
		for _, lb := range out.LoadBalancerDescriptions {
			name := aws.ToString(lb.LoadBalancerName)
			arn := t.ARN("elasticloadbalancing", t.Region, "loadbalancer/"+name)
			extras := map[string]any{"Attributes": nil}
			attrs, attrErr := c.DescribeLoadBalancerAttributes(ctx, &clb.DescribeLoadBalancerAttributesInput{LoadBalancerName: lb.LoadBalancerName})
			if attrErr == nil {
				extras["Attributes"] = attrs.LoadBalancerAttributes
			}
			if gone(attrErr) { // LoadBalancerNotFound: deleted since the listing
				continue
			}
			r := newResource(t, TypeClassicLoadBalancer, arn, name, tags[name], lb, extras)
			if attrErr != nil {
				setErr(r, "Attributes", attrErr)
			}
			if tagErr != nil {
				setErr(r, "Tags", tagErr)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if err := classicEdges(t, sink, arn, lb.SecurityGroups, lb.Subnets, aws.ToString(lb.VPCId), lb.Instances); err != nil {
				return err
			}
		}
	}
	return nil
}

func classicEdges(t *collect.Target, sink collect.Sink, arn string, groups, subnets []string, vpc string, instances []clbtypes.Instance) error {
	for _, g := range groups {
		if err := relate(sink, arn, inventory.RelUsesSecurityGroup, ec2ARN(t, g)); err != nil {
			return err
		}
	}
	for _, s := range subnets {
		if err := relate(sink, arn, inventory.RelInSubnet, ec2ARN(t, s)); err != nil {
			return err
		}
	}
	if err := relate(sink, arn, inventory.RelInVPC, ec2ARN(t, vpc)); err != nil {
		return err
	}
	for _, i := range instances {
		if err := relate(sink, arn, inventory.RelForwardsTo, ec2ARN(t, aws.ToString(i.InstanceId))); err != nil {
			return err
		}
	}
	return nil
}

// classicTags reads tags by load balancer name, tagBatch names per call.
func classicTags(ctx context.Context, c *clb.Client, names []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for i := 0; i < len(names); i += tagBatch {
		res, err := c.DescribeTags(ctx, &clb.DescribeTagsInput{LoadBalancerNames: names[i:min(i+tagBatch, len(names))]})
		if err != nil {
			return nil, err
		}
		for _, d := range res.TagDescriptions {
			m := map[string]string{}
			for _, tg := range d.Tags {
				m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			out[aws.ToString(d.LoadBalancerName)] = m
		}
	}
	return out, nil
}
