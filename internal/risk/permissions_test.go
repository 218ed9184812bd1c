package risk

import (
	"encoding/json"
	"strings"
	"testing"
)

const mgmt = "999999999999"

var fullAccess = M{"Version": "2012-10-17", "Statement": []M{{"Effect": "Allow", "Action": "*", "Resource": "*"}}}

// scp plants a service control policy attached to targets (Type, TargetId, Name).
func (f *fixture) scp(name string, content M, targets ...M) {
	f.add(TypeSCP, "arn:aws:organizations::"+mgmt+":policy/o-1/service_control_policy/p-"+name, name,
		M{"Name": name, "Type": "SERVICE_CONTROL_POLICY", "Content": content, "Targets": targets}, nil)
}

func (f *fixture) buildWithOU(ouPath string, ouIDs ...string) *Graph {
	b := NewBuilder()
	for _, r := range f.res {
		b.Add(r)
	}
	for _, r := range f.rels {
		b.AddRelationship(r)
	}
	b.AddAccount(acct, ouPath, ouIDs...)
	return b.Build()
}

func reachOf(g *Graph, roleARN, kind string) []string {
	var out []string
	for _, r := range g.RoleReach(roleARN) {
		if r.Kind == kind {
			out = append(out, r.Name)
		}
	}
	return out
}

func removedText(g *Graph, arn string) string {
	var s []string
	for _, r := range g.Removed(arn) {
		s = append(s, r.What+": "+r.By)
	}
	return strings.Join(s, " | ")
}

var webAdmin = "arn:aws:iam::" + acct + ":role/web-admin"

func TestSCPDenyRemovesBucketReachOfAdministrator(t *testing.T) {
	f := newFixture()
	f.add(TypeOrganization, "arn:aws:organizations::"+mgmt+":organization/o-1", "o-1",
		M{"Id": "o-1", "MasterAccountId": mgmt, "EnabledPolicyTypes": []string{"SERVICE_CONTROL_POLICY"}}, nil)
	f.scp("FullAWSAccess", fullAccess, M{"Type": "ROOT", "TargetId": "r-1", "Name": "Root"}, M{"Type": "ORGANIZATIONAL_UNIT", "TargetId": "ou-1", "Name": "Prod"},
		M{"Type": "ACCOUNT", "TargetId": acct, "Name": "workload"})
	f.scp("deny-s3", M{"Statement": []M{{"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}}},
		M{"Type": "ORGANIZATIONAL_UNIT", "TargetId": "ou-1", "Name": "Prod"})

	// Without the account's OU path the OU's SCP cannot be placed: the admin still reads.
	if got := reachOf(f.build(), webAdmin, "bucket"); len(got) != 2 {
		t.Fatalf("no OU path: buckets %v, want both", got)
	}
	g := f.buildWithOU("Root/Prod")
	if got := reachOf(g, webAdmin, "bucket"); len(got) != 0 {
		t.Errorf("admin under an SCP denying s3:* reaches buckets %v", got)
	}
	if got := reachOf(g, webAdmin, "administrator"); len(got) != 1 {
		t.Errorf("admin lost administrator over an s3 deny: %v", got)
	}
	if got := removedText(g, webAdmin); !strings.Contains(got, "read bucket conf-data: explicit deny in SCP deny-s3 (statement NoS3) attached to OU Prod") {
		t.Errorf("removed = %s", got)
	}
	// The attack path from the exploitable admin instance no longer ends at the bucket.
	a := Analyze(g, f.fs, nil, DefaultWeights)
	for _, p := range a.AttackPaths() {
		if strings.Contains(p.Title, "conf-data") {
			t.Errorf("attack path to a bucket the SCP denies: %s", p.Title)
		}
	}
	// SCPs do not bind the management account.
	if len(g.scpLayers(acct)) != 3 || len(g.scpLayers(mgmt)) != 0 {
		t.Errorf("layers: member %d, management %d", len(g.scpLayers(acct)), len(g.scpLayers(mgmt)))
	}
}

func TestSCPLevelWithoutAllowRemoves(t *testing.T) {
	f := newFixture()
	// The account's own SCP allows only EC2: every other action fails at that level.
	f.scp("FullAWSAccess", fullAccess, M{"Type": "ROOT", "TargetId": "r-1", "Name": "Root"})
	f.scp("ec2-only", M{"Statement": []M{{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}}}, M{"Type": "ACCOUNT", "TargetId": acct})
	g := f.build()
	if ro := g.roles[webAdmin]; ro.Admin != "" {
		t.Errorf("admin under an ec2-only SCP is administrator via %s", ro.Admin)
	}
	if got := removedText(g, webAdmin); !strings.Contains(got, "administrator (AdministratorAccess): SCP ec2-only attached to account "+acct+" does not allow iam:*") {
		t.Errorf("removed = %s", got)
	}
	// A disabled SCP policy type restricts nothing.
	f.add(TypeOrganization, "arn:aws:organizations::"+mgmt+":organization/o-1", "o-1", M{"MasterAccountId": mgmt, "EnabledPolicyTypes": []string{}}, nil)
	if ro := f.build().roles[webAdmin]; ro.Admin == "" {
		t.Error("SCPs applied although the organization has them disabled")
	}
}

func TestPermissionsBoundaryIntersects(t *testing.T) {
	f := newFixture()
	boundary := "arn:aws:iam::" + acct + ":policy/logs-only"
	f.add(TypePolicy, boundary, "logs-only", M{"DefaultVersionDocument": M{"Statement": []M{{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}}}, nil)
	bounded := "arn:aws:iam::" + acct + ":role/bounded-admin"
	f.add(TypeRole, bounded, "bounded-admin", M{"RoleName": "bounded-admin",
		"AttachedManagedPolicies": []M{{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
		"PermissionsBoundary":     M{"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}}, nil)
	g := f.build()
	ro := g.roles[bounded]
	if ro.Admin != "" || len(ro.Privesc) != 0 || len(g.RoleReach(bounded)) != 0 {
		t.Errorf("bounded admin: admin %q privesc %v reach %+v", ro.Admin, ro.Privesc, g.RoleReach(bounded))
	}
	b, why := g.Blast(bounded)
	if b >= 0.5 || !strings.Contains(why, "permissions boundary logs-only does not allow iam:*") {
		t.Errorf("blast %v %q", b, why)
	}
	if got := removedText(g, bounded); !strings.Contains(got, "read bucket conf-data: permissions boundary logs-only does not allow s3:GetObject") {
		t.Errorf("removed = %s", got)
	}
	// A boundary that allows the grant changes nothing.
	f.res[len(f.res)-2].Config = json.RawMessage(`{"DefaultVersionDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`)
	if ro := f.build().roles[bounded]; ro.Admin != "AdministratorAccess" {
		t.Errorf("admin under an allow-all boundary: %q", ro.Admin)
	}
}

func TestIdentityDenyStatements(t *testing.T) {
	f := newFixture()
	guarded := "arn:aws:iam::" + acct + ":role/guarded"
	f.add(TypeRole, guarded, "guarded", M{"RoleName": "guarded", "RolePolicyList": []M{
		{"PolicyName": "all", "PolicyDocument": fullAccess},
		{"PolicyName": "fence", "PolicyDocument": M{"Statement": []M{
			{"Sid": "OnlyLogsBucket", "Effect": "Deny", "Action": "s3:*", "NotResource": []string{"arn:aws:s3:::logs", "arn:aws:s3:::logs/*"}},
			{"Sid": "NoIAM", "Effect": "Deny", "NotAction": []string{"s3:*", "ec2:*"}, "Resource": "*"}}}}}}, nil)
	g := f.build()
	if got := reachOf(g, guarded, "bucket"); len(got) != 1 || got[0] != "logs" {
		t.Errorf("buckets = %v, want only logs", got)
	}
	ro := g.roles[guarded]
	if ro.Admin != "" || len(ro.Privesc) != 0 {
		t.Errorf("admin %q privesc %v despite the NotAction deny", ro.Admin, ro.Privesc)
	}
	got := removedText(g, guarded)
	for _, want := range []string{"administrator (all (inline)): explicit deny in identity policy fence (inline) (statement NoIAM)",
		"read bucket conf-data: explicit deny in identity policy fence (inline) (statement OnlyLogsBucket)"} {
		if !strings.Contains(got, want) {
			t.Errorf("removed = %s\nwant %s", got, want)
		}
	}
}

func TestUserThroughGroupWithBoundary(t *testing.T) {
	f := newFixture()
	f.add(TypeGroup, "arn:aws:iam::"+acct+":group/admins", "admins", M{"GroupName": "admins",
		"AttachedManagedPolicies": []M{{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}}, nil)
	alice := "arn:aws:iam::" + acct + ":user/alice"
	f.add(TypeUser, alice, "alice", M{"UserName": "alice", "GroupList": []string{"admins"}}, nil)
	bob := "arn:aws:iam::" + acct + ":user/bob"
	f.add(TypePolicy, "arn:aws:iam::"+acct+":policy/read-only", "read-only", M{"DefaultVersionDocument": M{"Statement": []M{{"Effect": "Allow", "Action": []string{"s3:Get*", "s3:List*"}, "Resource": "*"}}}}, nil)
	f.add(TypeUser, bob, "bob", M{"UserName": "bob", "GroupList": []string{"admins"},
		"PermissionsBoundary": M{"PermissionsBoundaryArn": "arn:aws:iam::" + acct + ":policy/read-only"}}, nil)
	a := f.analyze()
	if b, why := a.G.Blast(alice); b != 1 || !strings.Contains(why, "user alice is administrator") {
		t.Errorf("alice blast %v %q", b, why)
	}
	if got := reachOf(a.G, bob, "bucket"); len(got) != 2 {
		t.Errorf("bob (read-only boundary) reads %v", got)
	}
	for _, r := range a.G.RoleReach(bob) {
		if r.Access != "read" {
			t.Errorf("bob has %s on %s through a read-only boundary", r.Access, r.Name)
		}
	}
	// A finding on the user takes the user's blast radius.
	if nf := a.factors(node(t, a, bob)); nf.blast != 0.6 || !strings.Contains(nf.blastWhy, "user bob can read bucket conf-data") {
		t.Errorf("bob factors %+v", nf)
	}
}

// Two OUs may share a name: with the account's OU ids known, an SCP attached to the other
// "Prod" does not apply; attached to its own, it does.
func TestSCPOnSameNamedOUMatchedByID(t *testing.T) {
	f := newFixture()
	f.scp("FullAWSAccess", fullAccess, M{"Type": "ROOT", "TargetId": "r-1", "Name": "Root"})
	f.scp("deny-s3", M{"Statement": []M{{"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}}},
		M{"Type": "ORGANIZATIONAL_UNIT", "TargetId": "ou-other", "Name": "Prod"})
	build := func(ouIDs ...string) *Graph { return f.buildWithOU("Root/Prod", ouIDs...) }
	if got := reachOf(build("r-1", "ou-mine"), webAdmin, "bucket"); len(got) != 2 {
		t.Errorf("SCP of another OU named Prod removed bucket reach: %v", got)
	}
	if got := reachOf(build("r-1", "ou-other"), webAdmin, "bucket"); len(got) != 0 {
		t.Errorf("SCP on the account's own OU (by id) did not apply: %v", got)
	}
	// Without ids (an older database) the name still matches.
	if got := reachOf(build(), webAdmin, "bucket"); len(got) != 0 {
		t.Errorf("name fallback did not apply the SCP: %v", got)
	}
}
