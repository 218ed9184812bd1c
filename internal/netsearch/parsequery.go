package netsearch

import (
	"fmt"
	"strconv"
	"strings"
)

// QueryOptions are a search's refinements as a user writes them (`yagura find` flags, the
// dashboard's search form).
type QueryOptions struct {
	Port      int    // -1: any
	Protocol  string // tcp, udp, icmp, all ("" is all)
	Direction string // ingress, egress, "" for both
	Overlaps  bool   // CIDR only: rules that contain the CIDR or lie inside it
	Within    bool   // CIDR only: rules that lie inside the CIDR
}

// ParseQuery validates a search for an address (isCIDR false) or a CIDR, so that the CLI and the
// dashboard accept and refuse the same input.
func ParseQuery(arg string, isCIDR bool, o QueryOptions) (Query, error) {
	proto := strings.ToLower(o.Protocol)
	if proto == "" {
		proto = "all"
	}
	q := Query{Mode: ModeContains, Port: o.Port, Protocol: proto, Direction: strings.ToLower(o.Direction)}
	if isCIDR {
		if !strings.Contains(arg, "/") {
			return q, fmt.Errorf("invalid CIDR %q: want ADDRESS/LENGTH, e.g. 203.0.113.0/24 (for one address use `yagura find ip`)", arg)
		}
		r, err := ParseCIDR(arg)
		if err != nil {
			return q, err
		}
		q.Range = r
		switch {
		case o.Overlaps && o.Within:
			return q, fmt.Errorf("--overlaps and --within exclude each other")
		case o.Overlaps:
			q.Mode = ModeOverlaps
		case o.Within:
			q.Mode = ModeWithin
		}
	} else {
		if strings.Contains(arg, "/") {
			return q, fmt.Errorf("invalid IP address %q: for a CIDR use `yagura find cidr`", arg)
		}
		a, err := ParseAddr(arg)
		if err != nil {
			return q, err
		}
		r, _ := ParseCIDR(a.String())
		q.Range = r
	}
	switch q.Protocol {
	case "tcp", "udp", "icmp", "all":
	default:
		return q, fmt.Errorf("--protocol %q: want tcp, udp, icmp or all", o.Protocol)
	}
	switch q.Direction {
	case "", Ingress, Egress:
	default:
		return q, fmt.Errorf("--direction %q: want ingress or egress", o.Direction)
	}
	if q.Port < -1 || q.Port > 65535 {
		return q, fmt.Errorf("--port %d: want 0-65535", q.Port)
	}
	if q.Port >= 0 && q.Protocol == "icmp" {
		return q, fmt.Errorf("--port applies to tcp and udp, not icmp")
	}
	return q, nil
}

// Decision is what the rule does to the queried traffic: the evaluated verdict where there is
// one (network ACLs, bucket policies), else the rule's action.
func (m Match) Decision() string {
	if m.Verdict != "" {
		return m.Verdict
	}
	return m.Action
}

// RuleLabel names the rule as listings show it: "rule N" for a network ACL entry.
func (m Match) RuleLabel() string {
	if m.RuleNumber != 0 && m.Kind == KindNetworkACL {
		return "rule " + strconv.Itoa(m.RuleNumber)
	}
	return m.Rule
}

// Notes explains a match beyond its rule: the ACL entries it shadows or that also apply, and a
// bucket policy statement's effect and description.
func (m Match) Notes() []string {
	var notes []string
	for _, e := range m.Shadowed {
		notes = append(notes, fmt.Sprintf("shadows rule %d %s %s (decided by %d)", e.RuleNumber, e.Action, e.CIDR, e.ShadowedBy))
	}
	for _, e := range m.Also {
		notes = append(notes, fmt.Sprintf("also rule %d %s %s %s %s", e.RuleNumber, e.Action, e.Protocol, e.Ports, e.CIDR))
	}
	if m.Kind == KindBucketPolicy && m.Description != "" {
		notes = append(notes, m.Effect+" "+m.Description)
	}
	return notes
}
