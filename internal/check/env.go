package check

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// Res is a resource under evaluation. Its Config is decoded at most once per accessor type, as
// many checks read the same resource.
type Res struct {
	*inventory.Resource
	mu    sync.Mutex
	cache map[any]any
}

// NewRes wraps a resource.
func NewRes(r *inventory.Resource) *Res { return &Res{Resource: r} }

// decode parses r.Config into a fresh *T, caching it under the type's name.
func decode[T any](r *Res) (*T, error) {
	key := reflect.TypeFor[T]()
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cache[key]; ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*T), nil
	}
	if r.cache == nil {
		r.cache = map[any]any{}
	}
	v := new(T)
	if err := json.Unmarshal(r.Config, v); err != nil {
		err = fmt.Errorf("config of %s does not decode: %v", r.ARN, err)
		r.cache[key] = err
		return nil, err
	}
	r.cache[key] = v
	return v, nil
}

// cached computes a per-resource value once for all the checks that need it (fn runs without
// the resource's lock held, so it may decode).
func cached[K comparable, V any](r *Res, key K, fn func() V) V {
	r.mu.Lock()
	if v, ok := r.cache[key]; ok {
		r.mu.Unlock()
		return v.(V)
	}
	r.mu.Unlock()
	v := fn()
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[any]any{}
	}
	r.cache[key] = v
	r.mu.Unlock()
	return v
}

// policyKey caches parsed policy documents by attribute.
type policyKey string

// cachedPolicy parses a policy attribute once per resource: several checks read the same policy.
func (r *Res) cachedPolicy(attr string, raw json.RawMessage) (*policy.Document, error) {
	v := cached(r, policyKey(attr), func() docOrErr {
		d, err := parsePolicyValue(raw)
		return docOrErr{d, err}
	})
	return v.d, v.err
}

// ErrorOf returns the read failure recorded for one of attrs, if any.
func (r *Res) ErrorOf(attrs ...string) (string, string) {
	for _, a := range attrs {
		if reason, ok := r.Errors[a]; ok {
			return a, reason
		}
	}
	return "", ""
}

type scopeKey struct{ typ, account, region string }

type covKey struct{ collector, account, region string }

// Env is the read-only view of a scan an evaluation gets: related and account-level
// resources indexed by ARN and by type × account × region, and the scan's coverage.
type Env struct {
	Now      time.Time
	byARN    map[string]*Res
	byScope  map[scopeKey][]*Res
	byAcct   map[scopeKey][]*Res // region left empty
	cov      map[covKey]store.Coverage
	covByCol map[string][]store.Coverage
	producer map[string]*collect.Collector
	accounts []string
	regions  map[string][]string // account -> regions seen in coverage (not "global")
}

// NewEnv builds an empty environment over the scan's coverage.
func NewEnv(now time.Time, coverage []store.Coverage, collectors []*collect.Collector) *Env {
	e := &Env{
		Now: now, byARN: map[string]*Res{}, byScope: map[scopeKey][]*Res{}, byAcct: map[scopeKey][]*Res{},
		cov: map[covKey]store.Coverage{}, covByCol: map[string][]store.Coverage{},
		producer: map[string]*collect.Collector{}, regions: map[string][]string{},
	}
	for _, c := range collectors {
		for _, t := range c.ResourceTypes {
			if _, ok := e.producer[t]; !ok {
				e.producer[t] = c
			}
		}
	}
	seenAcct := map[string]bool{}
	seenReg := map[[2]string]bool{}
	for _, c := range coverage {
		e.cov[covKey{c.Collector, c.AccountID, c.Region}] = c
		e.covByCol[c.Collector] = append(e.covByCol[c.Collector], c)
		if !seenAcct[c.AccountID] {
			seenAcct[c.AccountID] = true
			e.accounts = append(e.accounts, c.AccountID)
		}
		if c.Region != "global" && !seenReg[[2]string{c.AccountID, c.Region}] {
			seenReg[[2]string{c.AccountID, c.Region}] = true
			e.regions[c.AccountID] = append(e.regions[c.AccountID], c.Region)
		}
	}
	sort.Strings(e.accounts)
	for _, r := range e.regions {
		sort.Strings(r)
	}
	return e
}

// Add indexes a resource.
func (e *Env) Add(r *inventory.Resource) {
	x := NewRes(r)
	e.byARN[r.ARN] = x
	k := scopeKey{r.Type, r.AccountID, r.Region}
	e.byScope[k] = append(e.byScope[k], x)
	ka := scopeKey{r.Type, r.AccountID, ""}
	e.byAcct[ka] = append(e.byAcct[ka], x)
}

// sortLists orders every index list by (region, ARN) once inputs are loaded, so that what checks
// list (and the evidence they quote) does not depend on the order the source streamed them in:
// a store returns rows in insertion order, which varies from scan to scan.
func (e *Env) sortLists() {
	less := func(a, b *Res) int {
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return strings.Compare(a.ARN, b.ARN)
	}
	for _, l := range e.byScope {
		slices.SortFunc(l, less)
	}
	for _, l := range e.byAcct {
		slices.SortFunc(l, less)
	}
}

// Get returns a resource by ARN, or nil.
func (e *Env) Get(arn string) *Res { return e.byARN[arn] }

// List returns the resources of a type in an account and region ("" = every region).
func (e *Env) List(typ, account, region string) []*Res {
	if region == "" {
		return e.byAcct[scopeKey{typ, account, ""}]
	}
	return e.byScope[scopeKey{typ, account, region}]
}

// One returns the single resource of a type in an account and region (account-level settings).
func (e *Env) One(typ, account, region string) *Res {
	l := e.List(typ, account, region)
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// Accounts lists the accounts the scan covered.
func (e *Env) Accounts() []string { return e.accounts }

// Regions lists the regions scanned in an account.
func (e *Env) Regions(account string) []string { return e.regions[account] }

// Producer returns the collector that produces a resource type, or nil.
func (e *Env) Producer(typ string) *collect.Collector { return e.producer[typ] }

// covRegion is the coverage region of a collector's task for a resource region.
func covRegion(c *collect.Collector, region string) string {
	if c.Global {
		return "global"
	}
	return region
}

// CollectorKey names the scan task that produced a resource type in an account and region, as
// finding lifecycle expects it.
func (e *Env) CollectorKey(typ, account, region string) string {
	c := e.producer[typ]
	if c == nil {
		return ""
	}
	return c.Name + "|" + account + "|" + covRegion(c, region)
}

// InputProblem explains why input type typ cannot be trusted for account and region (region
// "" = the account as a whole: fine when any region was read), or "" when it was read.
func (e *Env) InputProblem(typ, account, region string) string {
	c := e.producer[typ]
	if c == nil {
		return "not collected: no collector produces " + typ
	}
	if c.Global || region != "" {
		cv, ok := e.cov[covKey{c.Name, account, covRegion(c, region)}]
		if !ok {
			return fmt.Sprintf("not collected: collector %s did not run for %s/%s", c.Name, account, covRegion(c, region))
		}
		if cv.Status != store.CoverageOK {
			return fmt.Sprintf("collector %s %s in %s/%s: %s", c.Name, cv.Status, account, cv.Region, cv.Reason)
		}
		return ""
	}
	var problems []string
	okAny := false
	for _, cv := range e.covByCol[c.Name] {
		if cv.AccountID != account {
			continue
		}
		if cv.Status == store.CoverageOK {
			okAny = true
		} else {
			problems = append(problems, cv.Region+": "+cv.Status+" "+cv.Reason)
		}
	}
	if okAny {
		return ""
	}
	if len(problems) == 0 {
		return fmt.Sprintf("not collected: collector %s did not run in account %s", c.Name, account)
	}
	return fmt.Sprintf("collector %s failed in every region of %s: %s", c.Name, account, strings.Join(problems, "; "))
}

// FailedRegions lists the regions of an account where typ's collector did not succeed, with the
// reason, for checks that look across regions.
func (e *Env) FailedRegions(typ, account string) map[string]string {
	c := e.producer[typ]
	out := map[string]string{}
	if c == nil {
		return out
	}
	for _, cv := range e.covByCol[c.Name] {
		if cv.AccountID == account && cv.Status != store.CoverageOK {
			out[cv.Region] = cv.Status + ": " + cv.Reason
		}
	}
	return out
}

// Coverage returns the coverage of a collector task.
func (e *Env) Coverage(collector, account, region string) (store.Coverage, bool) {
	c, ok := e.cov[covKey{collector, account, region}]
	return c, ok
}

// UnitsFor lists the account × region units of a collector's coverage, for a PerRegion check.
func (e *Env) unitsFor(typ string, scope Scope) []Unit {
	var out []Unit
	if scope == PerAccount {
		for _, a := range e.accounts {
			out = append(out, Unit{Account: a, Region: "global"})
		}
		return out
	}
	c := e.producer[typ]
	seen := map[[2]string]bool{}
	if c != nil && !c.Global {
		for _, cv := range e.covByCol[c.Name] {
			k := [2]string{cv.AccountID, cv.Region}
			if !seen[k] {
				seen[k] = true
				out = append(out, Unit{Account: cv.AccountID, Region: cv.Region})
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	// No coverage of this collector at all: every scanned account-region gets a result so the
	// gap shows as ERROR instead of silence.
	for _, a := range e.accounts {
		for _, r := range e.regions[a] {
			out = append(out, Unit{Account: a, Region: r})
		}
	}
	return out
}
