package risk

import (
	"strings"
	"testing"
)

func TestDataServicesExposure(t *testing.T) {
	f := newFixture()
	f.add(TypeSG, ec2ARN("security-group", "sg-db"), "db", M{"GroupId": "sg-db", "IpPermissions": []M{perm("tcp", 5432, 5432, "0.0.0.0/0", "")}}, nil)
	dbARN := func(n string) string { return "arn:aws:rds:us-east-1:" + acct + ":db:" + n }
	db := func(name string, public bool, subnet string) {
		f.add(TypeDB, dbARN(name), name, M{"PubliclyAccessible": public, "VpcSecurityGroups": []M{{"VpcSecurityGroupId": "sg-db"}},
			"DBSubnetGroup": M{"Subnets": []M{{"SubnetIdentifier": subnet}}}, "Endpoint": M{"Port": 5432}}, nil)
	}
	db("public", true, "subnet-pub")
	db("flag-off", false, "subnet-pub")
	db("nat-only", true, "subnet-priv")
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:"
	f.add(TypeFunction, fn+"open", "open", M{"Role": "arn:aws:iam::" + acct + ":role/web-admin", "FunctionUrlConfigs": []M{{"AuthType": "NONE", "FunctionUrl": "https://x.lambda-url.us-east-1.on.aws/"}}}, nil)
	f.add(TypeFunction, fn+"iam", "iam", M{"FunctionUrlConfigs": []M{{"AuthType": "AWS_IAM"}}}, nil)
	ek := "arn:aws:eks:us-east-1:" + acct + ":cluster/"
	f.add(TypeEKS, ek+"pub", "pub", M{"ResourcesVpcConfig": M{"EndpointPublicAccess": true, "PublicAccessCidrs": []string{"0.0.0.0/0"}}}, nil)
	f.add(TypeEKS, ek+"office", "office", M{"ResourcesVpcConfig": M{"EndpointPublicAccess": true, "PublicAccessCidrs": []string{"10.1.0.0/16"}}}, nil)
	b := NewBuilder()
	for _, r := range f.res {
		b.Add(r)
	}
	b.MarkPublicBucket("arn:aws:s3:::logs", "finding-public-read")
	a := Analyze(b.Build(), f.fs, nil, DefaultWeights)

	for arn, want := range map[string]string{dbARN("public"): "tcp/5432", fn + "open": "https/443", ek + "pub": "https/443", "arn:aws:s3:::logs": "https/443"} {
		id := node(t, a, arn)
		if es := a.X.Reachable[id]; len(es) == 0 || es[0].Ports() != want {
			t.Errorf("%s: exposures %+v, want %s", arn, es, want)
		}
	}
	for _, arn := range []string{dbARN("flag-off"), dbARN("nat-only"), fn + "iam", ek + "office", "arn:aws:s3:::conf-data"} {
		if id := node(t, a, arn); a.X.Exposed(id) {
			t.Errorf("%s exposed: %+v", arn, a.X.Reachable[id])
		}
	}
	if got := blockedText(a.X.Blocked[node(t, a, dbARN("nat-only"))]); !strings.Contains(got, "no route to an internet gateway") {
		t.Errorf("nat-only db blocked: %s", got)
	}
	// The open function runs as an administrator: its blast radius says so.
	if nf := a.factors(node(t, a, fn+"open")); nf.blast != 1 || nf.exposure != 0.9 {
		t.Errorf("function factors %+v", nf)
	}
}

func TestSecurityGroupFindingTakesExposureOfItsUsers(t *testing.T) {
	f := newFixture()
	sg := ec2ARN("security-group", "sg-open")
	f.rel(ec2ARN("instance", "i-pub"), sg, "uses-security-group")
	f.rel(ec2ARN("instance", "i-priv"), sg, "uses-security-group")
	lb := ec2ARN("security-group", "sg-app")
	f.rel(ec2ARN("instance", "i-app"), lb, "uses-security-group")
	a := f.analyze()
	if nf := a.factors(node(t, a, sg)); nf.exposure != 1 || !strings.Contains(nf.exposureWhy, "used by i-pub") {
		t.Errorf("sg-open factors %+v", nf)
	}
	// sg-app's instance is reached only through the load balancer.
	if nf := a.factors(node(t, a, lb)); nf.exposure != 0.8 {
		t.Errorf("sg-app factors %+v", nf)
	}
}

func TestRoleTrustedByAnyoneIsExposed(t *testing.T) {
	f := newFixture()
	open := "arn:aws:iam::" + acct + ":role/open"
	f.add(TypeRole, open, "open", M{"RoleName": "open", "AttachedManagedPolicies": []M{{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
		"AssumeRolePolicyDocument": M{"Statement": []M{{"Effect": "Allow", "Principal": M{"AWS": "*"}, "Action": "sts:AssumeRole"}}}}, nil)
	a := f.analyze()
	nf := a.factors(node(t, a, open))
	if nf.exposure != 1 || nf.blast != 1 || !strings.Contains(nf.exposureWhy, "anyone") {
		t.Errorf("open role factors %+v", nf)
	}
	if nf := a.factors(node(t, a, "arn:aws:iam::"+acct+":role/web-admin")); nf.exposure != 0 {
		t.Errorf("web-admin (trusts EC2 only) exposure %v", nf.exposure)
	}
}

func TestNarrowInternetSourceCountsHalf(t *testing.T) {
	f := newFixture()
	f.add(TypeSG, ec2ARN("security-group", "sg-office"), "office", M{"GroupId": "sg-office", "IpPermissions": []M{perm("tcp", 443, 443, "203.0.113.7/32", "")}}, nil)
	f.instance("i-office", "subnet-pub", "203.0.113.20", "sg-office", "", "required")
	a := f.analyze()
	id := node(t, a, ec2ARN("instance", "i-office"))
	es := a.X.Reachable[id]
	if len(es) != 1 || es[0].Source != "203.0.113.7/32" || es[0].Anyone() {
		t.Fatalf("exposures %+v", es)
	}
	if nf := a.factors(id); nf.exposure != 0.5 || !strings.Contains(nf.exposureWhy, "reachable from 203.0.113.7/32 on tcp/443") {
		t.Errorf("factors %+v", nf)
	}
	if nf := a.factors(node(t, a, ec2ARN("instance", "i-pub"))); nf.exposure != 1 {
		t.Errorf("i-pub (open to 0.0.0.0/0) exposure %v", nf.exposure)
	}
}
