package netsearch

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/store"
)

// A database made before the grouped rule table (schema up to 0100_netrules.sql, the scan's
// rules in the old per-rule table) is migrated when opened, and `find` answers from a fresh
// extraction of the scan's inventory, not from the old rows.
func TestFindOnDatabaseOfOldSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "y.db")
	db, id := testDBAt(t, path, allResources()...)
	db.Close()

	// Take the database back to the old schema: the tables of 0100_netrules.sql as that file
	// creates them, 0101 not applied, and a marker saying the scan is indexed.
	old, err := os.ReadFile("../store/schema/0100_netrules.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP TABLE netrule_groups`, `DROP TABLE netrule_staging`, `DROP TABLE netrule_scans`, string(old),
		`DELETE FROM schema_migrations WHERE name = 'schema/0101_netrule_groups.sql'`,
		// An old row the new code cannot read, for an address the inventory does not have.
		`INSERT INTO netrules (scan_id, family, prefix_len, net_start, seq, net_end, account_id, region, resource_arn, resource_type, kind, cidr)
		 VALUES (1, 4, 32, X'00000000000000000000ffff0a636363', 0, X'00000000000000000000ffff0a636363', '111111111111', 'us-east-1', 'arn:stale', 'AWS::EC2::SecurityGroup', 'security-group', '10.99.99.99/32')`,
		`INSERT INTO netrule_scans (scan_id, rules, prefixes, indexed_at) VALUES (1, 1, '{"4":[32]}', '2026-01-01T00:00:00.000Z')`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", strings.SplitN(stmt, "\n", 2)[0], err)
		}
	}
	raw.Close()

	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer db.Close()
	if ix, err := db.NetRuleIndexOf(ctx, id); err != nil || ix.Indexed {
		t.Fatalf("after the migration the scan must wait for re-extraction: %+v %v", ix, err)
	}
	ms, err := Find(ctx, db, id, q(t, "203.0.113.7", ModeContains))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(summary(ms), "\n")
	for _, want := range []string{"sgr-all exact exact 203.0.113.7/32", "network-acl ingress rule 90 exact", "unresolved prefix list pl-missing"} {
		if !strings.Contains(got, want) {
			t.Errorf("find after migration lacks %q:\n%s", want, got)
		}
	}
	stale, err := Find(ctx, db, id, q(t, "10.99.99.99", ModeContains))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range stale {
		if m.ResourceARN == "arn:stale" {
			t.Errorf("a row of the old table was answered: %+v", m)
		}
	}
	if ix, err := db.NetRuleIndexOf(ctx, id); err != nil || !ix.Indexed || ix.Rules != 22 {
		t.Errorf("re-extracted index %+v %v, want 22 rules", ix, err)
	}
}

// Concurrent first searches of an unindexed scan (the dashboard serves requests in parallel)
// extract it once: each answers in full, and the index holds every rule once.
func TestConcurrentFirstFinds(t *testing.T) {
	ctx := context.Background()
	db, id := testDB(t, allResources()...)
	want := strings.Join(summary(must(Find(ctx, db, id, q(t, "203.0.113.7", ModeContains)))), "\n")
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM netrule_scans`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			ms, err := Find(ctx, db, id, q(t, "203.0.113.7", ModeContains))
			if err == nil && strings.Join(summary(ms), "\n") != want {
				err = fmt.Errorf("answer:\n%s\nwant:\n%s", strings.Join(summary(ms), "\n"), want)
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var n int
	if err := db.EachNetRule(ctx, id, func(*store.NetRule) error { n++; return nil }); err != nil || n != 22 {
		t.Errorf("%d rules stored (%v), want 22", n, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A search of an unindexed scan whose extraction another process (the CLI or the dashboard) has
// claimed waits instead of staging rows beside it, and takes the extraction over once that
// process is gone.
func TestFindWaitsForAnotherProcessExtraction(t *testing.T) {
	ctx := context.Background()
	db, id := testDB(t, allResources()...)
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM netrule_scans`); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO netrule_claims (scan_id, pid, claimed_at) VALUES (?, ?, '2026-11-28T00:00:00.000Z')`, id, holder.Process.Pid); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Find(ctx, db, id, q(t, "203.0.113.7", ModeContains))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("answered (%v) while another live process held the extraction", err)
	case <-time.After(3 * claimPoll):
	}
	var staged int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM netrule_staging`).Scan(&staged); err != nil || staged != 0 {
		t.Fatalf("%d rows staged (%v) beside the other process's extraction", staged, err)
	}
	holder.Process.Kill()
	holder.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the claim of a dead process was never taken over")
	}
	if ix, err := db.NetRuleIndexOf(ctx, id); err != nil || !ix.Indexed || ix.Rules != 22 {
		t.Fatalf("index %+v %v, want 22 rules", ix, err)
	}
	var claims int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM netrule_claims`).Scan(&claims); err != nil || claims != 0 {
		t.Fatalf("%d claims left (%v) after the extraction", claims, err)
	}
}
