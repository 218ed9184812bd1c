package netsearch

import (
	"bytes"
	"cmp"
	"context"
	"slices"
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
		return "type " + strconv.Itoa(r.FromPort) + " code " + strconv.Itoa(r.ToPort)
	case r.FromPort == r.ToPort:
		return strconv.Itoa(r.FromPort)
	}
	return strconv.Itoa(r.FromPort) + "-" + strconv.Itoa(r.ToPort)
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
	rg, ok := ruleRange(r)
	if !ok {
		return MatchContains, r.CIDR
	}
	switch {
	case r.PrefixListID != "":
		return MatchPrefixList, "prefix-list " + r.PrefixListID + " entry " + rg.String()
	case rg.Bits() == 0:
		return MatchInternet, "internet " + rg.String()
	case rg.Prefix == q.Range.Prefix:
		return MatchExact, "exact " + rg.String()
	case rg.Contains(q.Range):
		return MatchContains, "contains " + rg.String()
	}
	return MatchWithin, "within " + q.Range.String() + ": " + rg.String()
}

// classCache remembers the last classification: the rules of one CIDR arrive together and share
// their stored range, and thousands of 0.0.0.0/0 rules would otherwise each format the same text.
type classCache struct {
	start           *byte
	prefixLen       int
	prefixList      string
	matched, detail string
}

func (c *classCache) classify(q Query, r *store.NetRule) (matched, detail string) {
	if c == nil || len(r.Start) == 0 {
		return q.classify(r)
	}
	if c.start != &r.Start[0] || c.prefixLen != r.PrefixLen || c.prefixList != r.PrefixListID {
		c.start, c.prefixLen, c.prefixList = &r.Start[0], r.PrefixLen, r.PrefixListID
		c.matched, c.detail = q.classify(r)
	}
	return c.matched, c.detail
}

func (q Query) newMatch(r *store.NetRule) Match { return q.newMatchCached(r, nil) }

// unclassified is passed to newMatchCached by callers that set Matched and MatchDetail
// themselves (NotIpAddress statements: one per statement, every query).
var unclassified = &classCache{}

func (q Query) newMatchCached(r *store.NetRule, c *classCache) Match {
	m := Match{
		AccountID: r.AccountID, Region: r.Region, ResourceARN: r.ResourceARN, ResourceName: r.ResourceName,
		ResourceType: r.ResourceType, Kind: r.Kind, Direction: r.Direction, Protocol: protocolName(r.Protocol),
		Ports: portsText(r), RuleID: r.RuleID, Action: r.Action, CIDR: r.CIDR, PrefixListID: r.PrefixListID,
		Description: r.Description, rule: r,
	}
	if c != unclassified {
		m.Matched, m.MatchDetail = c.classify(q, r)
	}
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
	// Rules are gathered first and the matches built once their number is known: a query can
	// match thousands of rules, and growing a slice of large Match structs dominated its cost.
	var rules []*store.NetRule
	type aclKey struct{ arn, direction string }
	acls := map[aclKey][]*store.NetRule{}
	err := src.Candidates(ctx, q, func(r *store.NetRule) error {
		if r.Kind == KindBucketPolicy && r.Condition == CondNotIpAddress {
			return nil // judged below, from all of the statement's CIDRs
		}
		if !q.trafficMatches(r) {
			return nil
		}
		if r.Kind == KindNetworkACL && q.Mode == ModeContains {
			k := aclKey{r.ResourceARN, r.Direction}
			acls[k] = append(acls[k], r)
			return nil
		}
		rules = append(rules, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	stmts, err := q.notIPStatements(ctx, src)
	if err != nil {
		return nil, err
	}
	// The few evaluated matches (ACL decisions, NotIpAddress statements) are built first; the
	// matches of single rules are built straight into their sorted place.
	built := make([]Match, 0, len(acls)+len(stmts))
	for _, entries := range acls {
		built = append(built, q.evaluateACL(entries))
	}
	built = q.appendNotIPMatches(built, stmts)
	n := len(rules) + len(built)
	// order[i] < len(rules): rules[order[i]]; else built[order[i]-len(rules)]. Ties keep this
	// order (stable).
	ruleAt := func(i int32) *store.NetRule {
		if int(i) < len(rules) {
			return rules[i]
		}
		return built[int(i)-len(rules)].rule
	}
	// The rules arrive in runs already in order (each stored group is, see NewRuleWriter): sort
	// the few built matches, then merge the runs. Ties keep candidate order (stable).
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	byRule := func(i, j int32) int { return compareRules(ruleAt(i), ruleAt(j)) }
	slices.SortStableFunc(order[len(rules):], byRule)
	order = mergeRuns(order, byRule)
	out := make([]Match, n)
	var cache classCache
	for i, k := range order {
		if int(k) < len(rules) {
			out[i] = q.newMatchCached(rules[k], &cache)
		} else {
			out[i] = built[int(k)-len(rules)]
		}
	}
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

// notIPStmt is one NotIpAddress statement: its CIDRs, and the first that contains the query.
type notIPStmt struct {
	rules     []*store.NetRule
	contained *store.NetRule
	overlaps  bool
}

// notIPStatements gathers every NotIpAddress statement, in the order the source gives them.
func (q Query) notIPStatements(ctx context.Context, src Source) ([]*notIPStmt, error) {
	type key struct{ arn, rule string }
	var order []*notIPStmt
	stmts := map[key]*notIPStmt{}
	err := src.NotIPRules(ctx, func(r *store.NetRule) error {
		if !q.trafficMatches(r) {
			return nil
		}
		k := key{r.ResourceARN, r.RuleID}
		s := stmts[k]
		if s == nil {
			s = &notIPStmt{}
			stmts[k] = s
			order = append(order, s)
		}
		s.rules = append(s.rules, r)
		rg, ok := ruleRange(r)
		if !ok || rg.Family() != q.Range.Family() {
			return nil
		}
		if rg.Contains(q.Range) && s.contained == nil {
			s.contained = r
		} else if rg.Overlaps(q.Range) {
			s.overlaps = true
		}
		return nil
	})
	return order, err
}

// appendNotIPMatches judges every NotIpAddress statement: it applies to the addresses outside
// all of its CIDRs. A query outside them all is subject to the statement (a Deny denies it); one
// inside a CIDR is excepted from it.
func (q Query) appendNotIPMatches(out []Match, stmts []*notIPStmt) []Match {
	for _, s := range stmts {
		list := s.rules[0].CIDR
		if len(s.rules) > 1 {
			cidrs := make([]string, len(s.rules))
			for i, r := range s.rules {
				cidrs[i] = r.CIDR
			}
			list = strings.Join(cidrs, ", ")
		}
		switch {
		case s.contained != nil:
			if q.Mode == ModeWithin {
				continue
			}
			m := q.newMatchCached(s.contained, unclassified)
			m.Matched, m.Verdict = MatchExcepted, NotApplied
			m.MatchDetail = "inside NotIpAddress " + s.contained.CIDR + ": the statement does not apply"
			out = append(out, m)
		case s.overlaps:
			m := q.newMatchCached(s.rules[0], unclassified)
			m.Matched, m.Verdict, m.CIDR = MatchPartial, "", list
			m.MatchDetail = "part of the range is inside NotIpAddress [" + list + "]"
			out = append(out, m)
		default:
			if q.Mode == ModeWithin {
				continue
			}
			m := q.newMatchCached(s.rules[0], unclassified)
			m.Matched, m.CIDR = MatchOutside, list
			m.MatchDetail = "outside NotIpAddress [" + list + "]: the statement applies"
			out = append(out, m)
		}
	}
	return out
}

// mergeRuns sorts idx stably by cmp in O(n log r) for r ascending runs: it finds the runs and
// merges neighbours pairwise until one is left. It may return a different slice.
func mergeRuns(idx []int32, cmp func(a, b int32) int) []int32 {
	bounds := []int{0}
	for i := 1; i < len(idx); i++ {
		if cmp(idx[i-1], idx[i]) > 0 {
			bounds = append(bounds, i)
		}
	}
	bounds = append(bounds, len(idx))
	if len(bounds) <= 2 {
		return idx
	}
	buf := make([]int32, len(idx))
	for len(bounds) > 2 {
		next := []int{0}
		for k := 0; k+1 < len(bounds); k += 2 {
			lo, mid, hi := bounds[k], bounds[k+1], bounds[k+1]
			if k+2 < len(bounds) {
				hi = bounds[k+2]
			}
			// Merge idx[lo:mid] and idx[mid:hi] into buf[lo:hi]; the left run wins ties.
			i, j, o := lo, mid, lo
			for i < mid && j < hi {
				if cmp(idx[j], idx[i]) < 0 {
					buf[o] = idx[j]
					j++
				} else {
					buf[o] = idx[i]
					i++
				}
				o++
			}
			o += copy(buf[o:], idx[i:mid])
			copy(buf[o:], idx[j:hi])
			next = append(next, hi)
		}
		idx, buf, bounds = buf, idx, next
	}
	return idx
}

func kindOrder(k string) int {
	switch k {
	case KindSecurityGroup:
		return 0
	case KindNetworkACL:
		return 1
	case KindBucketPolicy:
		return 2
	}
	return 3
}

// compareRules orders matches by the rule each shows (an ACL's deciding entry, a NotIpAddress
// statement's first or containing CIDR): account, region, kind, resource, direction, ACL rule
// number, policy statement number, then range start.
func compareRules(a, b *store.NetRule) int {
	if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	if a.Kind != b.Kind {
		return cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind))
	}
	if c := strings.Compare(a.ResourceARN, b.ResourceARN); c != 0 {
		return c
	}
	if c := strings.Compare(a.Direction, b.Direction); c != 0 {
		return c
	}
	switch {
	case a.Kind == KindNetworkACL && a.RuleNumber != b.RuleNumber:
		return cmp.Compare(a.RuleNumber, b.RuleNumber)
	case a.Kind == KindBucketPolicy && a.RuleID != b.RuleID:
		ai, _ := strconv.Atoi(a.RuleID)
		bi, _ := strconv.Atoi(b.RuleID)
		return cmp.Compare(ai, bi)
	}
	return bytes.Compare(a.Start, b.Start)
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
