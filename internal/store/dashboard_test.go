package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

// TestDashboardAggregates checks the scan score, the control and check counts (a FAIL resolved
// because its resource is gone no longer counts) and the scan pair rules of the diff.
func TestDashboardAggregates(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(scan int64, fs ...*finding.Finding) {
		t.Helper()
		w := db.NewFindingWriter(scan)
		for _, f := range fs {
			if err := w.Put(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f := func(id, check string, st finding.Status, sev finding.Severity, acct string, controls ...string) *finding.Finding {
		return &finding.Finding{ID: id, CheckID: check, Source: "yagura", Status: st, Severity: sev, AccountID: acct, Controls: controls,
			Collector: "c|" + acct + "|r"}
	}
	s1, _ := db.CreateScan(ctx, "arn", "1", "", nil)
	if err := db.PutCoverage(ctx, s1, Coverage{AccountID: "A", Region: "r", Collector: "c", Status: CoverageOK}); err != nil {
		t.Fatal(err)
	}
	put(s1, f("gone", "k1", finding.Fail, finding.Critical, "A", "fw:1"))
	if err := db.FinishScan(ctx, s1, ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ScanPair(ctx, 0, 0); !errors.As(err, new(*NoEarlierScanError)) {
		t.Errorf("ScanPair with one scan: %v", err)
	}
	s2, _ := db.CreateScan(ctx, "arn", "1", "", nil)
	if err := db.PutCoverage(ctx, s2, Coverage{AccountID: "A", Region: "r", Collector: "c", Status: CoverageOK}); err != nil {
		t.Fatal(err)
	}
	put(s2,
		f("p1", "k1", finding.Pass, finding.High, "A", "fw:1", "other:9"),
		f("f1", "k1", finding.Fail, finding.Low, "B", "fw:1"),
		f("e1", "k2", finding.Error, finding.High, "B", "fw:2"),
		f("i1", "k2", finding.Fail, finding.Informational, "B", "fw:2"),
	)
	if err := db.FinalizeFindings(ctx, s2); err != nil { // "gone" is resolved: its task succeeded
		t.Fatal(err)
	}
	if err := db.FinishScan(ctx, s2, ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	// Scan 2: PASS high (5) against FAIL low (1); informational and ERROR do not count.
	sc, err := db.ScoreOf(ctx, s2)
	if err != nil || !sc.Scored || sc.Pass != 1 || sc.Fail != 2 || sc.Score != 83.3 {
		t.Errorf("ScoreOf(2) = %+v %v", sc, err)
	}
	if sc, _ := db.ScoreOf(ctx, 99); sc.Scored {
		t.Errorf("ScoreOf(no results) scored: %+v", sc)
	}
	cc, err := db.ControlCounts(ctx, "fw")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StatusCounts{}
	for _, c := range cc {
		got[c.Control+"|"+c.AccountID] = c.StatusCounts
	}
	want := map[string]StatusCounts{"fw:1|A": {Pass: 1}, "fw:1|B": {Fail: 1}, "fw:2|B": {Fail: 1, Error: 1}}
	if len(got) != len(want) {
		t.Errorf("ControlCounts = %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("ControlCounts[%s] = %+v, want %+v", k, got[k], w)
		}
	}
	checks, err := db.CheckCounts(ctx)
	if err != nil || checks["k1"] != (StatusCounts{Pass: 1, Fail: 1}) || checks["k2"] != (StatusCounts{Fail: 1, Error: 1}) {
		t.Errorf("CheckCounts = %v %v", checks, err)
	}
	if _, _, err := db.ScanPair(ctx, s2, s1); !errors.As(err, new(*ScanOrderError)) {
		t.Errorf("ScanPair(2, 1): %v", err)
	}
	var pe *ScanPairError
	if _, _, err := db.ScanPair(ctx, 0, 42); !errors.As(err, &pe) || pe.Which != "to" {
		t.Errorf("ScanPair(0, 42): %v", err)
	}
	from, to, err := db.ScanPair(ctx, 0, 0)
	if err != nil || from != s1 || to != s2 {
		t.Fatalf("ScanPair(0, 0) = %d, %d, %v", from, to, err)
	}
	changes, err := db.FindingChanges(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, c := range changes {
		kinds[c.ID] = c.Change
	}
	if kinds["gone"] != ChangeResolved || kinds["f1"] != ChangeNew || kinds["i1"] != ChangeNew || len(kinds) != 3 {
		t.Errorf("FindingChanges = %v", kinds)
	}
	q, err := db.RiskQueue(ctx, []string{"B"}, 1, 1)
	if err != nil || len(q) != 1 || q[0].Rank != 2 {
		t.Errorf("RiskQueue page 2 of B: %+v %v", q, err)
	}
}
