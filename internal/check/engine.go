package check

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// Source is the inventory of one scan as the engine reads it.
type Source interface {
	Coverage(ctx context.Context) ([]store.Coverage, error)
	// Each streams the resources of the given types, grouped by type.
	Each(ctx context.Context, types []string, fn func(*inventory.Resource) error) error
}

// StoreSource reads a stored scan.
type StoreSource struct {
	DB     *store.DB
	ScanID int64
}

// Coverage implements Source.
func (s StoreSource) Coverage(ctx context.Context) ([]store.Coverage, error) {
	return s.DB.CoverageOf(ctx, s.ScanID)
}

// Each implements Source. It reads only what checks use (ARN, type, account, region, name,
// config, read errors) and in no particular order — the engine groups nothing by order — so SQLite
// neither sorts a million rows nor decodes tags no check reads; an empty errors object is not
// decoded at all.
func (s StoreSource) Each(ctx context.Context, types []string, fn func(*inventory.Resource) error) error {
	if len(types) == 0 {
		return nil
	}
	args := make([]any, 0, len(types)+1)
	args = append(args, s.ScanID)
	for _, t := range types {
		args = append(args, t)
	}
	rows, err := s.DB.SQL.QueryContext(ctx, `SELECT arn, type, account_id, region, name, config, errors FROM resources
		WHERE scan_id = ? AND type IN (`+strings.TrimSuffix(strings.Repeat("?,", len(types)), ",")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r := &inventory.Resource{}
		var cfg, errs []byte
		if err := rows.Scan(&r.ARN, &r.Type, &r.AccountID, &r.Region, &r.Name, &cfg, &errs); err != nil {
			return err
		}
		r.Config = cfg
		if len(errs) > 2 {
			if err := json.Unmarshal(errs, &r.Errors); err != nil {
				return fmt.Errorf("read errors of %s: %w", r.ARN, err)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Sink receives findings as they are produced.
type Sink interface {
	Put(f *finding.Finding) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(*finding.Finding) error

// Put implements Sink.
func (f SinkFunc) Put(x *finding.Finding) error { return f(x) }

// Options tune an evaluation.
type Options struct {
	Checks  []*Check // default: the whole catalog
	Workers int      // default: GOMAXPROCS
	Now     time.Time
	// Collectors default to collect.All(); tests and benchmarks may pass their own.
	Collectors []*collect.Collector
}

// Stats summarize an evaluation.
type Stats struct {
	Resources   int64         `json:"resources"`
	Evaluations int64         `json:"evaluations"`
	Pass        int64         `json:"pass"`
	Fail        int64         `json:"fail"`
	Error       int64         `json:"error"`
	Duration    time.Duration `json:"duration"`
}

type evalResult struct {
	c   *Check
	r   *inventory.Resource // nil for scope checks
	u   Unit
	res Result
	col string
}

// Evaluate runs the checks over a scan and streams one finding per result to sink. Input types
// of all checks are loaded and indexed first; the evaluated types are then streamed once and
// evaluated in parallel, so memory holds the indexes and a bounded queue, not the inventory.
func Evaluate(ctx context.Context, src Source, sink Sink, o Options) (Stats, error) {
	start := time.Now()
	if o.Checks == nil {
		o.Checks = All()
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	if o.Collectors == nil {
		o.Collectors = collect.All()
	}
	// Evaluation allocates many short-lived decode buffers while the live heap stays small
	// (indexes plus a bounded queue): trading some memory for fewer collections roughly halves
	// the time spent in the garbage collector.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// ...but within a bound, so that a large inventory does not inflate the process (1M
	// resources: the live heap stays near 120 MiB; without the bound the heap goal was ~600 MiB
	// and the peak RSS 840 MiB, with it about 400-550 MiB for some 10% more GC work).
	const heapBound = 512 << 20
	if prev := debug.SetMemoryLimit(-1); prev > heapBound {
		debug.SetMemoryLimit(heapBound)
		defer debug.SetMemoryLimit(prev)
	}
	cov, err := src.Coverage(ctx)
	if err != nil {
		return Stats{}, err
	}
	env := NewEnv(o.Now, cov, o.Collectors)

	inputs := map[string]bool{}
	byType := map[string][]*Check{}
	var scoped []*Check
	for _, c := range o.Checks {
		for _, t := range c.Inputs {
			inputs[t] = true
		}
		if c.Scope == PerResource {
			byType[c.ResourceType] = append(byType[c.ResourceType], c)
		} else {
			scoped = append(scoped, c)
		}
	}
	if err := src.Each(ctx, sortedKeys(inputs), func(r *inventory.Resource) error {
		env.Add(r)
		return nil
	}); err != nil {
		return Stats{}, fmt.Errorf("loading check inputs: %w", err)
	}
	env.sortLists()

	var st Stats
	// Workers turn results into findings; one writer goroutine feeds the sink, which need
	// not be safe for concurrent use.
	out := make(chan []*finding.Finding, 8)
	var writeErr error
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for batch := range out {
			for _, f := range batch {
				if writeErr != nil {
					continue
				}
				switch f.Status {
				case finding.Pass:
					st.Pass++
				case finding.Fail:
					st.Fail++
				case finding.Error:
					st.Error++
				}
				st.Evaluations++
				if err := sink.Put(f); err != nil {
					writeErr = err
				}
			}
		}
	}()
	convert := func(rs []evalResult) []*finding.Finding {
		fs := make([]*finding.Finding, 0, len(rs))
		for i := range rs {
			if rs[i].res.Status == "" {
				continue // not applicable: no finding
			}
			fs = append(fs, toFinding(&rs[i], o.Now))
		}
		return fs
	}

	// Account- and region-level checks.
	var batch []evalResult
	for _, c := range scoped {
		for _, u := range env.unitsFor(c.Inputs[0], c.Scope) {
			batch = append(batch, evalScope(env, c, u))
			if len(batch) >= 256 {
				out <- convert(batch)
				batch = nil
			}
		}
	}
	// Collection gaps for per-resource checks: a type whose listing failed in an
	// account-region gets one ERROR per check there, so silence never passes for PASS.
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		batch = append(batch, gapResults(env, t, byType[t])...)
	}
	if len(batch) > 0 {
		out <- convert(batch)
	}

	// Per-resource checks, streamed.
	jobs := make(chan []*inventory.Resource, 2*o.Workers)
	var wg sync.WaitGroup
	var nres int64
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rs := range jobs {
				res := make([]evalResult, 0, len(rs)*len(byType[rs[0].Type]))
				for _, r := range rs {
					x := NewRes(r)
					col := env.CollectorKey(r.Type, r.AccountID, r.Region)
					for _, c := range byType[r.Type] {
						res = append(res, evalResource(env, c, x, col))
					}
				}
				atomic.AddInt64(&nres, int64(len(rs)))
				if len(res) > 0 {
					out <- convert(res)
				}
			}
		}()
	}
	var chunk []*inventory.Resource
	err = src.Each(ctx, types, func(r *inventory.Resource) error {
		chunk = append(chunk, r)
		if len(chunk) >= 512 {
			select {
			case jobs <- chunk:
			case <-ctx.Done():
				return ctx.Err()
			}
			chunk = nil
		}
		return nil
	})
	if len(chunk) > 0 && err == nil {
		jobs <- chunk
	}
	close(jobs)
	wg.Wait()
	close(out)
	<-writerDone
	st.Resources = nres
	st.Duration = time.Since(start)
	if err != nil {
		return st, err
	}
	return st, writeErr
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func evalResource(env *Env, c *Check, r *Res, col string) (er evalResult) {
	er = evalResult{c: c, r: r.Resource, col: col}
	defer func() {
		// A check that panics on unexpected input reports ERROR for that resource rather than
		// taking the scan down.
		if p := recover(); p != nil {
			er.res = Errorf("check %s failed on this resource: %v", c.ID, p)
		}
	}()
	if attr, reason := r.ErrorOf(c.Needs...); attr != "" {
		er.res = Errorf("could not read %s: %s", attr, reason)
		return er
	}
	er.res = c.Eval(env, r)
	return er
}

func evalScope(env *Env, c *Check, u Unit) (er evalResult) {
	er = evalResult{c: c, u: u}
	region := u.Region
	if c.Scope == PerAccount {
		region = ""
	}
	er.col = env.CollectorKey(c.Inputs[0], u.Account, u.Region)
	if p := env.Producer(c.Inputs[0]); p != nil && !p.Global && c.Scope == PerAccount {
		// The account-wide result depends on every region's task; name the first one.
		if regs := env.Regions(u.Account); len(regs) > 0 {
			er.col = env.CollectorKey(c.Inputs[0], u.Account, regs[0])
		}
	}
	defer func() {
		if p := recover(); p != nil {
			er.res = Errorf("check %s failed: %v", c.ID, p)
		}
	}()
	defer func() {
		// The subject is the same whatever the status, so that the finding id is stable.
		er.res.ARN = SubjectARN(c, u)
		if c.Subject != "" && er.res.Type == "" {
			er.res.Type = c.ResourceType
		}
	}()
	for _, in := range c.Inputs {
		if p := env.InputProblem(in, u.Account, region); p != "" {
			er.res = Errorf("%s", p)
			return er
		}
	}
	er.res = c.EvalScope(env, u)
	return er
}

// SubjectARN is the ARN the results of an account- or region-level check carry for a unit.
func SubjectARN(c *Check, u Unit) string {
	if c.Subject == "" {
		return UnitARN(u.Partition, u.Account, u.Region)
	}
	p := u.Partition
	if p == "" {
		p = "aws"
	}
	return strings.NewReplacer("{partition}", p, "{account}", u.Account, "{region}", u.Region).Replace(c.Subject)
}

func gapResults(env *Env, typ string, checks []*Check) []evalResult {
	var out []evalResult
	p := env.Producer(typ)
	if p == nil {
		for _, a := range env.Accounts() {
			for _, c := range checks {
				out = append(out, evalResult{c: c, u: Unit{Account: a, Region: "global"},
					res: Errorf("not collected: no collector produces %s", typ)})
			}
		}
		return out
	}
	for _, cv := range env.covByCol[p.Name] {
		if cv.Status == store.CoverageOK {
			continue
		}
		for _, c := range checks {
			out = append(out, evalResult{c: c, u: Unit{Account: cv.AccountID, Region: cv.Region},
				col: p.Name + "|" + cv.AccountID + "|" + cv.Region,
				res: Errorf("%s could not be listed: collector %s %s: %s", typ, p.Name, cv.Status, cv.Reason)})
		}
	}
	return out
}

// UnitARN is the synthetic ARN findings about an account-region (or the account, region
// "global") carry when no resource stands for the setting.
func UnitARN(partition, account, region string) string {
	if partition == "" {
		partition = "aws"
	}
	if region == "" || region == "global" {
		return fmt.Sprintf("arn:%s::%s:account", partition, account)
	}
	return fmt.Sprintf("arn:%s::%s:region/%s", partition, account, region)
}

func toFinding(er *evalResult, now time.Time) *finding.Finding {
	c := er.c
	f := &finding.Finding{
		CheckID: c.ID, Controls: c.Controls, Source: "yagura", Status: er.res.Status,
		Severity: c.Severity, Title: c.Title, Detail: er.res.Detail, Remediation: c.remText,
		FirstSeen: now, LastSeen: now, Lifecycle: finding.LifecycleNew, Collector: er.col,
		ResourceType: c.ResourceType,
	}
	if er.r != nil {
		f.AccountID, f.Region, f.ResourceARN, f.ResourceType = er.r.AccountID, er.r.Region, er.r.ARN, er.r.Type
	} else {
		f.AccountID, f.Region = er.u.Account, er.u.Region
		f.ResourceARN = UnitARN(er.u.Partition, er.u.Account, er.u.Region)
	}
	if er.res.ARN != "" {
		f.ResourceARN = er.res.ARN
	}
	if er.res.Type != "" {
		f.ResourceType = er.res.Type
	}
	if er.res.Evidence != nil {
		if b, err := json.Marshal(er.res.Evidence); err == nil {
			f.Evidence = b
		}
	}
	if f.Detail == "" {
		f.Detail = strings.ToLower(string(f.Status))
	}
	f.ID = finding.StableID("yagura", c.ID, f.ResourceARN)
	return f
}
