package netsearch

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/store"
)

// Query modes.
const (
	ModeContains = "contains" // rules whose range contains the whole query range (find ip, find cidr)
	ModeWithin   = "within"   // rules whose range lies inside the query range
	ModeOverlaps = "overlaps" // either
)

// What matched.
const (
	MatchExact      = "exact"       // the rule's CIDR is the queried address or CIDR itself
	MatchContains   = "contains"    // a wider CIDR of the rule contains it
	MatchInternet   = "internet"    // 0.0.0.0/0 or ::/0
	MatchPrefixList = "prefix-list" // an entry of a managed prefix list the rule references
	MatchWithin     = "within"      // the rule's CIDR lies inside the queried CIDR
	MatchOutside    = "outside"     // NotIpAddress: the query lies outside every listed CIDR
	MatchExcepted   = "excepted"    // NotIpAddress: the query lies inside a listed CIDR
	MatchPartial    = "partial"     // NotIpAddress: a listed CIDR covers part of the queried CIDR
	// MatchUnresolved: a rule naming a prefix list whose entries are unknown (not collected,
	// or unreadable); it may admit the address, so every query shows it.
	MatchUnresolved = "unresolved"
)

// Verdicts.
const (
	Allowed    = "ALLOWED"
	Denied     = "DENIED"
	NotApplied = "NOT-APPLIED" // a NotIpAddress statement that does not apply to the query
)

// Query is one search.
type Query struct {
	Range     Range
	Mode      string
	Port      int    // -1: any
	Protocol  string // "" or "all": any; tcp, udp, icmp
	Direction string // "": both
}

// Entry is one network ACL entry shown beside the entry that decided.
type Entry struct {
	RuleNumber int    `json:"rule_number"`
	Action     string `json:"action"`
	Protocol   string `json:"protocol"`
	Ports      string `json:"ports"`
	CIDR       string `json:"cidr"`
	// ShadowedBy is the earlier entry that decides all the traffic this one would.
	ShadowedBy int `json:"shadowed_by,omitempty"`
}

// Match is one rule (or, for network ACLs, one ACL's decision) that concerns the query.
type Match struct {
	AccountID    string `json:"account_id"`
	Region       string `json:"region"`
	ResourceARN  string `json:"resource_arn"`
	ResourceName string `json:"resource_name"`
	ResourceType string `json:"resource_type"`
	Kind         string `json:"kind"`
	Direction    string `json:"direction"`
	Protocol     string `json:"protocol"`
	Ports        string `json:"ports"`
	Rule         string `json:"rule"`
	RuleID       string `json:"rule_id,omitempty"`
	RuleNumber   int    `json:"rule_number,omitempty"`
	Action       string `json:"action"`
	CIDR         string `json:"cidr"`
	PrefixListID string `json:"prefix_list_id,omitempty"`
	Matched      string `json:"matched"`
	MatchDetail  string `json:"match_detail"`
	Description  string `json:"description,omitempty"`
	// Network ACLs and bucket policies: what the rule does to the queried traffic.
	Verdict string `json:"verdict,omitempty"`
	// Network ACLs: entries after the deciding one that the query also matches; Shadowed ones
	// never take effect, Also ones apply to other ports or protocols of the same traffic.
	Shadowed []Entry `json:"shadowed,omitempty"`
	Also     []Entry `json:"also,omitempty"`
	// Bucket policies.
	Sid       string `json:"sid,omitempty"`
	Effect    string `json:"effect,omitempty"`
	Condition string `json:"condition,omitempty"`

	rule *store.NetRule
}

// protocolName maps AWS protocol values (names or IANA numbers) to one spelling.
func protocolName(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all", "":
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

func portsText(r *store.NetRule) string {
	switch {
	case r.Kind == KindBucketPolicy:
		return "-"
	case protocolName(r.Protocol) == "all" || (r.FromPort < 0 && r.ToPort < 0):
		return "all"
	case protocolName(r.Protocol) == "icmp" || protocolName(r.Protocol) == "icmpv6":
		return fmt.Sprintf("type %d code %d", r.FromPort, r.ToPort)
	case r.FromPort == r.ToPort:
		return strconv.Itoa(r.FromPort)
	}
	return fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
}

// trafficMatches reports whether the rule applies to the queried protocol and port. Protocol
// -1 covers every protocol and port; a port query concerns TCP and UDP only.
func (q Query) trafficMatches(r *store.NetRule) bool {
	if q.Direction != "" && r.Direction != q.Direction {
		return false
	}
	rp := protocolName(r.Protocol)
	if r.Kind == KindBucketPolicy {
		// S3 is reached over TCP (HTTP/HTTPS); ports do not apply to a policy.
		return q.Protocol == "" || q.Protocol == "all" || q.Protocol == "tcp"
	}
	if rp == "all" {
		return true
	}
	qp := protocolName(q.Protocol)
	if qp != "all" && rp != qp && !(qp == "icmp" && rp == "icmpv6") {
		return false
	}
	if q.Port < 0 {
		return true
	}
	if rp != "tcp" && rp != "udp" {
		return false
	}
	if r.FromPort < 0 && r.ToPort < 0 {
		return true // NACL tcp/udp entry without a port range: every port
	}
	return r.FromPort <= q.Port && q.Port <= r.ToPort
}

// coversAll reports whether the rule applies to every packet of the queried traffic: any
// protocol and port when the query names none.
func (q Query) coversAll(r *store.NetRule) bool {
	if protocolName(r.Protocol) == "all" {
		return true
	}
	qp := protocolName(q.Protocol)
	if qp == "all" {
		return false
	}
	if q.Port >= 0 || (qp != "tcp" && qp != "udp") {
		return true // trafficMatches already checked the protocol and port
	}
	return r.FromPort <= 0 && r.ToPort >= 65535 || (r.FromPort < 0 && r.ToPort < 0)
}

// covers reports whether earlier entry a decides every packet entry b would (b is shadowed).
func covers(a, b *store.NetRule) bool {
	ap, bp := protocolName(a.Protocol), protocolName(b.Protocol)
	if ap == "all" {
		return true
	}
	if ap != bp {
		return false
	}
	if ap != "tcp" && ap != "udp" {
		return a.FromPort == b.FromPort && a.ToPort == b.ToPort || a.FromPort < 0
	}
	if a.FromPort < 0 && a.ToPort < 0 {
		return true
	}
	if b.FromPort < 0 && b.ToPort < 0 {
		return false
	}
	return a.FromPort <= b.FromPort && b.ToPort <= a.ToPort
}

func (q Query) classify(r *store.NetRule) (matched, detail string) {
	if r.Family == 0 {
		return MatchUnresolved, "unresolved prefix list " + r.PrefixListID + ": " + r.Note
	}
	rg, err := ParseCIDR(r.CIDR)
	if err != nil {
		return MatchContains, r.CIDR
	}
	switch {
	case r.PrefixListID != "":
		return MatchPrefixList, fmt.Sprintf("prefix-list %s entry %s", r.PrefixListID, rg)
	case rg.Bits() == 0:
		return MatchInternet, "internet " + rg.String()
	case rg.Prefix == q.Range.Prefix:
		return MatchExact, "exact " + rg.String()
	case rg.Contains(q.Range):
		return MatchContains, "contains " + rg.String()
	}
	return MatchWithin, "within " + q.Range.String() + ": " + rg.String()
}

func (q Query) newMatch(r *store.NetRule) Match {
	m := Match{
		AccountID: r.AccountID, Region: r.Region, ResourceARN: r.ResourceARN, ResourceName: r.ResourceName,
		ResourceType: r.ResourceType, Kind: r.Kind, Direction: r.Direction, Protocol: protocolName(r.Protocol),
		Ports: portsText(r), RuleID: r.RuleID, Action: r.Action, CIDR: r.CIDR, PrefixListID: r.PrefixListID,
		Description: r.Description, rule: r,
	}
	m.Matched, m.MatchDetail = q.classify(r)
	switch r.Kind {
	case KindSecurityGroup:
		m.Rule = r.RuleID
		if m.Rule == "" {
			target := r.CIDR
			if target == "" {
				target = r.PrefixListID // an unresolved prefix list rule
			}
			m.Rule = r.Direction + " " + m.Protocol + " " + m.Ports + " " + target
		}
	case KindNetworkACL:
		m.Rule = "rule " + strconv.Itoa(r.RuleNumber)
		m.RuleNumber = r.RuleNumber
	case KindBucketPolicy:
		m.Protocol = "-"
		m.Rule = "statement " + r.RuleID
		if r.Sid != "" {
			m.Rule += " (" + r.Sid + ")"
		}
		m.Sid, m.Effect, m.Condition = r.Sid, r.Effect, r.Condition
		if strings.EqualFold(r.Effect, "allow") {
			m.Verdict = Allowed
		} else {
			m.Verdict = Denied
		}
	}
	return m
}

// Source is where rules are read from: the index (Find) or every row (the linear baseline).
type Source interface {
	// Candidates streams every rule whose range stands in the query's mode to the query range.
	Candidates(ctx context.Context, q Query, fn func(*store.NetRule) error) error
	// NotIPRules streams every policy rule written with NotIpAddress.
	NotIPRules(ctx context.Context, fn func(*store.NetRule) error) error
}

// Find answers a query on a scan from the index, indexing the scan first if it never was.
func Find(ctx context.Context, db *store.DB, scanID int64, q Query) ([]Match, error) {
	ix, err := EnsureIndex(ctx, db, scanID)
	if err != nil {
		return nil, err
	}
	src := &IndexSource{DB: db, ScanID: scanID, Index: ix}
	defer src.Close()
	return Search(ctx, src, q)
}

// Search runs a query against a source and evaluates network ACL order and NotIpAddress
// conditions.
func Search(ctx context.Context, src Source, q Query) ([]Match, error) {
	if q.Mode == "" {
		q.Mode = ModeContains
	}
	var out []Match
	acls := map[string][]*store.NetRule{}
	err := src.Candidates(ctx, q, func(r *store.NetRule) error {
		if r.Kind == KindBucketPolicy && r.Condition == CondNotIpAddress {
			return nil // judged below, from all of the statement's CIDRs
		}
		if !q.trafficMatches(r) {
			return nil
		}
		if r.Kind == KindNetworkACL && q.Mode == ModeContains {
			k := r.ResourceARN + "|" + r.Direction
			acls[k] = append(acls[k], r)
			return nil
		}
		out = append(out, q.newMatch(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, entries := range acls {
		out = append(out, q.evaluateACL(entries))
	}
	notIP, err := q.notIPMatches(ctx, src)
	if err != nil {
		return nil, err
	}
	out = append(out, notIP...)
	sortMatches(out)
	return out, nil
}

// evaluateACL decides what one ACL in one direction does to the queried traffic: entries are
// evaluated in rule-number order and the first that applies wins. Later entries that the query
// matches are shadowed when an earlier one decides all their traffic, else listed as also
// applying (to other ports or protocols).
func (q Query) evaluateACL(entries []*store.NetRule) Match {
	sort.Slice(entries, func(i, j int) bool { return entries[i].RuleNumber < entries[j].RuleNumber })
	decider := entries[0]
	for _, e := range entries {
		if q.coversAll(e) {
			decider = e
			break
		}
	}
	m := q.newMatch(decider)
	if decider.Action == "allow" {
		m.Verdict = Allowed
	} else {
		m.Verdict = Denied
	}
	for i, e := range entries {
		if e == decider {
			continue
		}
		ent := Entry{RuleNumber: e.RuleNumber, Action: e.Action, Protocol: protocolName(e.Protocol), Ports: portsText(e), CIDR: e.CIDR}
		shadowed := false
		for _, earlier := range entries[:i] {
			if covers(earlier, e) {
				ent.ShadowedBy, shadowed = earlier.RuleNumber, true
				break
			}
		}
		if shadowed {
			m.Shadowed = append(m.Shadowed, ent)
		} else {
			m.Also = append(m.Also, ent)
		}
	}
	if len(m.Also) > 0 && !q.coversAll(decider) {
		m.MatchDetail += " (" + m.Protocol + " " + m.Ports + " only; see also)"
	}
	return m
}

// notIPMatches judges every NotIpAddress statement: it applies to the addresses outside all of
// its CIDRs. A query outside them all is subject to the statement (a Deny denies it); one
// inside a CIDR is excepted from it.
func (q Query) notIPMatches(ctx context.Context, src Source) ([]Match, error) {
	type stmt struct {
		rules     []*store.NetRule
		contained *store.NetRule
		overlaps  bool
	}
	var order []string
	stmts := map[string]*stmt{}
	err := src.NotIPRules(ctx, func(r *store.NetRule) error {
		if !q.trafficMatches(r) {
			return nil
		}
		k := r.ResourceARN + "|" + r.RuleID
		s := stmts[k]
		if s == nil {
			s = &stmt{}
			stmts[k] = s
			order = append(order, k)
		}
		s.rules = append(s.rules, r)
		rg, err := ParseCIDR(r.CIDR)
		if err != nil || rg.Family() != q.Range.Family() {
			return nil
		}
		if rg.Contains(q.Range) && s.contained == nil {
			s.contained = r
		} else if rg.Overlaps(q.Range) {
			s.overlaps = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, k := range order {
		s := stmts[k]
		cidrs := make([]string, len(s.rules))
		for i, r := range s.rules {
			cidrs[i] = r.CIDR
		}
		list := strings.Join(cidrs, ", ")
		switch {
		case s.contained != nil:
			if q.Mode == ModeWithin {
				continue
			}
			m := q.newMatch(s.contained)
			m.Matched, m.Verdict = MatchExcepted, NotApplied
			m.MatchDetail = "inside NotIpAddress " + s.contained.CIDR + ": the statement does not apply"
			out = append(out, m)
		case s.overlaps:
			m := q.newMatch(s.rules[0])
			m.Matched, m.Verdict, m.CIDR = MatchPartial, "", list
			m.MatchDetail = "part of the range is inside NotIpAddress [" + list + "]"
			out = append(out, m)
		default:
			if q.Mode == ModeWithin {
				continue
			}
			m := q.newMatch(s.rules[0])
			m.Matched, m.CIDR = MatchOutside, list
			m.MatchDetail = "outside NotIpAddress [" + list + "]: the statement applies"
			out = append(out, m)
		}
	}
	return out, nil
}

// sortMatches orders by account, region, kind, resource, direction and rule. It sorts pointers:
// a query can match thousands of rules and moving the structs themselves dominated its cost.
func sortMatches(ms []Match) {
	kindOrder := map[string]int{KindSecurityGroup: 0, KindNetworkACL: 1, KindBucketPolicy: 2}
	ptrs := make([]*Match, len(ms))
	for i := range ms {
		ptrs[i] = &ms[i]
	}
	sort.SliceStable(ptrs, func(i, j int) bool {
		a, b := ptrs[i], ptrs[j]
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.ResourceARN != b.ResourceARN {
			return a.ResourceARN < b.ResourceARN
		}
		if a.Direction != b.Direction {
			return a.Direction < b.Direction
		}
		if a.RuleNumber != b.RuleNumber {
			return a.RuleNumber < b.RuleNumber
		}
		if a.Kind == KindBucketPolicy && a.RuleID != b.RuleID {
			ai, _ := strconv.Atoi(a.RuleID)
			bi, _ := strconv.Atoi(b.RuleID)
			return ai < bi
		}
		if a.rule != nil && b.rule != nil {
			return bytes.Compare(a.rule.Start, b.rule.Start) < 0
		}
		return a.CIDR < b.CIDR
	})
	sorted := make([]Match, len(ms))
	for i, p := range ptrs {
		sorted[i] = *p
	}
	copy(ms, sorted)
}

// IndexSource reads candidates with index lookups: per prefix length present, one point lookup
// (contains) or one range scan (within).
type IndexSource struct {
	DB     *store.DB
	ScanID int64
	Index  store.NetRuleIndex
	lookup *store.NetRuleLookup
}

// Close releases the prepared lookup.
func (s *IndexSource) Close() {
	if s.lookup != nil {
		s.lookup.Close()
		s.lookup = nil
	}
}

// Candidates implements Source.
func (s *IndexSource) Candidates(ctx context.Context, q Query, fn func(*store.NetRule) error) error {
	if s.lookup == nil {
		l, err := s.DB.PrepareNetRuleLookup(ctx, s.ScanID)
		if err != nil {
			return err
		}
		s.lookup = l
	}
	fam, bits := q.Range.Family(), q.Range.Bits()
	lens := s.Index.Prefixes[fam]
	if q.Mode == ModeContains || q.Mode == ModeOverlaps {
		addr := q.Range.Prefix.Addr()
		for _, l := range lens {
			if l > bits {
				break
			}
			if err := s.lookup.At(ctx, fam, l, StartAt(addr, l), fn); err != nil {
				return err
			}
		}
	}
	if q.Mode == ModeWithin || q.Mode == ModeOverlaps {
		lo, hi := q.Range.Start(), q.Range.End()
		for _, l := range lens {
			if l < bits || (l == bits && q.Mode == ModeOverlaps) {
				continue // already found by the contains lookups
			}
			if err := s.DB.NetRulesStartingIn(ctx, s.ScanID, fam, l, lo, hi, fn); err != nil {
				return err
			}
		}
	}
	// Rules without a range may concern any address, in every mode.
	return s.lookup.Unranged(ctx, fn)
}

// NotIPRules implements Source.
func (s *IndexSource) NotIPRules(ctx context.Context, fn func(*store.NetRule) error) error {
	return s.DB.NetRulesByCondition(ctx, s.ScanID, KindBucketPolicy, []string{CondNotIpAddress}, fn)
}

// LinearSource checks every rule of the scan, decoding each row once: the baseline the index is
// measured against.
type LinearSource struct {
	DB     *store.DB
	ScanID int64
	notIP  []*store.NetRule
}

// Candidates implements Source by decoding every row; it keeps the NotIpAddress rows it sees
// for NotIPRules, so one query reads the table once.
func (s *LinearSource) Candidates(ctx context.Context, q Query, fn func(*store.NetRule) error) error {
	fam, qs, qe := q.Range.Family(), q.Range.Start(), q.Range.End()
	s.notIP = s.notIP[:0]
	return s.DB.EachNetRule(ctx, s.ScanID, func(r *store.NetRule) error {
		if r.Kind == KindBucketPolicy && r.Condition == CondNotIpAddress {
			s.notIP = append(s.notIP, r)
		}
		if r.Family == 0 {
			return fn(r) // no range: it may concern any address
		}
		if r.Family != fam {
			return nil
		}
		contains := bytes.Compare(r.Start, qs) <= 0 && bytes.Compare(qe, r.End) <= 0
		within := bytes.Compare(qs, r.Start) <= 0 && bytes.Compare(r.End, qe) <= 0
		ok := (q.Mode == ModeContains && contains) || (q.Mode == ModeWithin && within) || (q.Mode == ModeOverlaps && (contains || within))
		if ok {
			return fn(r)
		}
		return nil
	})
}

// NotIPRules implements Source from the rows Candidates kept.
func (s *LinearSource) NotIPRules(ctx context.Context, fn func(*store.NetRule) error) error {
	for _, r := range s.notIP {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
