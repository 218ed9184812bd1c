package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func testDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newScan(t *testing.T, db *DB, cov ...Coverage) int64 {
	t.Helper()
	id, err := db.CreateScan(context.Background(), "arn:aws:iam::123456789012:user/a", "123456789012", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cov {
		if err := db.PutCoverage(context.Background(), id, c); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func put(t *testing.T, db *DB, scanID int64, fs ...*finding.Finding) {
	t.Helper()
	w := db.NewFindingWriter(scanID)
	for _, f := range fs {
		if err := w.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.FinalizeFindings(context.Background(), scanID); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, db *DB, id string) *finding.Finding {
	t.Helper()
	fs, err := db.Findings(context.Background(), FindingFilter{IDs: []string{id}})
	if err != nil || len(fs) != 1 {
		t.Fatalf("finding %s: %v %d", id, err, len(fs))
	}
	return fs[0]
}

func sg(status finding.Status) *finding.Finding {
	return &finding.Finding{ID: "f1", CheckID: "ec2.sg_ingress_ssh_world", Controls: []string{"fsbp:EC2.13"}, Source: "yagura",
		Status: status, Severity: finding.High, AccountID: "111111111111", Region: "us-east-1",
		ResourceARN: "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1", Collector: "ec2.security-groups|111111111111|us-east-1"}
}

var okSG = Coverage{AccountID: "111111111111", Region: "us-east-1", Collector: "ec2.security-groups", Service: "ec2", Status: CoverageOK}

func TestLifecycleNewOpenResolvedReopened(t *testing.T) {
	db := testDB(t)
	s1 := newScan(t, db, okSG)
	put(t, db, s1, sg(finding.Fail))
	if f := get(t, db, "f1"); f.Lifecycle != finding.LifecycleNew || f.Status != finding.Fail {
		t.Fatalf("scan 1: %s %s", f.Lifecycle, f.Status)
	}
	s2 := newScan(t, db, okSG)
	put(t, db, s2, sg(finding.Fail))
	f2 := get(t, db, "f1")
	if f2.Lifecycle != finding.LifecycleOpen {
		t.Fatalf("scan 2: %s", f2.Lifecycle)
	}
	s3 := newScan(t, db, okSG)
	put(t, db, s3, sg(finding.Pass))
	if f := get(t, db, "f1"); f.Lifecycle != finding.LifecycleResolved || !f.FirstSeen.Equal(f2.FirstSeen) {
		t.Fatalf("scan 3: %s first_seen %v vs %v", f.Lifecycle, f.FirstSeen, f2.FirstSeen)
	}
	s4 := newScan(t, db, okSG)
	put(t, db, s4, sg(finding.Fail))
	if f := get(t, db, "f1"); f.Lifecycle != finding.LifecycleOpen {
		t.Fatalf("scan 4: %s", f.Lifecycle)
	}
	evs, err := db.FindingEvents(context.Background(), "f1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Event)
	}
	if len(kinds) != 3 || kinds[0] != "new" || kinds[1] != "resolved" || kinds[2] != "reopened" {
		t.Fatalf("events %v", kinds)
	}
}

func TestVanishedFindingResolvedOnlyWhenItsCollectorSucceeded(t *testing.T) {
	db := testDB(t)
	s1 := newScan(t, db, okSG)
	put(t, db, s1, sg(finding.Fail))

	denied := okSG
	denied.Status, denied.Reason = CoverageDenied, "access denied: AccessDenied"
	s2 := newScan(t, db, denied)
	put(t, db, s2)
	f := get(t, db, "f1")
	if f.Lifecycle == finding.LifecycleResolved || !f.Stale || f.Status != finding.Fail {
		t.Fatalf("after a denied collection: lifecycle %s stale %v status %s", f.Lifecycle, f.Stale, f.Status)
	}
	s3 := newScan(t, db, okSG)
	put(t, db, s3)
	if f := get(t, db, "f1"); f.Lifecycle != finding.LifecycleResolved || f.Stale {
		t.Fatalf("after a successful collection without the finding: %s stale %v", f.Lifecycle, f.Stale)
	}
}

func TestErrorResultKeepsStatusAndMarksStale(t *testing.T) {
	db := testDB(t)
	put(t, db, newScan(t, db, okSG), sg(finding.Fail))
	e := sg(finding.Error)
	e.Detail = "access denied reading the security group"
	put(t, db, newScan(t, db, okSG), e)
	f := get(t, db, "f1")
	if f.Status != finding.Fail || !f.Stale || f.StaleReason == "" {
		t.Fatalf("ERROR overwrote a real result: %s stale %v %q", f.Status, f.Stale, f.StaleReason)
	}
}

func TestSameFindingFromTwoSourcesMerges(t *testing.T) {
	db := testDB(t)
	s := newScan(t, db, okSG)
	hub := sg(finding.Fail)
	hub.Source, hub.Severity = "securityhub", finding.Critical
	put(t, db, s, sg(finding.Pass), hub)
	f := get(t, db, "f1")
	if len(f.Sources) != 2 || f.Status != finding.Fail || f.Severity != finding.Critical || f.Source != "yagura" {
		t.Fatalf("merged finding: source %s sources %v status %s severity %s", f.Source, f.Sources, f.Status, f.Severity)
	}
	n, _ := db.CountFindings(context.Background(), FindingFilter{Sources: []string{"securityhub"}, Control: "fsbp:EC2.13"})
	if n != 1 {
		t.Fatalf("filter by source and control found %d", n)
	}
}

func TestMergedSourcePrefersYaguraWhicheverComesFirst(t *testing.T) {
	db := testDB(t)
	s := newScan(t, db, okSG)
	hub := sg(finding.Fail)
	hub.Source = "securityhub"
	put(t, db, s, hub, sg(finding.Fail))
	if f := get(t, db, "f1"); f.Source != "yagura" || len(f.Sources) != 2 {
		t.Fatalf("source %s sources %v", f.Source, f.Sources)
	}
}
