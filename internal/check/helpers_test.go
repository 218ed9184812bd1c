package check

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// globalTypes are produced by global collectors in the fake registry below.
var globalTypes = map[string]bool{
	TypeBucket: true, TypeS3AccountPAB: true, TypeCredentialReport: true, TypePasswordPolicy: true,
	TypeAccountSummary: true, TypeUser: true, TypeGroup: true, TypeRole: true, TypeManagedPolicy: true,
	TypeVirtualMFADevice: true, TypeServerCertificate: true, TypeAlternateContacts: true,
}

// fakeCollectors stands in for the registry: one collector per type, named after it.
func fakeCollectors() []*collect.Collector {
	seen := map[string]bool{}
	var out []*collect.Collector
	for _, c := range All() {
		for _, t := range append([]string{c.ResourceType}, c.Inputs...) {
			if seen[t] {
				continue
			}
			seen[t] = true
			out = append(out, &collect.Collector{Name: colName(t), Global: globalTypes[t], ResourceTypes: []string{t}})
		}
	}
	return out
}

func colName(t string) string { return strings.ToLower(strings.ReplaceAll(t, "::", ".")) }

// okCoverage marks every fake collector ok in acct (global and region).
func okCoverage() []store.Coverage {
	var cov []store.Coverage
	for _, c := range fakeCollectors() {
		r := region
		if c.Global {
			r = "global"
		}
		cov = append(cov, store.Coverage{AccountID: acct, Region: r, Collector: c.Name, Status: store.CoverageOK})
	}
	return cov
}

// withCoverage replaces the status of typ's collector.
func withCoverage(cov []store.Coverage, typ, status, reason string) []store.Coverage {
	out := append([]store.Coverage(nil), cov...)
	for i := range out {
		if out[i].Collector == colName(typ) {
			out[i].Status, out[i].Reason = status, reason
		}
	}
	return out
}

func res(typ, arn, cfg string, errs map[string]string) *inventory.Resource {
	r := &inventory.Resource{ARN: arn, Type: typ, AccountID: acct, Region: region, Name: arn[strings.LastIndexAny(arn, ":/")+1:],
		Config: json.RawMessage(cfg), Errors: errs}
	if globalTypes[typ] && typ != TypeBucket {
		r.Region = "global"
	}
	return r
}

func newTestEnv(cov []store.Coverage, rs ...*inventory.Resource) *Env {
	e := NewEnv(testNow, cov, fakeCollectors())
	for _, r := range rs {
		e.Add(r)
	}
	return e
}

// observed records which statuses the table tests produced for each check, so TestMain can
// require PASS, FAIL and ERROR cases for every check of the catalog.
var (
	observedMu sync.Mutex
	observed   = map[string]map[finding.Status]bool{}
)

func observe(id string, st finding.Status) {
	observedMu.Lock()
	defer observedMu.Unlock()
	if observed[id] == nil {
		observed[id] = map[finding.Status]bool{}
	}
	observed[id][st] = true
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.bench").Value.String() == "" {
		var missing []string
		for _, c := range All() {
			for _, st := range []finding.Status{finding.Pass, finding.Fail, finding.Error} {
				if !observed[c.ID][st] {
					missing = append(missing, c.ID+":"+string(st))
				}
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "checks without a table case for every status (%d): %s\n", len(missing), strings.Join(missing, " "))
			code = 1
		}
	}
	os.Exit(code)
}

// evalOne evaluates one per-resource check as the engine does (Needs included).
func evalOne(t *testing.T, id string, e *Env, r *inventory.Resource) Result {
	t.Helper()
	c := ByID(id)
	if c == nil {
		t.Fatalf("no check %s", id)
	}
	res := evalResource(e, c, NewRes(r), e.CollectorKey(r.Type, r.AccountID, r.Region)).res
	observe(id, res.Status)
	return res
}

// evalUnit evaluates one account/region check as the engine does (coverage included).
func evalUnit(t *testing.T, id string, e *Env, reg string) Result {
	t.Helper()
	c := ByID(id)
	if c == nil {
		t.Fatalf("no check %s", id)
	}
	res := evalScope(e, c, Unit{Account: acct, Region: reg}).res
	observe(id, res.Status)
	return res
}

type tcase struct {
	name   string
	want   finding.Status
	detail string // substring expected in the detail, if set
	run    func(t *testing.T) Result
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run(t)
			if got.Status != tc.want {
				t.Fatalf("status %q, want %q (detail %q, evidence %+v)", got.Status, tc.want, got.Detail, got.Evidence)
			}
			if tc.detail != "" && !strings.Contains(got.Detail, tc.detail) {
				t.Fatalf("detail %q does not mention %q", got.Detail, tc.detail)
			}
		})
	}
}
