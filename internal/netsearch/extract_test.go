package netsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	acct = "111111111111"
	reg  = "us-east-1"
)

// Configs in the shape the collectors store: SDK structs marshalled with API member names.
var (
	sgConfig = `{"GroupId":"sg-1","GroupName":"web","IpPermissions":[
  {"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"203.0.113.0/24","Description":"office"},{"CidrIp":"198.51.100.0/24","Description":null}],
   "Ipv6Ranges":[{"CidrIpv6":"2001:db8::/32","Description":null}],"PrefixListIds":[],"UserIdGroupPairs":[]},
  {"IpProtocol":"-1","FromPort":null,"ToPort":null,"IpRanges":[{"CidrIp":"203.0.113.7/32","Description":"contractor"}],"Ipv6Ranges":[],
   "PrefixListIds":[{"PrefixListId":"pl-111","Description":"partners"},{"PrefixListId":"pl-missing","Description":null}],"UserIdGroupPairs":[]},
  {"IpProtocol":"udp","FromPort":53,"ToPort":53,"IpRanges":[{"CidrIp":"10.0.0.5/8"}],"Ipv6Ranges":[],"PrefixListIds":[],"UserIdGroupPairs":[{"GroupId":"sg-2"}]}],
 "IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}],"PrefixListIds":[],"UserIdGroupPairs":[]}],
 "Rules":[{"SecurityGroupRuleId":"sgr-443","IsEgress":false,"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIpv4":"203.0.113.0/24"},
          {"SecurityGroupRuleId":"sgr-all","IsEgress":false,"IpProtocol":"-1","FromPort":-1,"ToPort":-1,"CidrIpv4":"203.0.113.7/32"}]}`
	plConfig   = `{"PrefixListId":"pl-111","PrefixListName":"partners","AddressFamily":"IPv4","Entries":[{"Cidr":"203.0.112.0/23","Description":"p1"},{"Cidr":"192.0.2.0/24"}]}`
	naclConfig = `{"NetworkAclId":"acl-1","IsDefault":false,"Entries":[
  {"RuleNumber":100,"Egress":false,"Protocol":"-1","RuleAction":"allow","CidrBlock":"203.0.113.0/24"},
  {"RuleNumber":90,"Egress":false,"Protocol":"-1","RuleAction":"deny","CidrBlock":"203.0.113.7/32"},
  {"RuleNumber":80,"Egress":false,"Protocol":"6","RuleAction":"allow","CidrBlock":"0.0.0.0/0","PortRange":{"From":443,"To":443}},
  {"RuleNumber":110,"Egress":false,"Protocol":"6","RuleAction":"allow","CidrBlock":"0.0.0.0/0","PortRange":{"From":22,"To":22}},
  {"RuleNumber":100,"Egress":true,"Protocol":"-1","RuleAction":"allow","CidrBlock":"0.0.0.0/0"},
  {"RuleNumber":101,"Egress":false,"Protocol":"-1","RuleAction":"allow","Ipv6CidrBlock":"::/0"},
  {"RuleNumber":32767,"Egress":false,"Protocol":"-1","RuleAction":"deny","CidrBlock":"0.0.0.0/0"}]}`
	bucketConfig = `{"Name":"logs","Region":"us-east-1","Policy":{"Version":"2012-10-17","Statement":[
  {"Sid":"OfficeRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*",
   "Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}},
  {"Sid":"OnlyVPN","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*",
   "Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
  {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["s3:PutObject"],"Resource":"arn:aws:s3:::logs/*",
   "Condition":{"ForAnyValue:IpAddressIfExists":{"AWS:SOURCEIP":"198.51.100.9"}}},
  {"Sid":"NoIP","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}}`
	stringPolicyBucket = `{"Name":"strpol","Policy":"{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"NotIpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}}}"}`
)

func res(typ, arn, name, cfg string) *inventory.Resource {
	return &inventory.Resource{ARN: arn, Type: typ, AccountID: acct, Region: reg, Name: name, Config: json.RawMessage(cfg), CollectedAt: time.Now()}
}

func extractAll(t *testing.T, rs ...*inventory.Resource) ([]*store.NetRule, *Extractor) {
	t.Helper()
	x := &Extractor{PrefixLists: PrefixLists{}}
	var out []*store.NetRule
	for _, r := range rs {
		if r.Type == TypePrefixList {
			if err := x.PrefixLists.AddPrefixList(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range rs {
		if err := x.Extract(r, func(n *store.NetRule) error { out = append(out, n); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return out, x
}

func describe(n *store.NetRule) string {
	return fmt.Sprintf("%s %s %s %d-%d %s %s#%s %s", n.Kind, n.Direction, n.Protocol, n.FromPort, n.ToPort, n.CIDR, n.PrefixListID, n.RuleID, n.Action)
}

func TestExtractSecurityGroup(t *testing.T) {
	rows, x := extractAll(t, res(TypePrefixList, "arn:aws:ec2:us-east-1:111111111111:prefix-list/pl-111", "partners", plConfig),
		res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1", "web", sgConfig))
	var got []string
	for _, r := range rows {
		got = append(got, describe(r))
	}
	want := []string{
		"security-group ingress tcp 443-443 203.0.113.0/24 #sgr-443 allow",
		"security-group ingress tcp 443-443 198.51.100.0/24 # allow",
		"security-group ingress tcp 443-443 2001:db8::/32 # allow",
		"security-group ingress -1 -1--1 203.0.113.7/32 #sgr-all allow",
		"security-group ingress -1 -1--1 203.0.112.0/23 pl-111# allow",
		"security-group ingress -1 -1--1 192.0.2.0/24 pl-111# allow",
		"security-group ingress -1 -1--1  pl-missing# allow", // no range: shown to every query as unresolved
		"security-group ingress udp 53-53 10.0.0.5/8 # allow",
		"security-group egress -1 -1--1 0.0.0.0/0 # allow",
		"security-group egress -1 -1--1 ::/0 # allow",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Host bits are cleared in the stored range, the text stays as written.
	for _, r := range rows {
		if r.CIDR == "10.0.0.5/8" && (r.PrefixLen != 8 || r.Start[12] != 10 || r.Start[15] != 0 || r.End[13] != 255) {
			t.Errorf("10.0.0.5/8 stored as len %d %x-%x", r.PrefixLen, r.Start, r.End)
		}
		if r.CIDR == "::/0" && (r.Family != 6 || r.PrefixLen != 0) {
			t.Errorf("::/0 stored as family %d len %d", r.Family, r.PrefixLen)
		}
	}
	if len(x.Unresolved) != 1 || !strings.Contains(x.Unresolved[0], "pl-missing") {
		t.Errorf("unresolved = %v, want the missing prefix list", x.Unresolved)
	}
}

func TestExtractNetworkACLSkipsDefaultRule(t *testing.T) {
	rows, _ := extractAll(t, res(TypeNetworkACL, "arn:aws:ec2:us-east-1:111111111111:network-acl/acl-1", "acl-1", naclConfig))
	var got []string
	for _, r := range rows {
		got = append(got, describe(r))
	}
	want := []string{
		"network-acl ingress -1 -1--1 203.0.113.0/24 #100 allow",
		"network-acl ingress -1 -1--1 203.0.113.7/32 #90 deny",
		"network-acl ingress 6 443-443 0.0.0.0/0 #80 allow",
		"network-acl ingress 6 22-22 0.0.0.0/0 #110 allow",
		"network-acl egress -1 -1--1 0.0.0.0/0 #100 allow",
		"network-acl ingress -1 -1--1 ::/0 #101 allow",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExtractBucketPolicy(t *testing.T) {
	b := res(TypeBucket, "arn:aws:s3:::logs", "logs", bucketConfig)
	s := res(TypeBucket, "arn:aws:s3:::strpol", "strpol", stringPolicyBucket)
	none := res(TypeBucket, "arn:aws:s3:::empty", "empty", `{"Name":"empty","Policy":null}`)
	rows, x := extractAll(t, b, s, none)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s %s %s sid=%s %s", r.ResourceARN, r.RuleID, r.Condition, r.CIDR, r.Sid, r.Effect))
	}
	sort.Strings(got)
	want := []string{
		"arn:aws:s3:::logs 0 IpAddress 2001:db8::/32 sid=OfficeRead Allow",
		"arn:aws:s3:::logs 0 IpAddress 203.0.113.0/24 sid=OfficeRead Allow",
		"arn:aws:s3:::logs 1 NotIpAddress 10.0.0.0/8 sid=OnlyVPN Deny",
		"arn:aws:s3:::logs 1 NotIpAddress 192.168.0.0/16 sid=OnlyVPN Deny",
		"arn:aws:s3:::logs 2 IpAddress 198.51.100.9 sid=Partner Allow",
		"arn:aws:s3:::strpol 0 NotIpAddress 203.0.113.0/24 sid= Deny",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(x.Unresolved) != 0 {
		t.Errorf("unresolved: %v", x.Unresolved)
	}
}

// testDB stores the resources as one scan.
func testDB(t *testing.T, rs ...*inventory.Resource) (*store.DB, int64) {
	t.Helper()
	return testDBAt(t, filepath.Join(t.TempDir(), "y.db"), rs...)
}

// testDBAt stores the resources as one scan of the database at path.
func testDBAt(t *testing.T, path string, rs ...*inventory.Resource) (*store.DB, int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	id, err := db.CreateScan(ctx, "arn:aws:iam::111111111111:root", acct, "", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(id)
	for _, r := range rs {
		if err := w.PutResource(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishScan(ctx, id, store.ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	return db, id
}

func allResources() []*inventory.Resource {
	return []*inventory.Resource{
		res(TypePrefixList, "arn:aws:ec2:us-east-1:111111111111:prefix-list/pl-111", "partners", plConfig),
		res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1", "web", sgConfig),
		res(TypeNetworkACL, "arn:aws:ec2:us-east-1:111111111111:network-acl/acl-1", "acl-1", naclConfig),
		res(TypeBucket, "arn:aws:s3:::logs", "logs", bucketConfig),
		res(TypeBucket, "arn:aws:s3:::strpol", "strpol", stringPolicyBucket),
	}
}

func summary(ms []Match) []string {
	var out []string
	for _, m := range ms {
		s := fmt.Sprintf("%s %s %s %s %s", m.Kind, m.Direction, m.Rule, m.Matched, m.MatchDetail)
		if m.Verdict != "" {
			s += " => " + m.Verdict
		}
		for _, e := range m.Shadowed {
			s += fmt.Sprintf(" shadowed:%d(by %d)", e.RuleNumber, e.ShadowedBy)
		}
		for _, e := range m.Also {
			s += fmt.Sprintf(" also:%d", e.RuleNumber)
		}
		out = append(out, s)
	}
	return out
}

func q(t *testing.T, cidr, mode string) Query {
	t.Helper()
	r, err := ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return Query{Range: r, Mode: mode, Port: -1}
}

// Every query answered from the index equals the linear scan's answer, and the answers say the
// right thing.
func TestFindIndexedEqualsLinear(t *testing.T) {
	ctx := context.Background()
	db, id := testDB(t, allResources()...)
	tcp22 := q(t, "203.0.113.7", ModeContains)
	tcp22.Protocol, tcp22.Port = "tcp", 22
	egress := q(t, "203.0.113.7", ModeContains)
	egress.Direction = Egress
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"ip", q(t, "203.0.113.7", ModeContains), []string{
			"security-group egress egress all all 0.0.0.0/0 internet internet 0.0.0.0/0",
			"security-group ingress ingress all all pl-missing unresolved unresolved prefix list pl-missing: it is not in the inventory (not collected, or shared from an account that was not scanned)",
			"security-group ingress ingress all all 203.0.112.0/23 prefix-list prefix-list pl-111 entry 203.0.112.0/23",
			"security-group ingress sgr-443 contains contains 203.0.113.0/24",
			"security-group ingress sgr-all exact exact 203.0.113.7/32",
			"network-acl egress rule 100 internet internet 0.0.0.0/0 => ALLOWED",
			"network-acl ingress rule 90 exact exact 203.0.113.7/32 => DENIED shadowed:100(by 90) shadowed:110(by 90) also:80",
			"s3-bucket-policy ingress statement 0 (OfficeRead) contains contains 203.0.113.0/24 => ALLOWED",
			"s3-bucket-policy ingress statement 1 (OnlyVPN) outside outside NotIpAddress [10.0.0.0/8, 192.168.0.0/16]: the statement applies => DENIED",
			"s3-bucket-policy ingress statement 0 excepted inside NotIpAddress 203.0.113.0/24: the statement does not apply => NOT-APPLIED",
		}},
		{"ip tcp 22", tcp22, []string{
			"security-group egress egress all all 0.0.0.0/0 internet internet 0.0.0.0/0",
			"security-group ingress ingress all all pl-missing unresolved unresolved prefix list pl-missing: it is not in the inventory (not collected, or shared from an account that was not scanned)",
			"security-group ingress ingress all all 203.0.112.0/23 prefix-list prefix-list pl-111 entry 203.0.112.0/23",
			"security-group ingress sgr-all exact exact 203.0.113.7/32",
			"network-acl egress rule 100 internet internet 0.0.0.0/0 => ALLOWED",
			"network-acl ingress rule 90 exact exact 203.0.113.7/32 => DENIED shadowed:100(by 90) shadowed:110(by 90)",
			"s3-bucket-policy ingress statement 0 (OfficeRead) contains contains 203.0.113.0/24 => ALLOWED",
			"s3-bucket-policy ingress statement 1 (OnlyVPN) outside outside NotIpAddress [10.0.0.0/8, 192.168.0.0/16]: the statement applies => DENIED",
			"s3-bucket-policy ingress statement 0 excepted inside NotIpAddress 203.0.113.0/24: the statement does not apply => NOT-APPLIED",
		}},
		{"egress only", egress, []string{
			"security-group egress egress all all 0.0.0.0/0 internet internet 0.0.0.0/0",
			"network-acl egress rule 100 internet internet 0.0.0.0/0 => ALLOWED",
		}},
		{"ipv6", q(t, "2001:db8::7", ModeContains), []string{
			"security-group egress egress all all ::/0 internet internet ::/0",
			"security-group ingress ingress all all pl-missing unresolved unresolved prefix list pl-missing: it is not in the inventory (not collected, or shared from an account that was not scanned)",
			"security-group ingress ingress tcp 443 2001:db8::/32 contains contains 2001:db8::/32",
			"network-acl ingress rule 101 internet internet ::/0 => ALLOWED",
			"s3-bucket-policy ingress statement 0 (OfficeRead) contains contains 2001:db8::/32 => ALLOWED",
			"s3-bucket-policy ingress statement 1 (OnlyVPN) outside outside NotIpAddress [10.0.0.0/8, 192.168.0.0/16]: the statement applies => DENIED",
			"s3-bucket-policy ingress statement 0 outside outside NotIpAddress [203.0.113.0/24]: the statement applies => DENIED",
		}},
		{"inside the VPN range", q(t, "10.9.9.9", ModeContains), []string{
			"security-group egress egress all all 0.0.0.0/0 internet internet 0.0.0.0/0",
			"security-group ingress ingress all all pl-missing unresolved unresolved prefix list pl-missing: it is not in the inventory (not collected, or shared from an account that was not scanned)",
			"security-group ingress ingress udp 53 10.0.0.5/8 contains contains 10.0.0.0/8",
			"network-acl egress rule 100 internet internet 0.0.0.0/0 => ALLOWED",
			"network-acl ingress rule 80 internet internet 0.0.0.0/0 (tcp 443 only; see also) => ALLOWED also:110",
			"s3-bucket-policy ingress statement 1 (OnlyVPN) excepted inside NotIpAddress 10.0.0.0/8: the statement does not apply => NOT-APPLIED",
			"s3-bucket-policy ingress statement 0 outside outside NotIpAddress [203.0.113.0/24]: the statement applies => DENIED",
		}},
		{"within /16", q(t, "203.0.0.0/16", ModeWithin), []string{
			"security-group ingress ingress all all pl-missing unresolved unresolved prefix list pl-missing: it is not in the inventory (not collected, or shared from an account that was not scanned)",
			"security-group ingress ingress all all 203.0.112.0/23 prefix-list prefix-list pl-111 entry 203.0.112.0/23",
			"security-group ingress sgr-443 within within 203.0.0.0/16: 203.0.113.0/24",
			"security-group ingress sgr-all within within 203.0.0.0/16: 203.0.113.7/32",
			"network-acl ingress rule 90 within within 203.0.0.0/16: 203.0.113.7/32",
			"network-acl ingress rule 100 within within 203.0.0.0/16: 203.0.113.0/24",
			"s3-bucket-policy ingress statement 0 (OfficeRead) within within 203.0.0.0/16: 203.0.113.0/24 => ALLOWED",
			"s3-bucket-policy ingress statement 0 partial part of the range is inside NotIpAddress [203.0.113.0/24]",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Find(ctx, db, id, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if s := summary(got); strings.Join(s, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("index:\n%s\nwant:\n%s", strings.Join(s, "\n"), strings.Join(tc.want, "\n"))
			}
			lin, err := Search(ctx, &LinearSource{DB: db, ScanID: id}, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := strings.Join(summary(got), "\n"), strings.Join(summary(lin), "\n"); a != b {
				t.Errorf("index and linear differ:\n%s\n---\n%s", a, b)
			}
		})
	}
	ix, err := db.NetRuleIndexOf(ctx, id)
	if err != nil || !ix.Indexed || ix.Rules != 22 {
		t.Errorf("index marker %+v %v, want 22 rules (21 ranges, 1 unresolved prefix list rule)", ix, err)
	}
}

// A rule naming a prefix list whose entries could not be read is not dropped: `find` shows it to
// every query as unresolved, with the reason, and the same list read by another account of the
// region resolves it.
func TestUnresolvedPrefixList(t *testing.T) {
	ctx := context.Background()
	unreadable := res(TypePrefixList, "arn:aws:ec2:us-east-1:111111111111:prefix-list/pl-111", "partners",
		`{"PrefixListId":"pl-111","PrefixListName":"partners","AddressFamily":"IPv4","Entries":null}`)
	unreadable.Errors = map[string]string{"Entries": "denied: AccessDenied"}
	sg := res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111111111111:security-group/sg-9", "partners-ssh",
		`{"GroupId":"sg-9","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"PrefixListIds":[{"PrefixListId":"pl-111"}]}]}`)
	db, id := testDB(t, unreadable, sg)
	ssh := q(t, "2001:db8::9", ModeContains)
	ssh.Protocol, ssh.Port = "tcp", 22
	https := q(t, "203.0.113.7", ModeContains)
	https.Protocol, https.Port = "tcp", 443
	for _, tc := range []struct {
		name string
		q    Query
		want string
	}{
		{"ipv4", q(t, "203.0.113.7", ModeContains), "security-group ingress ingress tcp 22 pl-111 unresolved unresolved prefix list pl-111: its entries could not be read: denied: AccessDenied"},
		{"ipv6 port 22", ssh, "security-group ingress ingress tcp 22 pl-111 unresolved unresolved prefix list pl-111: its entries could not be read: denied: AccessDenied"},
		{"within", q(t, "10.0.0.0/8", ModeWithin), "security-group ingress ingress tcp 22 pl-111 unresolved unresolved prefix list pl-111: its entries could not be read: denied: AccessDenied"},
		{"other port", https, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Find(ctx, db, id, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(summary(ms), "\n"); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			for _, m := range ms {
				if m.PrefixListID != "pl-111" || m.CIDR != "" || m.Matched != MatchUnresolved {
					t.Errorf("unresolved match %+v", m)
				}
			}
		})
	}

	// The same AWS-managed or shared list read by another account: the rule resolves.
	readable := res(TypePrefixList, "arn:aws:ec2:us-east-1:222222222222:prefix-list/pl-111", "partners", plConfig)
	rows, x := extractAll(t, unreadable, readable, sg)
	if len(x.Unresolved) != 0 || len(rows) != 2 || rows[0].CIDR != "203.0.112.0/23" {
		t.Errorf("rows %v, unresolved %v: want the two entries of the readable copy", rows, x.Unresolved)
	}
}
