package risk

import (
	"strings"
	"testing"
)

// subnetWith adds a subnet with its own route table and network ACL.
func (f *fixture) subnetWith(id string, routes []M, entries []M) {
	f.add(TypeSubnet, ec2ARN("subnet", id), id, M{"SubnetId": id, "VpcId": "vpc-1", "CidrBlock": "10.0.9.0/24"}, nil)
	f.add(TypeRouteTable, ec2ARN("route-table", "rtb-"+id), "rtb-"+id, M{"RouteTableId": "rtb-" + id, "VpcId": "vpc-1",
		"Routes": routes, "Associations": []M{{"SubnetId": id}}}, nil)
	f.add(TypeNACL, ec2ARN("network-acl", "acl-"+id), "acl-"+id, M{"NetworkAclId": "acl-" + id, "Entries": entries,
		"Associations": []M{{"SubnetId": id}}}, nil)
}

func aclEntry(n int, egress bool, proto, action, cidr string, ports ...int) M {
	e := M{"RuleNumber": n, "Egress": egress, "Protocol": proto, "RuleAction": action}
	if strings.Contains(cidr, ":") {
		e["Ipv6CidrBlock"] = cidr
	} else {
		e["CidrBlock"] = cidr
	}
	if len(ports) == 2 {
		e["PortRange"] = M{"From": ports[0], "To": ports[1]}
	}
	return e
}

var igwRoute = []M{{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}, {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}}

func TestNACLEgressDenyOfEphemeralPortsStopsPath(t *testing.T) {
	f := newFixture()
	in := aclEntry(100, false, "-1", "allow", "0.0.0.0/0")
	f.subnetWith("subnet-noreturn", igwRoute, []M{in,
		aclEntry(50, true, "6", "deny", "0.0.0.0/0", 1024, 65535), aclEntry(100, true, "-1", "allow", "0.0.0.0/0")})
	f.subnetWith("subnet-return", igwRoute, []M{in, aclEntry(100, true, "-1", "allow", "0.0.0.0/0")})
	// Replies only to Linux's ephemeral ports: some clients get answers, the path carries traffic.
	f.subnetWith("subnet-linux", igwRoute, []M{in, aclEntry(100, true, "6", "allow", "0.0.0.0/0", 32768, 60999)})
	f.instance("i-noreturn", "subnet-noreturn", "203.0.113.30", "sg-open", "", "required")
	f.instance("i-return", "subnet-return", "203.0.113.31", "sg-open", "", "required")
	f.instance("i-linux", "subnet-linux", "203.0.113.32", "sg-open", "", "required")
	a := f.analyze()

	id := node(t, a, ec2ARN("instance", "i-noreturn"))
	if a.X.Exposed(id) {
		t.Fatalf("replies denied by the NACL, yet exposed: %+v", a.X.Reachable[id])
	}
	want := "network ACL acl-subnet-noreturn egress entry #50 deny tcp ports 1024-65535 to 0.0.0.0/0 stops tcp ports 1024-65535, so return traffic of tcp port 22 from 0.0.0.0/0 cannot leave"
	if got := blockedText(a.X.Blocked[id]); !strings.Contains(got, want) {
		t.Errorf("blocked = %s\nwant %s", got, want)
	}
	for _, name := range []string{"i-return", "i-linux"} {
		id := node(t, a, ec2ARN("instance", name))
		es := a.X.Reachable[id]
		if len(es) != 1 {
			t.Fatalf("%s exposures %+v blocked %s", name, es, blockedText(a.X.Blocked[id]))
		}
		if via := es[0].Hops[3].Via; !strings.Contains(via, "entry #100 allow all traffic from 0.0.0.0/0; return traffic: egress entry #100 allow") {
			t.Errorf("%s NACL hop via %q", name, via)
		}
	}
}

func TestIPv6Exposure(t *testing.T) {
	f := newFixture()
	f.add(TypeSG, ec2ARN("security-group", "sg-v6"), "v6", M{"GroupId": "sg-v6", "IpPermissions": []M{
		{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": []M{{"CidrIpv6": "::/0"}}}}}, nil)
	// IPv4 entries deny everything; IPv6 traffic meets only the IPv6 entries.
	v6acl := []M{aclEntry(10, false, "-1", "deny", "0.0.0.0/0"), aclEntry(100, false, "6", "allow", "::/0", 443, 443),
		aclEntry(10, true, "-1", "deny", "0.0.0.0/0"), aclEntry(100, true, "6", "allow", "::/0", 1024, 65535)}
	f.subnetWith("subnet-v6", []M{{"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}}, v6acl)
	f.subnetWith("subnet-eigw", []M{{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}, {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1"}}, v6acl)
	withV6 := func(id, subnet, sg, addr string) {
		f.instance(id, subnet, "", sg, "", "required")
		r := f.res[len(f.res)-1]
		cfg := string(r.Config)
		r.Config = []byte(strings.Replace(cfg, `"NetworkInterfaces":[{`, `"NetworkInterfaces":[{"Ipv6Addresses":[{"Ipv6Address":"`+addr+`"}],`, 1))
	}
	withV6("i-v6", "subnet-v6", "sg-v6", "2001:db8::10")
	withV6("i-eigw", "subnet-eigw", "sg-v6", "2001:db8::11")
	withV6("i-v4rules", "subnet-v6", "sg-open", "2001:db8::12") // rules for IPv4 sources only
	f.instance("i-noaddr", "subnet-v6", "", "sg-v6", "", "required")
	a := f.analyze()

	id := node(t, a, ec2ARN("instance", "i-v6"))
	es := a.X.Reachable[id]
	if len(es) != 1 || es[0].Ports() != "tcp/443" || es[0].Source != "::/0" {
		t.Fatalf("i-v6 exposures %+v blocked %s", es, blockedText(a.X.Blocked[id]))
	}
	var chain []string
	for _, h := range es[0].Hops {
		chain = append(chain, h.Via)
	}
	if got := strings.Join(chain, " | "); !strings.Contains(got, "::/0 -> igw-1") || !strings.Contains(got, "IPv6 address 2001:db8::10") || !strings.Contains(got, "tcp port 443 from ::/0") {
		t.Errorf("chain vias = %s", got)
	}
	if got := blockedText(a.X.Blocked[node(t, a, ec2ARN("instance", "i-eigw"))]); !strings.Contains(got, "no IPv6 route (::/0) to an internet gateway (default route ::/0 via eigw-1 (egress-only internet gateway): outbound only)") {
		t.Errorf("egress-only gateway: blocked = %s", got)
	}
	for _, name := range []string{"i-eigw", "i-v4rules", "i-noaddr"} {
		if id := node(t, a, ec2ARN("instance", name)); a.X.Exposed(id) {
			t.Errorf("%s exposed: %+v", name, a.X.Reachable[id])
		}
	}
	if got := blockedText(a.X.Blocked[node(t, a, ec2ARN("instance", "i-noaddr"))]); !strings.Contains(got, "no IPv6 address") {
		t.Errorf("i-noaddr blocked = %s", got)
	}
}

func TestLoadBalancerSubnetACLStopsListenerTraffic(t *testing.T) {
	f := newFixture()
	f.subnetWith("subnet-lbdeny", igwRoute, []M{aclEntry(10, false, "6", "deny", "0.0.0.0/0", 80, 80), aclEntry(100, false, "-1", "allow", "0.0.0.0/0"),
		aclEntry(100, true, "-1", "allow", "0.0.0.0/0")})
	lb := "arn:aws:elasticloadbalancing:us-east-1:" + acct + ":loadbalancer/app/web/1"
	setSubnets := func(subnets ...string) *fixture {
		var azs []M
		for _, s := range subnets {
			azs = append(azs, M{"SubnetId": s})
		}
		for _, r := range f.res {
			if r.ARN == lb {
				r.Config = []byte(strings.Replace(string(r.Config), `"AvailabilityZones":[{"SubnetId":"subnet-pub"}]`, `"AvailabilityZones":`+string(mustJSON(azs)), 1))
			}
		}
		return f
	}
	a := setSubnets("subnet-lbdeny").analyze()
	app := node(t, a, ec2ARN("instance", "i-app"))
	if a.X.Exposed(app) || a.X.Exposed(node(t, a, lb)) {
		t.Fatalf("listener port denied by the load balancer subnet's ACL, yet exposed: %+v", a.X.Reachable[app])
	}
	if got := blockedText(a.X.Blocked[node(t, a, lb)]); !strings.Contains(got, "load balancer subnet subnet-lbdeny: network ACL acl-subnet-lbdeny entry #10 deny tcp port 80 from 0.0.0.0/0") {
		t.Errorf("blocked = %s", got)
	}
	// One open zone is enough: the subnet-acl zone (SSH denied, the rest allowed) lets port 80 in.
	f = newFixture()
	f.subnetWith("subnet-lbdeny", igwRoute, []M{aclEntry(10, false, "6", "deny", "0.0.0.0/0", 80, 80), aclEntry(100, false, "-1", "allow", "0.0.0.0/0")})
	a = setSubnets("subnet-lbdeny", "subnet-acl").analyze()
	es := a.X.Reachable[node(t, a, ec2ARN("instance", "i-app"))]
	if len(es) != 1 || es[0].Hops[1].ARN != ec2ARN("network-acl", "acl-ssh") || !strings.Contains(es[0].Hops[1].Via, "#100 allow") {
		t.Errorf("exposures %+v", es)
	}
}
