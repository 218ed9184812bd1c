package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/store"
)

func TestMutelistCommandStoredAndDashboardMutes(t *testing.T) {
	dbPath := seedFindings(t)
	run := func(args ...string) (string, error) { return nfRun(t, append([]string{"--db", dbPath}, args...)...) }
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	failsOnHigh := func() bool {
		_, err := run("findings", "--format", "json", "--fail-on", "high")
		var ee *exitError
		return errors.As(err, &ee) && ee.code == 3
	}
	if !failsOnHigh() {
		t.Fatal("the seeded high FAIL does not gate")
	}

	good := write("mutes.yaml", "mutes:\n  - reason: bastion reviewed\n    resources: [\"*sg-open\"]\n  - reason: old\n    checks: [x]\n    expires: 2020-01-01\n")
	if out, err := run("mutelist", "import", good); err != nil || !strings.Contains(out, "stored 2 mutes") {
		t.Fatalf("import: %v %s", err, out)
	}
	// findings applies the stored list without --mutelist: the muted FAIL no longer gates.
	out, err := run("findings", "--format", "json", "--muted", "--fail-on", "high")
	if err != nil {
		t.Fatalf("stored mute did not stop the gate: %v", err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0]["mute_reason"] != "bastion reviewed" || got[0]["status"] != "FAIL" {
		t.Fatalf("muted by stored list: %v %s", err, out)
	}

	// A malformed import fails clearly and keeps the stored list.
	bad := write("bad.yaml", "mutes:\n  - reason: everything\n")
	if _, err := run("mutelist", "import", bad); err == nil || !strings.Contains(err.Error(), "matches nothing specific") || !strings.Contains(err.Error(), "unchanged") {
		t.Fatalf("bad import: %v", err)
	}
	out, err = run("mutelist", "show", "--format", "json")
	var shown struct {
		Source string
		Mutes  []struct {
			Reason  string
			Expired bool
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.Source != good || len(shown.Mutes) != 2 || !shown.Mutes[1].Expired || shown.Mutes[0].Expired {
		t.Fatalf("show after refused import: %v %s", err, out)
	}
	if out, _ := run("mutelist", "show"); !strings.Contains(out, "bastion reviewed") {
		t.Fatalf("show yaml: %s", out)
	}

	// --mutelist FILE replaces the stored list for one run.
	other := write("other.yaml", "mutes:\n  - reason: nothing here\n    accounts: [\"999999999999\"]\n")
	if out, _ := run("findings", "--format", "json", "--muted", "--mutelist", other); strings.TrimSpace(out) != "[]" {
		t.Fatalf("--mutelist did not replace the stored list: %s", out)
	}

	// After clear, a mute set in the dashboard still mutes in findings and --fail-on.
	if out, err := run("mutelist", "clear"); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("clear: %v %s", err, out)
	}
	if !failsOnHigh() {
		t.Fatal("cleared list still mutes")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	id := finding.StableID("yagura", "ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-open")
	if err := db.PutMute(ctx, store.Mute{FindingID: id, Reason: "muted in the dashboard", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if failsOnHigh() {
		t.Fatal("a dashboard mute does not stop --fail-on")
	}
	out, _ = run("findings", "--format", "json", "--muted")
	if !strings.Contains(out, "muted in the dashboard") {
		t.Fatalf("dashboard mute not shown: %s", out)
	}
}
