package elbv2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	clb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	clbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	yec2 "github.com/yagura-dev/yagura/internal/collect/ec2"
	_ "github.com/yagura-dev/yagura/internal/collect/elbv2"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmtAccount = "123456789012"

type world struct {
	account, region string
	cfg             aws.Config

	vpc, subnetA, subnetB, sg, instance string
	alb, internal                       string // load balancer ARNs
	listener, tgWeb, tgAPI              string
}

func check[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// buildWorld creates a VPC with two subnets, an instance, an internet-facing ALB whose HTTP
// listener forwards to a target group holding the instance (and /api/* to a second, empty
// one), and an internal ALB without listeners.
func buildWorld(t *testing.T, cfg aws.Config, account, region string) *world {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.Copy()
	cfg.Region = region
	w := &world{account: account, region: region, cfg: cfg}
	ec := ec2.NewFromConfig(cfg)
	lb := elb.NewFromConfig(cfg)
	azs := check[*ec2.DescribeAvailabilityZonesOutput](t, "DescribeAvailabilityZones")(ec.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	w.vpc = aws.ToString(check[*ec2.CreateVpcOutput](t, "CreateVpc")(ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})).Vpc.VpcId)
	subnet := func(cidr string, az *string) string {
		return aws.ToString(check[*ec2.CreateSubnetOutput](t, "CreateSubnet")(ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(w.vpc), CidrBlock: aws.String(cidr), AvailabilityZone: az})).Subnet.SubnetId)
	}
	w.subnetA = subnet("10.30.1.0/24", azs.AvailabilityZones[0].ZoneName)
	w.subnetB = subnet("10.30.2.0/24", azs.AvailabilityZones[1].ZoneName)
	w.sg = aws.ToString(check[*ec2.CreateSecurityGroupOutput](t, "CreateSecurityGroup")(ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("alb"), Description: aws.String("alb"), VpcId: aws.String(w.vpc)})).GroupId)
	amis := check[*ec2.DescribeImagesOutput](t, "DescribeImages")(ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}))
	w.instance = aws.ToString(check[*ec2.RunInstancesOutput](t, "RunInstances")(ec.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: amis.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(w.subnetA)})).Instances[0].InstanceId)

	w.alb = aws.ToString(check[*elb.CreateLoadBalancerOutput](t, "CreateLoadBalancer")(lb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("web"), Subnets: []string{w.subnetA, w.subnetB}, SecurityGroups: []string{w.sg},
		Scheme: types.LoadBalancerSchemeEnumInternetFacing, Type: types.LoadBalancerTypeEnumApplication,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}})).LoadBalancers[0].LoadBalancerArn)
	check[*elb.ModifyLoadBalancerAttributesOutput](t, "ModifyLoadBalancerAttributes")(lb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
		LoadBalancerArn: aws.String(w.alb), Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}))
	w.internal = aws.ToString(check[*elb.CreateLoadBalancerOutput](t, "CreateLoadBalancer internal")(lb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("backoffice"), Subnets: []string{w.subnetA, w.subnetB}, SecurityGroups: []string{w.sg},
		Scheme: types.LoadBalancerSchemeEnumInternal})).LoadBalancers[0].LoadBalancerArn)

	tg := func(name string) string {
		return aws.ToString(check[*elb.CreateTargetGroupOutput](t, "CreateTargetGroup")(lb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(w.vpc),
			TargetType: types.TargetTypeEnumInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(name + "-tg")}}})).TargetGroups[0].TargetGroupArn)
	}
	w.tgWeb, w.tgAPI = tg("web"), tg("api")
	check[*elb.RegisterTargetsOutput](t, "RegisterTargets")(lb.RegisterTargets(ctx, &elb.RegisterTargetsInput{
		TargetGroupArn: aws.String(w.tgWeb), Targets: []types.TargetDescription{{Id: aws.String(w.instance), Port: aws.Int32(80)}}}))
	w.listener = aws.ToString(check[*elb.CreateListenerOutput](t, "CreateListener")(lb.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(w.alb), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.tgWeb)}}})).Listeners[0].ListenerArn)
	check[*elb.CreateRuleOutput](t, "CreateRule")(lb.CreateRule(ctx, &elb.CreateRuleInput{
		ListenerArn: aws.String(w.listener), Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(w.tgAPI)}}}))

	cl := clb.NewFromConfig(cfg)
	check[*clb.CreateLoadBalancerOutput](t, "CreateLoadBalancer classic")(cl.CreateLoadBalancer(ctx, &clb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String("legacy"), Subnets: []string{w.subnetA}, SecurityGroups: []string{w.sg},
		Listeners: []clbtypes.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstancePort: aws.Int32(8080)}},
		Tags:      []clbtypes.Tag{{Key: aws.String("Name"), Value: aws.String("legacy-elb")}}}))
	check[*clb.RegisterInstancesWithLoadBalancerOutput](t, "RegisterInstancesWithLoadBalancer")(cl.RegisterInstancesWithLoadBalancer(ctx, &clb.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String("legacy"), Instances: []clbtypes.Instance{{InstanceId: aws.String(w.instance)}}}))
	check[*clb.ModifyLoadBalancerAttributesOutput](t, "ModifyLoadBalancerAttributes classic")(cl.ModifyLoadBalancerAttributes(ctx, &clb.ModifyLoadBalancerAttributesInput{
		LoadBalancerName:       aws.String("legacy"),
		LoadBalancerAttributes: &clbtypes.LoadBalancerAttributes{CrossZoneLoadBalancing: &clbtypes.CrossZoneLoadBalancing{Enabled: true}}}))
	return w
}

func decode(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Config, &m); err != nil {
		t.Fatalf("%s: %v", r.ARN, err)
	}
	return m
}

func run(t *testing.T, name string, w *world) *collecttest.Sink {
	t.Helper()
	sink, err := collecttest.Run(t, name, w.cfg, w.account, w.region)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	prefix := "arn:aws:elasticloadbalancing:" + w.region + ":" + w.account + ":"
	for _, r := range sink.Resources {
		if r.AccountID != w.account || r.Region != w.region || !strings.HasPrefix(r.ARN, prefix) || r.CollectedAt.IsZero() {
			t.Errorf("%s: resource %s in %s/%s, want %s…", name, r.ARN, r.AccountID, r.Region, prefix)
		}
	}
	return sink
}

func wantRel(t *testing.T, sink *collecttest.Sink, from, kind, to string) {
	t.Helper()
	if !sink.HasRelationship(from, kind, to) {
		t.Errorf("missing %s -%s-> %s; have %v", from, kind, to, sink.Relationships)
	}
}

func TestELBv2Collectors(t *testing.T) {
	srv := mototest.New(t)
	base := srv.Config(t, "us-east-1")
	ctx := context.Background()
	org := organizations.NewFromConfig(base)
	check[*organizations.CreateOrganizationOutput](t, "CreateOrganization")(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}))
	acct := check[*organizations.CreateAccountOutput](t, "CreateAccount")(org.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String("apps"), Email: aws.String("apps@example.com")}))
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(base, mgmtAccount, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
	var worlds []*world
	for _, a := range []struct {
		id  string
		cfg aws.Config
	}{{mgmtAccount, base}, {member, memberCfg}} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			worlds = append(worlds, buildWorld(t, a.cfg, a.id, region))
		}
	}

	t.Run("follow-up-denied", func(t *testing.T) { followUpDenied(t, srv.URL, worlds[1]) })
	for _, w := range worlds {
		w := w
		t.Run(w.account+"/"+w.region, func(t *testing.T) {
			t.Run("load-balancers", func(t *testing.T) {
				sink := run(t, "elbv2.load-balancers", w)
				if n := len(sink.Resources); n != 2 {
					t.Errorf("%d load balancers, want 2 (the other accounts' and regions' are not this one's)", n)
				}
				r := sink.ByARN(w.alb)
				if r == nil {
					t.Fatalf("no %s", w.alb)
				}
				cfg := decode(t, r)
				if r.Type != "AWS::ElasticLoadBalancingV2::LoadBalancer" || r.Name != "web" || r.Tags["team"] != "payments" ||
					cfg["Scheme"] != "internet-facing" || cfg["Type"] != "application" || len(r.Errors) != 0 {
					t.Errorf("alb %s %q %v errors %v config %s", r.Type, r.Name, r.Tags, r.Errors, r.Config)
				}
				attrs, _ := cfg["Attributes"].(map[string]any)
				if attrs["deletion_protection.enabled"] != "true" {
					t.Errorf("Attributes %v", cfg["Attributes"])
				}
				in := sink.ByARN(w.internal)
				if in == nil || decode(t, in)["Scheme"] != "internal" {
					t.Errorf("internal load balancer %v", in)
				}
				arn := func(id string) string { return yec2.ARNForID("aws", w.region, w.account, id) }
				wantRel(t, sink, w.alb, inventory.RelUsesSecurityGroup, arn(w.sg))
				wantRel(t, sink, w.alb, inventory.RelInSubnet, arn(w.subnetA))
				wantRel(t, sink, w.alb, inventory.RelInSubnet, arn(w.subnetB))
				wantRel(t, sink, w.alb, inventory.RelInVPC, arn(w.vpc))
			})
			t.Run("listeners", func(t *testing.T) {
				sink := run(t, "elbv2.listeners", w)
				r := sink.ByARN(w.listener)
				if r == nil {
					t.Fatalf("no listener %s", w.listener)
				}
				cfg := decode(t, r)
				if r.Type != "AWS::ElasticLoadBalancingV2::Listener" || r.Name != "web HTTP:80" || cfg["Port"] != float64(80) ||
					cfg["Protocol"] != "HTTP" || cfg["LoadBalancerArn"] != w.alb {
					t.Errorf("listener %s %q %s", r.Type, r.Name, r.Config)
				}
				rules, _ := cfg["Rules"].([]any)
				if len(rules) < 1 {
					t.Errorf("Rules %v", cfg["Rules"])
				}
				if len(sink.Resources) != 1 {
					t.Errorf("%d listeners, want 1", len(sink.Resources))
				}
				wantRel(t, sink, w.alb, inventory.RelForwardsTo, w.listener)
				wantRel(t, sink, w.listener, inventory.RelForwardsTo, w.tgWeb)
				wantRel(t, sink, w.listener, inventory.RelForwardsTo, w.tgAPI)
			})
			t.Run("classic-load-balancers", func(t *testing.T) {
				sink := run(t, "elbv2.classic-load-balancers", w)
				arn := "arn:aws:elasticloadbalancing:" + w.region + ":" + w.account + ":loadbalancer/legacy"
				r := sink.ByARN(arn)
				if r == nil || len(sink.Resources) != 1 {
					t.Fatalf("classic load balancers %v", sink.Resources)
				}
				cfg := decode(t, r)
				if r.Type != "AWS::ElasticLoadBalancing::LoadBalancer" || r.Name != "legacy-elb" || cfg["Scheme"] != "internet-facing" ||
					at(cfg, "Attributes", "CrossZoneLoadBalancing", "Enabled") != true || at(cfg, "ListenerDescriptions") == nil || len(r.Errors) != 0 {
					t.Errorf("classic %s %q errors %v %s", r.Type, r.Name, r.Errors, r.Config)
				}
				ec2arn := func(id string) string { return yec2.ARNForID("aws", w.region, w.account, id) }
				wantRel(t, sink, arn, inventory.RelForwardsTo, ec2arn(w.instance))
				wantRel(t, sink, arn, inventory.RelUsesSecurityGroup, ec2arn(w.sg))
				wantRel(t, sink, arn, inventory.RelInSubnet, ec2arn(w.subnetA))
			})
			t.Run("target-groups", func(t *testing.T) {
				sink := run(t, "elbv2.target-groups", w)
				r := sink.ByARN(w.tgWeb)
				if r == nil {
					t.Fatalf("no target group %s", w.tgWeb)
				}
				cfg := decode(t, r)
				th, _ := cfg["TargetHealth"].([]any)
				if r.Type != "AWS::ElasticLoadBalancingV2::TargetGroup" || r.Name != "web-tg" || cfg["TargetType"] != "instance" ||
					len(th) != 1 || len(r.Errors) != 0 {
					t.Fatalf("target group %s %q errors %v %s", r.Type, r.Name, r.Errors, r.Config)
				}
				if id := th[0].(map[string]any)["Target"].(map[string]any)["Id"]; id != w.instance {
					t.Errorf("target %v, want %s", id, w.instance)
				}
				api := sink.ByARN(w.tgAPI)
				if api == nil || decode(t, api)["TargetHealth"] == nil {
					t.Errorf("empty target group must have TargetHealth [] (read, none registered): %v", api)
				}
				wantRel(t, sink, w.tgWeb, inventory.RelForwardsTo, yec2.ARNForID("aws", w.region, w.account, w.instance))
			})
		})
	}
}

// elbDenied is Elastic Load Balancing's real error body for a refused call (query protocol,
// <ErrorResponse>, HTTP 403).
func elbDenied(w http.ResponseWriter, action string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/yagura-audit/yagura-scan is not authorized to perform: elasticloadbalancing:%s</Message></Error><RequestId>2f7d3b1c-5e1a-4c8e-9b7d-3a1f0c2e4d5b</RequestId></ErrorResponse>`, action)
}

func TestListingDeniedIsClassifiedDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		elbDenied(w, r.Form.Get("Action"))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"elbv2.load-balancers", "elbv2.listeners", "elbv2.target-groups", "elbv2.classic-load-balancers"} {
		sink, err := collecttest.Run(t, name, cfg, mgmtAccount, "us-east-1")
		outcome, reason := awsx.Classify(err)
		if outcome != awsx.OutcomeDenied || !strings.Contains(reason, "AccessDenied") || len(sink.Resources) != 0 {
			t.Errorf("%s: %q %q, %d resources", name, outcome, reason, len(sink.Resources))
		}
	}
}

// followUpDenied: a proxy to moto refuses the follow-up reads; resources are still written
// and say which attribute is missing and why.
func followUpDenied(t *testing.T, target string, w *world) {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		switch a := form.Get("Action"); a {
		case "DescribeLoadBalancerAttributes", "DescribeTargetHealth", "DescribeRules", "DescribeTags":
			elbDenied(rw, a)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(rw, r)
	}))
	defer proxy.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: w.region, EndpointURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ collector, arn, attr, kept string }{
		{"elbv2.load-balancers", w.alb, "Attributes", "Scheme"},
		{"elbv2.load-balancers", w.alb, "Tags", "Scheme"},
		{"elbv2.listeners", w.listener, "Rules", "DefaultActions"},
		{"elbv2.target-groups", w.tgWeb, "TargetHealth", "TargetType"},
	} {
		sink, err := collecttest.Run(t, c.collector, cfg, w.account, w.region)
		if err != nil {
			t.Fatalf("%s failed on a follow-up denial: %v", c.collector, err)
		}
		r := sink.ByARN(c.arn)
		if r == nil {
			t.Fatalf("%s: %s not written", c.collector, c.arn)
		}
		m := decode(t, r)
		if m[c.attr] != nil || m[c.kept] == nil || !strings.HasPrefix(r.Errors[c.attr], "access denied: AccessDenied") {
			t.Errorf("%s: %s=%v %s=%v errors %v", c.collector, c.attr, m[c.attr], c.kept, m[c.kept], r.Errors)
		}
	}
}

func at(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}
