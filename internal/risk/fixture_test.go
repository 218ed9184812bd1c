package risk

import (
	"encoding/json"
	"fmt"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
)

const (
	acct = "111111111111"
	rgn  = "us-east-1"
)

type M = map[string]any

func ec2ARN(kind, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", rgn, acct, kind, id)
}

// fixture is a hand-built organization slice: one VPC with a public subnet, a private subnet
// that routes out through a NAT gateway, a public subnet whose network ACL denies SSH, an
// internet-facing ALB in front of a private instance, an administrator role and a role that
// reads a confidential bucket.
type fixture struct {
	res  []*inventory.Resource
	rels []inventory.Relationship
	fs   []*finding.Finding
}

func (f *fixture) add(typ, arn, name string, cfg any, tags map[string]string) {
	f.res = append(f.res, &inventory.Resource{ARN: arn, Type: typ, AccountID: acct, Region: rgn, Name: name, Tags: tags, Config: inventory.MarshalConfig(cfg)})
}

func (f *fixture) rel(from, to, kind string) {
	f.rels = append(f.rels, inventory.Relationship{From: from, To: to, Kind: kind})
}

func perm(proto string, from, to int, cidr, group string) M {
	p := M{"IpProtocol": proto, "FromPort": from, "ToPort": to, "IpRanges": []M{}, "UserIdGroupPairs": []M{}}
	if cidr != "" {
		p["IpRanges"] = []M{{"CidrIp": cidr}}
	}
	if group != "" {
		p["UserIdGroupPairs"] = []M{{"GroupId": group}}
	}
	return p
}

func (f *fixture) instance(id, subnet, publicIP, sg, profile, tokens string) string {
	arn := ec2ARN("instance", id)
	cfg := M{"InstanceId": id, "SubnetId": subnet, "VpcId": "vpc-1", "State": M{"Name": "running"},
		"MetadataOptions":   M{"HttpTokens": tokens, "HttpEndpoint": "enabled"},
		"NetworkInterfaces": []M{{"SubnetId": subnet, "Groups": []M{{"GroupId": sg}}, "Attachment": M{"DeviceIndex": 0}}}}
	if publicIP != "" {
		cfg["PublicIpAddress"] = publicIP
		cfg["NetworkInterfaces"].([]M)[0]["Association"] = M{"PublicIp": publicIP}
	}
	if profile != "" {
		cfg["IamInstanceProfile"] = M{"Arn": profile}
	}
	f.add(TypeInstance, arn, id, cfg, nil)
	return arn
}

func (f *fixture) vuln(resource, id string) *finding.Finding {
	ev, _ := json.Marshal(M{"exploitAvailable": "YES", "epss": 0.5})
	fd := &finding.Finding{ID: "insp-" + id, CheckID: "PACKAGE_VULNERABILITY", Source: "inspector2", Sources: []string{"inspector2"},
		Status: finding.Fail, Severity: finding.Critical, AccountID: acct, Region: rgn, ResourceARN: resource,
		ResourceType: TypeInstance, Title: "CVE-2024-6387 - openssh", Evidence: ev}
	f.fs = append(f.fs, fd)
	return fd
}

func newFixture() *fixture {
	f := &fixture{}
	f.add(TypeVPC, ec2ARN("vpc", "vpc-1"), "vpc-1", M{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}, nil)
	for _, s := range []struct{ id, cidr string }{{"subnet-pub", "10.0.1.0/24"}, {"subnet-priv", "10.0.2.0/24"}, {"subnet-acl", "10.0.3.0/24"}} {
		f.add(TypeSubnet, ec2ARN("subnet", s.id), s.id, M{"SubnetId": s.id, "VpcId": "vpc-1", "CidrBlock": s.cidr}, nil)
	}
	f.add(TypeRouteTable, ec2ARN("route-table", "rtb-pub"), "rtb-pub", M{"RouteTableId": "rtb-pub", "VpcId": "vpc-1",
		"Routes":       []M{{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}},
		"Associations": []M{{"SubnetId": "subnet-pub"}, {"SubnetId": "subnet-acl"}}}, nil)
	f.add(TypeRouteTable, ec2ARN("route-table", "rtb-main"), "rtb-main", M{"RouteTableId": "rtb-main", "VpcId": "vpc-1",
		"Routes":       []M{{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}},
		"Associations": []M{{"Main": true}}}, nil)
	f.add(TypeNACL, ec2ARN("network-acl", "acl-ssh"), "acl-ssh", M{"NetworkAclId": "acl-ssh", "Entries": []M{
		{"RuleNumber": 100, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
		{"RuleNumber": 50, "Egress": false, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0", "PortRange": M{"From": 22, "To": 22}},
		{"RuleNumber": 32767, "Egress": false, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"},
	}, "Associations": []M{{"SubnetId": "subnet-acl"}}}, nil)
	f.add(TypeSG, ec2ARN("security-group", "sg-open"), "open", M{"GroupId": "sg-open", "IpPermissions": []M{perm("tcp", 22, 22, "0.0.0.0/0", "")}}, nil)
	f.add(TypeSG, ec2ARN("security-group", "sg-lb"), "lb", M{"GroupId": "sg-lb", "IpPermissions": []M{perm("tcp", 80, 80, "0.0.0.0/0", "")}}, nil)
	f.add(TypeSG, ec2ARN("security-group", "sg-app"), "app", M{"GroupId": "sg-app", "IpPermissions": []M{perm("tcp", 8080, 8080, "", "sg-lb")}}, nil)

	// Identities.
	admin := "arn:aws:iam::" + acct + ":role/web-admin"
	reader := "arn:aws:iam::" + acct + ":role/reader"
	f.add(TypeRole, admin, "web-admin", M{"RoleName": "web-admin", "AttachedManagedPolicies": []M{{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}}, nil)
	f.add(TypeRole, reader, "reader", M{"RoleName": "reader", "RolePolicyList": []M{{"PolicyName": "read-data", "PolicyDocument": M{
		"Version": "2012-10-17", "Statement": []M{{"Effect": "Allow", "Action": []string{"s3:GetObject", "s3:ListBucket"}, "Resource": "arn:aws:s3:::conf-data/*"}}}}}}, nil)
	for _, p := range []struct{ name, role string }{{"web-admin", admin}, {"reader", reader}} {
		f.add(TypeProfile, "arn:aws:iam::"+acct+":instance-profile/"+p.name, p.name, M{"Roles": []M{{"Arn": p.role}}}, nil)
	}
	f.add(TypeBucket, "arn:aws:s3:::conf-data", "conf-data", M{"Name": "conf-data"}, map[string]string{"DataClassification": "confidential"})
	f.add(TypeBucket, "arn:aws:s3:::logs", "logs", M{"Name": "logs"}, nil)

	profile := func(n string) string { return "arn:aws:iam::" + acct + ":instance-profile/" + n }
	pub := f.instance("i-pub", "subnet-pub", "203.0.113.10", "sg-open", profile("web-admin"), "required")
	priv := f.instance("i-priv", "subnet-priv", "", "sg-open", profile("web-admin"), "required")
	f.instance("i-nat", "subnet-priv", "203.0.113.11", "sg-open", "", "required")
	f.instance("i-acl", "subnet-acl", "203.0.113.12", "sg-open", "", "required")
	app := f.instance("i-app", "subnet-priv", "", "sg-app", "", "required")
	f.instance("i-imds", "subnet-pub", "203.0.113.13", "sg-open", profile("reader"), "optional")
	f.vuln(pub, "pub")
	f.vuln(priv, "priv")

	// Internet-facing ALB → listener :80 → target group :8080 → i-app.
	lb := "arn:aws:elasticloadbalancing:us-east-1:" + acct + ":loadbalancer/app/web/1"
	ln := "arn:aws:elasticloadbalancing:us-east-1:" + acct + ":listener/app/web/1/2"
	tg := "arn:aws:elasticloadbalancing:us-east-1:" + acct + ":targetgroup/app/3"
	f.add(TypeLB, lb, "web", M{"Scheme": "internet-facing", "Type": "application", "VpcId": "vpc-1", "SecurityGroups": []string{"sg-lb"},
		"AvailabilityZones": []M{{"SubnetId": "subnet-pub"}}}, nil)
	f.add(TypeListener, ln, "web HTTP:80", M{"Protocol": "HTTP", "Port": 80}, nil)
	f.add(TypeTargetGroup, tg, "app", M{"Protocol": "HTTP", "Port": 8080, "TargetType": "instance",
		"TargetHealth": []M{{"Target": M{"Id": "i-app", "Port": 8080}}}}, nil)
	f.rel(lb, ln, inventory.RelForwardsTo)
	f.rel(ln, tg, inventory.RelForwardsTo)
	f.rel(tg, app, inventory.RelForwardsTo)
	return f
}

func (f *fixture) build() *Graph {
	b := NewBuilder()
	for _, r := range f.res {
		b.Add(r)
	}
	for _, r := range f.rels {
		b.AddRelationship(r)
	}
	return b.Build()
}

func (f *fixture) analyze() *Analysis {
	return Analyze(f.build(), f.fs, map[string]string{acct: "prod"}, DefaultWeights)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
