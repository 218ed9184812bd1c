package trail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Rule is a Sigma rule compiled to a matcher over flat Events.
type Rule struct {
	Name        string // file base name, e.g. root_account_usage
	ID          string
	Title       string
	Description string
	Level       string // Sigma level: informational, low, medium, high, critical
	Tags        []string
	References  []string
	File        string

	// EventNames lists (lower-cased) the only eventName values the rule can match; empty means
	// any. The hunter indexes rules by it so most rules never see most events.
	EventNames []string

	match func(*Event) bool
	cond  cnode // kept for translation to SQL
	agg   *aggregation
	// Timeframe bounds the aggregation window.
	Timeframe time.Duration
}

// Match reports whether one event satisfies the rule's detection (before any aggregation).
func (r *Rule) Match(e *Event) bool { return r.match(e) }

// Aggregated says whether the rule counts events (condition "... | count() by F > N").
func (r *Rule) Aggregated() bool { return r.agg != nil }

// RuleError is a rule that cannot be evaluated, and why.
type RuleError struct {
	File   string `json:"file"`
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Reason string `json:"reason"`
}

func (e RuleError) Error() string {
	name := e.File
	if e.Title != "" {
		name += " (" + e.Title + ")"
	}
	return name + ": " + e.Reason
}

// Placeholders fill Sigma's %name% placeholders used with the |expand modifier.
type Placeholders map[string][]string

type sigmaDoc struct {
	Title       string         `yaml:"title"`
	ID          string         `yaml:"id"`
	Status      string         `yaml:"status"`
	Description string         `yaml:"description"`
	References  []string       `yaml:"references"`
	Tags        []string       `yaml:"tags"`
	Level       string         `yaml:"level"`
	LogSource   map[string]any `yaml:"logsource"`
	Detection   yaml.Node      `yaml:"detection"`
	Correlation any            `yaml:"correlation"`
	Action      string         `yaml:"action"`
}

// LoadRules reads every .yml/.yaml file under dir in fsys. Rules that cannot be evaluated are
// returned as RuleErrors, never silently dropped.
func LoadRules(fsys fs.FS, dir string, ph Placeholders) ([]*Rule, []RuleError, error) {
	var rules []*Rule
	var bad []RuleError
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rs, errs := ParseRules(data, p, ph)
		rules = append(rules, rs...)
		bad = append(bad, errs...)
		return nil
	})
	sort.Slice(rules, func(i, j int) bool { return rules[i].File < rules[j].File })
	return rules, bad, err
}

// ParseRules compiles the Sigma documents in one file.
func ParseRules(data []byte, file string, ph Placeholders) ([]*Rule, []RuleError) {
	var rules []*Rule
	var bad []RuleError
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		var doc sigmaDoc
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad = append(bad, RuleError{File: file, Reason: "invalid YAML: " + err.Error()})
			break
		}
		r, err := compileRule(&doc, file, ph)
		if err != nil {
			bad = append(bad, RuleError{File: file, ID: doc.ID, Title: doc.Title, Reason: err.Error()})
			continue
		}
		rules = append(rules, r)
	}
	return rules, bad
}

var levels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

func compileRule(doc *sigmaDoc, file string, ph Placeholders) (*Rule, error) {
	if doc.Correlation != nil {
		return nil, errors.New("unsupported: Sigma correlation rules (use the condition aggregation \"| count() by FIELD > N\" with timeframe)")
	}
	if doc.Action != "" {
		return nil, fmt.Errorf("unsupported: rule collection action %q", doc.Action)
	}
	if doc.Title == "" {
		return nil, errors.New("missing title")
	}
	product, _ := doc.LogSource["product"].(string)
	service, _ := doc.LogSource["service"].(string)
	if !strings.EqualFold(product, "aws") || !strings.EqualFold(service, "cloudtrail") {
		return nil, fmt.Errorf("wrong logsource (product %q, service %q): want product aws, service cloudtrail", product, service)
	}
	level := strings.ToLower(doc.Level)
	if level == "" {
		level = "medium"
	}
	if !levels[level] {
		return nil, fmt.Errorf("unknown level %q", doc.Level)
	}
	if doc.Detection.Kind != yaml.MappingNode {
		return nil, errors.New("detection is missing or not a map")
	}
	r := &Rule{Name: strings.TrimSuffix(path.Base(file), path.Ext(file)), ID: doc.ID, Title: doc.Title, Description: strings.TrimSpace(doc.Description), Level: level, Tags: doc.Tags, References: doc.References, File: file}
	if r.ID == "" {
		r.ID = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}
	sels := map[string]*selection{}
	var conds []string
	for i := 0; i+1 < len(doc.Detection.Content); i += 2 {
		k, v := doc.Detection.Content[i].Value, doc.Detection.Content[i+1]
		switch k {
		case "condition":
			switch v.Kind {
			case yaml.ScalarNode:
				conds = append(conds, v.Value)
			case yaml.SequenceNode:
				for _, c := range v.Content {
					conds = append(conds, c.Value)
				}
			default:
				return nil, errors.New("condition must be a string or a list")
			}
		case "timeframe":
			d, err := parseTimeframe(v.Value)
			if err != nil {
				return nil, err
			}
			r.Timeframe = d
		default:
			s, err := compileSelection(k, v, ph)
			if err != nil {
				return nil, fmt.Errorf("selection %s: %w", k, err)
			}
			sels[k] = s
		}
	}
	if len(conds) == 0 {
		return nil, errors.New("detection has no condition")
	}
	var nodes []cnode
	for _, c := range conds {
		n, agg, err := parseCondition(c, sels)
		if err != nil {
			return nil, fmt.Errorf("condition %q: %w", c, err)
		}
		if agg != nil {
			if len(conds) > 1 {
				return nil, errors.New("unsupported: aggregation in a list of conditions")
			}
			r.agg = agg
		}
		nodes = append(nodes, n)
	}
	var root cnode = nodes[0]
	if len(nodes) > 1 {
		root = &orNode{kids: nodes}
	}
	if r.agg != nil && r.Timeframe == 0 {
		return nil, errors.New("aggregation needs a timeframe")
	}
	r.match = root.eval
	r.cond = root
	if names := root.eventNames(); names != nil {
		for n := range names {
			r.EventNames = append(r.EventNames, n)
		}
		sort.Strings(r.EventNames)
	}
	return r, nil
}

func parseTimeframe(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("bad timeframe %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad timeframe %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad timeframe %q", s)
	}
	return time.Duration(n) * unit, nil
}

// selection is a named search identifier: an OR of AND-maps, or keywords.
type selection struct {
	name     string
	any      [][]*fieldMatch // OR of ANDs
	keywords []string        // lower-cased, matched anywhere in the raw record
}

func (s *selection) eval(e *Event) bool {
	if s.keywords != nil {
		for _, k := range s.keywords {
			if containsFold(unsafeString(e.Raw), k) {
				return true
			}
		}
		return false
	}
outer:
	for _, and := range s.any {
		for _, fm := range and {
			if !fm.eval(e) {
				continue outer
			}
		}
		return true
	}
	return false
}

// eventNames is the set of eventName values (lower-cased) the selection requires, nil = any.
func (s *selection) eventNames() map[string]bool {
	if s.keywords != nil {
		return nil
	}
	out := map[string]bool{}
	for _, and := range s.any {
		var names map[string]bool
		for _, fm := range and {
			if fm.field == "eventName" && !fm.all && fm.neg == false {
				if n := fm.literals(); n != nil {
					names = n
				}
			}
		}
		if names == nil {
			return nil
		}
		for n := range names {
			out[n] = true
		}
	}
	return out
}

func compileSelection(name string, v *yaml.Node, ph Placeholders) (*selection, error) {
	s := &selection{name: name}
	switch v.Kind {
	case yaml.MappingNode:
		and, err := compileMap(v, ph)
		if err != nil {
			return nil, err
		}
		s.any = [][]*fieldMatch{and}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			switch item.Kind {
			case yaml.MappingNode:
				and, err := compileMap(item, ph)
				if err != nil {
					return nil, err
				}
				s.any = append(s.any, and)
			case yaml.ScalarNode:
				kw := item.Value
				if strings.ContainsAny(strings.Trim(kw, "*"), "*?") {
					return nil, errors.New("unsupported: wildcards inside keywords")
				}
				s.keywords = append(s.keywords, strings.ToLower(strings.Trim(kw, "*")))
			default:
				return nil, errors.New("list items must be maps or keywords")
			}
		}
		if s.keywords != nil && s.any != nil {
			return nil, errors.New("unsupported: keywords mixed with field maps in one selection")
		}
	case yaml.ScalarNode:
		s.keywords = []string{strings.ToLower(strings.Trim(v.Value, "*"))}
	default:
		return nil, errors.New("selection must be a map, a list or a keyword")
	}
	return s, nil
}

func compileMap(m *yaml.Node, ph Placeholders) ([]*fieldMatch, error) {
	var and []*fieldMatch
	for i := 0; i+1 < len(m.Content); i += 2 {
		fm, err := compileField(m.Content[i].Value, m.Content[i+1], ph)
		if err != nil {
			return nil, err
		}
		and = append(and, fm)
	}
	return and, nil
}

// fieldMatch is "field|modifiers: values".
type fieldMatch struct {
	field    string
	all      bool
	neg      bool // unused by Sigma syntax; kept false
	exists   *bool
	fieldref bool
	values   []valueMatch
	// scalarOnly: every value matches one element at a time (no null, no fieldref);
	// simple: also a top-level field the decoder extracts.
	scalarOnly, simple bool
	emptyOK            bool // some value matches ""
}

type valueMatch interface {
	match(v string, k Kind) bool
}

// literals returns the lower-cased values when every value is a plain case-insensitive equality.
func (f *fieldMatch) literals() map[string]bool {
	if f.exists != nil || f.fieldref || len(f.values) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, v := range f.values {
		s, ok := v.(*strMatch)
		if !ok || s.op != opEq || s.cased {
			return nil
		}
		out[s.s] = true
	}
	return out
}

func (f *fieldMatch) eval(e *Event) bool {
	if f.exists != nil {
		found := false
		for i := range e.Fields {
			if e.Fields[i].Path == f.field && e.Fields[i].Kind != KindNull {
				found = true
				break
			}
		}
		return found == *f.exists
	}
	if f.all {
		for _, vm := range f.values {
			if !f.any(e, vm) {
				return false
			}
		}
		return true
	}
	if f.simple {
		// Top-level string fields decoded once per event: no scan.
		v := commonValue(e, f.field)
		if v != "" {
			for _, vm := range f.values {
				if vm.match(v, KindString) {
					return true
				}
			}
			return false
		}
		if !f.emptyOK {
			return false // absent, null or "": none of the values can match
		}
	}
	if f.scalarOnly {
		// One pass over the fields, every value tried on each element.
		for i := range e.Fields {
			fl := &e.Fields[i]
			if fl.Path != f.field {
				continue
			}
			for _, vm := range f.values {
				if vm.match(fl.Value, fl.Kind) {
					return true
				}
			}
		}
		return false
	}
	for _, vm := range f.values {
		if f.any(e, vm) {
			return true
		}
	}
	return false
}

// commonValue returns the pre-extracted value of a top-level field, or "" when not kept.
func commonValue(e *Event, path string) string {
	switch path {
	case "eventName":
		return e.EventName
	case "eventSource":
		return e.EventSource
	case "errorCode":
		return e.ErrorCode
	case "awsRegion":
		return e.Region
	case "recipientAccountId":
		return e.Account
	case "sourceIPAddress":
		return e.SourceIP
	case "eventTime":
		return e.EventTime
	}
	return ""
}

func (f *fieldMatch) finish() {
	f.scalarOnly = true
	for _, v := range f.values {
		switch v.(type) {
		case nullMatch, *fieldRef:
			f.scalarOnly = false
		}
	}
	for _, v := range f.values {
		if v.match("", KindString) {
			f.emptyOK = true
		}
	}
	f.simple = f.scalarOnly && commonValue(&Event{EventName: "x", EventSource: "x", ErrorCode: "x", Region: "x", Account: "x", SourceIP: "x", EventTime: "x"}, f.field) != ""
}

// any reports whether some element of the field matches vm (arrays are searched element-wise).
func (f *fieldMatch) any(e *Event, vm valueMatch) bool {
	if nm, ok := vm.(nullMatch); ok {
		_ = nm
		for i := range e.Fields {
			if e.Fields[i].Path == f.field && e.Fields[i].Kind != KindNull {
				return false
			}
		}
		return true
	}
	if fr, ok := vm.(*fieldRef); ok {
		for i := range e.Fields {
			if e.Fields[i].Path != f.field {
				continue
			}
			for j := range e.Fields {
				if e.Fields[j].Path == fr.other && e.Fields[j].Value == e.Fields[i].Value && e.Fields[j].Kind == e.Fields[i].Kind {
					return true
				}
			}
		}
		return false
	}
	for i := range e.Fields {
		fl := &e.Fields[i]
		if fl.Path == f.field && vm.match(fl.Value, fl.Kind) {
			return true
		}
	}
	return false
}

type nullMatch struct{}

func (nullMatch) match(string, Kind) bool { return false }

type fieldRef struct{ other string }

func (*fieldRef) match(string, Kind) bool { return false }

const (
	opEq = iota
	opPrefix
	opSuffix
	opContains
)

type strMatch struct {
	op    int
	s     string // lower-cased unless cased
	cased bool
}

func (m *strMatch) match(v string, k Kind) bool {
	if k == KindNull {
		return false
	}
	if m.cased {
		switch m.op {
		case opEq:
			return v == m.s
		case opPrefix:
			return strings.HasPrefix(v, m.s)
		case opSuffix:
			return strings.HasSuffix(v, m.s)
		default:
			return strings.Contains(v, m.s)
		}
	}
	switch m.op {
	case opEq:
		return len(v) == len(m.s) && strings.EqualFold(v, m.s)
	case opPrefix:
		return len(v) >= len(m.s) && strings.EqualFold(v[:len(m.s)], m.s)
	case opSuffix:
		return len(v) >= len(m.s) && strings.EqualFold(v[len(v)-len(m.s):], m.s)
	default:
		return containsFold(v, m.s)
	}
}

type reMatch struct{ re *regexp.Regexp }

func (m *reMatch) match(v string, k Kind) bool { return k != KindNull && m.re.MatchString(v) }

type cidrMatch struct{ p netip.Prefix }

func (m *cidrMatch) match(v string, k Kind) bool {
	if k != KindString {
		return false
	}
	a, err := netip.ParseAddr(v)
	return err == nil && m.p.Contains(a.Unmap())
}

type numMatch struct {
	op string
	n  float64
}

func (m *numMatch) match(v string, k Kind) bool {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || k == KindNull || k == KindBool {
		return false
	}
	switch m.op {
	case "lt":
		return f < m.n
	case "lte":
		return f <= m.n
	case "gt":
		return f > m.n
	default:
		return f >= m.n
	}
}

// containsFold is an ASCII case-insensitive substring search; sub is lower-case.
func containsFold(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	c0 := sub[0]
	up := c0
	if c0 >= 'a' && c0 <= 'z' {
		up = c0 - 32
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i] != c0 && s[i] != up {
			continue
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

var supportedMods = "contains, startswith, endswith, all, re (with i, m, s), cidr, exists, cased, expand, fieldref, lt, lte, gt, gte"

func compileField(key string, v *yaml.Node, ph Placeholders) (*fieldMatch, error) {
	parts := strings.Split(key, "|")
	fm := &fieldMatch{field: parts[0]}
	if fm.field == "" {
		return nil, errors.New("empty field name")
	}
	var op = opEq
	var isRe, isCidr, cased, expand bool
	var reFlags string
	var num string
	for _, mod := range parts[1:] {
		switch mod {
		case "contains":
			op = opContains
		case "startswith":
			op = opPrefix
		case "endswith":
			op = opSuffix
		case "all":
			fm.all = true
		case "re":
			isRe = true
		case "i", "m", "s":
			if !isRe {
				return nil, fmt.Errorf("unsupported modifier %q without re", mod)
			}
			reFlags += mod
		case "cidr":
			isCidr = true
		case "cased":
			cased = true
		case "expand":
			expand = true
		case "exists":
			b, err := strconv.ParseBool(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return nil, errors.New("exists takes true or false")
			}
			fm.exists = &b
			return fm, nil
		case "fieldref":
			fm.fieldref = true
		case "lt", "lte", "gt", "gte":
			num = mod
		default:
			return nil, fmt.Errorf("unsupported modifier %q (supported: %s)", mod, supportedMods)
		}
	}
	var raw []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		raw = []*yaml.Node{v}
	case yaml.SequenceNode:
		raw = v.Content
	default:
		return nil, fmt.Errorf("field %s: value must be a scalar or a list", fm.field)
	}
	var vals []*yaml.Node
	for _, n := range raw {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("field %s: nested values are not supported", fm.field)
		}
		if expand {
			name := strings.Trim(n.Value, "%")
			list, ok := ph[name]
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("placeholder %%%s%% has no values", name)
			}
			for _, s := range list {
				vals = append(vals, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
			}
			continue
		}
		vals = append(vals, n)
	}
	for _, n := range vals {
		isNull := n.Tag == "!!null"
		switch {
		case isNull:
			fm.values = append(fm.values, nullMatch{})
		case fm.fieldref:
			fm.values = append(fm.values, &fieldRef{other: n.Value})
		case num != "":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("%s needs a number", num)
			}
			fm.values = append(fm.values, &numMatch{op: num, n: f})
		case isRe:
			expr := n.Value
			if reFlags != "" {
				expr = "(?" + reFlags + ")" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("unsupported regular expression %q: %v", n.Value, err)
			}
			fm.values = append(fm.values, &reMatch{re: re})
		case isCidr:
			p, err := netip.ParsePrefix(n.Value)
			if err != nil {
				return nil, fmt.Errorf("bad CIDR %q", n.Value)
			}
			fm.values = append(fm.values, &cidrMatch{p: p.Masked()})
		default:
			m, err := compileString(n.Value, op, cased)
			if err != nil {
				return nil, err
			}
			fm.values = append(fm.values, m)
		}
	}
	fm.finish()
	return fm, nil
}

// compileString turns a Sigma string (wildcards * and ?, escapes \* \? \\) into a matcher.
func compileString(s string, op int, cased bool) (valueMatch, error) {
	type tok struct {
		lit  string
		wild byte
	}
	var toks []tok
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			if lit.Len() > 0 {
				toks = append(toks, tok{lit: lit.String()})
				lit.Reset()
			}
			toks = append(toks, tok{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		toks = append(toks, tok{lit: lit.String()})
	}
	switch op {
	case opContains:
		toks = append(append([]tok{{wild: '*'}}, toks...), tok{wild: '*'})
	case opPrefix:
		toks = append(toks, tok{wild: '*'})
	case opSuffix:
		toks = append([]tok{{wild: '*'}}, toks...)
	}
	// Collapse to the fast forms: literal, *literal, literal*, *literal*.
	norm := func(x string) string {
		if cased {
			return x
		}
		return strings.ToLower(x)
	}
	var lits []tok
	for _, t := range toks {
		if t.wild == 0 || t.wild == '?' {
			lits = append(lits, t)
		}
	}
	inner := toks
	lead := len(inner) > 0 && inner[0].wild == '*'
	if lead {
		inner = inner[1:]
	}
	trail := len(inner) > 0 && inner[len(inner)-1].wild == '*'
	if trail {
		inner = inner[:len(inner)-1]
	}
	if len(inner) == 0 {
		if lead || trail {
			return &strMatch{op: opContains, s: "", cased: cased}, nil // "*" matches any value
		}
		return &strMatch{op: opEq, s: "", cased: cased}, nil
	}
	if len(inner) == 1 && inner[0].wild == 0 {
		m := &strMatch{s: norm(inner[0].lit), cased: cased}
		switch {
		case lead && trail:
			m.op = opContains
		case lead:
			m.op = opSuffix
		case trail:
			m.op = opPrefix
		default:
			m.op = opEq
		}
		return m, nil
	}
	_ = lits
	var re strings.Builder
	if !cased {
		re.WriteString("(?i)")
	}
	re.WriteString("(?s)^")
	for _, t := range toks {
		switch t.wild {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(t.lit))
		}
	}
	re.WriteString("$")
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return nil, err
	}
	return &reMatch{re: rx}, nil
}
