package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/store"
)

// kill -9 in the middle of a scan leaves the earlier scans intact and readable, and the killed
// scan is marked interrupted (never complete) by the next run.
func TestKillDuringScanKeepsEarlierScans(t *testing.T) {
	srv := mototest.New(t)
	if _, _, err := demo.SmallOrg(context.Background(), srv.Config(t, "us-east-1")); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "y.db")
	args := []string{"scan", "--db", db, "--role-name", "OrganizationAccountAccessRole", "--regions", "us-east-1,eu-west-1", "--services", "ec2", "-q"}
	if r := runYagura(t, append(args, "--endpoint-url", srv.URL)...); r.code != 0 {
		t.Fatalf("first scan: %d %s", r.code, r.stderr)
	}

	firstRows := countRows(t, db, `SELECT count(*) FROM coverage WHERE scan_id = 1 AND status = 'ok'`)
	firstResources := countRows(t, db, `SELECT count(*) FROM resources WHERE scan_id = 1`)
	if firstRows == 0 || firstResources == 0 {
		t.Fatalf("first scan recorded %d tasks, %d resources", firstRows, firstResources)
	}
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Latency = 200 * time.Millisecond
	cmd := exec.Command(yaguraBin(t), append(args, "--endpoint-url", proxy.URL)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has written some of its own coverage.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the second scan never got going")
		}
		if n := countRows(t, db, `SELECT count(*) FROM coverage WHERE scan_id = 2`); n > 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	if ok := countRows(t, db, `SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'`); ok != 1 {
		t.Fatal("database damaged by kill -9")
	}
	if n := countRows(t, db, `SELECT count(*) FROM coverage WHERE scan_id = 1 AND status = 'ok'`); n != firstRows {
		t.Fatalf("first scan's coverage changed by kill -9: %d rows, had %d", n, firstRows)
	}
	if n := countRows(t, db, `SELECT count(*) FROM resources WHERE scan_id = 1`); n != firstResources {
		t.Fatalf("first scan's inventory changed by kill -9: %d, had %d", n, firstResources)
	}
	r := runYagura(t, "accounts", "--db", db, "--format", "json")
	if r.code != 0 || len(r.stdout) < 10 {
		t.Fatalf("accounts after kill -9: %d %s", r.code, r.stderr)
	}
	// The next scan notices the dead one.
	if r := runYagura(t, append(args, "--endpoint-url", srv.URL)...); r.code != 0 {
		t.Fatalf("scan after kill -9: %d %s", r.code, r.stderr)
	}
	d, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	killed, err := d.GetScan(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if killed.Status != store.ScanInterrupted {
		t.Fatalf("killed scan has status %q", killed.Status)
	}
	first, _ := d.GetScan(context.Background(), 1)
	latest, _ := d.GetScan(context.Background(), 0)
	if first.Status != store.ScanComplete || latest.ID != 3 {
		t.Fatalf("first scan %s, latest finished scan %d", first.Status, latest.ID)
	}
}

func countRows(t *testing.T, path, query string) int64 {
	t.Helper()
	d, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int64
	if err := d.SQL.QueryRow(query).Scan(&n); err != nil {
		return 0
	}
	return n
}
