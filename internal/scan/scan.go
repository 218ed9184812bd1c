// Package scan plans and runs a scan of an organization: account × region × collector tasks on a
// fair worker pool under per-account, per-region, per-API-class rate limits, recording the
// coverage of every task so that the results say exactly what could not be seen.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/org"
	"github.com/yagura-dev/yagura/internal/store"
)

// Options of one scan; the zero value scans every account, region and service.
type Options struct {
	Accounts        []string              `json:"accounts,omitempty"`
	ExcludeAccounts []string              `json:"exclude_accounts,omitempty"`
	OUs             []string              `json:"ous,omitempty"`
	RoleName        string                `json:"role_name"`
	ExternalID      string                `json:"-"` // a shared secret: never stored or logged
	Regions         []string              `json:"regions,omitempty"`
	Services        []string              `json:"services,omitempty"`
	Concurrency     int                   `json:"concurrency"`
	RateLimits      map[string]awsx.Limit `json:"rate_limits,omitempty"`
	// SessionDuration and RefreshBefore tune assumed-role sessions (tests shorten them).
	SessionDuration time.Duration `json:"-"`
	RefreshBefore   time.Duration `json:"-"`
}

// tasksPerPermit bounds the tasks under way (most of them asleep on rate buckets) per permit:
// Options.Concurrency counts tasks calling at once, and a task waiting for a token lends its
// permit to another.
const tasksPerPermit = 4

// Stats are live counters for progress displays.
type Stats struct {
	Accounts     atomic.Int64
	AccountsDone atomic.Int64
	Regions      atomic.Int64
	Tasks        atomic.Int64
	TasksDone    atomic.Int64
	Failed       atomic.Int64
	Resources    atomic.Int64
	Started      time.Time
	limiter      *awsx.Limiter
}

// Calls is the number of API attempts so far.
func (s *Stats) Calls() int64 {
	if s.limiter == nil {
		return 0
	}
	return s.limiter.Calls.Load()
}

// Throttles is the number of throttled attempts so far.
func (s *Stats) Throttles() int64 {
	if s.limiter == nil {
		return 0
	}
	return s.limiter.Throttles.Load()
}

// Result summarizes a finished scan.
type Result struct {
	ScanID    int64
	Status    string // complete | partial
	Reason    string
	Org       *org.Organization
	Accounts  int
	Tasks     int
	ByOutcome map[string]int
	Warnings  []string
	Calls     int64
	Throttles int64
	Duration  time.Duration
}

// Scanner runs scans.
type Scanner struct {
	DB    *store.DB
	Base  aws.Config // the caller's own credentials
	Log   *slog.Logger
	Stats *Stats
	// AfterCollect runs after collection, before the scan is marked finished (checks,
	// native-finding lifecycle, risk scoring). It gets the scan id and the coverage.
	// Findings of the native services are stored as collectors produce them; after these hooks
	// ran, findings not reported again are settled (store.FinalizeFindings).
	AfterCollect []func(ctx context.Context, db *store.DB, scanID int64) error
}

// Run scans the organization. A cancelled ctx (Ctrl-C) stops cleanly: tasks not yet run are
// recorded as skipped, and the scan is marked partial.
func (s *Scanner) Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Stats == nil {
		s.Stats = &Stats{}
	}
	s.Stats.Started = start
	cols, err := collect.Select(o.Services)
	if err != nil {
		return nil, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.RoleName == "" {
		o.RoleName = awsx.DefaultRoleName
	}

	// Discovery draws from the caller's rate buckets too ("caller" is its bucket key until the
	// account id is known).
	limiter := awsx.NewLimiter(o.RateLimits)
	s.Stats.limiter = limiter
	base := s.Base.Copy()
	limiter.Attach(&base, "caller")
	organization, err := org.Identify(ctx, base)
	if err != nil {
		return nil, err
	}
	res := &Result{Org: organization, ByOutcome: map[string]int{}}
	if organization.Standalone {
		msg := "scanning only the caller's account " + organization.Caller.AccountID + ": " + organization.Reason
		res.Warnings = append(res.Warnings, msg)
		log.Warn(msg)
	}
	scanID, err := s.DB.CreateScan(ctx, organization.Caller.ARN, organization.Caller.AccountID, organization.OrgID, o)
	if err != nil {
		return nil, err
	}
	res.ScanID = scanID
	log.Info("scan started", "scan", scanID, "collectors", len(cols), "caller", organization.Caller.ARN, "organization", organization.OrgID)

	writer := s.DB.NewWriter(scanID)
	findings := s.DB.NewFindingWriter(scanID)
	// Database writes after a Ctrl-C must still happen, so they use a context that is not cancelled.
	dbctx := context.WithoutCancel(ctx)

	// Accounts are discovered one by one (OU path and tags cost Organizations calls); each is
	// prepared (credentials, enabled regions) and its tasks join the queue as soon as it is known,
	// so collection overlaps discovery. The per-account cap is set once the account count is known.
	disp := newDispatcher(o.Concurrency, tasksPerPermit*o.Concurrency, o.Concurrency)
	run := &runState{s: s, o: o, dbctx: dbctx, scanID: scanID, writer: writer, findings: findings, limiter: limiter,
		caller: organization.Caller, log: log, res: res, remaining: map[string]int{}}
	// Longest tasks first (by the calls each made in the previous scan): a long, rate-bound task
	// started last would keep the scan running alone after everything else is done.
	if prev, err := s.DB.PreviousTaskCalls(ctx); err != nil {
		log.Warn("previous scan's task sizes unreadable; tasks keep their default order", "error", err)
	} else {
		run.prevCalls = prev
	}
	var wg sync.WaitGroup
	for i := 0; i < disp.maxStarted; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := disp.take()
				if !ok {
					return
				}
				sl := &slot{d: disp, account: t.account, held: true}
				run.runTask(awsx.WithYielder(ctx, sl), t)
				sl.finish()
			}
		}()
	}
	var prep sync.WaitGroup
	sem := make(chan struct{}, 8)
	selected, first := 0, true
	discoverErr := organization.EachAccount(ctx, base, func(a org.Account) error {
		if first {
			first = false
			run.orgAccounts = organization.AllIDs
			disp.expect(len(organization.AllIDs))
			disp.setPerAccount(max(4, (2*o.Concurrency+len(organization.AllIDs)-1)/max(1, len(organization.AllIDs))))
		}
		if !org.Match(a, o.Accounts, o.ExcludeAccounts, o.OUs) {
			disp.expect(-1)
			return nil
		}
		selected++
		s.Stats.Accounts.Add(1)
		prep.Add(1)
		go func() {
			defer prep.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			disp.add(a.ID, run.prepareAccount(ctx, a, cols))
		}()
		return nil
	})
	prep.Wait()
	disp.close()
	res.Accounts = selected
	if discoverErr != nil {
		res.Warnings = append(res.Warnings, "organization discovery stopped early: "+discoverErr.Error())
		log.Warn("organization discovery stopped early", "error", discoverErr)
	}
	if selected == 0 && discoverErr == nil && ctx.Err() == nil {
		disp.drain()
		wg.Wait()
		writer.Close()
		findings.Close()
		_ = s.DB.FinishScan(dbctx, scanID, store.ScanFailed, "no account matched the filters")
		return nil, errors.New("no account left to scan after --accounts/--exclude-accounts/--ous")
	}
	// On Ctrl-C, stop handing out tasks; those in flight end with a cancelled context.
	stopDrain := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			for _, t := range disp.drain() {
				run.record(t, store.CoverageSkipped, "scan interrupted before this task ran", nil, 0, 0)
			}
		case <-stopDrain:
		}
	}()
	wg.Wait()
	close(stopDrain)
	if err := errors.Join(writer.Close(), findings.Close()); err != nil {
		_ = s.DB.FinishScan(dbctx, scanID, store.ScanFailed, "writing results: "+err.Error())
		return nil, fmt.Errorf("writing results: %w", err)
	}

	res.Status = store.ScanComplete
	switch {
	case ctx.Err() != nil:
		res.Status, res.Reason = store.ScanPartial, "interrupted before all tasks ran"
	case discoverErr != nil:
		res.Status, res.Reason = store.ScanPartial, "organization discovery failed part-way: "+discoverErr.Error()
	case res.ByOutcome[store.CoverageDenied]+res.ByOutcome[store.CoverageError]+res.ByOutcome[store.CoverageThrottled] > 0:
		res.Status = store.ScanPartial
		res.Reason = fmt.Sprintf("%d of %d tasks could not collect (denied %d, throttled %d, error %d)",
			res.ByOutcome[store.CoverageDenied]+res.ByOutcome[store.CoverageError]+res.ByOutcome[store.CoverageThrottled], res.Tasks,
			res.ByOutcome[store.CoverageDenied], res.ByOutcome[store.CoverageThrottled], res.ByOutcome[store.CoverageError])
	}
	if ctx.Err() == nil {
		for _, after := range s.AfterCollect {
			if err := after(dbctx, s.DB, scanID); err != nil {
				_ = s.DB.FinishScan(dbctx, scanID, store.ScanFailed, err.Error())
				return nil, err
			}
		}
		if err := s.DB.FinalizeFindings(dbctx, scanID); err != nil {
			_ = s.DB.FinishScan(dbctx, scanID, store.ScanFailed, err.Error())
			return nil, err
		}
	}
	if err := s.DB.FinishScan(dbctx, scanID, res.Status, res.Reason); err != nil {
		return nil, err
	}
	res.Calls, res.Throttles, res.Duration = limiter.Calls.Load(), limiter.Throttles.Load(), time.Since(start)
	log.Info("scan finished", "scan", scanID, "status", res.Status, "tasks", res.Tasks, "calls", res.Calls,
		"throttles", res.Throttles, "duration", res.Duration.Round(time.Millisecond).String())
	return res, nil
}

type runState struct {
	s           *Scanner
	o           Options
	dbctx       context.Context
	scanID      int64
	writer      *store.Writer
	findings    *store.FindingWriter
	limiter     *awsx.Limiter
	caller      org.Caller
	log         *slog.Logger
	orgAccounts []string
	prevCalls   map[string]int64 // account|region|collector -> calls in the previous scan

	mu        sync.Mutex
	res       *Result
	configs   sync.Map // account|region -> aws.Config
	remaining map[string]int
}

func accountIDs(accts []org.Account) []string {
	out := make([]string, 0, len(accts))
	for _, a := range accts {
		out = append(out, a.ID)
	}
	return out
}

// prepareAccount gets the account's credentials and enabled regions and returns its tasks. An
// account whose role cannot be assumed gets a denied coverage record for every task it would
// have had, and the scan goes on.
func (r *runState) prepareAccount(ctx context.Context, a org.Account, cols []*collect.Collector) []task {
	home := r.s.Base.Region
	cfg := awsx.AssumeConfig(r.s.Base, r.caller.AccountID, a.ID, awsx.RoleOptions{
		RoleName: r.o.RoleName, ExternalID: r.o.ExternalID, Partition: r.caller.Partition,
		Duration: r.o.SessionDuration, RefreshBefore: r.o.RefreshBefore,
	})
	access := "assumed"
	if a.ID == r.caller.AccountID {
		access = "self"
	}
	acct := store.Account{ID: a.ID, Name: a.Name, Email: a.Email, OUPath: a.OUPath, OUIDs: a.OUIDs, Tags: a.Tags, Status: a.Status, Access: access}

	var enabled []string
	err := awsx.CheckCredentials(ctx, cfg)
	if err == nil {
		enabled, err = r.enabledRegions(ctx, cfg, a.ID, home)
	}
	regions, optedOut := r.o.Regions, []string(nil)
	if err == nil {
		if len(regions) == 0 {
			regions = enabled
		} else {
			var keep []string
			for _, reg := range regions {
				if slices.Contains(enabled, reg) {
					keep = append(keep, reg)
				} else {
					optedOut = append(optedOut, reg)
				}
			}
			regions = keep
		}
	} else if len(regions) == 0 {
		regions = []string{home}
	}
	acct.Regions = regions

	var tasks []task
	byRegion := map[string][]task{}
	for _, c := range cols {
		if c.ManagementOnly && a.ID != r.caller.AccountID {
			continue
		}
		if c.Global {
			tasks = append(tasks, task{account: a.ID, region: home, covRegion: "global", col: c})
			continue
		}
		for _, reg := range regions {
			byRegion[reg] = append(byRegion[reg], task{account: a.ID, region: reg, covRegion: reg, col: c})
		}
		for _, reg := range optedOut {
			r.record(task{account: a.ID, region: reg, covRegion: reg, col: c}, store.CoverageSkipped, "region not enabled in this account (opt-in region)", nil, 0, 0)
		}
	}
	longestFirst(tasks, r.prevCalls)
	for _, reg := range regions {
		longestFirst(byRegion[reg], r.prevCalls)
	}
	tasks = append(tasks, interleave(byRegion, regions)...)

	if err != nil {
		outcome, reason := awsx.Classify(err)
		if outcome == awsx.OutcomeOK || outcome == awsx.OutcomeSkipped {
			outcome = awsx.OutcomeError
		}
		acct.Access, acct.AccessReason = outcome, "cannot use role "+awsx.RoleOptions{RoleName: r.o.RoleName, Partition: r.caller.Partition}.RoleARN(a.ID)+": "+reason
		if a.ID == r.caller.AccountID {
			acct.AccessReason = "caller's own credentials: " + reason
		}
		msg := fmt.Sprintf("account %s (%s): %s; its %d tasks are recorded as %s", a.ID, a.Name, acct.AccessReason, len(tasks), outcome)
		r.log.Warn(msg)
		r.mu.Lock()
		r.res.Warnings = append(r.res.Warnings, msg)
		r.mu.Unlock()
		for _, t := range tasks {
			r.record(t, outcome, acct.AccessReason, nil, 0, 0)
		}
		tasks = nil
	} else {
		for _, reg := range append(regions, home) {
			c := cfg.Copy()
			c.Region = reg
			r.limiter.Attach(&c, a.ID)
			r.configs.Store(a.ID+"|"+reg, c)
		}
	}
	if dberr := r.s.DB.PutAccount(r.dbctx, r.scanID, acct); dberr != nil {
		r.log.Error("recording account", "account", a.ID, "error", dberr)
	}
	r.s.Stats.Regions.Add(int64(len(regions)))
	r.s.Stats.Tasks.Add(int64(len(tasks)))
	r.mu.Lock()
	r.remaining[a.ID] = len(tasks)
	r.mu.Unlock()
	if len(tasks) == 0 {
		r.s.Stats.AccountsDone.Add(1)
	}
	return tasks
}

// enabledRegions lists the regions enabled in the account (opt-in regions only when opted in).
func (r *runState) enabledRegions(ctx context.Context, cfg aws.Config, account, home string) ([]string, error) {
	c := cfg.Copy()
	c.Region = home
	r.limiter.Attach(&c, account)
	out, err := ec2.NewFromConfig(c).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("list enabled regions: %w", err)
	}
	var regions []string
	for _, reg := range out.Regions {
		status := aws.ToString(reg.OptInStatus)
		if status == "" || status == "opt-in-not-required" || status == "opted-in" {
			regions = append(regions, aws.ToString(reg.RegionName))
		}
	}
	sort.Strings(regions)
	return regions, nil
}

// runTask runs one collector task and records its coverage.
func (r *runState) runTask(ctx context.Context, t task) {
	v, _ := r.configs.Load(t.account + "|" + t.region)
	cfg, _ := v.(aws.Config)
	stats := &awsx.TaskStats{}
	tctx := awsx.WithTaskStats(ctx, stats)
	sink := &countingSink{w: r.writer, scanID: r.scanID, account: t.account, region: t.covRegion, collector: t.col.Name, findings: r.findings}
	began := time.Now()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("collector %s crashed: %v", t.col.Name, p)
			}
		}()
		return t.col.Run(tctx, &collect.Target{AccountID: t.account, Region: t.region, Partition: r.caller.Partition, Config: cfg, OrgAccounts: r.orgAccounts}, sink)
	}()
	outcome, reason := awsx.Classify(err)
	if ctx.Err() != nil && err != nil {
		outcome, reason = store.CoverageSkipped, "scan interrupted while this task ran"
	}
	r.record(t, outcome, reason, stats, sink.items.Load(), time.Since(began))
	if outcome != awsx.OutcomeOK && outcome != awsx.OutcomeSkipped {
		r.s.Stats.Failed.Add(1)
		r.log.Warn("collection failed", "account", t.account, "region", t.covRegion, "collector", t.col.Name, "outcome", outcome, "reason", reason)
	}
	r.s.Stats.TasksDone.Add(1)
	r.mu.Lock()
	r.remaining[t.account]--
	last := r.remaining[t.account] == 0
	r.mu.Unlock()
	if last {
		r.s.Stats.AccountsDone.Add(1)
	}
}

func (r *runState) record(t task, outcome, reason string, stats *awsx.TaskStats, items int64, d time.Duration) {
	c := store.Coverage{AccountID: t.account, Region: t.covRegion, Collector: t.col.Name, Service: t.col.Service,
		Status: outcome, Reason: reason, Items: items, DurationMS: d.Milliseconds()}
	if stats != nil {
		c.Calls, c.Throttles = stats.Calls.Load(), stats.Throttles.Load()
	}
	if err := r.s.DB.PutCoverage(r.dbctx, r.scanID, c); err != nil {
		r.log.Error("recording coverage", "error", err)
	}
	r.mu.Lock()
	r.res.Tasks++
	r.res.ByOutcome[outcome]++
	r.mu.Unlock()
}

// countingSink counts what a task produced and tags native findings with the task that made them,
// so that a finding is only resolved when that same task succeeds in a later scan.
type countingSink struct {
	w         *store.Writer
	scanID    int64
	account   string
	region    string
	collector string
	findings  *store.FindingWriter
	items     atomic.Int64
}

func (c *countingSink) PutResource(r *inventory.Resource) error {
	c.items.Add(1)
	return c.w.PutResource(r)
}

func (c *countingSink) PutRelationship(rel inventory.Relationship) error {
	return c.w.PutRelationship(rel)
}

func (c *countingSink) PutFinding(f *finding.Finding) error {
	c.items.Add(1)
	if f.Collector == "" {
		f.Collector = c.collector + "|" + c.account + "|" + c.region
	}
	return c.findings.Put(f)
}
