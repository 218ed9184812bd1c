package scan

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/collect"
)

func tasksFor(account string, n int) []task {
	out := make([]task, n)
	for i := range out {
		out[i] = task{account: account, region: "us-east-1"}
	}
	return out
}

// An account holding its fair share of workers gets no more while others have tasks waiting,
// even when the hard cap would allow it.
func TestDispatcherKeepsSlowAccountToItsShare(t *testing.T) {
	d := newDispatcher(2, 2, 4)
	d.add("slow", tasksFor("slow", 5))
	d.add("fast", tasksFor("fast", 3))
	first, _ := d.take()
	if first.account != "slow" {
		t.Fatalf("first task from %s, want slow (queue order)", first.account)
	}
	// "slow" is now stuck on its task; every further task must go to "fast" until it runs out.
	for i := 0; i < 3; i++ {
		got, ok := d.take()
		if !ok || got.account != "fast" {
			t.Fatalf("take %d: got %q, want fast while slow holds its share", i, got.account)
		}
		d.done("fast", true)
	}
	// Nobody else waits: the idle worker may now help the slow account (work-conserving).
	got, ok := d.take()
	if !ok || got.account != "slow" {
		t.Fatalf("got %q, want slow once no other account has work", got.account)
	}
}

// An account prepared before the others cannot take every permit while they are still being
// prepared: had it hung, they would find none left when they arrived.
func TestDispatcherKeepsSharesForExpectedAccounts(t *testing.T) {
	d := newDispatcher(2, 8, 4)
	d.expect(2)
	d.add("early", tasksFor("early", 3))
	if got, ok := d.take(); !ok || got.account != "early" {
		t.Fatalf("first take: %v %v", got, ok)
	}
	d.mu.Lock()
	_, picked := d.pick()
	d.mu.Unlock()
	if picked {
		t.Fatal("the early account took the second permit while another account was expected")
	}
	d.add("late", tasksFor("late", 1))
	if got, ok := d.take(); !ok || got.account != "late" {
		t.Fatalf("the late account did not get the kept permit: %v %v", got, ok)
	}
	d.done("late", true)
	// Nobody else is expected: the early account may use both permits again.
	if got, ok := d.take(); !ok || got.account != "early" {
		t.Fatalf("take after the late account finished: %v %v", got, ok)
	}
}

// The hard cap still binds when one account is alone.
func TestDispatcherHardCap(t *testing.T) {
	d := newDispatcher(4, 4, 2)
	d.add("a", tasksFor("a", 4))
	for i := 0; i < 2; i++ {
		if _, ok := d.pick(); !ok {
			t.Fatalf("pick %d failed under the cap", i)
		}
	}
	if got, ok := d.pick(); ok {
		t.Fatalf("picked a third task of %s above the cap of 2", got.account)
	}
	d.done("a", true)
	if _, ok := d.pick(); !ok {
		t.Fatal("no task after a slot was freed")
	}
}

// A task asleep on a rate bucket lends its permit: another task starts meanwhile, and the
// sleeper gets a permit back before any new task starts.
func TestDispatcherLendsPermitOfSleepingTask(t *testing.T) {
	d := newDispatcher(1, 4, 4)
	d.add("a", tasksFor("a", 3))
	first, _ := d.take()
	sl := &slot{d: d, account: first.account, held: true}
	sl.Yield()
	second, ok := d.take()
	if !ok {
		t.Fatal("no task started while the only permit was lent")
	}
	resumed := make(chan struct{})
	go func() {
		sl.Resume(context.Background())
		close(resumed)
	}()
	select {
	case <-resumed:
		t.Fatal("the sleeper resumed while the permit was in use")
	case <-time.After(50 * time.Millisecond):
	}
	d.done(second.account, true)
	<-resumed // the freed permit goes to the sleeper ...
	d.mu.Lock()
	_, picked := d.pick() // ... and not to the third task
	d.mu.Unlock()
	if picked {
		t.Fatal("a new task started although the permit went back to the woken task")
	}
	sl.finish()
	if _, ok := d.take(); !ok {
		t.Fatal("third task did not start once the permit was free")
	}
}

// A hung account (its calls never return) cannot take the permits of an account whose tasks are
// asleep on rate buckets: those will want them back.
func TestDispatcherKeepsPermitsForSleepingAccount(t *testing.T) {
	d := newDispatcher(2, 4, 4)
	d.add("sleepy", tasksFor("sleepy", 10))
	d.add("hung", tasksFor("hung", 10))
	var sleepers []*slot
	for i := 0; i < 3; i++ {
		got, ok := d.take()
		if !ok {
			t.Fatalf("take %d failed", i)
		}
		if got.account == "sleepy" {
			sl := &slot{d: d, account: "sleepy", held: true}
			sl.Yield()
			sleepers = append(sleepers, sl)
		}
	}
	d.mu.Lock()
	if d.running["hung"] != 1 {
		t.Fatalf("hung account holds %d permits after three takes, want 1", d.running["hung"])
	}
	got, picked := d.pick()
	d.mu.Unlock()
	if picked {
		t.Fatalf("started a task of %s; the second permit must stay for the sleeping account", got.account)
	}
	done := make(chan struct{})
	go func() {
		for _, sl := range sleepers {
			sl.Resume(context.Background())
			sl.finish()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sleeping account's tasks could not get a permit back while the other account hung")
	}
}

// The previous scan's biggest tasks go first; unknown ones keep their order after them.
func TestLongestFirst(t *testing.T) {
	col := func(name string) *collect.Collector { return &collect.Collector{Name: name} }
	tasks := []task{
		{account: "a", covRegion: "r", col: col("small")},
		{account: "a", covRegion: "r", col: col("new1")},
		{account: "a", covRegion: "r", col: col("big")},
		{account: "a", covRegion: "r", col: col("new2")},
		{account: "a", covRegion: "r", col: col("mid")},
	}
	longestFirst(tasks, map[string]int64{"a|r|small": 2, "a|r|big": 40, "a|r|mid": 9})
	var got []string
	for _, t := range tasks {
		got = append(got, t.col.Name)
	}
	if want := "big mid small new1 new2"; strings.Join(got, " ") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

// Many workers taking, sleeping, waking and finishing tasks at random: every task runs exactly
// once, the permits and the tasks under way stay within their bounds, and nothing deadlocks.
func TestDispatcherUnderRandomSleeps(t *testing.T) {
	const permits, maxStarted, accounts, perAccount = 3, 12, 5, 40
	d := newDispatcher(permits, maxStarted, 8)
	for a := 0; a < accounts; a++ {
		name := string(rune('a' + a))
		d.add(name, tasksFor(name, perAccount))
	}
	d.close()
	var mu sync.Mutex
	ran := 0
	check := func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.runningAll > permits || d.startedAll > maxStarted || d.runningAll < 0 {
			t.Errorf("bounds broken: %d permits held of %d, %d tasks under way of %d", d.runningAll, permits, d.startedAll, maxStarted)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < maxStarted; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for {
				tk, ok := d.take()
				if !ok {
					return
				}
				sl := &slot{d: d, account: tk.account, held: true}
				for i := rng.IntN(4); i > 0; i-- {
					check()
					sl.Yield()
					time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
					sl.Resume(context.Background())
				}
				check()
				sl.finish()
				mu.Lock()
				ran++
				mu.Unlock()
			}
		}(uint64(w))
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("workers deadlocked")
	}
	if ran != accounts*perAccount {
		t.Fatalf("%d tasks ran, want %d", ran, accounts*perAccount)
	}
	if d.runningAll != 0 || d.startedAll != 0 {
		t.Fatalf("counters did not return to zero: %d permits, %d under way", d.runningAll, d.startedAll)
	}
}
