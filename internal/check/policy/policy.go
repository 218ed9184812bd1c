// Package policy reads IAM-style policy documents (identity, bucket, key and other resource
// policies) and answers the questions checks ask of them: is it public in the sense AWS's own
// S3 Block Public Access uses, does it grant full administrative access, does it deny insecure
// transport — and evaluates a request against layers of them (identity policies, permissions
// boundary, SCPs) the way IAM decides: an explicit deny anywhere wins, otherwise every layer must
// allow (Evaluate).
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Document is a parsed policy. Single strings and lists are both normalized to lists.
type Document struct {
	Version   string
	Statement []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid          string
	Effect       string
	Principal    Principal
	NotPrincipal Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition maps operator -> key -> values, keys lower-cased (condition keys are
	// case-insensitive).
	Condition map[string]map[string][]string
	// HasPrincipal / HasNotPrincipal say the element was present (identity policies have none).
	HasPrincipal, HasNotPrincipal bool
}

// Principal maps a principal type ("AWS", "Service", "Federated", "CanonicalUser", or "*" for
// the bare wildcard) to its values.
type Principal map[string][]string

// Parse decodes a policy from its JSON value (as collectors store it: an object, or a string
// holding the JSON document).
func Parse(raw json.RawMessage) (*Document, error) {
	// A document stored as a JSON string is decoded first; trying that on every object would
	// scan the whole document once more for nothing.
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] == '"' {
		var s string
		if json.Unmarshal(t, &s) == nil {
			raw = json.RawMessage(s)
		}
	}
	var w struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("malformed policy document: %v", err)
	}
	d := &Document{Version: w.Version}
	var list []json.RawMessage
	if len(w.Statement) > 0 && w.Statement[0] == '{' {
		list = []json.RawMessage{w.Statement}
	} else if len(w.Statement) > 0 {
		if err := json.Unmarshal(w.Statement, &list); err != nil {
			return nil, fmt.Errorf("malformed policy statement list: %v", err)
		}
	}
	for _, r := range list {
		st, err := parseStatement(r)
		if err != nil {
			return nil, err
		}
		d.Statement = append(d.Statement, st)
	}
	return d, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var w struct {
		Sid          string
		Effect       string
		Principal    json.RawMessage
		NotPrincipal json.RawMessage
		Action       json.RawMessage
		NotAction    json.RawMessage
		Resource     json.RawMessage
		NotResource  json.RawMessage
		Condition    map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return Statement{}, fmt.Errorf("malformed policy statement: %v", err)
	}
	st := Statement{Sid: w.Sid, Effect: w.Effect}
	var err error
	if st.Principal, err = parsePrincipal(w.Principal); err != nil {
		return st, err
	}
	if st.NotPrincipal, err = parsePrincipal(w.NotPrincipal); err != nil {
		return st, err
	}
	st.HasPrincipal, st.HasNotPrincipal = st.Principal != nil, st.NotPrincipal != nil
	for _, f := range []struct {
		raw json.RawMessage
		dst *[]string
	}{{w.Action, &st.Action}, {w.NotAction, &st.NotAction}, {w.Resource, &st.Resource}, {w.NotResource, &st.NotResource}} {
		if *f.dst, err = stringList(f.raw); err != nil {
			return st, err
		}
	}
	if len(w.Condition) > 0 {
		st.Condition = map[string]map[string][]string{}
		for op, keys := range w.Condition {
			m := map[string][]string{}
			for k, v := range keys {
				vals, err := stringList(v)
				if err != nil {
					return st, err
				}
				m[strings.ToLower(k)] = vals
			}
			st.Condition[op] = m
		}
	}
	return st, nil
}

// stringList reads a JSON string, list of strings, or scalar list (booleans and numbers appear in
// conditions) as strings.
func stringList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	// Fast paths for the usual shapes (a string, a list of strings) without the generic
	// decode's allocations; anything else (numbers, booleans, mixed lists) goes the long way.
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []string{s}, nil
		}
	case '[':
		var l []string
		if json.Unmarshal(raw, &l) == nil {
			return l, nil
		}
	}
	var one any
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("malformed policy value: %v", err)
	}
	switch v := one.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, scalar(x))
		}
		return out, nil
	default:
		return []string{scalar(v)}, nil
	}
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func parsePrincipal(raw json.RawMessage) (Principal, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return Principal{"*": {s}}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("malformed principal: %v", err)
	}
	p := Principal{}
	for k, v := range m {
		vals, err := stringList(v)
		if err != nil {
			return nil, err
		}
		p[k] = vals
	}
	return p, nil
}

// IsWildcard reports whether the principal admits anyone: "*" or {"AWS": "*"} (or any type
// with "*").
func (p Principal) IsWildcard() bool {
	for _, vals := range p {
		for _, v := range vals {
			if v == "*" {
				return true
			}
		}
	}
	return false
}

// Accounts lists the account ids named by AWS principals (ARNs or bare ids), "*" for wildcards.
func (p Principal) Accounts() []string {
	var out []string
	for k, vals := range p {
		if k != "AWS" && k != "*" {
			continue
		}
		for _, v := range vals {
			switch {
			case v == "*":
				out = append(out, "*")
			case strings.HasPrefix(v, "arn:"):
				parts := strings.SplitN(v, ":", 6)
				if len(parts) == 6 {
					out = append(out, parts[4])
				}
			default:
				out = append(out, v)
			}
		}
	}
	return out
}

// MatchAction reports whether an action pattern of a policy (wildcards allowed) covers the
// concrete or pattern action a. Both are compared case-insensitively, as IAM does. When a itself
// contains wildcards, it is matched as a literal pattern string: "s3:*" covers "s3:Get*".
func MatchAction(pattern, a string) bool {
	return wildMatch(strings.ToLower(pattern), strings.ToLower(a))
}

// wildMatch matches s against a pattern with * and ?.
func wildMatch(p, s string) bool {
	// Iterative glob with backtracking; patterns are short.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Allows reports whether the statement's action element covers action a (Action matching or
// NotAction not matching).
func (s *Statement) Allows(a string) bool {
	if len(s.NotAction) > 0 {
		for _, p := range s.NotAction {
			if MatchAction(p, a) {
				return false
			}
		}
		return true
	}
	for _, p := range s.Action {
		if MatchAction(p, a) {
			return true
		}
	}
	return false
}

// AllResources reports whether the statement applies to every resource ("*" in Resource, or a
// NotResource element, which excludes only some).
func (s *Statement) AllResources() bool {
	if len(s.NotResource) > 0 {
		return true
	}
	for _, r := range s.Resource {
		if r == "*" {
			return true
		}
	}
	return false
}

// GrantsFullAdmin returns the statements that allow every action on every resource: Action "*"
// or "*:*" (any pattern matching every action, e.g. "*:*" or "*"), or NotAction with Allow
// (which grants all but a few actions), on Resource "*". Statements with conditions still count:
// CIS and FSBP judge the grant, not its circumstances.
func (d *Document) GrantsFullAdmin() []Statement {
	var out []Statement
	for _, s := range d.Statement {
		if s.Effect != "Allow" || !s.AllResources() {
			continue
		}
		if len(s.NotAction) > 0 {
			out = append(out, s)
			continue
		}
		for _, a := range s.Action {
			// A pattern matches every action when it matches both a service wildcard and any
			// name: "*", "*:*", "*:**" all do; "s3:*" does not.
			if MatchAction(a, "zzzz-any-service:AnyAction") && MatchAction(a, "a:b") {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// badActionPrefixes are the S3 actions AWS's Block Public Access considers able to expose data
// when granted to the public (read: Get*, List*; write: Put*, Delete*, AbortMultipartUpload,
// RestoreObject).
var (
	s3ReadActions  = []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketAcl", "s3:ListBucketVersions", "s3:GetObjectAcl"}
	s3WriteActions = []string{"s3:PutObject", "s3:DeleteObject", "s3:PutBucketPolicy", "s3:PutObjectAcl", "s3:DeleteBucket", "s3:AbortMultipartUpload", "s3:RestoreObject", "s3:PutBucketAcl"}
)

// Access is what a public statement grants.
type Access struct {
	Read, Write bool
	// Actions lists the covered sample actions, for evidence.
	Actions []string
}

func s3Access(s *Statement) Access {
	var a Access
	for _, x := range s3ReadActions {
		if s.Allows(x) {
			a.Read = true
			a.Actions = append(a.Actions, x)
		}
	}
	for _, x := range s3WriteActions {
		if s.Allows(x) {
			a.Write = true
			a.Actions = append(a.Actions, x)
		}
	}
	return a
}

// fixedKeys are the condition keys that, with fixed values, make a statement granted to "*"
// non-public in AWS's documented meaning.
var fixedKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:sourceowner": true,
	"aws:sourceaccount": true, "aws:principalorgid": true, "aws:principalaccount": true,
	"aws:principalarn": true, "s3:x-amz-server-side-encryption-aws-kms-key-id": true, "aws:userid": true,
	"aws:sourceorgid": true,
}

// positiveOps are the condition operators whose fixed values restrict who matches. Negated
// operators (StringNotEquals, NotIpAddress) admit everyone but a few and so restrict nothing.
// ...IfExists operators also match requests without the key, so they restrict nothing either.
func positiveOp(op string) (base string, ok bool) {
	if strings.HasSuffix(op, "IfExists") {
		return op, false
	}
	op = strings.TrimPrefix(op, "ForAnyValue:")
	op = strings.TrimPrefix(op, "ForAllValues:")
	switch op {
	case "StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "StringLike", "ArnLike", "IpAddress":
		return op, true
	}
	return op, false
}

// PublicStatement explains why a statement is public, or what makes it non-public.
type PublicStatement struct {
	Sid       string   `json:"sid,omitempty"`
	Index     int      `json:"index"`
	Reason    string   `json:"reason"`
	Actions   []string `json:"actions,omitempty"`
	Read      bool     `json:"read"`
	Write     bool     `json:"write"`
	Principal any      `json:"principal,omitempty"`
}

// PublicResult is the verdict on a resource policy.
type PublicResult struct {
	Public     bool              `json:"public"`
	Read       bool              `json:"read"`
	Write      bool              `json:"write"`
	Statements []PublicStatement `json:"statements,omitempty"`
	// Notes say where a statement is non-public only because of an IP condition that still
	// admits public addresses.
	Notes []string `json:"notes,omitempty"`
}

// S3Public judges a bucket policy the way S3 Block Public Access documents "public": an Allow
// statement whose principal admits anyone (Principal "*", {"AWS": "*"}, or NotPrincipal) is
// public unless a condition pins it to fixed values of the keys AWS lists (aws:SourceIp with
// CIDRs no broader than /8 (IPv4) or /32 (IPv6), aws:SourceVpc, aws:SourceVpce, aws:SourceArn,
// aws:SourceAccount, aws:SourceOwner, aws:PrincipalOrgID, ...). Values with wildcards or policy
// variables are not fixed. Only statements granting S3 read or write actions count; Deny
// statements never make a bucket public.
func S3Public(d *Document) PublicResult {
	var res PublicResult
	for i := range d.Statement {
		s := &d.Statement[i]
		if s.Effect != "Allow" {
			continue
		}
		anyone := s.HasNotPrincipal || s.Principal.IsWildcard()
		if !anyone {
			continue
		}
		acc := s3Access(s)
		if !acc.Read && !acc.Write {
			continue
		}
		restricted, note := restrictedByCondition(s)
		if note != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("statement %d%s: %s", i, sidSuffix(s.Sid), note))
		}
		if restricted {
			continue
		}
		reason := "Principal admits anyone"
		if s.HasNotPrincipal {
			reason = "NotPrincipal with Allow admits everyone not listed"
		}
		res.Public = true
		res.Read = res.Read || acc.Read
		res.Write = res.Write || acc.Write
		ps := PublicStatement{Sid: s.Sid, Index: i, Reason: reason, Actions: acc.Actions, Read: acc.Read, Write: acc.Write}
		if s.HasNotPrincipal {
			ps.Principal = map[string]any{"NotPrincipal": s.NotPrincipal}
		} else {
			ps.Principal = s.Principal
		}
		res.Statements = append(res.Statements, ps)
	}
	return res
}

func sidSuffix(sid string) string {
	if sid == "" {
		return ""
	}
	return " (" + sid + ")"
}

// isFixed reports whether a condition value is a fixed value: no wildcard, no policy variable.
func isFixed(v string) bool {
	return v != "" && !strings.ContainsAny(v, "*?") && !strings.Contains(v, "${")
}

// restrictedByCondition reports whether a condition of s pins it to fixed values of a key that
// makes it non-public, with a note when the pin is an IP range that includes public addresses.
func restrictedByCondition(s *Statement) (bool, string) {
	restricted := false
	var note string
	ops := make([]string, 0, len(s.Condition))
	for op := range s.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		base, ok := positiveOp(op)
		if !ok {
			continue
		}
		keys := s.Condition[op]
		for key, vals := range keys {
			if len(vals) == 0 {
				continue
			}
			if key == "aws:sourceip" && base == "IpAddress" {
				ok, n := fixedCIDRs(vals)
				if ok {
					restricted = true
					if n != "" {
						note = n
					}
				}
				continue
			}
			if !fixedKeys[key] {
				continue
			}
			all := true
			for _, v := range vals {
				if !isFixed(v) {
					all = false
				}
			}
			if all {
				restricted = true
			}
		}
	}
	return restricted, note
}

// fixedCIDRs reports whether every value is a CIDR (or address) narrow enough to count as a fixed
// set (IPv4 /8 or longer, IPv6 /32 or longer); the note says when they include public addresses.
func fixedCIDRs(vals []string) (bool, string) {
	var public []string
	for _, v := range vals {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return false, ""
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4() && p.Bits() < 8 || !p.Addr().Is4() && p.Bits() < 32 {
			return false, ""
		}
		a := p.Masked().Addr()
		if !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			public = append(public, v)
		}
	}
	if len(public) > 0 {
		return true, "non-public only because aws:SourceIp limits it to " + strings.Join(public, ", ") + ", which includes public internet addresses"
	}
	return true, ""
}

// DeniesInsecureTransport reports whether a statement denies s3 actions when
// aws:SecureTransport is false (CIS 2.1.1, FSBP S3.5), for every principal.
func (d *Document) DeniesInsecureTransport() bool {
	for _, s := range d.Statement {
		if s.Effect != "Deny" || !(s.Principal.IsWildcard()) {
			continue
		}
		if !s.Allows("s3:GetObject") {
			continue
		}
		for op, keys := range s.Condition {
			base := strings.TrimSuffix(op, "IfExists")
			for k, vals := range keys {
				if k != "aws:securetransport" {
					continue
				}
				for _, v := range vals {
					if base == "Bool" && strings.EqualFold(v, "false") {
						return true
					}
				}
			}
		}
	}
	return false
}

// CrossAccount returns the account ids other than own (or "*") that an Allow statement grants
// to, ignoring statements pinned by aws:PrincipalOrgID or source-account conditions.
func (d *Document) CrossAccount(own string) []string {
	seen := map[string]bool{}
	var out []string
	for i := range d.Statement {
		s := &d.Statement[i]
		if s.Effect != "Allow" {
			continue
		}
		if ok, _ := restrictedByCondition(s); ok {
			continue
		}
		accts := s.Principal.Accounts()
		if s.HasNotPrincipal {
			accts = append(accts, "*")
		}
		for _, a := range accts {
			if a != own && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// PublicGrant reports whether a resource policy (Lambda, ECR, KMS, SNS...) allows anyone,
// unrestricted by a fixed condition, returning the offending statements.
func (d *Document) PublicGrant() []int {
	var out []int
	for i := range d.Statement {
		s := &d.Statement[i]
		if s.Effect != "Allow" || !(s.HasNotPrincipal || s.Principal.IsWildcard()) {
			continue
		}
		if ok, _ := restrictedByCondition(s); ok {
			continue
		}
		out = append(out, i)
	}
	return out
}
