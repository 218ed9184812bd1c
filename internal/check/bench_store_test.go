package check

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/procstat"
	"github.com/yagura-dev/yagura/internal/store"
)

// benchStoreVersion names the synthetic inventory's shape; a cached database of another
// version (or size) is rebuilt.
const benchStoreVersion = "bench-store-v1"

// benchStore returns a SQLite store holding one finished scan of n synthetic resources (the
// generator of BenchmarkEvaluate1M) and its coverage, written through the store's batched
// writer the way collectors write. Building 1M rows takes a while, so the file is kept in the
// temporary directory (YAGURA_BENCH_DB overrides the path) and reused by later runs.
func benchStore(b *testing.B, n int) (*store.DB, int64) {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("YAGURA_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), "yagura-"+benchStoreVersion+"-"+strconv.Itoa(n)+".db")
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	var id int64
	var have int
	if err := db.SQL.QueryRowContext(ctx, `SELECT s.id, (SELECT count(*) FROM resources r WHERE r.scan_id = s.id) FROM scans s
		WHERE s.caller_arn = ? ORDER BY s.id DESC LIMIT 1`, benchStoreVersion).Scan(&id, &have); err == nil && have == n+1 {
		return db, id
	}
	db.Close()
	_ = os.Remove(path)
	if db, err = store.Open(ctx, path); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if id, err = db.CreateScan(ctx, benchStoreVersion, acct, "", nil); err != nil {
		b.Fatal(err)
	}
	for _, c := range okCoverage() {
		if err := db.PutCoverage(ctx, id, c); err != nil {
			b.Fatal(err)
		}
	}
	w := db.NewWriter(id)
	gen, per := syntheticGen(n)
	put := func(r *inventory.Resource) error { return w.PutResource(r) }
	if err := put(credRes(rootRow())); err != nil {
		b.Fatal(err)
	}
	for typ := range per {
		if err := gen(typ, put); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := db.FinishScan(ctx, id, store.ScanComplete, ""); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s: %d resources in %s", path, n+1, time.Since(start).Round(time.Second))
	return db, id
}

// BenchmarkEvaluateStore1M evaluates the whole catalog over one million resources read from a
// SQLite store, as a scan does after collection (StoreSource), and reports evaluations per
// second, wall time, CPU time and peak RSS of the evaluation. Findings go to a counting sink:
// storing them is the store's cost, measured by the store's own benchmarks.
func BenchmarkEvaluateStore1M(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	db, scanID := benchStore(b, n)
	defer db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		procstat.ResetPeakRSS()
		cpu0 := procstat.CPU()
		start := time.Now()
		sink := &countSink{}
		st, err := Evaluate(context.Background(), StoreSource{DB: db, ScanID: scanID}, sink, Options{Now: testNow, Collectors: fakeCollectors()})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		cpu := procstat.CPU() - cpu0
		if st.Resources < int64(n) {
			b.Fatalf("evaluated %d resources, want %d", st.Resources, n)
		}
		b.ReportMetric(float64(st.Evaluations)/el.Seconds(), "evals/s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(procstat.PeakRSSMiB(), "peak-RSS-MiB")
		b.Logf("%d resources from SQLite, %d evaluations (%d pass, %d fail, %d error) in %s wall, %s CPU, peak RSS %.0f MiB: %.0f evaluations/s",
			st.Resources, st.Evaluations, st.Pass, st.Fail, st.Error, el.Round(time.Millisecond), cpu.Round(time.Millisecond), procstat.PeakRSSMiB(), float64(st.Evaluations)/el.Seconds())
	}
}
