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
	ipv6     string // first IPv6 address: every VPC IPv6 address is a global one
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
	entries []naclEntry // ingress, by rule number
	egress  []naclEntry // egress, by rule number
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
			SubnetId      string
			Groups        []struct{ GroupId string }
			Association   *struct{ PublicIp *string }
			Attachment    *struct{ DeviceIndex *int32 }
			Ipv6Addresses []struct{ Ipv6Address string }
		}
		Ipv6Address *string
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
		if len(n.Ipv6Addresses) > 0 {
			f.ipv6 = n.Ipv6Addresses[0].Ipv6Address
		}
		primary := i == 0
		if n.Attachment != nil && n.Attachment.DeviceIndex != nil {
			primary = *n.Attachment.DeviceIndex == 0
		}
		if primary && f.publicIP == "" && c.PublicIpAddress != nil {
			f.publicIP = *c.PublicIpAddress
		}
		if primary && f.ipv6 == "" && c.Ipv6Address != nil {
			f.ipv6 = *c.Ipv6Address
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
		if c.Ipv6Address != nil {
			f.ipv6 = *c.Ipv6Address
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
		ne := naclEntry{number: ptrInt(e.RuleNumber, 32767), proto: normProto(e.Protocol), from: 0, to: 65535, allow: e.RuleAction == "allow"}
		if e.PortRange != nil && ne.proto != "all" {
			ne.from, ne.to = ptrInt(e.PortRange.From, 0), ptrInt(e.PortRange.To, 65535)
		}
		if e.CidrBlock != nil {
			ne.cidr = *e.CidrBlock
		} else if e.Ipv6CidrBlock != nil {
			ne.cidr = *e.Ipv6CidrBlock
		}
		if e.Egress != nil && *e.Egress {
			n.egress = append(n.egress, ne)
		} else {
			n.entries = append(n.entries, ne)
		}
	}
	for _, es := range [][]naclEntry{n.entries, n.egress} {
		sort.SliceStable(es, func(i, j int) bool { return es[i].number < es[j].number })
	}
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

// isV6 reports whether a CIDR (or address) is IPv6. Spans without a source are IPv4.
func isV6(cidr string) bool { return strings.Contains(cidr, ":") }

// EphemeralFrom and EphemeralTo bound the client ports return traffic goes to: the range AWS
// recommends network ACLs open for responses, covering Linux, Windows and NAT gateway clients.
const EphemeralFrom, EphemeralTo = 1024, 65535

// naclFilter applies a subnet's network ACL ingress entries, in rule-number order, to spans
// from the internet. It returns what gets through (with the allowing entry as a hop) and what
// is stopped (with the denying entry). Entries for private sources do not concern internet
// traffic; a deny of only part of the internet does not stop the rest; IPv4 entries apply to
// IPv4 traffic, IPv6 entries to IPv6 traffic.
func (g *Graph) naclFilter(n *nacl, in []span) (pass []span, stopped []Blocked) {
	if n == nil {
		return in, nil
	}
	for _, s := range in {
		ok, no := g.naclPass(n, n.entries, "from", s, s.from, s.to)
		pass = append(pass, ok...)
		for _, b := range no {
			stopped = append(stopped, Blocked{Reason: b.Reason, Hops: append(append([]Hop{}, s.hops...), b.Hops...)})
		}
	}
	return pass, stopped
}

// naclReturn applies the egress entries to the responses of traffic that got in: a TCP or UDP
// reply goes back to the client's ephemeral port (EphemeralFrom-EphemeralTo), an ICMP reply has
// no port. Network ACLs are stateless, so a path whose replies are all denied carries nothing
// back. It returns the spans whose replies leave (the NACL hop's Via names the egress entry
// too) and the blocked ones. An ACL that lists no egress entry at all (emulators omit the
// default ones) is not judged on return traffic.
func (g *Graph) naclReturn(n *nacl, in []span) (pass []span, stopped []Blocked) {
	if n == nil || len(n.egress) == 0 {
		return in, nil
	}
	for _, s := range in {
		from, to := EphemeralFrom, EphemeralTo
		if s.proto == "icmp" || s.proto == "icmpv6" {
			from, to = 0, 65535
		}
		ok, no := g.naclPass(n, n.egress, "to", s, from, to)
		if len(ok) > 0 {
			// Some client ports get replies: the path carries traffic.
			s.hops = append([]Hop{}, s.hops...)
			last := &s.hops[len(s.hops)-1]
			last.Via += "; return traffic: " + ok[len(ok)-1].hops[len(ok[len(ok)-1].hops)-1].Via
			pass = append(pass, s)
			continue
		}
		for _, b := range no {
			stopped = append(stopped, Blocked{
				Reason: fmt.Sprintf("%s, so return traffic of %s %s from %s cannot leave", b.Reason, s.proto, portText(s.from, s.to), srcText(s.src)),
				Hops:   append(append([]Hop{}, s.hops...), b.Hops...)})
		}
	}
	return pass, stopped
}

func srcText(src string) string {
	if src == "" {
		return "the internet"
	}
	return src
}

// naclPass runs one span's port range [lo, hi] through entries in rule-number order; dir is
// "from" (ingress: the entry's CIDR is the source) or "to" (egress: the destination).
func (g *Graph) naclPass(n *nacl, entries []naclEntry, dir string, s span, lo0, hi0 int) (pass []span, stopped []Blocked) {
	naclARN := g.Nodes[n.id].ARN
	v6 := isV6(s.src)
	remaining := [][2]int{{lo0, hi0}}
	for _, e := range entries {
		if len(remaining) == 0 {
			break
		}
		if e.proto != "all" && e.proto != s.proto {
			continue
		}
		if isV6(e.cidr) != v6 || !isInternetCIDR(e.cidr) {
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
		text := fmt.Sprintf("entry #%d %s %s %s %s %s", e.number, action, e.proto, portText(e.from, e.to), dir, e.cidr)
		if e.proto == "all" {
			text = fmt.Sprintf("entry #%d %s all traffic %s %s", e.number, action, dir, e.cidr)
		}
		if e.number == 32767 {
			text = fmt.Sprintf("entry #* (default) %s all traffic %s %s", action, dir, e.cidr)
		}
		if dir == "to" {
			text = "egress " + text
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
				pass = append(pass, span{proto: s.proto, from: lo, to: hi, src: s.src, hops: append(append([]Hop{}, s.hops...), hop)})
			} else {
				stopped = append(stopped, Blocked{Reason: fmt.Sprintf("network ACL %s %s stops %s %s", n.name, text, s.proto, portText(lo, hi)), Hops: []Hop{hop}})
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
	what := "from the internet"
	if dir == "to" {
		what = "to the internet (egress)"
	}
	for _, r := range remaining {
		stopped = append(stopped, Blocked{
			Reason: fmt.Sprintf("network ACL %s has no entry allowing %s %s %s (implicit deny)", n.name, s.proto, portText(r[0], r[1]), what),
			Hops:   []Hop{{ARN: naclARN, Type: TypeNACL, Via: "implicit deny"}}})
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

// internetRoute finds the subnet's route table and its default route (0.0.0.0/0, or ::/0 for
// IPv6) to an internet gateway. An egress-only internet gateway, a NAT gateway or anything else
// carries traffic out, not in.
func (g *Graph) internetRoute(account, region, subnetID string, v6 bool) (*routeTable, string, string) {
	sn := g.subnets[key(account, region, subnetID)]
	rt := g.subnetRT[key(account, region, subnetID)]
	if rt == nil && sn != nil {
		rt = g.mainRT[key(account, region, sn.vpc)]
	}
	if rt == nil {
		return nil, "", "no route table known for subnet " + subnetID
	}
	dest := "0.0.0.0/0"
	if v6 {
		dest = "::/0"
	}
	var other []string
	for _, r := range rt.routes {
		if r.dest != dest {
			continue
		}
		if strings.HasPrefix(r.target, "igw-") {
			return rt, r.target, ""
		}
		note := ""
		if strings.HasPrefix(r.target, "eigw-") {
			note = " (egress-only internet gateway)"
		}
		other = append(other, r.dest+" via "+r.target+note)
	}
	why := fmt.Sprintf("route table %s has no route to an internet gateway", rt.name)
	if v6 {
		why = fmt.Sprintf("route table %s has no IPv6 route (::/0) to an internet gateway", rt.name)
	}
	if len(other) > 0 {
		why += " (default route " + strings.Join(other, ", ") + ": outbound only)"
	}
	return rt, "", why
}

// reach decides whether a network placement (subnet, groups, public addresses) is reachable from
// the internet, hop by hop: internet gateway route, network ACL in and back out, security group.
// IPv4 and IPv6 are judged apart: a public IPv4 address with a 0.0.0.0/0 route and rules for
// IPv4 sources, or an IPv6 address with a ::/0 route and rules for IPv6 sources.
func (g *Graph) reach(target NodeID, account, region, subnetID string, groups []string, publicIP, ipv6 string) ([]Exposure, []Blocked) {
	res := g.Nodes[target]
	spans := g.internetSpans(account, region, groups)
	if len(spans) == 0 {
		return nil, []Blocked{{Reason: "no security group rule admits internet sources", Hops: []Hop{{ARN: res.ARN, Type: res.Type}}}}
	}
	var v4s, v6s []span
	for _, s := range spans {
		if isV6(s.src) {
			v6s = append(v6s, s)
		} else {
			v4s = append(v4s, s)
		}
	}
	var out []Exposure
	var stopped []Blocked
	if len(v4s) > 0 {
		ex, bl := g.reachFamily(res, account, region, subnetID, v4s, publicIP, false)
		out, stopped = append(out, ex...), append(stopped, bl...)
	}
	if len(v6s) > 0 {
		ex, bl := g.reachFamily(res, account, region, subnetID, v6s, ipv6, true)
		out, stopped = append(out, ex...), append(stopped, bl...)
	}
	return out, stopped
}

func (g *Graph) reachFamily(res Node, account, region, subnetID string, spans []span, addr string, v6 bool) ([]Exposure, []Blocked) {
	if addr == "" {
		why := "no public IP address: not directly reachable from the internet"
		if v6 {
			why = "no IPv6 address: the security group rules for IPv6 sources reach nothing"
		}
		return nil, []Blocked{{Reason: why, Hops: []Hop{{ARN: res.ARN, Type: res.Type}}}}
	}
	rt, igw, why := g.internetRoute(account, region, subnetID, v6)
	if igw == "" {
		var hops []Hop
		if rt != nil {
			hops = append(hops, Hop{ARN: g.Nodes[rt.id].ARN, Type: TypeRouteTable, Via: why})
		}
		return nil, []Blocked{{Reason: why, Hops: append(hops, Hop{ARN: res.ARN, Type: res.Type})}}
	}
	dest, addrText := "0.0.0.0/0", "public IP "+addr
	if v6 {
		dest, addrText = "::/0", "IPv6 address "+addr
	}
	if _, err := netip.ParseAddr(addr); err != nil {
		addrText = addr // a fact, not an address ("publicly accessible endpoint")
	}
	head := []Hop{
		{ARN: "internet", Type: "internet"},
		{ARN: fmt.Sprintf("%s:ec2:%s:%s:internet-gateway/%s", arnPrefix(res.ARN), region, account, igw), Type: TypeIGW},
		{ARN: g.Nodes[rt.id].ARN, Type: TypeRouteTable, Via: dest + " -> " + igw},
	}
	var subnetHop []Hop
	if sn := g.subnets[key(account, region, subnetID)]; sn != nil {
		subnetHop = []Hop{{ARN: g.Nodes[sn.id].ARN, Type: TypeSubnet}}
	}
	var out []Exposure
	var stopped []Blocked
	if acl := g.subnetACL[key(account, region, subnetID)]; acl != nil {
		pass, in := g.naclFilter(acl, spans)
		pass, back := g.naclReturn(acl, pass)
		stopped = append(in, back...)
		for _, s := range pass {
			// span hops are [sg, nacl]: present them in traffic order, NACL (subnet) before SG.
			hops := append([]Hop{}, head...)
			hops = append(hops, s.hops[len(s.hops)-1])
			hops = append(hops, subnetHop...)
			hops = append(hops, s.hops[:len(s.hops)-1]...)
			hops = append(hops, Hop{ARN: res.ARN, Type: res.Type, Via: addrText})
			out = append(out, Exposure{Protocol: s.proto, FromPort: s.from, ToPort: s.to, Through: "direct", Source: s.src, Hops: hops})
		}
	} else {
		for _, s := range spans {
			hops := append(append(append([]Hop{}, head...), subnetHop...), s.hops...)
			hops = append(hops, Hop{ARN: res.ARN, Type: res.Type, Via: addrText})
			out = append(out, Exposure{Protocol: s.proto, FromPort: s.from, ToPort: s.to, Through: "direct", Source: s.src, Hops: hops})
		}
	}
	for i := range stopped {
		stopped[i].Hops = append(append([]Hop{}, head...), stopped[i].Hops...)
	}
	return out, stopped
}
