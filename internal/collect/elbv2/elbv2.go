// Package elbv2 collects the Elastic Load Balancing v2 inventory of one account-region
// (application, network and gateway load balancers, their listeners and target groups) and
// the forwarding path load balancer → listener → target group → target.
package elbv2

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	yec2 "github.com/yagura-dev/yagura/internal/collect/ec2"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced by this package.
const (
	TypeLoadBalancer = "AWS::ElasticLoadBalancingV2::LoadBalancer"
	TypeListener     = "AWS::ElasticLoadBalancingV2::Listener"
	TypeTargetGroup  = "AWS::ElasticLoadBalancingV2::TargetGroup"
)

const svc = "elasticloadbalancing:"

func init() {
	collect.Register(&collect.Collector{
		Name: "elbv2.load-balancers", Service: "elbv2",
		Actions:       []string{svc + "DescribeLoadBalancers", svc + "DescribeLoadBalancerAttributes", svc + "DescribeTags"},
		ResourceTypes: []string{TypeLoadBalancer}, Run: collectLoadBalancers,
	})
	collect.Register(&collect.Collector{
		Name: "elbv2.listeners", Service: "elbv2",
		Actions:       []string{svc + "DescribeLoadBalancers", svc + "DescribeListeners", svc + "DescribeRules"},
		ResourceTypes: []string{TypeListener}, Run: collectListeners,
	})
	collect.Register(&collect.Collector{
		Name: "elbv2.target-groups", Service: "elbv2",
		Actions:       []string{svc + "DescribeTargetGroups", svc + "DescribeTargetHealth", svc + "DescribeTags"},
		ResourceTypes: []string{TypeTargetGroup}, Run: collectTargetGroups,
	})
}

// pageSize is the API's maximum page size for the Describe calls used here.
const pageSize = 400

// tagBatch is how many resources one DescribeTags call accepts.
const tagBatch = 20

func client(t *collect.Target) *elb.Client { return elb.NewFromConfig(t.Config) }

type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*elb.Options)) (O, error)
}

// eachPage hands one page at a time to fn, so a page is written before the next is read.
func eachPage[O any](ctx context.Context, p pager[O], fn func(O) error) error {
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// tagsOf reads the tags of up to a page of resources, tagBatch ARNs per call.
func tagsOf(ctx context.Context, c *elb.Client, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for i := 0; i < len(arns); i += tagBatch {
		batch := arns[i:min(i+tagBatch, len(arns))]
		res, err := c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: batch})
		if err != nil {
			return nil, err
		}
		for _, d := range res.TagDescriptions {
			m := map[string]string{}
			for _, tg := range d.Tags {
				m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			out[aws.ToString(d.ResourceArn)] = m
		}
	}
	return out, nil
}

func newResource(t *collect.Target, typ, arn, name string, tags map[string]string, config any, extras map[string]any) *inventory.Resource {
	if n := tags["Name"]; n != "" {
		name = n
	}
	if len(tags) == 0 {
		tags = nil
	}
	return &inventory.Resource{
		ARN: arn, Type: typ, AccountID: t.AccountID, Region: t.Region, Name: name, Tags: tags,
		Config: configWith(config, extras), CollectedAt: time.Now().UTC(),
	}
}

// configWith marshals the SDK struct and adds extra top-level keys read by follow-up calls.
func configWith(v any, extras map[string]any) json.RawMessage {
	base := inventory.MarshalConfig(v)
	if len(extras) == 0 {
		return base
	}
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(base, &m)
	for k, x := range extras {
		m[k] = inventory.MarshalConfig(x)
	}
	return inventory.MarshalConfig(m)
}

func setErr(r *inventory.Resource, attr string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	_, reason := awsx.Classify(err)
	r.Errors[attr] = reason
}

// gone reports whether a follow-up call failed because the resource was deleted after the
// listing (LoadBalancerNotFound, ListenerNotFound, TargetGroupNotFound); such a resource is
// not written rather than written with an error.
func gone(err error) bool {
	return strings.HasSuffix(awsx.ErrorCode(err), "NotFound")
}

func relate(sink collect.Sink, from, kind, to string) error {
	if from == "" || !strings.HasPrefix(to, "arn:") {
		return nil
	}
	return sink.PutRelationship(inventory.Relationship{From: from, To: to, Kind: kind})
}

func ec2ARN(t *collect.Target, id string) string {
	return yec2.ARNForID(t.Partition, t.Region, t.AccountID, id)
}

// collectLoadBalancers writes each load balancer with its attributes (extra key Attributes, a
// map from attribute key to value, e.g. "deletion_protection.enabled": "true").
func collectLoadBalancers(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := elb.NewDescribeLoadBalancersPaginator(c, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *elb.DescribeLoadBalancersOutput) error {
		arns := make([]string, 0, len(out.LoadBalancers))
		for _, lb := range out.LoadBalancers {
			arns = append(arns, aws.ToString(lb.LoadBalancerArn))
		}
		tags, tagErr := tagsOf(ctx, c, arns)
		for _, lb := range out.LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			extras := map[string]any{"Attributes": nil}
			attrs, attrErr := c.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
			if attrErr == nil {
				m := map[string]string{}
				for _, a := range attrs.Attributes {
					m[aws.ToString(a.Key)] = aws.ToString(a.Value)
				}
				extras["Attributes"] = m
			}
			if gone(attrErr) {
				continue
			}
			r := newResource(t, TypeLoadBalancer, arn, aws.ToString(lb.LoadBalancerName), tags[arn], lb, extras)
			if attrErr != nil {
				setErr(r, "Attributes", attrErr)
			}
			if tagErr != nil {
				setErr(r, "Tags", tagErr)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
			for _, g := range lb.SecurityGroups {
				if err := relate(sink, arn, inventory.RelUsesSecurityGroup, ec2ARN(t, g)); err != nil {
					return err
				}
			}
			for _, az := range lb.AvailabilityZones {
				if err := relate(sink, arn, inventory.RelInSubnet, ec2ARN(t, aws.ToString(az.SubnetId))); err != nil {
					return err
				}
			}
			if err := relate(sink, arn, inventory.RelInVPC, ec2ARN(t, aws.ToString(lb.VpcId))); err != nil {
				return err
			}
		}
		return nil
	})
}

// forwardTargets lists the target groups an action sends traffic to.
func forwardTargets(a types.Action) []string {
	var out []string
	if a.TargetGroupArn != nil {
		out = append(out, aws.ToString(a.TargetGroupArn))
	}
	if a.ForwardConfig != nil {
		for _, tg := range a.ForwardConfig.TargetGroups {
			out = append(out, aws.ToString(tg.TargetGroupArn))
		}
	}
	return out
}

// collectListeners walks the load balancers and writes their listeners, each with its rules
// (extra key Rules, DescribeRules; the default rule included), and the edges load balancer →
// listener → target group of default actions and rules.
func collectListeners(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := elb.NewDescribeLoadBalancersPaginator(c, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *elb.DescribeLoadBalancersOutput) error {
		for _, lb := range out.LoadBalancers {
			lp := elb.NewDescribeListenersPaginator(c, &elb.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn, PageSize: aws.Int32(pageSize)})
			err := eachPage(ctx, lp, func(lo *elb.DescribeListenersOutput) error {
				for _, l := range lo.Listeners {
					if err := putListener(ctx, t, c, sink, lb, l); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func putListener(ctx context.Context, t *collect.Target, c *elb.Client, sink collect.Sink, lb types.LoadBalancer, l types.Listener) error {
	arn := aws.ToString(l.ListenerArn)
	rules, rulesErr := listenerRules(ctx, c, l.ListenerArn)
	if gone(rulesErr) {
		return nil
	}
	extras := map[string]any{"Rules": nil}
	if rulesErr == nil {
		extras["Rules"] = rules
	}
	name := fmt.Sprintf("%s %s:%d", aws.ToString(lb.LoadBalancerName), l.Protocol, aws.ToInt32(l.Port))
	r := newResource(t, TypeListener, arn, name, nil, l, extras)
	if rulesErr != nil {
		setErr(r, "Rules", rulesErr)
	}
	if err := sink.PutResource(r); err != nil {
		return err
	}
	if err := relate(sink, aws.ToString(lb.LoadBalancerArn), inventory.RelForwardsTo, arn); err != nil {
		return err
	}
	seen := map[string]bool{}
	actions := append([]types.Action{}, l.DefaultActions...)
	for _, rl := range rules {
		actions = append(actions, rl.Actions...)
	}
	for _, a := range actions {
		for _, tg := range forwardTargets(a) {
			if !seen[tg] {
				seen[tg] = true
				if err := relate(sink, arn, inventory.RelForwardsTo, tg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// listenerRules reads one listener's rules (at most a hundred or so by quota).
func listenerRules(ctx context.Context, c *elb.Client, listener *string) ([]types.Rule, error) {
	rules := []types.Rule{}
	p := elb.NewDescribeRulesPaginator(c, &elb.DescribeRulesInput{ListenerArn: listener, PageSize: aws.Int32(pageSize)})
	err := eachPage(ctx, p, func(out *elb.DescribeRulesOutput) error {
		rules = append(rules, out.Rules...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rules, nil
}

// collectTargetGroups writes each target group with the health of its registered targets
// (extra key TargetHealth, DescribeTargetHealth's TargetHealthDescriptions) and the edges
// target group → target (instances, Lambda functions, load balancers; IP targets are
// addresses, not resources).
func collectTargetGroups(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := elb.NewDescribeTargetGroupsPaginator(c, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *elb.DescribeTargetGroupsOutput) error {
		arns := make([]string, 0, len(out.TargetGroups))
		for _, tg := range out.TargetGroups {
			arns = append(arns, aws.ToString(tg.TargetGroupArn))
		}
		tags, tagErr := tagsOf(ctx, c, arns)
		for _, tg := range out.TargetGroups {
			arn := aws.ToString(tg.TargetGroupArn)
			extras := map[string]any{"TargetHealth": nil}
			health, hErr := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
			var descs []types.TargetHealthDescription
			if hErr == nil {
				descs = health.TargetHealthDescriptions
				if descs == nil {
					descs = []types.TargetHealthDescription{}
				}
				extras["TargetHealth"] = descs
			}
			if gone(hErr) {
				continue
			}
			r := newResource(t, TypeTargetGroup, arn, aws.ToString(tg.TargetGroupName), tags[arn], tg, extras)
			if hErr != nil {
				setErr(r, "TargetHealth", hErr)
			}
			if tagErr != nil {
				setErr(r, "Tags", tagErr)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelInVPC, ec2ARN(t, aws.ToString(tg.VpcId))); err != nil {
				return err
			}
			for _, d := range descs {
				if d.Target == nil {
					continue
				}
				id := aws.ToString(d.Target.Id)
				to := id // lambda and alb targets are ARNs already
				if tg.TargetType == types.TargetTypeEnumInstance {
					to = ec2ARN(t, id)
				}
				if err := relate(sink, arn, inventory.RelForwardsTo, to); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
