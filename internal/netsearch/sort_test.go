package netsearch

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// mergeRuns gives what a stable sort gives, whatever the runs: sorted ones, one, none, ties
// across runs.
func TestMergeRunsIsAStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n += 1 + n/10 {
		for trial := 0; trial < 20; trial++ {
			keys := make([]int, n)
			idx := make([]int32, n)
			for i := range keys {
				keys[i] = rng.IntN(1 + n/3) // many ties
				idx[i] = int32(i)
			}
			// Sort random stretches, as stored groups are.
			for lo := 0; lo < n; {
				hi := min(n, lo+1+rng.IntN(30))
				slices.SortStableFunc(idx[lo:hi], func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
				lo = hi
			}
			byKey := func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) }
			want := slices.Clone(idx)
			slices.SortStableFunc(want, byKey)
			got := mergeRuns(slices.Clone(idx), byKey)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d: got %v, want %v", n, got, want)
			}
		}
	}
}
