package risk

import (
	"fmt"
	"sort"
	"strings"
)

// Exposures is the result of the exposure analysis: for each reachable resource, how; for the
// others that had an open rule somewhere, where the path stopped.
type Exposures struct {
	Reachable map[NodeID][]Exposure
	Blocked   map[NodeID][]Blocked
}

// Exposed reports whether a node is reachable from the internet.
func (x *Exposures) Exposed(n NodeID) bool { return len(x.Reachable[n]) > 0 }

// AnalyzeExposure decides, for every instance, load balancer target, database, function and
// cluster of the graph, and for public buckets, whether the internet reaches it.
func (g *Graph) AnalyzeExposure() *Exposures {
	x := &Exposures{Reachable: map[NodeID][]Exposure{}, Blocked: map[NodeID][]Blocked{}}
	for id, in := range g.instances {
		if !in.running {
			continue
		}
		n := g.Nodes[id]
		for _, f := range in.ifaces {
			pub := f.publicIP
			if pub == "" {
				pub = g.eips[key(n.Account, n.Region, in.id)]
			}
			ex, bl := g.reach(id, n.Account, n.Region, f.subnet, f.groups, pub, f.ipv6)
			x.Reachable[id] = append(x.Reachable[id], ex...)
			x.Blocked[id] = append(x.Blocked[id], bl...)
		}
	}
	g.loadBalancerExposure(x)
	for id, d := range g.dbs {
		if !d.public {
			x.Blocked[id] = append(x.Blocked[id], Blocked{Reason: "PubliclyAccessible is false", Hops: []Hop{{ARN: g.Nodes[id].ARN, Type: TypeDB}}})
			continue
		}
		n := g.Nodes[id]
		for _, sn := range d.subnets {
			ex, bl := g.reach(id, n.Account, n.Region, sn, d.sgs, "publicly accessible endpoint", "")
			for _, e := range ex {
				if d.port == 0 || (e.Protocol == "tcp" && e.FromPort <= d.port && d.port <= e.ToPort) {
					if d.port != 0 {
						e.FromPort, e.ToPort = d.port, d.port
					}
					x.Reachable[id] = append(x.Reachable[id], e)
				}
			}
			x.Blocked[id] = append(x.Blocked[id], bl...)
			if len(x.Reachable[id]) > 0 {
				break
			}
		}
	}
	for id, f := range g.functions {
		if f.openURL != "" {
			x.Reachable[id] = append(x.Reachable[id], Exposure{Protocol: "https", FromPort: 443, ToPort: 443, Through: "function-url",
				Hops: []Hop{{ARN: "internet", Type: "internet"}, {ARN: g.Nodes[id].ARN, Type: TypeFunction, Via: "function URL with AuthType NONE: " + f.openURL}}})
		}
	}
	for id, c := range g.clusters {
		if c.publicCIDR != "" {
			x.Reachable[id] = append(x.Reachable[id], Exposure{Protocol: "https", FromPort: 443, ToPort: 443, Through: "public-endpoint",
				Hops: []Hop{{ARN: "internet", Type: "internet"}, {ARN: g.Nodes[id].ARN, Type: TypeEKS, Via: "public API endpoint open to " + c.publicCIDR}}})
		}
	}
	for id, fids := range g.publicBuckets {
		x.Reachable[id] = append(x.Reachable[id], Exposure{Protocol: "https", FromPort: 443, ToPort: 443, Through: "public-bucket",
			Hops: []Hop{{ARN: "internet", Type: "internet"}, {ARN: g.Nodes[id].ARN, Type: TypeBucket, Via: "public per findings " + strings.Join(fids, ", ")}}})
	}
	for id := range x.Reachable {
		if len(x.Reachable[id]) == 0 {
			delete(x.Reachable, id)
			continue
		}
		sortExposures(x.Reachable[id])
	}
	return x
}

func sortExposures(es []Exposure) {
	rank := map[string]int{"direct": 0, "load-balancer": 1}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if rank[a.Through] != rank[b.Through] {
			return rank[a.Through] < rank[b.Through]
		}
		if a.Anyone() != b.Anyone() {
			return a.Anyone()
		}
		return a.FromPort < b.FromPort
	})
}

// loadBalancerExposure follows internet-facing load balancers: listener port open in the load
// balancer's groups (network load balancers without groups admit everything), then listener →
// target group → registered targets, each admitting the load balancer (its group, the VPC CIDR,
// or a wider rule) on the target port.
func (g *Graph) loadBalancerExposure(x *Exposures) {
	for id, lb := range g.lbs {
		if lb.scheme != "internet-facing" {
			continue
		}
		n := g.Nodes[id]
		var spans []span
		if len(lb.sgs) == 0 {
			spans = []span{{proto: "tcp", from: 0, to: 65535, src: "0.0.0.0/0", hops: []Hop{{ARN: n.ARN, Type: TypeLB, Via: "no security groups (network load balancer)"}}}}
		} else {
			spans = g.internetSpans(n.Account, n.Region, lb.sgs)
		}
		for _, e := range g.out[id] {
			if e.Kind != EdgeForwardsTo {
				continue
			}
			l := g.listeners[e.To]
			if l == nil {
				continue
			}
			var admit *span
			for i := range spans {
				if (spans[i].proto == "tcp") && spans[i].from <= l.port && l.port <= spans[i].to {
					admit = &spans[i]
					break
				}
			}
			lnARN := g.Nodes[e.To].ARN
			if admit == nil {
				x.Blocked[id] = append(x.Blocked[id], Blocked{Reason: fmt.Sprintf("load balancer security groups do not admit the internet on listener port %d", l.port),
					Hops: []Hop{{ARN: n.ARN, Type: TypeLB}, {ARN: lnARN, Type: TypeListener}}})
				continue
			}
			aclHop, stopped := g.lbSubnetACL(n, lb, admit.src, l)
			if aclHop == nil && len(stopped) > 0 {
				x.Blocked[id] = append(x.Blocked[id], stopped...)
				continue
			}
			head := []Hop{{ARN: "internet", Type: "internet"}}
			head = append(head, aclHop...)
			if len(lb.sgs) > 0 {
				head = append(head, admit.hops...)
			}
			head = append(head, Hop{ARN: n.ARN, Type: TypeLB, Via: "internet-facing"},
				Hop{ARN: lnARN, Type: TypeListener, Via: fmt.Sprintf("%s:%d", l.protocol, l.port)})
			proto := strings.ToLower(l.protocol)
			if proto == "" {
				proto = "tcp"
			}
			x.Reachable[id] = append(x.Reachable[id], Exposure{Protocol: proto, FromPort: l.port, ToPort: l.port, Through: "direct", Source: admit.src, Hops: head})
			for _, e2 := range g.out[e.To] {
				tg := g.tgs[e2.To]
				if e2.Kind != EdgeForwardsTo || tg == nil {
					continue
				}
				tgHop := Hop{ARN: g.Nodes[e2.To].ARN, Type: TypeTargetGroup}
				for _, e3 := range g.out[e2.To] {
					if e3.Kind != EdgeForwardsTo {
						continue
					}
					t := g.Nodes[e3.To]
					hops := append(append([]Hop{}, head...), tgHop)
					if in := g.instances[e3.To]; in != nil {
						port := tg.port
						if p, ok := tg.ports[in.id]; ok {
							port = p
						}
						rule := g.admitsFrom(t.Account, t.Region, in.allGroups, lb.sgs, g.vpcCIDR(t.Account, t.Region, lb.vpc), port)
						if rule == nil {
							x.Blocked[e3.To] = append(x.Blocked[e3.To], Blocked{
								Reason: fmt.Sprintf("instance security groups do not admit the load balancer on target port %d", port),
								Hops:   append(hops, Hop{ARN: t.ARN, Type: t.Type})})
							continue
						}
						hops = append(hops, *rule, Hop{ARN: t.ARN, Type: t.Type, Via: fmt.Sprintf("target port %d", port)})
					} else {
						hops = append(hops, Hop{ARN: t.ARN, Type: t.Type, Via: "target"})
					}
					x.Reachable[e3.To] = append(x.Reachable[e3.To], Exposure{Protocol: proto, FromPort: l.port, ToPort: l.port, Through: "load-balancer", Source: admit.src, Hops: hops})
				}
			}
		}
	}
}

// lbSubnetACL applies the network ACLs of a load balancer's subnets to the listener's traffic
// from the internet, in and back out: the load balancer answers in every subnet (zone) it has, so
// one subnet letting the traffic through is enough. It returns that subnet's ACL hop (nil hops and
// no stops when no ACL is known), or, when every subnet stops it, why.
func (g *Graph) lbSubnetACL(n Node, lb *loadBalancer, src string, l *listener) ([]Hop, []Blocked) {
	proto := "tcp"
	if strings.EqualFold(l.protocol, "UDP") {
		proto = "udp"
	}
	var stopped []Blocked
	known := false
	for _, sn := range lb.subnets {
		acl := g.subnetACL[key(n.Account, n.Region, sn)]
		if acl == nil {
			return nil, nil
		}
		known = true
		pass, in := g.naclFilter(acl, []span{{proto: proto, from: l.port, to: l.port, src: src}})
		pass, back := g.naclReturn(acl, pass)
		if len(pass) > 0 {
			return pass[0].hops, nil
		}
		for _, b := range append(in, back...) {
			stopped = append(stopped, Blocked{Reason: "load balancer subnet " + sn + ": " + b.Reason, Hops: append(append([]Hop{{ARN: "internet", Type: "internet"}}, b.Hops...), Hop{ARN: n.ARN, Type: TypeLB})})
		}
	}
	if !known {
		return nil, nil
	}
	return nil, stopped
}

func (g *Graph) vpcCIDR(account, region, vpcID string) string {
	if v := g.vpcs[key(account, region, vpcID)]; v != nil {
		return v.cidr
	}
	return ""
}

// admitsFrom finds a rule of groups admitting tcp on port from one of the source groups, from a
// CIDR covering the VPC's, or from the internet.
func (g *Graph) admitsFrom(account, region string, groups, sources []string, vpcCIDR string, port int) *Hop {
	for _, gid := range groups {
		sg := g.sgs[key(account, region, gid)]
		if sg == nil {
			continue
		}
		for _, r := range sg.rules {
			if (r.proto != "tcp" && r.proto != "all") || port < r.from || port > r.to {
				continue
			}
			ok := false
			for _, s := range sources {
				if r.group == s {
					ok = true
				}
			}
			if r.cidr != "" && ((vpcCIDR != "" && covers(r.cidr, vpcCIDR)) || isInternetCIDR(r.cidr)) {
				ok = true
			}
			if ok {
				return &Hop{ARN: g.Nodes[sg.id].ARN, Type: TypeSG, Via: r.text}
			}
		}
	}
	return nil
}
