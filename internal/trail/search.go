package trail

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
)

// Filter selects events for `yagura trail search`. Values within one field are alternatives
// (OR), fields combine with AND. Strings compare case-insensitively and accept Sigma wildcards
// (* and ?).
type Filter struct {
	EventNames   []string
	EventSources []string
	Principals   []string // ARN, user name, principal id, or the role behind a session
	AccessKeys   []string
	Accounts     []string
	Regions      []string
	ErrorCodes   []string
	SourceIPs    []string // addresses or CIDRs

	compiled  bool
	names     []valueMatch
	sources   []valueMatch
	principal []valueMatch
	keys      []valueMatch
	accounts  []valueMatch
	regions   []valueMatch
	errors    []valueMatch
	nets      []netip.Prefix
	ipWild    []valueMatch // source IPs that are not addresses (AWS service names)
}

// Compile checks the filter's values; Match compiles on first use otherwise.
func (f *Filter) Compile() error {
	var err error
	comp := func(vals []string) []valueMatch {
		var out []valueMatch
		for _, v := range vals {
			m, e := compileString(v, opEq, false)
			if e != nil && err == nil {
				err = e
			}
			out = append(out, m)
		}
		return out
	}
	f.names, f.sources, f.principal = comp(f.EventNames), comp(f.EventSources), comp(f.Principals)
	f.keys, f.accounts, f.regions, f.errors = comp(f.AccessKeys), comp(f.Accounts), comp(f.Regions), comp(f.ErrorCodes)
	f.nets, f.ipWild = nil, nil
	for _, s := range f.SourceIPs {
		if p, e := netip.ParsePrefix(s); e == nil {
			f.nets = append(f.nets, p.Masked())
		} else if a, e := netip.ParseAddr(s); e == nil {
			f.nets = append(f.nets, netip.PrefixFrom(a, a.BitLen()))
		} else {
			f.ipWild = append(f.ipWild, comp([]string{s})...)
		}
	}
	f.compiled = true
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	return nil
}

func anyMatch(ms []valueMatch, v string) bool {
	for _, m := range ms {
		if m.match(v, KindString) {
			return true
		}
	}
	return false
}

func fieldAny(e *Event, paths []string, ms []valueMatch) bool {
	for i := range e.Fields {
		f := &e.Fields[i]
		for _, p := range paths {
			if f.Path == p && anyMatch(ms, f.Value) {
				return true
			}
		}
	}
	return false
}

var principalPaths = []string{"userIdentity.arn", "userIdentity.userName", "userIdentity.principalId",
	"userIdentity.sessionContext.sessionIssuer.arn", "userIdentity.sessionContext.sessionIssuer.userName"}

// Match reports whether the event passes every given field.
func (f *Filter) Match(e *Event) bool {
	if !f.compiled {
		f.Compile()
	}
	if f.names != nil && !anyMatch(f.names, e.EventName) {
		return false
	}
	if f.sources != nil && !anyMatch(f.sources, e.EventSource) {
		return false
	}
	if f.accounts != nil && !anyMatch(f.accounts, e.Account) {
		return false
	}
	if f.regions != nil && !anyMatch(f.regions, e.Region) {
		return false
	}
	if f.errors != nil && !anyMatch(f.errors, e.ErrorCode) {
		return false
	}
	if f.nets != nil || f.ipWild != nil {
		ok := anyMatch(f.ipWild, e.SourceIP)
		if !ok {
			if a, err := netip.ParseAddr(e.SourceIP); err == nil {
				a = a.Unmap()
				for _, p := range f.nets {
					if p.Contains(a) {
						ok = true
						break
					}
				}
			}
		}
		if !ok {
			return false
		}
	}
	if f.keys != nil && !fieldAny(e, []string{"userIdentity.accessKeyId"}, f.keys) {
		return false
	}
	if f.principal != nil && !fieldAny(e, principalPaths, f.principal) {
		return false
	}
	return true
}

// Counter counts events per value of one field (each distinct value once per event). It is
// safe for concurrent use.
type Counter struct {
	Field string
	mu    sync.Mutex
	m     map[string]*int // pointer values: m[k]++ would store the (borrowed) lookup key
}

// Count is one row of a Counter's result.
type Count struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

func (c *Counter) Add(e *Event) {
	var seen [8]string
	n := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*int{}
	}
	found := false
outer:
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Path != c.Field {
			continue
		}
		found = true
		for _, s := range seen[:n] {
			if s == f.Value {
				continue outer
			}
		}
		if n < len(seen) {
			seen[n] = f.Value
			n++
		}
		c.inc(f.Value)
	}
	if !found {
		c.inc("(none)")
	}
}

// inc counts v. Event strings point into reused buffers, so a new key is copied, and an
// existing one is never assigned again: Go updates a string key on assignment.
func (c *Counter) inc(v string) {
	if p, ok := c.m[v]; ok {
		*p++
		return
	}
	n := 1
	c.m[strings.Clone(v)] = &n
}

// Result returns the counts, largest first.
func (c *Counter) Result() []Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Count, 0, len(c.m))
	for v, n := range c.m {
		out = append(out, Count{v, *n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("bad CIDR %q", s)
	}
	return p, nil
}
