package netsearch_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	_ "github.com/yagura-dev/yagura/internal/collect/ec2"
	_ "github.com/yagura-dev/yagura/internal/collect/s3"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	mgmt     = "123456789012"
	target   = "203.0.113.7"
	target6  = "2001:db8::7"
	regionUS = "us-east-1"
	regionEU = "eu-west-1"
)

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// planted names what the test created, to check the answer names each with the right account
// and region.
type planted struct {
	exactSG, wideSG, internetSG, plSG, unrelatedSG string
	prefixList, nacl                               string
	member                                         string
}

func inRegion(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}

func newSG(t *testing.T, c *ec2.Client, vpc, name string, perms ...ec2types.IpPermission) string {
	t.Helper()
	ctx := context.Background()
	id := aws.ToString(must[*ec2.CreateSecurityGroupOutput](t, "CreateSecurityGroup")(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(vpc)})).GroupId)
	if len(perms) > 0 {
		must[*ec2.AuthorizeSecurityGroupIngressOutput](t, "AuthorizeSecurityGroupIngress "+name)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(id), IpPermissions: perms}))
	}
	return id
}

func tcp(port int32, cidrs ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c)})
		} else {
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
		}
	}
	return p
}

func newVPC(t *testing.T, c *ec2.Client, cidr string) string {
	t.Helper()
	return aws.ToString(must[*ec2.CreateVpcOutput](t, "CreateVpc")(c.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})).Vpc.VpcId)
}

// plant builds the rules of the done-when across two accounts and two regions.
func plant(t *testing.T, base aws.Config) (planted, aws.Config) {
	ctx := context.Background()
	var p planted
	org := organizations.NewFromConfig(base)
	must[*organizations.CreateOrganizationOutput](t, "CreateOrganization")(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}))
	acc := must[*organizations.CreateAccountOutput](t, "CreateAccount")(org.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String("workloads"), Email: aws.String("workloads@example.com")}))
	p.member = aws.ToString(acc.CreateAccountStatus.AccountId)
	member := awsx.AssumeConfig(base, mgmt, p.member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	// Management, us-east-1: the exact /32 and a network ACL whose DENY at 90 overrides the
	// ALLOW at 100.
	c := ec2.NewFromConfig(inRegion(base, regionUS))
	vpc := newVPC(t, c, "10.10.0.0/16")
	p.exactSG = newSG(t, c, vpc, "exact", tcp(22, target+"/32"))
	p.nacl = aws.ToString(must[*ec2.CreateNetworkAclOutput](t, "CreateNetworkAcl")(c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(vpc)})).NetworkAcl.NetworkAclId)
	for _, e := range []struct {
		n      int32
		cidr   string
		action ec2types.RuleAction
	}{{90, target + "/32", ec2types.RuleActionDeny}, {100, "203.0.113.0/24", ec2types.RuleActionAllow}, {110, "198.51.100.0/24", ec2types.RuleActionAllow}} {
		must[*ec2.CreateNetworkAclEntryOutput](t, "CreateNetworkAclEntry")(c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(p.nacl), RuleNumber: aws.Int32(e.n), Protocol: aws.String("-1"), RuleAction: e.action,
			Egress: aws.Bool(false), CidrBlock: aws.String(e.cidr)}))
	}

	// Management, eu-west-1: the whole internet, IPv4 and IPv6.
	c = ec2.NewFromConfig(inRegion(base, regionEU))
	p.internetSG = newSG(t, c, newVPC(t, c, "10.11.0.0/16"), "internet", tcp(443, "0.0.0.0/0", "::/0"))

	// Member, us-east-1: a /24 containing the address, and a managed prefix list rule.
	c = ec2.NewFromConfig(inRegion(member, regionUS))
	vpc = newVPC(t, c, "10.20.0.0/16")
	p.wideSG = newSG(t, c, vpc, "wide", tcp(8080, "203.0.113.0/24"))
	p.prefixList = aws.ToString(must[*ec2.CreateManagedPrefixListOutput](t, "CreateManagedPrefixList")(c.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String("partners"), AddressFamily: aws.String("IPv4"), MaxEntries: aws.Int32(10),
		Entries: []ec2types.AddPrefixListEntry{{Cidr: aws.String("203.0.113.0/28"), Description: aws.String("contractor NAT")}, {Cidr: aws.String("192.0.2.0/24")}},
	})).PrefixList.PrefixListId)
	p.plSG = newSG(t, c, vpc, "partners", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String(p.prefixList)}}})

	// Member, eu-west-1: an unrelated /24, and bucket policies with IP conditions.
	c = ec2.NewFromConfig(inRegion(member, regionEU))
	p.unrelatedSG = newSG(t, c, newVPC(t, c, "10.21.0.0/16"), "unrelated", tcp(3306, "198.51.100.0/24"))
	mcfg := inRegion(member, regionEU)
	s3c := s3.NewFromConfig(mcfg, awsx.S3Options(mcfg))
	for name, pol := range map[string]string{
		"office-reports": `{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::office-reports/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","192.0.2.0/24"]}}}]}`,
		"vpn-only":       `{"Version":"2012-10-17","Statement":[{"Sid":"VpnOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::vpn-only/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		"other-office":   `{"Version":"2012-10-17","Statement":[{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-office/*","Condition":{"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}}}]}`,
	} {
		must[*s3.CreateBucketOutput](t, "CreateBucket")(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(regionEU)}}))
		must[*s3.PutBucketPolicyOutput](t, "PutBucketPolicy")(s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(pol)}))
	}
	return p, member
}

// oracle describes every account and region through the SDK and decides, with the standard
// library's net.IPNet (not netsearch's own CIDR code), which security group rules contain the
// address and what each network ACL does to it: the exact expected answer.
func oracle(t *testing.T, cfgs map[string]aws.Config, addr string) []string {
	ctx := context.Background()
	ip := net.ParseIP(addr)
	contains := func(cidr string) bool {
		_, n, err := net.ParseCIDR(cidr)
		return err == nil && n.Contains(ip) && (ip.To4() != nil) == (n.IP.To4() != nil)
	}
	var out []string
	for account, base := range cfgs {
		for _, region := range []string{regionUS, regionEU} {
			c := ec2.NewFromConfig(inRegion(base, region))
			sgs := must[*ec2.DescribeSecurityGroupsOutput](t, "DescribeSecurityGroups")(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
			for _, g := range sgs.SecurityGroups {
				for _, d := range []struct {
					dir   string
					perms []ec2types.IpPermission
				}{{"ingress", g.IpPermissions}, {"egress", g.IpPermissionsEgress}} {
					for _, p := range d.perms {
						var cidrs []string
						for _, r := range p.IpRanges {
							cidrs = append(cidrs, aws.ToString(r.CidrIp))
						}
						for _, r := range p.Ipv6Ranges {
							cidrs = append(cidrs, aws.ToString(r.CidrIpv6))
						}
						for _, pl := range p.PrefixListIds {
							es := must[*ec2.GetManagedPrefixListEntriesOutput](t, "GetManagedPrefixListEntries")(c.GetManagedPrefixListEntries(ctx, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: pl.PrefixListId}))
							for _, e := range es.Entries {
								cidrs = append(cidrs, aws.ToString(e.Cidr))
							}
						}
						for _, cidr := range cidrs {
							if contains(cidr) {
								out = append(out, fmt.Sprintf("%s %s sg %s %s %s", account, region, aws.ToString(g.GroupId), d.dir, cidr))
							}
						}
					}
				}
			}
			acls := must[*ec2.DescribeNetworkAclsOutput](t, "DescribeNetworkAcls")(c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{}))
			for _, a := range acls.NetworkAcls {
				for _, egress := range []bool{false, true} {
					var first *ec2types.NetworkAclEntry
					for i, e := range a.Entries {
						cidr := aws.ToString(e.CidrBlock) + aws.ToString(e.Ipv6CidrBlock)
						if aws.ToBool(e.Egress) != egress || aws.ToInt32(e.RuleNumber) == 32767 || !contains(cidr) {
							continue
						}
						if first == nil || aws.ToInt32(e.RuleNumber) < aws.ToInt32(first.RuleNumber) {
							first = &a.Entries[i]
						}
					}
					if first != nil {
						dir := map[bool]string{false: "ingress", true: "egress"}[egress]
						out = append(out, fmt.Sprintf("%s %s acl %s %s rule %d %s", account, region, aws.ToString(a.NetworkAclId), dir,
							aws.ToInt32(first.RuleNumber), strings.ToUpper(string(first.RuleAction))))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func keyOf(m netsearch.Match) string {
	id := m.ResourceARN[strings.LastIndex(m.ResourceARN, "/")+1:]
	switch m.Kind {
	case netsearch.KindSecurityGroup:
		return fmt.Sprintf("%s %s sg %s %s %s", m.AccountID, m.Region, id, m.Direction, m.CIDR)
	case netsearch.KindNetworkACL:
		verdict := map[string]string{netsearch.Allowed: "ALLOW", netsearch.Denied: "DENY"}[m.Verdict]
		return fmt.Sprintf("%s %s acl %s %s rule %d %s", m.AccountID, m.Region, id, m.Direction, m.RuleNumber, verdict)
	}
	return fmt.Sprintf("%s %s s3 %s %s %s %s", m.AccountID, m.Region, m.ResourceName, m.Matched, m.Verdict, m.CIDR)
}

func TestFindOnMoto(t *testing.T) {
	srv := mototest.New(t)
	base := srv.Config(t, regionUS)
	p, member := plant(t, base)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &scan.Scanner{DB: db, Base: base}
	s.AfterCollect = append(s.AfterCollect, netsearch.IndexScan)
	res, err := s.Run(ctx, scan.Options{RoleName: "OrganizationAccountAccessRole", Regions: []string{regionUS, regionEU}, Services: []string{"ec2", "s3"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accounts != 2 {
		t.Fatalf("scan saw %d accounts, want 2", res.Accounts)
	}
	if ix, err := db.NetRuleIndexOf(ctx, res.ScanID); err != nil || !ix.Indexed {
		t.Fatalf("the scan hook did not index the rules: %+v %v", ix, err)
	}
	cfgs := map[string]aws.Config{mgmt: base, p.member: member}
	find := func(t *testing.T, addr string) []netsearch.Match {
		r, err := netsearch.ParseCIDR(addr)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := netsearch.Find(ctx, db, res.ScanID, netsearch.Query{Range: r, Mode: netsearch.ModeContains, Port: -1})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}

	t.Run("ipv4", func(t *testing.T) {
		ms := find(t, target)
		var got []string
		byKey := map[string]netsearch.Match{}
		for _, m := range ms {
			k := keyOf(m)
			got = append(got, k)
			byKey[k] = m
		}
		sort.Strings(got)
		var ec2Got []string
		var s3Got []string
		for _, k := range got {
			if strings.Contains(k, " s3 ") {
				s3Got = append(s3Got, k)
			} else {
				ec2Got = append(ec2Got, k)
			}
		}
		want := oracle(t, cfgs, target)
		if strings.Join(ec2Got, "\n") != strings.Join(want, "\n") {
			t.Errorf("find ip %s:\n%s\nwant (from the SDK):\n%s", target, strings.Join(ec2Got, "\n"), strings.Join(want, "\n"))
		}
		// The planted rules, each with its account and region, and what matched.
		for k, matched := range map[string]string{
			mgmt + " us-east-1 sg " + p.exactSG + " ingress 203.0.113.7/32":           netsearch.MatchExact,
			mgmt + " eu-west-1 sg " + p.internetSG + " ingress 0.0.0.0/0":             netsearch.MatchInternet,
			p.member + " us-east-1 sg " + p.wideSG + " ingress 203.0.113.0/24":        netsearch.MatchContains,
			p.member + " us-east-1 sg " + p.plSG + " ingress 203.0.113.0/28":          netsearch.MatchPrefixList,
			mgmt + " us-east-1 acl " + p.nacl + " ingress rule 90 DENY":               netsearch.MatchExact,
			p.member + " eu-west-1 s3 office-reports contains ALLOWED 203.0.113.0/24": netsearch.MatchContains,
			p.member + " eu-west-1 s3 vpn-only outside DENIED 10.0.0.0/8":             netsearch.MatchOutside,
		} {
			m, ok := byKey[k]
			if !ok {
				t.Errorf("missing %s", k)
				continue
			}
			if m.Matched != matched {
				t.Errorf("%s matched %q, want %q", k, m.Matched, matched)
			}
		}
		if m := byKey[p.member+" us-east-1 sg "+p.plSG+" ingress 203.0.113.0/28"]; m.PrefixListID != p.prefixList || m.MatchDetail != "prefix-list "+p.prefixList+" entry 203.0.113.0/28" {
			t.Errorf("prefix list match: %+v", m)
		}
		acl := byKey[mgmt+" us-east-1 acl "+p.nacl+" ingress rule 90 DENY"]
		if len(acl.Shadowed) != 1 || acl.Shadowed[0].RuleNumber != 100 || acl.Shadowed[0].Action != "allow" || acl.Shadowed[0].ShadowedBy != 90 {
			t.Errorf("ACL decision: the allow at 100 must be reported shadowed by the deny at 90: %+v", acl)
		}
		t.Logf("find ip %s: %d matches (%d security group rules and ACL decisions from the SDK oracle)", target, len(got), len(want))
		if len(s3Got) != 2 {
			t.Errorf("bucket policies: %v, want office-reports and vpn-only only", s3Got)
		}
		for _, k := range got {
			if strings.Contains(k, "198.51.100.0/24") || strings.Contains(k, p.unrelatedSG+" ingress") || strings.Contains(k, "::/0") || strings.Contains(k, "rule 100 ALLOW") && strings.Contains(k, p.nacl) {
				t.Errorf("unrelated rule reported: %s", k)
			}
		}
	})

	t.Run("ipv6", func(t *testing.T) {
		ms := find(t, target6)
		var got []string
		for _, m := range ms {
			if m.Kind != netsearch.KindBucketPolicy {
				got = append(got, keyOf(m))
			}
		}
		sort.Strings(got)
		want := oracle(t, cfgs, target6)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("find ip %s:\n%s\nwant (from the SDK):\n%s", target6, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		k := mgmt + " eu-west-1 sg " + p.internetSG + " ingress ::/0"
		found := false
		for _, m := range ms {
			if keyOf(m) == k {
				found = m.Matched == netsearch.MatchInternet
			}
			if m.Kind == netsearch.KindSecurityGroup && strings.Contains(m.CIDR, ".") {
				t.Errorf("an IPv4 rule matched an IPv6 address: %s", keyOf(m))
			}
		}
		if !found {
			t.Errorf("%s missing or not an internet match", k)
		}
	})
}
