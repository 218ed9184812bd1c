package store

import (
	"context"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

// The task sizes come from the latest finished scan, successful tasks only; a scan still running
// (the current one) does not count.
func TestPreviousTaskCalls(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	old := newScan(t, db, Coverage{AccountID: "1", Region: "r", Collector: "c", Service: "s", Status: CoverageOK, Calls: 99})
	if err := db.FinishScan(ctx, old, ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	last := newScan(t, db,
		Coverage{AccountID: "1", Region: "r", Collector: "c", Service: "s", Status: CoverageOK, Calls: 7},
		Coverage{AccountID: "1", Region: "r", Collector: "d", Service: "s", Status: CoverageError, Calls: 50})
	if err := db.FinishScan(ctx, last, ScanPartial, "cancelled"); err != nil {
		t.Fatal(err)
	}
	newScan(t, db, Coverage{AccountID: "1", Region: "r", Collector: "c", Service: "s", Status: CoverageOK, Calls: 1000})
	got, err := db.PreviousTaskCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["1|r|c"] != 7 {
		t.Fatalf("previous task calls %v, want only 1|r|c = 7", got)
	}
}

func TestAccountOUIDsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	id := newScan(t, db)
	if err := db.PutAccount(ctx, id, Account{ID: "111111111111", OUPath: "Root/Prod", OUIDs: []string{"r-ab12", "ou-ab12-xyz"}}); err != nil {
		t.Fatal(err)
	}
	accts, err := db.Accounts(ctx, id)
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts: %v %v", accts, err)
	}
	if got := accts[0].OUIDs; len(got) != 2 || got[1] != "ou-ab12-xyz" {
		t.Fatalf("OU ids %v", got)
	}
}

func TestFindingFilterAddSeverity(t *testing.T) {
	var f FindingFilter
	for _, spec := range []string{"high", "low", "medium+", "critical "} {
		if err := f.AddSeverity(spec); err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
	}
	if len(f.Severities) != 2 || f.Severities[0] != finding.High || f.Severities[1] != finding.Low || f.MinSeverity != finding.Critical {
		t.Fatalf("filter %+v: want exact high and low, and critical and above (the higher floor)", f)
	}
	if err := f.AddSeverity("severe"); err == nil {
		t.Fatal("an unknown severity was accepted")
	}
}
