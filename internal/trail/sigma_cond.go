package trail

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// cnode is a compiled condition.
type cnode interface {
	eval(*Event) bool
	// eventNames is the set of eventName values (lower-cased) that can make the node true, or
	// nil when any event can.
	eventNames() map[string]bool
}

type andNode struct{ kids []cnode }
type orNode struct{ kids []cnode }
type notNode struct{ kid cnode }
type ofNode struct {
	n    int // at least n kids true; -1 = all
	kids []cnode
}

func (a *andNode) eval(e *Event) bool {
	for _, k := range a.kids {
		if !k.eval(e) {
			return false
		}
	}
	return true
}

func (a *andNode) eventNames() map[string]bool {
	var best map[string]bool
	for _, k := range a.kids {
		if n := k.eventNames(); n != nil && (best == nil || len(n) < len(best)) {
			best = n
		}
	}
	return best
}

func (o *orNode) eval(e *Event) bool {
	for _, k := range o.kids {
		if k.eval(e) {
			return true
		}
	}
	return false
}

func unionNames(kids []cnode) map[string]bool {
	out := map[string]bool{}
	for _, k := range kids {
		n := k.eventNames()
		if n == nil {
			return nil
		}
		for x := range n {
			out[x] = true
		}
	}
	return out
}

func (o *orNode) eventNames() map[string]bool { return unionNames(o.kids) }

func (n *notNode) eval(e *Event) bool          { return !n.kid.eval(e) }
func (n *notNode) eventNames() map[string]bool { return nil }

func (o *ofNode) eval(e *Event) bool {
	if o.n < 0 {
		for _, k := range o.kids {
			if !k.eval(e) {
				return false
			}
		}
		return true
	}
	c := 0
	for _, k := range o.kids {
		if k.eval(e) {
			c++
			if c >= o.n {
				return true
			}
		}
	}
	return false
}

func (o *ofNode) eventNames() map[string]bool {
	if o.n < 0 {
		return (&andNode{kids: o.kids}).eventNames()
	}
	return unionNames(o.kids)
}

// aggregation is the legacy Sigma condition suffix "| count([field]) [by group] op N": the rule
// fires when, within Timeframe, the matching events of one group number (or, with a field, have
// distinct values of it) more than N.
type aggregation struct {
	distinct string
	groupBy  string
	op       string
	n        int
}

func (a *aggregation) ok(c int) bool {
	switch a.op {
	case ">":
		return c > a.n
	case ">=":
		return c >= a.n
	case "<":
		return c < a.n
	case "<=":
		return c <= a.n
	default:
		return c == a.n
	}
}

func tokenize(s string) []string {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, string(c))
			i++
		case c == '>' || c == '<' || c == '=' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|<>=!", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type condParser struct {
	toks []string
	pos  int
	sels map[string]*selection
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func parseCondition(s string, sels map[string]*selection) (cnode, *aggregation, error) {
	p := &condParser{toks: tokenize(s), sels: sels}
	n, err := p.or()
	if err != nil {
		return nil, nil, err
	}
	var agg *aggregation
	if p.peek() == "|" {
		p.next()
		if agg, err = p.aggregation(); err != nil {
			return nil, nil, err
		}
	}
	if p.pos < len(p.toks) {
		return nil, nil, fmt.Errorf("unexpected %q", p.peek())
	}
	return n, agg, nil
}

func (p *condParser) or() (cnode, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []cnode{first}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		k, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &orNode{kids: kids}, nil
}

func (p *condParser) and() (cnode, error) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	kids := []cnode{first}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		k, err := p.not()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &andNode{kids: kids}, nil
}

func (p *condParser) not() (cnode, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.next()
		k, err := p.not()
		if err != nil {
			return nil, err
		}
		return &notNode{kid: k}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (cnode, error) {
	t := p.next()
	switch {
	case t == "":
		return nil, errors.New("unexpected end of condition")
	case t == "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errors.New("missing )")
		}
		return n, nil
	case strings.EqualFold(p.peek(), "of"):
		p.next()
		q := 0
		if strings.EqualFold(t, "all") {
			q = -1
		} else if n, err := strconv.Atoi(t); err == nil && n > 0 {
			q = n
		} else {
			return nil, fmt.Errorf("unsupported quantifier %q", t)
		}
		pat := p.next()
		if pat == "" {
			return nil, errors.New("missing selection pattern after 'of'")
		}
		var names []string
		for name := range p.sels {
			if strings.EqualFold(pat, "them") {
				if !strings.HasPrefix(name, "_") {
					names = append(names, name)
				}
			} else if ok, _ := path.Match(pat, name); ok {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%q matches no selection", pat)
		}
		sort.Strings(names)
		var kids []cnode
		for _, n := range names {
			kids = append(kids, p.sels[n])
		}
		return &ofNode{n: q, kids: kids}, nil
	case t == ")" || t == "|" || strings.EqualFold(t, "and") || strings.EqualFold(t, "or"):
		return nil, fmt.Errorf("unexpected %q", t)
	default:
		s, ok := p.sels[t]
		if !ok {
			return nil, fmt.Errorf("unknown selection %q", t)
		}
		return s, nil
	}
}

// aggregation parses "count([field]) [by group] op N".
func (p *condParser) aggregation() (*aggregation, error) {
	t := p.next()
	if !strings.HasPrefix(strings.ToLower(t), "count") {
		return nil, fmt.Errorf("unsupported aggregation %q (only count() is supported)", t)
	}
	a := &aggregation{}
	if p.next() != "(" {
		return nil, errors.New("count needs ()")
	}
	if p.peek() != ")" {
		a.distinct = p.next()
	}
	if p.next() != ")" {
		return nil, errors.New("count: missing )")
	}
	if strings.EqualFold(p.peek(), "by") {
		p.next()
		a.groupBy = p.next()
	}
	a.op = p.next()
	switch a.op {
	case ">", ">=", "<", "<=", "=":
	default:
		return nil, fmt.Errorf("unsupported comparison %q", a.op)
	}
	n, err := strconv.Atoi(p.next())
	if err != nil {
		return nil, errors.New("count must compare with an integer")
	}
	a.n = n
	if a.op == "<" || a.op == "<=" || (a.op == "=" && n == 0) {
		return nil, errors.New("unsupported: aggregations that fire on absence of events")
	}
	return a, nil
}
