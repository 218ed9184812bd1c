package scan

import (
	"strings"
	"testing"

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
	d := newDispatcher(2, 4)
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
		d.done("fast")
	}
	// Nobody else waits: the idle worker may now help the slow account (work-conserving).
	got, ok := d.take()
	if !ok || got.account != "slow" {
		t.Fatalf("got %q, want slow once no other account has work", got.account)
	}
}

// The hard cap still binds when one account is alone.
func TestDispatcherHardCap(t *testing.T) {
	d := newDispatcher(4, 2)
	d.add("a", tasksFor("a", 4))
	for i := 0; i < 2; i++ {
		if _, ok := d.pick(); !ok {
			t.Fatalf("pick %d failed under the cap", i)
		}
	}
	if got, ok := d.pick(); ok {
		t.Fatalf("picked a third task of %s above the cap of 2", got.account)
	}
	d.done("a")
	if _, ok := d.pick(); !ok {
		t.Fatal("no task after a slot was freed")
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
