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

	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/store"
)

// seedFindings stores one scan with findings of every status and returns the database path.
func seedFindings(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "y.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id, err := db.CreateScan(ctx, "arn:aws:iam::123456789012:root", "123456789012", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	mk := func(check, arn string, st finding.Status, sev finding.Severity, controls ...string) *finding.Finding {
		return &finding.Finding{ID: finding.StableID("yagura", check, arn), CheckID: check, Controls: controls, Source: "yagura",
			Status: st, Severity: sev, AccountID: "123456789012", Region: "us-east-1", ResourceARN: arn, ResourceType: "AWS::EC2::SecurityGroup",
			Title: "title of " + check, Detail: "=cmd|' /C calc'!A0", FirstSeen: now, LastSeen: now, Lifecycle: finding.LifecycleNew,
			Collector: "ec2.security-groups|123456789012|us-east-1"}
	}
	w := db.NewFindingWriter(id)
	for _, f := range []*finding.Finding{
		mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-open", finding.Fail, finding.High, "fsbp:EC2.13", "cis-aws-3.0:5.2"),
		mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-shut", finding.Pass, finding.High, "fsbp:EC2.13"),
		mk("ec2.subnet_no_auto_public_ip", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1", finding.Fail, finding.Medium, "fsbp:EC2.15"),
		mk("guardduty.enabled", "arn:aws::123456789012:region/us-east-1", finding.Error, finding.High, "fsbp:GuardDuty.1"),
	} {
		if err := w.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishScan(ctx, id, store.ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindingsCommand(t *testing.T) {
	dbPath := seedFindings(t)
	run := func(args ...string) (string, error) { return nfRun(t, append([]string{"--db", dbPath}, args...)...) }
	decode := func(out string) []map[string]any {
		t.Helper()
		var v []map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return v
	}
	out, err := run("findings", "--format", "json", "--status", "FAIL")
	if err != nil || len(decode(out)) != 2 {
		t.Fatalf("status filter: %v %s", err, out)
	}
	out, _ = run("findings", "--format", "json", "--severity", "high+", "--status", "FAIL,ERROR")
	if got := decode(out); len(got) != 2 {
		t.Fatalf("severity high+: %d", len(got))
	}
	out, _ = run("findings", "--format", "json", "--control", "cis-aws-3.0:5.2")
	if got := decode(out); len(got) != 1 || got[0]["resource_arn"] != "arn:aws:ec2:us-east-1:123456789012:security-group/sg-open" {
		t.Fatalf("control filter: %v", got)
	}
	out, _ = run("findings", "--format", "json", "--resource", "arn:aws:ec2:*:subnet/*")
	if got := decode(out); len(got) != 1 {
		t.Fatalf("resource glob: %v", got)
	}

	// --fail-on: exit 3 for a non-muted FAIL at or above the severity.
	_, err = run("findings", "--format", "json", "--fail-on", "high")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("fail-on high: %v", err)
	}
	if _, err := run("findings", "--format", "json", "--fail-on", "critical"); err != nil {
		t.Fatalf("fail-on critical: %v", err)
	}

	// A mute keeps the status, marks the finding and stops it from gating.
	ml := filepath.Join(t.TempDir(), "mutes.yaml")
	if err := os.WriteFile(ml, []byte("mutes:\n  - reason: bastion reviewed\n    controls: [\"fsbp:EC2.13\"]\n    resources: [\"*sg-open\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("findings", "--format", "json", "--mutelist", ml, "--muted", "--fail-on", "high")
	if err != nil {
		t.Fatalf("muted finding still gates: %v", err)
	}
	if got := decode(out); len(got) != 1 || got[0]["muted"] != true || got[0]["status"] != "FAIL" || got[0]["mute_reason"] != "bastion reviewed" {
		t.Fatalf("muted: %v", got)
	}

	// CSV neutralizes formulas; OCSF and SARIF parse.
	out, _ = run("findings", "--format", "csv")
	if strings.Contains(out, "\n=cmd") || strings.Contains(out, ",=cmd") {
		t.Fatalf("csv formula not neutralized: %s", out)
	}
	out, _ = run("findings", "--format", "ocsf")
	if got := decode(out); len(got) != 4 || got[0]["class_uid"].(float64) != 2003 {
		t.Fatalf("ocsf: %v", got)
	}
	file := filepath.Join(t.TempDir(), "out.sarif")
	if _, err := run("findings", "--format", "sarif", "--output", file); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), `"version": "2.1.0"`) {
		t.Fatalf("sarif file: %s", b)
	}
}

func TestExportSecurityHub(t *testing.T) {
	dbPath := seedFindings(t)
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	ctx := context.Background()
	sh := securityhub.NewFromConfig(cfg)
	if _, err := sh.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := nfRun(t, "--db", dbPath, "--endpoint-url", srv.URL, "export", "securityhub", "--account", "123456789012", "--region", "us-east-1", "--format", "json")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var res importResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Sent != 3 || res.Imported != 3 || res.Batches != 1 {
		t.Fatalf("import: %+v %v %s", res, err, out)
	}
	got, err := sh.GetFindings(ctx, &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Findings) != 3 {
		t.Fatalf("Security Hub holds %d findings", len(got.Findings))
	}
}
