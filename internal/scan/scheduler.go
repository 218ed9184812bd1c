package scan

import (
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

// dispatcher hands tasks to workers fairly: round-robin across accounts, and an account already
// holding its fair share of the workers (workers ÷ accounts with work) gets another only when no
// account below its share has tasks waiting. So one slow or heavily throttled account cannot
// occupy every worker and starve the rest, yet idle workers still help the last accounts to
// finish. perAccount is a hard cap on top of that. Within an account, tasks are ordered to
// alternate regions so that every region's rate buckets are drawn from at once.
type dispatcher struct {
	mu         sync.Mutex
	cond       *sync.Cond
	queues     map[string][]task
	order      []string
	inflight   map[string]int
	workers    int
	perAccount int
	next       int
	pending    int
	closed     bool
}

func newDispatcher(workers, perAccount int) *dispatcher {
	d := &dispatcher{queues: map[string][]task{}, inflight: map[string]int{}, workers: workers, perAccount: perAccount}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// setPerAccount changes the cap on one account's tasks in flight.
func (d *dispatcher) setPerAccount(n int) {
	d.mu.Lock()
	d.perAccount = n
	d.cond.Broadcast()
	d.mu.Unlock()
}

// add enqueues an account's tasks (accounts may be added while workers run).
func (d *dispatcher) add(account string, tasks []task) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.queues[account]; !ok {
		d.order = append(d.order, account)
	}
	d.queues[account] = append(d.queues[account], tasks...)
	d.pending += len(tasks)
	d.cond.Broadcast()
}

// close says no more accounts will be added; workers end once the queues drain.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.cond.Broadcast()
	d.mu.Unlock()
}

// take blocks until a task is available or everything is done (ok false).
func (d *dispatcher) take() (task, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if t, ok := d.pick(); ok {
			return t, true
		}
		if d.closed && d.pending == 0 {
			return task{}, false
		}
		d.cond.Wait()
	}
}

func (d *dispatcher) pick() (task, bool) {
	n := len(d.order)
	active := 0
	for _, acct := range d.order {
		if len(d.queues[acct]) > 0 || d.inflight[acct] > 0 {
			active++
		}
	}
	fair := (d.workers + active - 1) / max(1, active)
	// First pass: accounts below their fair share; second: anyone under the hard cap.
	for _, limit := range []int{min(fair, d.perAccount), d.perAccount} {
		for i := 0; i < n; i++ {
			acct := d.order[(d.next+i)%n]
			q := d.queues[acct]
			if len(q) == 0 || d.inflight[acct] >= limit {
				continue
			}
			t := q[0]
			d.queues[acct] = q[1:]
			d.inflight[acct]++
			d.pending--
			d.next = (d.next + i + 1) % n
			return t, true
		}
	}
	return task{}, false
}

// done releases the account's slot.
func (d *dispatcher) done(account string) {
	d.mu.Lock()
	d.inflight[account]--
	d.cond.Broadcast()
	d.mu.Unlock()
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
	d.cond.Broadcast()
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
