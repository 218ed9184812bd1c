package scan

import (
	"context"
	"slices"
	"sync"

	"github.com/yagura-dev/yagura/internal/collect"
)

// task is one account × region × collector unit of work.
type task struct {
	account   string
	region    string // region called; the home region for global collectors
	covRegion string // region in coverage: "global" for global collectors
	col       *collect.Collector
}

// dispatcher hands tasks to workers fairly. A task under way holds a permit while it works; a
// task asleep on a rate bucket (or in a throttling backoff) gives its permit back through its
// slot, so tasks waiting for tokens do not keep the others from calling: permits bound the calls
// in flight, maxStarted the tasks under way, asleep or not.
//
// Both are shared fairly: round-robin across accounts, and an account already holding its fair
// share (of the permits, or of the tasks under way) gets another only when no account below its
// share wants one. So one slow, hung or heavily throttled account cannot occupy everything and
// starve the rest, yet idle capacity still helps the last accounts to finish. A task woken from a
// rate wait gets a permit before a new task starts. perAccount is a hard cap on one account's
// permits. Within an account, tasks are ordered to alternate regions so that every region's rate
// buckets are drawn from at once.
type dispatcher struct {
	mu sync.Mutex
	// takers are idle workers: all alike, so a change wakes one, and one that starts a task
	// wakes the next (a broadcast would wake every idle worker on every call). returners are
	// tasks woken from a rate wait, each for its own account, so they are all woken.
	takers    *sync.Cond
	returners *sync.Cond
	queues    map[string][]task
	order     []string
	next      int
	pending   int
	closed    bool

	permits    int
	maxStarted int
	perAccount int
	running    map[string]int // permits held
	started    map[string]int // tasks under way
	returning  map[string]int // tasks woken from a rate wait, waiting for a permit
	runningAll int
	startedAll int
	// expected counts accounts discovered (or still to be) whose tasks have not been added yet:
	// their shares are kept for them, so that an account prepared early, and hung, cannot take
	// every permit before the others arrive.
	expected int
}

func newDispatcher(permits, maxStarted, perAccount int) *dispatcher {
	d := &dispatcher{queues: map[string][]task{}, running: map[string]int{}, started: map[string]int{}, returning: map[string]int{},
		permits: permits, maxStarted: max(permits, maxStarted), perAccount: perAccount}
	d.takers, d.returners = sync.NewCond(&d.mu), sync.NewCond(&d.mu)
	return d
}

// changed wakes whoever may now proceed; the caller holds mu.
func (d *dispatcher) changed() {
	d.takers.Signal()
	d.returners.Broadcast()
}

// setPerAccount changes the cap on one account's permits.
func (d *dispatcher) setPerAccount(n int) {
	d.mu.Lock()
	d.perAccount = n
	d.changed()
	d.mu.Unlock()
}

// expect says n more accounts will be added (n < 0: fewer than said, e.g. filtered out).
func (d *dispatcher) expect(n int) {
	d.mu.Lock()
	d.expected = max(0, d.expected+n)
	d.changed()
	d.mu.Unlock()
}

// add enqueues an account's tasks (accounts may be added while workers run); an expected
// account is no longer expected.
func (d *dispatcher) add(account string, tasks []task) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expected = max(0, d.expected-1)
	if _, ok := d.queues[account]; !ok {
		d.order = append(d.order, account)
	}
	d.queues[account] = append(d.queues[account], tasks...)
	d.pending += len(tasks)
	d.changed()
}

// close says no more accounts will be added; workers end once the queues drain.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.expected = 0
	d.changed()
	d.mu.Unlock()
}

// take blocks until a task may start or everything is done (ok false). The task holds a permit.
func (d *dispatcher) take() (task, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if t, ok := d.pick(); ok {
			d.takers.Signal() // there may be room for another
			return t, true
		}
		if d.closed && d.pending == 0 {
			d.takers.Signal() // pass the news on
			return task{}, false
		}
		d.takers.Wait()
	}
}

// shares is the fair-share state every decision is taken against.
type shares struct {
	fair, startShare int // permits and tasks under way per active account
	queuedBelowStart int // accounts with queued tasks and fewer than startShare under way
	wantingBelowFair int // accounts below fair that want a permit, or soon will (tasks asleep)
}

func (d *dispatcher) shares() shares {
	active := 0
	for _, a := range d.order {
		if len(d.queues[a]) > 0 || d.started[a] > 0 {
			active++
		}
	}
	// Accounts still being prepared count as active, with tasks queued below their start share
	// and wanting a permit.
	active = max(1, active+d.expected)
	s := shares{fair: (d.permits + active - 1) / active, startShare: (d.maxStarted + active - 1) / active,
		queuedBelowStart: d.expected, wantingBelowFair: d.expected}
	for _, a := range d.order {
		if len(d.queues[a]) > 0 && d.started[a] < s.startShare {
			s.queuedBelowStart++
		}
	}
	for _, a := range d.order {
		if d.running[a] < s.fair && d.wantsPermit(a, s) {
			s.wantingBelowFair++
		}
	}
	return s
}

// mayStart: the account may begin another task (below its share of the tasks under way, or no
// account below its share has tasks queued).
func (d *dispatcher) mayStart(acct string, s shares) bool {
	return len(d.queues[acct]) > 0 && d.startedAll < d.maxStarted && (d.started[acct] < s.startShare || s.queuedBelowStart == 0)
}

// wantsPermit: the account has a task waiting for a permit, asleep (it will want one back; a
// permit lent to a hung account meanwhile might never return), or ready to start.
func (d *dispatcher) wantsPermit(acct string, s shares) bool {
	return d.started[acct] > d.running[acct] || d.mayStart(acct, s)
}

// permitAllowed: the account may hold one more permit (below its fair share, or no account below
// its share wants one).
func (d *dispatcher) permitAllowed(acct string, s shares) bool {
	return d.runningAll < d.permits && d.running[acct] < d.perAccount && (d.running[acct] < s.fair || s.wantingBelowFair == 0)
}

func (d *dispatcher) pick() (task, bool) {
	s := d.shares()
	for _, a := range d.order {
		if d.returning[a] > 0 && d.permitAllowed(a, s) {
			return task{}, false // the permit is a woken task's
		}
	}
	n := len(d.order)
	// First pass: accounts below their fair share of permits; second: any the shares allow.
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < n; i++ {
			acct := d.order[(d.next+i)%n]
			if !d.mayStart(acct, s) || (pass == 0 && d.running[acct] >= s.fair) || !d.permitAllowed(acct, s) {
				continue
			}
			t := d.queues[acct][0]
			d.queues[acct] = d.queues[acct][1:]
			d.pending--
			d.started[acct]++
			d.startedAll++
			d.running[acct]++
			d.runningAll++
			d.next = (d.next + i + 1) % n
			return t, true
		}
	}
	return task{}, false
}

// yield gives back the permit of a task about to sleep on a rate bucket.
func (d *dispatcher) yield(account string) {
	d.mu.Lock()
	d.running[account]--
	d.runningAll--
	d.changed()
	d.mu.Unlock()
}

// resume returns a permit to a task woken from a rate wait, ahead of new tasks. With force (the
// scan is being cancelled) it does not wait for one.
func (d *dispatcher) resume(account string, force bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.returning[account]++
	for !force && !d.permitAllowed(account, d.shares()) {
		d.returners.Wait()
	}
	d.returning[account]--
	d.running[account]++
	d.runningAll++
	d.changed()
}

// done ends a task; held says whether it still held its permit.
func (d *dispatcher) done(account string, held bool) {
	d.mu.Lock()
	if held {
		d.running[account]--
		d.runningAll--
	}
	d.started[account]--
	d.startedAll--
	d.changed()
	d.mu.Unlock()
}

// slot is a running task's hold on its permit, handed to the rate limiter (awsx.Yielder) so the
// task lends its permit while it sleeps. Yield and Resume are idempotent, so nested or repeated
// calls cannot unbalance the dispatcher.
type slot struct {
	d       *dispatcher
	account string
	mu      sync.Mutex
	held    bool
}

func (s *slot) Yield() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		s.d.yield(s.account)
	}
}

func (s *slot) Resume(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		s.d.resume(s.account, ctx.Err() != nil)
		s.held = true
	}
}

// finish ends the slot's task.
func (s *slot) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.done(s.account, s.held)
	s.held = false
}

// drain removes every queued task (after cancellation) and returns them.
func (d *dispatcher) drain() []task {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []task
	for _, acct := range d.order {
		out = append(out, d.queues[acct]...)
		d.queues[acct] = nil
	}
	d.pending = 0
	d.closed = true
	d.changed()
	return out
}

// interleave orders tasks so consecutive tasks hit different regions: collector-major lists
// become region-alternating, which keeps every region's token buckets busy.
func interleave(byRegion map[string][]task, regions []string) []task {
	var out []task
	for i := 0; ; i++ {
		added := false
		for _, r := range regions {
			if i < len(byRegion[r]) {
				out = append(out, byRegion[r][i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// longestFirst orders tasks by the calls they made in the previous scan, most first; tasks
// without a record (a first scan, a new account) keep their order after those with one.
func longestFirst(tasks []task, prevCalls map[string]int64) {
	if len(prevCalls) == 0 {
		return
	}
	slices.SortStableFunc(tasks, func(a, b task) int {
		ca, cb := prevCalls[a.account+"|"+a.covRegion+"|"+a.col.Name], prevCalls[b.account+"|"+b.covRegion+"|"+b.col.Name]
		switch {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
}
