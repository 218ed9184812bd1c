package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/mototest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// yaguraBin builds the real binary once per test run, so these tests use yagura exactly as a
// user does.
func yaguraBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "yagura-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "yagura")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Log(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build yagura: %v", buildErr)
	}
	return binPath
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func runYagura(t *testing.T, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(yaguraBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), errb.String(), code}
}

// The acceptance scenario: an organization of 4 accounts in 2 OUs is scanned through
// the CLI, every account and region is covered, and `yagura accounts` lists them all with OU
// paths and tags. Then one member's role is refused: that account shows denied, the others are
// complete, and the scan still exits 0 with a warning.
func TestCLIScanOrganizationAndDeniedRole(t *testing.T) {
	srv := mototest.New(t)
	_, members, err := demo.SmallOrg(context.Background(), srv.Config(t, "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "y.db")
	scanArgs := []string{"scan", "--db", db, "--role-name", "OrganizationAccountAccessRole", "--regions", "us-east-1,eu-west-1", "--services", "ec2,iam"}

	r := runYagura(t, append(scanArgs, "--endpoint-url", srv.URL)...)
	if r.code != 0 {
		t.Fatalf("scan exit %d: %s", r.code, r.stderr)
	}
	var accts []struct {
		ID     string            `json:"id"`
		OUPath string            `json:"ou_path"`
		Tags   map[string]string `json:"tags"`
		Access string            `json:"access"`
	}
	r = runYagura(t, "accounts", "--db", db, "--format", "json")
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil {
		t.Fatalf("accounts json: %v\n%s", err, r.stdout)
	}
	if len(accts) != 4 {
		t.Fatalf("want 4 accounts, got %d", len(accts))
	}
	wantOU := map[string]string{members["prod"]: "Root/Workloads", members["dev"]: "Root/Workloads", members["tooling"]: "Root/Security", "123456789012": "Root"}
	for _, a := range accts {
		if a.OUPath != wantOU[a.ID] {
			t.Errorf("account %s OU path %q, want %q", a.ID, a.OUPath, wantOU[a.ID])
		}
		if a.ID != "123456789012" && a.Tags["Environment"] == "" {
			t.Errorf("account %s lost its tags: %v", a.ID, a.Tags)
		}
	}
	cov := coverageJSON(t, db)
	regions := map[string]map[string]bool{}
	for _, c := range cov {
		if c.Status != "ok" {
			t.Errorf("task %s %s %s: %s %s", c.AccountID, c.Region, c.Collector, c.Status, c.Reason)
		}
		if regions[c.AccountID] == nil {
			regions[c.AccountID] = map[string]bool{}
		}
		regions[c.AccountID][c.Region] = true
	}
	for id := range wantOU {
		if !regions[id]["us-east-1"] || !regions[id]["eu-west-1"] || !regions[id]["global"] {
			t.Errorf("account %s not covered in every region: %v", id, regions[id])
		}
	}

	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.AddFault(faultproxy.DenyAssumeRole(members["dev"]))
	r = runYagura(t, append(scanArgs, "--endpoint-url", proxy.URL)...)
	if r.code != 0 {
		t.Fatalf("a denied role must not fail the scan: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, members["dev"]) {
		t.Fatalf("no warning about the denied account:\n%s", r.stderr)
	}
	for _, c := range coverageJSON(t, db) {
		want := "ok"
		if c.AccountID == members["dev"] {
			want = "denied"
		}
		if c.Status != want {
			t.Errorf("second scan: %s %s %s is %s, want %s", c.AccountID, c.Region, c.Collector, c.Status, want)
		}
	}
}

type coverageRow struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	Collector string `json:"collector"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

func coverageJSON(t *testing.T, db string) []coverageRow {
	t.Helper()
	r := runYagura(t, "coverage", "--db", db, "--format", "json")
	var out struct {
		Coverage []coverageRow `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("coverage json: %v\n%s", err, r.stdout)
	}
	if len(out.Coverage) == 0 {
		t.Fatal("no coverage rows")
	}
	return out.Coverage
}
