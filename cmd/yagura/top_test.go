package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/risk"
)

// riskEnv is what the risk scenario planted in moto.
type riskEnv struct {
	db, account, bucket string
	inst                map[string]string // name -> instance id
}

// riskMust stops the scenario at the first failed planting call (a panic fails the test with
// the call's stack).
func riskMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// plantRiskScenario builds, in one member account tagged Environment=prod: a VPC with a public
// subnet (default route to an internet gateway), a private subnet (default route to a NAT
// gateway only) and a public subnet whose network ACL denies SSH; a security group open to the
// world on 22; twin instances with the same group and the same exploitable critical Inspector
// finding (one public with a public IP, one private), both with an administrator role; an
// instance with a public IP behind the NAT-only route; one behind the ACL; a private instance
// behind an internet-facing ALB; and an IMDSv1 public instance whose role reads a confidential
// bucket. Then it scans.
func plantRiskScenario(t *testing.T) riskEnv {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	ctx := context.Background()
	oc := organizations.NewFromConfig(cfg)
	riskMust(oc.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(member),
		Tags: []orgtypes.Tag{{Key: aws.String("Environment"), Value: aws.String("prod")}}}))
	// The member sits in OU Prod, whose SCP denies reading the secret-* buckets' objects.
	root := riskMust(oc.ListRoots(ctx, &organizations.ListRootsInput{})).Roots[0].Id
	_, _ = oc.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: root, PolicyType: orgtypes.PolicyTypeServiceControlPolicy})
	ou := riskMust(oc.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: root, Name: aws.String("Prod")})).OrganizationalUnit.Id
	riskMust(oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(member), SourceParentId: root, DestinationParentId: ou}))
	scp := riskMust(oc.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("deny-secret-reads"), Description: aws.String("x"),
		Type:    orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret-*/*"}]}`)})).Policy.PolicySummary.Id
	riskMust(oc.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: scp, TargetId: ou}))
	ec := ec2.NewFromConfig(mcfg)
	vpc := riskMust(ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})).Vpc.VpcId
	subnet := func(cidr, az string) *string {
		return riskMust(ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)})).Subnet.SubnetId
	}
	pub, priv, acl := subnet("10.20.1.0/24", "us-east-1a"), subnet("10.20.2.0/24", "us-east-1a"), subnet("10.20.3.0/24", "us-east-1b")
	igw := riskMust(ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).InternetGateway.InternetGatewayId
	riskMust(ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw, VpcId: vpc}))
	rtPub := riskMust(ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc})).RouteTable.RouteTableId
	riskMust(ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtPub, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw}))
	for _, s := range []*string{pub, acl} {
		riskMust(ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPub, SubnetId: s}))
	}
	alloc := riskMust(ec.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})).AllocationId
	nat := riskMust(ec.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: pub, AllocationId: alloc})).NatGateway.NatGatewayId
	rtPriv := riskMust(ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc})).RouteTable.RouteTableId
	riskMust(ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtPriv, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat}))
	riskMust(ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtPriv, SubnetId: priv}))
	// The ACL subnet gets its own network ACL: deny SSH (#50) before allowing everything (#100).
	naclID := riskMust(ec.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: vpc})).NetworkAcl.NetworkAclId
	for _, e := range []ec2.CreateNetworkAclEntryInput{
		{RuleNumber: aws.Int32(50), Protocol: aws.String("6"), RuleAction: ec2types.RuleActionDeny, CidrBlock: aws.String("0.0.0.0/0"), PortRange: &ec2types.PortRange{From: aws.Int32(22), To: aws.Int32(22)}},
		{RuleNumber: aws.Int32(100), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")},
	} {
		e.NetworkAclId, e.Egress = naclID, aws.Bool(false)
		riskMust(ec.CreateNetworkAclEntry(ctx, &e))
	}
	cur := riskMust(ec.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{*acl}}}}))
	for _, n := range cur.NetworkAcls {
		for _, a := range n.Associations {
			if aws.ToString(a.SubnetId) == *acl {
				riskMust(ec.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: a.NetworkAclAssociationId, NetworkAclId: naclID}))
			}
		}
	}
	sg := func(name string, perm ec2types.IpPermission) *string {
		id := riskMust(ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: vpc})).GroupId
		riskMust(ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: []ec2types.IpPermission{perm}}))
		return id
	}
	world := []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}
	sgOpen := sg("ssh-world", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: world})
	sgLB := sg("lb", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: world})
	sgApp := sg("app", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: sgLB}}})

	// Identities and data.
	ic := iam.NewFromConfig(mcfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	bucket := "conf-data-" + member
	role := func(name string) {
		riskMust(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}))
		riskMust(ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}))
		riskMust(ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name)}))
	}
	role("web-admin")
	riskMust(ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("web-admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}))
	role("reader")
	riskMust(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("read-data"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`)}))
	sc := s3.NewFromConfig(mcfg, awsx.S3Options(mcfg))
	for _, b := range []string{bucket, "secret-" + member} {
		riskMust(sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
		riskMust(sc.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("DataClassification"), Value: aws.String("confidential")}}}}))
	}

	imgs := riskMust(ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}))
	if len(imgs.Images) == 0 {
		t.Fatal("moto lists no amazon AMI")
	}
	ami := imgs.Images[0].ImageId
	run := func(name string, sub, group *string, public bool, profile, tokens string) string {
		in := &ec2.RunInstancesInput{ImageId: ami, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro,
			NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: sub, Groups: []string{*group}, AssociatePublicIpAddress: aws.Bool(public)}},
			MetadataOptions:   &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensState(tokens), HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled},
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}}
		if profile != "" {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Name: aws.String(profile)}
		}
		return *riskMust(ec.RunInstances(ctx, in)).Instances[0].InstanceId
	}
	env := riskEnv{db: filepath.Join(t.TempDir(), "y.db"), account: member, bucket: bucket, inst: map[string]string{}}
	env.inst["pub"] = run("pub", pub, sgOpen, true, "web-admin", "required")
	env.inst["priv"] = run("priv", priv, sgOpen, false, "web-admin", "required")
	env.inst["nat"] = run("nat", priv, sgOpen, true, "", "required")
	env.inst["acl"] = run("acl", acl, sgOpen, true, "", "required")
	env.inst["app"] = run("app", priv, sgApp, false, "", "required")
	env.inst["imds"] = run("imds", pub, sgOpen, true, "reader", "optional")

	lbc := elb.NewFromConfig(mcfg)
	lb := riskMust(lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: []string{*pub, *acl},
		SecurityGroups: []string{*sgLB}, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumApplication})).LoadBalancers[0].LoadBalancerArn
	tg := riskMust(lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("app"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: vpc, TargetType: elbtypes.TargetTypeEnumInstance})).TargetGroups[0].TargetGroupArn
	riskMust(lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg, Targets: []elbtypes.TargetDescription{{Id: aws.String(env.inst["app"]), Port: aws.Int32(8080)}}}))
	riskMust(lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg}}}))

	// The same critical, exploitable Inspector finding on both twins, through Security Hub.
	riskMust(securityhub.NewFromConfig(mcfg).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}))
	var fs []shtypes.AwsSecurityFinding
	for _, name := range []string{"pub", "priv"} {
		arn := fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/%s", member, env.inst[name])
		fs = append(fs, shtypes.AwsSecurityFinding{SchemaVersion: aws.String("2018-10-08"),
			Id:         aws.String(fmt.Sprintf("arn:aws:inspector2:us-east-1:%s:finding/%s", member, name)),
			ProductArn: aws.String("arn:aws:securityhub:us-east-1::product/aws/inspector"), GeneratorId: aws.String("AWSInspector"),
			AwsAccountId: aws.String(member), Region: aws.String("us-east-1"), Types: []string{"Software and Configuration Checks/Vulnerabilities/CVE"},
			CreatedAt: aws.String("2026-11-28T08:00:00.000Z"), UpdatedAt: aws.String("2026-11-28T08:00:00.000Z"),
			Severity: &shtypes.Severity{Label: shtypes.SeverityLabelCritical}, Title: aws.String("CVE-2024-6387 - openssh"), Description: aws.String("regreSSHion"),
			Resources:       []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String(arn), Region: aws.String("us-east-1"), Partition: shtypes.PartitionAws}},
			Vulnerabilities: []shtypes.Vulnerability{{Id: aws.String("CVE-2024-6387"), ExploitAvailable: shtypes.VulnerabilityExploitAvailableYes, EpssScore: aws.Float64(0.43)}},
			RecordState:     shtypes.RecordStateActive, Workflow: &shtypes.Workflow{Status: shtypes.WorkflowStatusNew}})
	}
	nfImport(t, mcfg, fs...)

	if _, err := nfRun(t, "--db", env.db, "--endpoint-url", srv.URL, "scan", "--role-name", "OrganizationAccountAccessRole",
		"--regions", "us-east-1", "--services", "ec2,iam,s3,elbv2,securityhub,organizations"); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return env
}

func riskPath(t *testing.T, db, ref string) risk.Report {
	t.Helper()
	out, err := nfRun(t, "--db", db, "path", ref, "--format", "json")
	if err != nil {
		t.Fatalf("path %s: %v", ref, err)
	}
	var r risk.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("path %s: %v\n%s", ref, err, out)
	}
	return r
}

func riskTop(t *testing.T, db string, args ...string) []topItem {
	t.Helper()
	out, err := nfRun(t, append([]string{"--db", db, "top", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("top: %v", err)
	}
	var items []topItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("top: %v\n%s", err, out)
	}
	return items
}

func blockedReasons(r risk.Report) string {
	var s []string
	for _, b := range r.Blocked {
		s = append(s, b.Reason)
	}
	return strings.Join(s, " | ")
}

func TestRiskScenariosOnMoto(t *testing.T) {
	env := plantRiskScenario(t)

	t.Run("exposed admin twin ranks above private twin", func(t *testing.T) {
		pub, priv := riskPath(t, env.db, env.inst["pub"]), riskPath(t, env.db, env.inst["priv"])
		if !pub.Exposed || pub.Exposures[0].Ports() != "tcp/22" || pub.Exposures[0].Through != "direct" {
			t.Errorf("public twin: exposed %v %+v", pub.Exposed, pub.Exposures)
		}
		if priv.Exposed {
			t.Errorf("private twin exposed: %+v", priv.Exposures)
		}
		items := riskTop(t, env.db, "-n", "200")
		rank := map[string]int{}
		for _, it := range items {
			if it.Title == "CVE-2024-6387 - openssh" && it.Risk != nil {
				rank[it.ResourceARN[strings.LastIndex(it.ResourceARN, "/")+1:]] = it.Rank
				if it.Risk.Factors[risk.FEnvironment] != 1 {
					t.Errorf("environment factor %v: the account is tagged Environment=prod", it.Risk.Factors)
				}
			}
		}
		rp, rq := rank[env.inst["pub"]], rank[env.inst["priv"]]
		if rp == 0 || rq == 0 || rp >= rq {
			t.Errorf("ranks: public twin %d, private twin %d (%d items)", rp, rq, len(items))
		}
	})

	t.Run("NAT-only route is not exposure", func(t *testing.T) {
		r := riskPath(t, env.db, env.inst["nat"])
		if r.Exposed || !strings.Contains(blockedReasons(r), "no route to an internet gateway") || !strings.Contains(blockedReasons(r), "nat-") {
			t.Errorf("exposed %v, blocked: %s", r.Exposed, blockedReasons(r))
		}
	})

	t.Run("network ACL deny names the entry", func(t *testing.T) {
		r := riskPath(t, env.db, env.inst["acl"])
		if r.Exposed || !strings.Contains(blockedReasons(r), "entry #50 deny tcp port 22 from 0.0.0.0/0") {
			t.Errorf("exposed %v, blocked: %s", r.Exposed, blockedReasons(r))
		}
	})

	t.Run("private instance behind internet-facing ALB", func(t *testing.T) {
		r := riskPath(t, env.db, env.inst["app"])
		if !r.Exposed || r.Exposures[0].Through != "load-balancer" || r.Exposures[0].FromPort != 80 {
			t.Errorf("exposed %v %+v blocked %s", r.Exposed, r.Exposures, blockedReasons(r))
		}
	})

	t.Run("IMDSv1 instance attack path ends at confidential bucket", func(t *testing.T) {
		var found bool
		for _, it := range riskTop(t, env.db, "-n", "200") {
			if it.CheckID != risk.CheckAttackPath || !strings.HasSuffix(it.ResourceARN, env.inst["imds"]) {
				continue
			}
			var ev struct {
				Chain []risk.Hop `json:"chain"`
			}
			if err := json.Unmarshal(it.Evidence, &ev); err != nil {
				t.Fatal(err)
			}
			if end := ev.Chain[len(ev.Chain)-1]; end.ARN == "arn:aws:s3:::"+env.bucket {
				found = true
				if it.Risk == nil || it.Risk.Factors[risk.FData] < 0.8 || !strings.Contains(it.Title, "reader") {
					t.Errorf("path %s risk %+v", it.Title, it.Risk)
				}
			}
		}
		if !found {
			t.Error("no attack path from the IMDSv1 instance to the confidential bucket")
		}
	})

	t.Run("SCP of the account's OU takes a bucket from an administrator", func(t *testing.T) {
		r := riskPath(t, env.db, env.inst["pub"])
		var reach, removed []string
		for _, ro := range r.Roles {
			for _, re := range ro.Reaches {
				reach = append(reach, re.Name+":"+re.Access)
			}
			for _, rm := range ro.Removed {
				removed = append(removed, rm.What+": "+rm.By)
			}
		}
		got := strings.Join(reach, " ")
		if !strings.Contains(got, env.bucket+":read-write") || strings.Contains(got, "secret-"+env.account+":read") {
			t.Errorf("web-admin reaches %s", got)
		}
		want := "read bucket secret-" + env.account + ": explicit deny in SCP deny-secret-reads (statement NoSecrets) attached to OU Prod"
		if !strings.Contains(strings.Join(removed, " | "), want) {
			t.Errorf("removed %v\nwant %s", removed, want)
		}
	})

	// Last: it re-scores the scan.
	t.Run("top --risk-weights re-scores", func(t *testing.T) {
		twins := func(items []topItem) (pub, priv float64) {
			for _, it := range items {
				if it.Title == "CVE-2024-6387 - openssh" && it.Risk != nil {
					if strings.HasSuffix(it.ResourceARN, env.inst["pub"]) {
						pub = it.Risk.Score
					} else if strings.HasSuffix(it.ResourceARN, env.inst["priv"]) {
						priv = it.Risk.Score
					}
				}
			}
			return pub, priv
		}
		// Severity alone: the critical twins score the same, 100.
		if p, q := twins(riskTop(t, env.db, "-n", "200", "--risk-weights", "severity=1,exploitability=0,exposure=0,blast_radius=0,environment=0,data=0")); p != 100 || q != 100 {
			t.Errorf("severity-only scores: public %v private %v", p, q)
		}
		// The older flag name still works; default weights part the twins again.
		if p, q := twins(riskTop(t, env.db, "-n", "200", "--weights", "severity=30")); p <= q {
			t.Errorf("default scores: public %v private %v", p, q)
		}
		if _, err := nfRun(t, "--db", env.db, "top", "--risk-weights", "exposure=-1"); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("negative weight accepted: %v", err)
		}
	})
}

// A scan's weights: its --risk-weights, else $YAGURA_RISK_WEIGHTS, else the defaults; a bad value
// fails when the flag is read, before anything is scanned.
func TestScanRiskWeightsFlag(t *testing.T) {
	t.Setenv(riskWeightsEnv, "exposure=1")
	cmd := newScanCmd()
	if w, err := scanWeights(); err != nil || w.Exposure != 1 || w.Data != risk.DefaultWeights.Data {
		t.Errorf("from the environment: %+v %v", w, err)
	}
	if err := cmd.ParseFlags([]string{"--risk-weights", "data=7"}); err != nil {
		t.Fatal(err)
	}
	if w, err := scanWeights(); err != nil || w.Data != 7 || w.Exposure != risk.DefaultWeights.Exposure {
		t.Errorf("flag over environment: %+v %v", w, err)
	}
	newScanCmd() // a new command starts from the environment again
	t.Setenv(riskWeightsEnv, "bogus=1")
	if _, err := scanWeights(); err == nil || !strings.Contains(err.Error(), "$"+riskWeightsEnv) {
		t.Errorf("bad environment value: %v", err)
	}
	db := filepath.Join(t.TempDir(), "y.db")
	if _, err := nfRun(t, "--db", db, "scan", "--risk-weights", "bogus=1"); err == nil || !strings.Contains(err.Error(), "unknown factor") {
		t.Errorf("scan with bad weights: %v", err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a scan with bad weights opened the database: %v", err)
	}
}
