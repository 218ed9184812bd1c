package risk

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/yagura-dev/yagura/internal/inventory"
)

type iface struct {
	subnet   string
	groups   []string
	publicIP string
}

type instance struct {
	id, vpc     string
	running     bool
	imdsv1      bool
	profile     string
	ifaces      []iface
	allGroups   []string
	primarySubn string
}

type sgRule struct {
	proto    string
	from, to int
	cidr     string // source CIDR, or
	group    string // source security group id
	prefix   string // or prefix list id
	text     string
}

type secGroup struct {
	id    NodeID
	rules []sgRule
}

type subnet struct {
	id        NodeID
	vpc, cidr string
}

type vpc struct{ cidr string }

type route struct{ dest, target string }

type routeTable struct {
	id     NodeID
	name   string
	routes []route
}

type naclEntry struct {
	number   int
	proto    string
	from, to int
	cidr     string
	allow    bool
}

type nacl struct {
	id      NodeID
	name    string
	entries []naclEntry // ingress only, by rule number
}

type loadBalancer struct {
	scheme, kind, vpc string
	sgs, subnets      []string
}

type listener struct {
	protocol string
	port     int
}

type targetGroup struct {
	protocol, kind string
	port           int
	ports          map[string]int // target id -> port override
}

type dbInstance struct {
	public, iamAuth bool
	sgs             []string
	subnets         []string
	port            int
	resourceID      string // DbiResourceId, the resource of rds-db:connect
}

type function struct{ role, openURL string }

type cluster struct{ role, publicCIDR string }

// Hop is one step of a path: a resource and the rule (or fact) that lets traffic or access
// through it.
type Hop struct {
	ARN  string `json:"arn"`
	Type string `json:"type,omitempty"`
	Via  string `json:"via,omitempty"`
}

// Exposure says that a resource is reachable from the internet, on which protocol and ports, and
// through which chain of resources and rules.
type Exposure struct {
	Protocol string `json:"protocol"`
	FromPort int    `json:"from_port"`
	ToPort   int    `json:"to_port"`
	// Through is direct, load-balancer, function-url, public-endpoint or public-bucket.
	Through string `json:"through"`
	// Source is the internet CIDR admitted ("0.0.0.0/0" = anyone).
	Source string `json:"source,omitempty"`
	Hops   []Hop  `json:"path"`
}

// Anyone reports whether the exposure admits the whole internet, not only some addresses.
func (e Exposure) Anyone() bool {
	return e.Source == "" || strings.HasSuffix(e.Source, "/0")
}

// Ports renders the protocol and ports, e.g. tcp/22 or tcp/0-65535.
func (e Exposure) Ports() string {
	if e.FromPort == e.ToPort {
		return fmt.Sprintf("%s/%d", e.Protocol, e.FromPort)
	}
	return fmt.Sprintf("%s/%d-%d", e.Protocol, e.FromPort, e.ToPort)
}

// Blocked records why a path from the internet stops, naming the resource and rule.
type Blocked struct {
	Reason string `json:"reason"`
	Hops   []Hop  `json:"path"`
}

func normProto(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "all"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	}
	return strings.ToLower(p)
}

var privateNets = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
		"169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// isInternetCIDR reports whether a source CIDR admits addresses on the internet, i.e. is not
// wholly inside private, shared, loopback or link-local space.
func isInternetCIDR(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	for _, n := range privateNets {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return false
		}
	}
	return true
}

// covers reports whether rule CIDR r contains the whole of CIDR c.
func covers(r, c string) bool {
	rp, err1 := netip.ParsePrefix(r)
	cp, err2 := netip.ParsePrefix(c)
	if err1 != nil || err2 != nil {
		return false
	}
	return rp.Bits() <= cp.Bits() && rp.Contains(cp.Addr())
}

func ptrInt(p *int32, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}

func (b *Builder) addInstance(id NodeID, r *inventory.Resource) {
	var c struct {
		InstanceId, SubnetId, VpcId string
		PublicIpAddress             *string
		State                       *struct{ Name string }
		MetadataOptions             *struct{ HttpTokens, HttpEndpoint string }
		IamInstanceProfile          *struct{ Arn string }
		SecurityGroups              []struct{ GroupId string }
		NetworkInterfaces           []struct {
			SubnetId    string
			Groups      []struct{ GroupId string }
			Association *struct{ PublicIp *string }
			Attachment  *struct{ DeviceIndex *int32 }
		}
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	in := &instance{id: c.InstanceId, vpc: c.VpcId, primarySubn: c.SubnetId, running: c.State == nil || c.State.Name == "running" || c.State.Name == "pending"}
	if m := c.MetadataOptions; m != nil {
		in.imdsv1 = m.HttpTokens == "optional" && m.HttpEndpoint != "disabled"
	}
	if c.IamInstanceProfile != nil {
		in.profile = c.IamInstanceProfile.Arn
	}
	seen := map[string]bool{}
	addGroup := func(g string) {
		if g != "" && !seen[g] {
			seen[g] = true
			in.allGroups = append(in.allGroups, g)
		}
	}
	for _, g := range c.SecurityGroups {
		addGroup(g.GroupId)
	}
	for i, n := range c.NetworkInterfaces {
		f := iface{subnet: n.SubnetId}
		for _, g := range n.Groups {
			f.groups = append(f.groups, g.GroupId)
			addGroup(g.GroupId)
		}
		if n.Association != nil && n.Association.PublicIp != nil {
			f.publicIP = *n.Association.PublicIp
		}
		primary := i == 0
		if n.Attachment != nil && n.Attachment.DeviceIndex != nil {
			primary = *n.Attachment.DeviceIndex == 0
		}
		if primary && f.publicIP == "" && c.PublicIpAddress != nil {
			f.publicIP = *c.PublicIpAddress
		}
		if f.subnet == "" {
			f.subnet = c.SubnetId
		}
		in.ifaces = append(in.ifaces, f)
	}
	if len(in.ifaces) == 0 {
		f := iface{subnet: c.SubnetId, groups: in.allGroups}
		if c.PublicIpAddress != nil {
			f.publicIP = *c.PublicIpAddress
		}
		in.ifaces = append(in.ifaces, f)
	}
	// Groups listed on the instance but on no interface still apply (AWS attaches them to the
	// primary interface).
	if len(in.ifaces[0].groups) == 0 {
		in.ifaces[0].groups = in.allGroups
	}
	b.g.instances[id] = in
}

func (b *Builder) addSG(r *inventory.Resource) {
	var c struct {
		GroupId       string
		IpPermissions []struct {
			IpProtocol       string
			FromPort, ToPort *int32
			IpRanges         []struct{ CidrIp *string }
			Ipv6Ranges       []struct{ CidrIpv6 *string }
			UserIdGroupPairs []struct{ GroupId *string }
			PrefixListIds    []struct{ PrefixListId *string }
		}
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	sg := &secGroup{id: b.g.node(r.ARN)}
	for _, p := range c.IpPermissions {
		proto := normProto(p.IpProtocol)
		from, to := ptrInt(p.FromPort, 0), ptrInt(p.ToPort, 65535)
		if proto == "all" || from < 0 {
			from, to = 0, 65535
		}
		if to < 0 {
			to = 65535
		}
		base := sgRule{proto: proto, from: from, to: to}
		add := func(r sgRule, src string) {
			r.text = fmt.Sprintf("%s %s from %s", proto, portText(from, to), src)
			sg.rules = append(sg.rules, r)
		}
		for _, ip := range p.IpRanges {
			if ip.CidrIp != nil {
				r := base
				r.cidr = *ip.CidrIp
				add(r, r.cidr)
			}
		}
		for _, ip := range p.Ipv6Ranges {
			if ip.CidrIpv6 != nil {
				r := base
				r.cidr = *ip.CidrIpv6
				add(r, r.cidr)
			}
		}
		for _, gp := range p.UserIdGroupPairs {
			if gp.GroupId != nil {
				r := base
				r.group = *gp.GroupId
				add(r, r.group)
			}
		}
		for _, pl := range p.PrefixListIds {
			if pl.PrefixListId != nil {
				r := base
				r.prefix = *pl.PrefixListId
				add(r, r.prefix)
			}
		}
	}
	b.g.sgs[key(r.AccountID, r.Region, c.GroupId)] = sg
}

func portText(from, to int) string {
	if from == 0 && to == 65535 {
		return "all ports"
	}
	if from == to {
		return fmt.Sprintf("port %d", from)
	}
	return fmt.Sprintf("ports %d-%d", from, to)
}

func (b *Builder) addRouteTable(id NodeID, r *inventory.Resource) {
	var c struct {
		RouteTableId, VpcId string
		Routes              []struct {
			DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId *string
			GatewayId, NatGatewayId, TransitGatewayId, VpcPeeringConnectionId       *string
			NetworkInterfaceId, InstanceId, EgressOnlyInternetGatewayId             *string
		}
		Associations []struct {
			SubnetId *string
			Main     *bool
		}
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	rt := &routeTable{id: id, name: c.RouteTableId}
	first := func(ps ...*string) string {
		for _, p := range ps {
			if p != nil && *p != "" {
				return *p
			}
		}
		return ""
	}
	for _, ro := range c.Routes {
		rt.routes = append(rt.routes, route{
			dest:   first(ro.DestinationCidrBlock, ro.DestinationIpv6CidrBlock, ro.DestinationPrefixListId),
			target: first(ro.GatewayId, ro.NatGatewayId, ro.TransitGatewayId, ro.VpcPeeringConnectionId, ro.NetworkInterfaceId, ro.InstanceId, ro.EgressOnlyInternetGatewayId),
		})
	}
	for _, a := range c.Associations {
		if a.Main != nil && *a.Main {
			b.g.mainRT[key(r.AccountID, r.Region, c.VpcId)] = rt
		}
		if a.SubnetId != nil {
			b.g.subnetRT[key(r.AccountID, r.Region, *a.SubnetId)] = rt
		}
	}
}

func (b *Builder) addNACL(id NodeID, r *inventory.Resource) {
	var c struct {
		NetworkAclId string
		Entries      []struct {
			RuleNumber    *int32
			Egress        *bool
			Protocol      string
			RuleAction    string
			CidrBlock     *string
			Ipv6CidrBlock *string
			PortRange     *struct{ From, To *int32 }
		}
		Associations []struct{ SubnetId *string }
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	n := &nacl{id: id, name: c.NetworkAclId}
	for _, e := range c.Entries {
		if e.Egress != nil && *e.Egress {
			continue
		}
		ne := naclEntry{number: ptrInt(e.RuleNumber, 32767), proto: normProto(e.Protocol), from: 0, to: 65535, allow: e.RuleAction == "allow"}
		if e.PortRange != nil && ne.proto != "all" {
			ne.from, ne.to = ptrInt(e.PortRange.From, 0), ptrInt(e.PortRange.To, 65535)
		}
		if e.CidrBlock != nil {
			ne.cidr = *e.CidrBlock
		} else if e.Ipv6CidrBlock != nil {
			ne.cidr = *e.Ipv6CidrBlock
		}
		n.entries = append(n.entries, ne)
	}
	sort.SliceStable(n.entries, func(i, j int) bool { return n.entries[i].number < n.entries[j].number })
	for _, a := range c.Associations {
		if a.SubnetId != nil {
			b.g.subnetACL[key(r.AccountID, r.Region, *a.SubnetId)] = n
		}
	}
}

// span is a protocol and port range.
type span struct {
	proto    string
	from, to int
	src      string // the internet CIDR admitted
	hops     []Hop  // evidence gathered so far
}

// internetSpans lists what a set of security groups admits from the internet, each span with
// the group and rule that admit it.
func (g *Graph) internetSpans(account, region string, groups []string) []span {
	var out []span
	for _, gid := range groups {
		sg := g.sgs[key(account, region, gid)]
		if sg == nil {
			continue
		}
		for _, r := range sg.rules {
			if r.cidr == "" || !isInternetCIDR(r.cidr) {
				continue
			}
			hop := Hop{ARN: g.Nodes[sg.id].ARN, Type: TypeSG, Via: r.text}
			for _, p := range expandProto(r.proto) {
				out = append(out, span{proto: p, from: r.from, to: r.to, src: r.cidr, hops: []Hop{hop}})
			}
		}
	}
	return out
}

func expandProto(p string) []string {
	if p == "all" {
		return []string{"tcp", "udp", "icmp"}
	}
	return []string{p}
}

// naclFilter applies a subnet's network ACL ingress entries, in rule-number order, to spans
// from the internet. It returns what gets through (with the allowing entry as a hop) and what
// is stopped (with the denying entry). Entries for private sources do not concern internet
// traffic; a deny of only part of the internet does not stop the rest.
func (g *Graph) naclFilter(n *nacl, in []span) (pass []span, stopped []Blocked) {
	if n == nil {
		return in, nil
	}
	naclARN := g.Nodes[n.id].ARN
	for _, s := range in {
		remaining := [][2]int{{s.from, s.to}}
		for _, e := range n.entries {
			if len(remaining) == 0 {
				break
			}
			if e.proto != "all" && e.proto != s.proto {
				continue
			}
			if !isInternetCIDR(e.cidr) {
				continue
			}
			full := strings.HasSuffix(e.cidr, "/0")
			if !e.allow && !full {
				continue
			}
			action := "deny"
			if e.allow {
				action = "allow"
			}
			text := fmt.Sprintf("entry #%d %s %s %s from %s", e.number, action, e.proto, portText(e.from, e.to), e.cidr)
			if e.proto == "all" {
				text = fmt.Sprintf("entry #%d %s all traffic from %s", e.number, action, e.cidr)
			}
			if e.number == 32767 {
				text = fmt.Sprintf("entry #* (default) %s all traffic from %s", action, e.cidr)
			}
			var rest [][2]int
			for _, r := range remaining {
				lo, hi := max(r[0], e.from), min(r[1], e.to)
				if lo > hi {
					rest = append(rest, r)
					continue
				}
				hop := Hop{ARN: naclARN, Type: TypeNACL, Via: text}
				if e.allow {
					p := span{proto: s.proto, from: lo, to: hi, src: s.src, hops: append(append([]Hop{}, s.hops...), hop)}
					pass = append(pass, p)
				} else {
					stopped = append(stopped, Blocked{
						Reason: fmt.Sprintf("network ACL %s %s stops %s %s", n.name, text, s.proto, portText(lo, hi)),
						Hops:   append(append([]Hop{}, s.hops...), hop)})
				}
				if r[0] < lo {
					rest = append(rest, [2]int{r[0], lo - 1})
				}
				if hi < r[1] {
					rest = append(rest, [2]int{hi + 1, r[1]})
				}
			}
			remaining = rest
		}
		for _, r := range remaining {
			stopped = append(stopped, Blocked{
				Reason: fmt.Sprintf("network ACL %s has no entry allowing %s %s from the internet (implicit deny)", n.name, s.proto, portText(r[0], r[1])),
				Hops:   append(append([]Hop{}, s.hops...), Hop{ARN: naclARN, Type: TypeNACL, Via: "implicit deny"})})
		}
	}
	return pass, stopped
}

func arnPrefix(arn string) string {
	// arn:PARTITION
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 2 {
		return "arn:aws"
	}
	return parts[0] + ":" + parts[1]
}

// internetRoute finds the subnet's route table and its default route to an internet gateway.
func (g *Graph) internetRoute(account, region, subnetID string) (*routeTable, string, string) {
	sn := g.subnets[key(account, region, subnetID)]
	rt := g.subnetRT[key(account, region, subnetID)]
	if rt == nil && sn != nil {
		rt = g.mainRT[key(account, region, sn.vpc)]
	}
	if rt == nil {
		return nil, "", "no route table known for subnet " + subnetID
	}
	var other []string
	for _, r := range rt.routes {
		if r.dest != "0.0.0.0/0" && r.dest != "::/0" {
			continue
		}
		if strings.HasPrefix(r.target, "igw-") {
			return rt, r.target, ""
		}
		other = append(other, r.dest+" via "+r.target)
	}
	why := fmt.Sprintf("route table %s has no route to an internet gateway", rt.name)
	if len(other) > 0 {
		why += " (default route " + strings.Join(other, ", ") + ": outbound only)"
	}
	return rt, "", why
}

// reach decides whether a network placement (subnet, groups, public address) is reachable from
// the internet, hop by hop: internet gateway route, network ACL, security group.
func (g *Graph) reach(target NodeID, account, region, subnetID string, groups []string, publicIP string) ([]Exposure, []Blocked) {
	res := g.Nodes[target]
	pfx := arnPrefix(res.ARN)
	spans := g.internetSpans(account, region, groups)
	if len(spans) == 0 {
		return nil, []Blocked{{Reason: "no security group rule admits internet sources", Hops: []Hop{{ARN: res.ARN, Type: res.Type}}}}
	}
	if publicIP == "" {
		return nil, []Blocked{{Reason: "no public IP address: not directly reachable from the internet", Hops: []Hop{{ARN: res.ARN, Type: res.Type}}}}
	}
	rt, igw, why := g.internetRoute(account, region, subnetID)
	if igw == "" {
		var hops []Hop
		if rt != nil {
			hops = append(hops, Hop{ARN: g.Nodes[rt.id].ARN, Type: TypeRouteTable, Via: why})
		}
		return nil, []Blocked{{Reason: why, Hops: append(hops, Hop{ARN: res.ARN, Type: res.Type})}}
	}
	head := []Hop{
		{ARN: "internet", Type: "internet"},
		{ARN: fmt.Sprintf("%s:ec2:%s:%s:internet-gateway/%s", pfx, region, account, igw), Type: TypeIGW},
		{ARN: g.Nodes[rt.id].ARN, Type: TypeRouteTable, Via: "0.0.0.0/0 -> " + igw},
	}
	acl := g.subnetACL[key(account, region, subnetID)]
	var pass []span
	var stopped []Blocked
	if acl != nil {
		pass, stopped = g.naclFilter(acl, spans)
	}
	var subnetHop []Hop
	if sn := g.subnets[key(account, region, subnetID)]; sn != nil {
		subnetHop = []Hop{{ARN: g.Nodes[sn.id].ARN, Type: TypeSubnet}}
	}
	var out []Exposure
	for _, s := range pass {
		// span hops are [sg, nacl]: present them in traffic order, NACL (subnet) before SG.
		hops := append([]Hop{}, head...)
		hops = append(hops, s.hops[len(s.hops)-1])
		hops = append(hops, subnetHop...)
		hops = append(hops, s.hops[:len(s.hops)-1]...)
		hops = append(hops, Hop{ARN: res.ARN, Type: res.Type, Via: "public IP " + publicIP})
		out = append(out, Exposure{Protocol: s.proto, FromPort: s.from, ToPort: s.to, Through: "direct", Source: s.src, Hops: hops})
	}
	if acl == nil {
		for _, s := range spans {
			hops := append(append(append([]Hop{}, head...), subnetHop...), s.hops...)
			hops = append(hops, Hop{ARN: res.ARN, Type: res.Type, Via: "public IP " + publicIP})
			out = append(out, Exposure{Protocol: s.proto, FromPort: s.from, ToPort: s.to, Through: "direct", Source: s.src, Hops: hops})
		}
	}
	for i := range stopped {
		stopped[i].Hops = append(append([]Hop{}, head...), stopped[i].Hops...)
	}
	return out, stopped
}
