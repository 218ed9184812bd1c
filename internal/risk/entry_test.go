package risk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func pathsFrom(a *Analysis, suffix string) []*finding.Finding {
	var out []*finding.Finding
	for _, p := range a.AttackPaths() {
		if strings.HasSuffix(p.ResourceARN, suffix) {
			out = append(out, p)
		}
	}
	return out
}

func chainOf(t *testing.T, p *finding.Finding) (string, pathEvidence) {
	t.Helper()
	var ev pathEvidence
	if err := json.Unmarshal(p.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, h := range ev.Chain {
		s = append(s, ShortRef(h.ARN))
	}
	return strings.Join(s, ">"), ev
}

func TestLoadBalancerTargetPathContinuesToItsRole(t *testing.T) {
	f := newFixture()
	for _, r := range f.res {
		if r.ARN == ec2ARN("instance", "i-app") {
			r.Config = json.RawMessage(strings.Replace(string(r.Config), `"InstanceId"`, `"IamInstanceProfile":{"Arn":"arn:aws:iam::`+acct+`:instance-profile/web-admin"},"InstanceId"`, 1))
		}
	}
	f.vuln(ec2ARN("instance", "i-app"), "app")
	ps := pathsFrom(f.analyze(), "i-app")
	if len(ps) != 2 {
		t.Fatalf("paths from the load balancer target: %d", len(ps))
	}
	chain, ev := chainOf(t, ps[0])
	if !strings.HasPrefix(chain, "internet>sg-lb>1>2>3>sg-app>i-app>web-admin>") || ev.Exposure.Through != "load-balancer" || ev.Exposure.Ports() != "http/80" {
		t.Errorf("chain %s through %s %s", chain, ev.Exposure.Through, ev.Exposure.Ports())
	}
}

func TestFunctionURLPathToConfidentialBucket(t *testing.T) {
	f := newFixture()
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:"
	f.add(TypeFunction, fn+"open", "open", M{"Role": "arn:aws:iam::" + acct + ":role/reader", "FunctionUrlConfigs": []M{{"AuthType": "NONE", "FunctionUrl": "https://x.lambda-url.us-east-1.on.aws/"}}}, nil)
	f.add(TypeFunction, fn+"iam", "iam", M{"Role": "arn:aws:iam::" + acct + ":role/reader", "FunctionUrlConfigs": []M{{"AuthType": "AWS_IAM"}}}, nil)
	f.vuln(fn+"open", "fn-open")
	f.vuln(fn+"iam", "fn-iam")
	a := f.analyze()
	ps := pathsFrom(a, ":function:open")
	if len(ps) != 1 {
		t.Fatalf("paths from the open function URL: %d", len(ps))
	}
	if chain, ev := chainOf(t, ps[0]); chain != "internet>open>reader>conf-data" || ev.Exposure.Through != "function-url" {
		t.Errorf("chain %s through %s", chain, ev.Exposure.Through)
	}
	if ps := pathsFrom(a, ":function:iam"); len(ps) != 0 {
		t.Errorf("path from a function URL that requires IAM auth: %s", ps[0].Title)
	}
}

func TestDatabasesAsDataEndNodes(t *testing.T) {
	f := newFixture()
	f.add(TypeSG, ec2ARN("security-group", "sg-db"), "db", M{"GroupId": "sg-db", "IpPermissions": []M{perm("tcp", 5432, 5432, "0.0.0.0/0", "")}}, nil)
	dbARN := func(n string) string { return "arn:aws:rds:us-east-1:" + acct + ":db:" + n }
	db := func(name string, public bool, tags map[string]string, extra M) {
		cfg := M{"PubliclyAccessible": public, "VpcSecurityGroups": []M{{"VpcSecurityGroupId": "sg-db"}},
			"DBSubnetGroup": M{"Subnets": []M{{"SubnetIdentifier": "subnet-pub"}}}, "Endpoint": M{"Port": 5432}}
		for k, v := range extra {
			cfg[k] = v
		}
		f.add(TypeDB, dbARN(name), name, cfg, tags)
	}
	conf := map[string]string{"DataClassification": "confidential"}
	db("customers", true, conf, nil)
	db("scratch", true, nil, nil)
	db("ledger", false, conf, M{"IAMDatabaseAuthenticationEnabled": true, "DbiResourceId": "db-LEDGER"})
	// An IMDSv1 instance whose role may connect to the ledger with IAM auth and reset the
	// customers' master password.
	dba := "arn:aws:iam::" + acct + ":role/dba"
	f.add(TypeRole, dba, "dba", M{"RoleName": "dba", "RolePolicyList": []M{{"PolicyName": "db", "PolicyDocument": M{"Statement": []M{
		{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "arn:aws:rds-db:us-east-1:" + acct + ":dbuser:db-LEDGER/app"},
		{"Effect": "Allow", "Action": "rds:ModifyDBInstance", "Resource": dbARN("customers")}}}}}}, nil)
	f.add(TypeProfile, "arn:aws:iam::"+acct+":instance-profile/dba", "dba", M{"Roles": []M{{"Arn": dba}}}, nil)
	f.instance("i-dba", "subnet-pub", "203.0.113.40", "sg-open", "arn:aws:iam::"+acct+":instance-profile/dba", "optional")
	a := f.analyze()

	ps := pathsFrom(a, ":db:customers")
	if len(ps) != 1 {
		t.Fatalf("paths ending at the public confidential database: %d", len(ps))
	}
	chain, ev := chainOf(t, ps[0])
	if chain != "internet>igw-1>rtb-pub>acl-ssh>subnet-pub>sg-db>customers" && chain != "internet>igw-1>rtb-pub>subnet-pub>sg-db>customers" {
		t.Errorf("chain %s", chain)
	}
	if ev.Role != "" || ev.Target.Kind != "database" || ev.Exploitability != OpenDatabaseExploitability || !strings.Contains(ps[0].Title, "confidential data") {
		t.Errorf("path %s evidence %+v", ps[0].Title, ev)
	}
	for _, name := range []string{"scratch", "ledger"} {
		if ps := pathsFrom(a, ":db:"+name); len(ps) != 0 {
			t.Errorf("direct path to %s: %s", name, ps[0].Title)
		}
	}
	access := map[string]string{}
	for _, p := range pathsFrom(a, "i-dba") {
		_, ev := chainOf(t, p)
		access[ev.Target.Name] = ev.Target.Access
	}
	if access["ledger"] != "connect" || !strings.HasPrefix(access["customers"], "control") || len(access) != 2 {
		t.Errorf("database targets from i-dba: %v", access)
	}
}
