package risk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func node(t *testing.T, a *Analysis, arn string) NodeID {
	t.Helper()
	id, ok := a.G.Lookup(arn)
	if !ok {
		t.Fatalf("no node %s", arn)
	}
	return id
}

func blockedText(bs []Blocked) string {
	var s []string
	for _, b := range bs {
		s = append(s, b.Reason)
	}
	return strings.Join(s, " | ")
}

func TestDirectExposureNeedsPublicIPAndInternetRoute(t *testing.T) {
	a := newFixture().analyze()
	pub := node(t, a, ec2ARN("instance", "i-pub"))
	es := a.X.Reachable[pub]
	if len(es) != 1 || es[0].Ports() != "tcp/22" || es[0].Through != "direct" {
		t.Fatalf("i-pub exposures = %+v, want tcp/22 direct", es)
	}
	var chain []string
	for _, h := range es[0].Hops {
		chain = append(chain, ShortRef(h.ARN))
	}
	if got := strings.Join(chain, ">"); got != "internet>igw-1>rtb-pub>subnet-pub>sg-open>i-pub" {
		t.Errorf("chain = %s", got)
	}
	if via := es[0].Hops[4].Via; via != "tcp port 22 from 0.0.0.0/0" {
		t.Errorf("sg hop via = %q", via)
	}
	priv := node(t, a, ec2ARN("instance", "i-priv"))
	if a.X.Exposed(priv) {
		t.Errorf("i-priv (no public IP) exposed: %+v", a.X.Reachable[priv])
	}
	if !strings.Contains(blockedText(a.X.Blocked[priv]), "no public IP") {
		t.Errorf("i-priv blocked = %s", blockedText(a.X.Blocked[priv]))
	}
}

func TestNATRouteIsNotInboundExposure(t *testing.T) {
	a := newFixture().analyze()
	id := node(t, a, ec2ARN("instance", "i-nat"))
	if a.X.Exposed(id) {
		t.Fatalf("instance behind a NAT-only route is exposed: %+v", a.X.Reachable[id])
	}
	got := blockedText(a.X.Blocked[id])
	if !strings.Contains(got, "rtb-main has no route to an internet gateway") || !strings.Contains(got, "nat-1") {
		t.Errorf("blocked = %s", got)
	}
}

func TestNetworkACLDenyStopsPathAndNamesEntry(t *testing.T) {
	a := newFixture().analyze()
	id := node(t, a, ec2ARN("instance", "i-acl"))
	if a.X.Exposed(id) {
		t.Fatalf("instance behind a NACL deny on 22 is exposed: %+v", a.X.Reachable[id])
	}
	got := blockedText(a.X.Blocked[id])
	if !strings.Contains(got, "acl-ssh entry #50 deny tcp port 22 from 0.0.0.0/0") {
		t.Errorf("blocked = %s", got)
	}
}

func TestNACLEntriesApplyInRuleOrderOverPortRanges(t *testing.T) {
	g := newFixture().build()
	n := g.subnetACL[key(acct, rgn, "subnet-acl")]
	pass, stopped := g.naclFilter(n, []span{{proto: "tcp", from: 20, to: 25}})
	if len(pass) != 2 || pass[0].from != 20 || pass[0].to != 21 || pass[1].from != 23 || pass[1].to != 25 {
		t.Errorf("pass = %+v, want 20-21 and 23-25", pass)
	}
	if len(stopped) != 1 || !strings.Contains(stopped[0].Reason, "#50") {
		t.Errorf("stopped = %+v", stopped)
	}
	// A UDP span meets no UDP entry before #100 allow all.
	pass, _ = g.naclFilter(n, []span{{proto: "udp", from: 53, to: 53}})
	if len(pass) != 1 || !strings.Contains(pass[0].hops[0].Via, "#100") {
		t.Errorf("udp pass = %+v", pass)
	}
}

func TestPrivateInstanceExposedThroughLoadBalancerOnListenerPort(t *testing.T) {
	a := newFixture().analyze()
	id := node(t, a, ec2ARN("instance", "i-app"))
	es := a.X.Reachable[id]
	if len(es) != 1 || es[0].Through != "load-balancer" || es[0].Ports() != "http/80" {
		t.Fatalf("i-app exposures = %+v, want http/80 through the load balancer", es)
	}
	last := es[0].Hops[len(es[0].Hops)-2]
	if !strings.Contains(last.Via, "from sg-lb") {
		t.Errorf("target rule hop = %+v", last)
	}
}

func TestExposedAdminInstanceRanksAbovePrivateTwin(t *testing.T) {
	f := newFixture()
	a := f.analyze()
	pub, priv := a.Score(f.fs[0]), a.Score(f.fs[1])
	if pub.Score <= priv.Score {
		t.Fatalf("public %v <= private %v", pub, priv)
	}
	if pub.Factors[FExposure] != 1 || priv.Factors[FExposure] != 0 || pub.Factors[FBlastRadius] != 1 || pub.Factors[FExploitability] != 0.8 {
		t.Errorf("factors pub %v priv %v", pub.Factors, priv.Factors)
	}
	if !strings.Contains(pub.Reason, "internet-exposed on tcp/22") || !strings.Contains(pub.Reason, "administrator") {
		t.Errorf("reason = %q", pub.Reason)
	}
}

func TestIMDSv1InstanceAttackPathEndsAtConfidentialBucket(t *testing.T) {
	f := newFixture()
	a := f.analyze()
	var got *finding.Finding
	for _, p := range a.AttackPaths() {
		if strings.HasSuffix(p.ResourceARN, "i-imds") {
			if got != nil {
				t.Fatalf("more than one path from i-imds")
			}
			got = p
		}
	}
	if got == nil {
		t.Fatal("no attack path from i-imds")
	}
	var ev pathEvidence
	if err := json.Unmarshal(got.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	end := ev.Chain[len(ev.Chain)-1]
	if end.ARN != "arn:aws:s3:::conf-data" || ev.Target.Access != "read" || ev.Target.Sensitivity != "confidential" {
		t.Errorf("path end = %+v target %+v", end, ev.Target)
	}
	if !strings.Contains(ev.Weakness, "IMDSv1") || ev.Role != "arn:aws:iam::"+acct+":role/reader" {
		t.Errorf("weakness %q role %q", ev.Weakness, ev.Role)
	}
	if got.CheckID != CheckAttackPath || got.Source != "yagura" || got.Status != finding.Fail || got.ID != finding.StableID(CheckAttackPath, got.ResourceARN, ev.Role, end.ARN) {
		t.Errorf("finding = %+v", got)
	}
	// The logs bucket is not sensitive: no path there.
	if strings.Contains(string(got.Evidence), "arn:aws:s3:::logs") {
		t.Error("path to an unclassified bucket")
	}
}

func TestAttackPathsFromExploitableAdminInstance(t *testing.T) {
	f := newFixture()
	a := f.analyze()
	var pubPaths []*finding.Finding
	for _, p := range a.AttackPaths() {
		if strings.HasSuffix(p.ResourceARN, "i-priv") {
			t.Errorf("path from unexposed i-priv: %s", p.Title)
		}
		if strings.HasSuffix(p.ResourceARN, "i-pub") {
			pubPaths = append(pubPaths, p)
		}
	}
	// Administrator of the account, and the confidential bucket it can therefore read.
	if len(pubPaths) != 2 {
		t.Fatalf("paths from i-pub = %d", len(pubPaths))
	}
	for _, p := range pubPaths {
		var ev pathEvidence
		json.Unmarshal(p.Evidence, &ev)
		if len(ev.RelatedFindings) != 1 || ev.RelatedFindings[0] != "insp-pub" || p.Severity != finding.Critical {
			t.Errorf("path %s related %v severity %s", p.Title, ev.RelatedFindings, p.Severity)
		}
		r := a.Score(p)
		if v := a.Score(f.fs[0]); r.Score <= v.Score {
			t.Errorf("path %s scores %v, not above its member finding %v", p.Title, r.Score, v.Score)
		}
	}
}

func TestRoleReachAndBlast(t *testing.T) {
	g := newFixture().build()
	b, why := g.Blast("arn:aws:iam::" + acct + ":role/web-admin")
	if b != 1 || !strings.Contains(why, "AdministratorAccess") {
		t.Errorf("admin blast %v %q", b, why)
	}
	b, why = g.Blast("arn:aws:iam::" + acct + ":role/reader")
	if b != 0.6 || !strings.Contains(why, "conf-data") {
		t.Errorf("reader blast %v %q", b, why)
	}
}

func TestCrossAccountTrustAndPrivesc(t *testing.T) {
	f := newFixture()
	other := "222222222222"
	f.add(TypeRole, "arn:aws:iam::"+other+":role/deploy", "deploy", M{"RoleName": "deploy",
		"AssumeRolePolicyDocument": M{"Statement": []M{{"Effect": "Allow", "Principal": M{"AWS": "arn:aws:iam::" + acct + ":role/ops"}, "Action": "sts:AssumeRole"}}}}, nil)
	f.res[len(f.res)-1].AccountID = other
	f.add(TypeRole, "arn:aws:iam::"+acct+":role/ops", "ops", M{"RoleName": "ops", "RolePolicyList": []M{{"PolicyName": "p", "PolicyDocument": M{
		"Statement": []M{{"Effect": "Allow", "Action": []string{"sts:AssumeRole", "iam:PassRole"}, "Resource": "*"}}}}}}, nil)
	g := f.build()
	reach := g.RoleReach("arn:aws:iam::" + acct + ":role/ops")
	if len(reach) != 1 || reach[0].Kind != "account" || reach[0].ARN != "arn:aws:iam::"+other+":role/deploy" {
		t.Errorf("reach = %+v", reach)
	}
	if ro := g.roles["arn:aws:iam::"+other+":role/deploy"]; len(ro.TrustAccounts) != 1 || ro.TrustAccounts[0] != acct {
		t.Errorf("trust = %+v", ro.TrustAccounts)
	}
	if b, why := g.Blast("arn:aws:iam::" + acct + ":role/ops"); b != 0.8 || !strings.Contains(why, "iam:PassRole") {
		t.Errorf("ops blast %v %q", b, why)
	}
}

func TestParseWeights(t *testing.T) {
	w, err := ParseWeights("exposure=40, blast-radius=0")
	if err != nil || w.Exposure != 40 || w.BlastRadius != 0 || w.Severity != DefaultWeights.Severity {
		t.Errorf("w = %+v err %v", w, err)
	}
	if _, err := ParseWeights("bogus=1"); err == nil {
		t.Error("unknown factor accepted")
	}
	// With exposure weighted at zero, the exposed and private twins differ only by blast/data.
	f := newFixture()
	w0, _ := ParseWeights("exposure=0,blast_radius=0,data=0")
	a := Analyze(f.build(), f.fs, map[string]string{acct: "prod"}, w0)
	if p, q := a.Score(f.fs[0]).Score, a.Score(f.fs[1]).Score; p != q {
		t.Errorf("with exposure weight 0: %v != %v", p, q)
	}
}

func TestIsInternetCIDR(t *testing.T) {
	for c, want := range map[string]bool{"0.0.0.0/0": true, "::/0": true, "203.0.113.0/24": true, "10.0.0.0/8": false, "10.1.0.0/16": false, "192.168.1.1/32": false, "0.0.0.0/1": true} {
		if got := isInternetCIDR(c); got != want {
			t.Errorf("%s: %v", c, got)
		}
	}
}
