package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/risk"
	"github.com/yagura-dev/yagura/internal/store"
)

// The README's first quick-start command: `yagura demo` seeds the demo organization into its own
// emulator and scans it. The planted weaknesses must be in the scanned inventory.
func TestCLIDemoSeedsAndScansTheOrganization(t *testing.T) {
	mototest.SetTestEnv(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	// A stale database from an earlier demo is replaced, not mixed in.
	if err := os.WriteFile(db, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runYagura(t, "demo", "--exit", "--db", db)
	if r.code != 0 {
		if strings.Contains(r.stderr, "moto_server is not on PATH") && os.Getenv("CI") == "" {
			t.Skip("moto is not installed")
		}
		t.Fatalf("demo exit %d:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"seeded 6 accounts", "scan 1 ", "export YAGURA_DB=" + db} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stderr)
		}
	}
	ctx := context.Background()
	d, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sc, err := d.GetScan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The reads moto lacks are answered by the demo's proxy, so no task fails: a demo that
	// ends "partial" would look like a fault of the scan.
	if sc.Status != store.ScanComplete {
		t.Errorf("demo scan is %s (%s), want complete", sc.Status, sc.StatusReason)
	}
	accts, _ := d.Accounts(ctx, sc.ID)
	if len(accts) != 6 {
		t.Fatalf("demo scan saw %d accounts, want 6", len(accts))
	}
	for _, a := range accts {
		if a.Access == "denied" || a.Access == "error" {
			t.Errorf("account %s (%s): %s", a.ID, a.Name, a.AccessReason)
		}
	}
	// Every planted weakness's resource was collected.
	configs := map[string]string{}
	web1 := ""
	if err := d.EachResource(ctx, sc.ID, store.ResourceFilter{}, func(r *inventory.Resource) error {
		configs[r.Type] += string(r.Config) + "\n" + r.ARN + "\n" + r.Name + "\n"
		if r.Type == "AWS::EC2::Instance" && r.Name == "web-1" {
			web1 = r.ARN
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ typ, needle string }{
		{"AWS::EC2::SecurityGroup", "ssh-from-anywhere"},
		{"AWS::EC2::SecurityGroup", "rdp-from-anywhere"},
		{"AWS::EC2::SecurityGroup", demo.ExternalAddress + "/32"},
		{"AWS::EC2::Instance", `"HttpTokens":"optional"`},
		{"AWS::S3::Bucket", "staging-assets-"},
		{"AWS::S3::Bucket", "staging-downloads-"},
		{"AWS::S3::Bucket", "dev-scratch-"},
		{"AWS::IAM::User", "alice"},
		{"AWS::IAM::ManagedPolicy", "DevFullAccess"},
		{"AWS::IAM::Role", "web-admin"},
		{"AWS::CloudTrail::Trail", "org-audit"},
	}
	for _, c := range checks {
		if !strings.Contains(configs[c.typ], c.needle) {
			t.Errorf("demo inventory: no %s containing %q", c.typ, c.needle)
		}
	}

	// Issue 6's acceptance: `yagura top --format json` on the demo organization lists the planted
	// attack path (web-1 → web-admin → the confidential bucket) first, every item with its factors.
	items := riskTop(t, db, "-n", "20")
	if len(items) == 0 {
		t.Fatal("empty risk queue")
	}
	first := items[0]
	if web1 == "" || first.CheckID != risk.CheckAttackPath || first.ResourceARN != web1 ||
		!strings.Contains(first.Title, "web-admin") || !strings.Contains(first.Title, "prod-customer-data") {
		t.Errorf("first item: %s %s %q (web-1 is %q)", first.CheckID, first.ResourceARN, first.Title, web1)
	}
	for _, it := range items {
		if it.Risk == nil || len(it.Risk.Factors) != 6 || it.Risk.Reason == "" {
			t.Errorf("item %d %q has no full risk: %+v", it.Rank, it.Title, it.Risk)
		}
	}
}
