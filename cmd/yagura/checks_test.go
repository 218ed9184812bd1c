package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

func TestChecksCoverageAndList(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "y.db")
	out, err := nfRun(t, "--db", dbPath, "checks", "coverage", "--framework", "cis-aws-3.0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var cov []struct {
		ID          string
		Automated   bool
		Implemented bool
	}
	if err := json.Unmarshal([]byte(out), &cov); err != nil {
		t.Fatal(err)
	}
	auto, impl := 0, 0
	for _, c := range cov {
		if c.Automated {
			auto++
			if c.Implemented {
				impl++
			}
		}
	}
	if len(cov) != 62 || auto != 54 || impl != 54 {
		t.Fatalf("cis coverage: %d controls, %d automated, %d implemented", len(cov), auto, impl)
	}
	// The table says which fsbp: controls the FSBP standard itself does not hold.
	out, err = nfRun(t, "--db", dbPath, "checks", "coverage", "--framework", "fsbp", "--format", "table")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fsbp:EC2.13 ") && !strings.Contains(line, "not in the FSBP standard (CIS v1.2, PCI DSS, NIST)") {
			t.Errorf("EC2.13 is not flagged as outside FSBP: %s", line)
		}
		if strings.HasPrefix(line, "fsbp:EC2.8 ") && strings.Contains(line, "not in the FSBP standard") {
			t.Errorf("EC2.8 is flagged as outside FSBP: %s", line)
		}
	}
	if !regexp.MustCompile(`\(\d+ controls listed; \d+ of them outside the FSBP standard\)`).MatchString(out) {
		t.Errorf("coverage footer does not count the controls outside FSBP:\n%s", out[max(0, len(out)-300):])
	}
	out, err = nfRun(t, "--db", dbPath, "checks", "list", "--framework", "fsbp", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list []struct{ ID, Scope string }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) < 100 {
		t.Fatalf("fsbp list: %d %v", len(list), err)
	}
	if _, err := nfRun(t, "--db", dbPath, "checks", "list", "--framework", "nist"); err == nil {
		t.Fatal("unknown framework accepted")
	}
}

// TestChecksRun re-evaluates a stored scan: a denied collector turns into ERROR findings.
func TestChecksRun(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "y.db")
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.CreateScan(ctx, "arn:aws:iam::123456789012:root", "123456789012", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(id)
	sg := &inventory.Resource{ARN: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Type: "AWS::EC2::SecurityGroup",
		AccountID: "123456789012", Region: "us-east-1", Name: "web",
		Config: json.RawMessage(`{"GroupId":"sg-1","GroupName":"web","IpPermissions":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`)}
	if err := w.PutResource(sg); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Coverage{
		{AccountID: "123456789012", Region: "us-east-1", Collector: "ec2.security-groups", Service: "ec2", Status: store.CoverageOK},
		{AccountID: "123456789012", Region: "us-east-1", Collector: "guardduty.detectors", Service: "guardduty", Status: store.CoverageDenied, Reason: "AccessDenied: guardduty:ListDetectors"},
	} {
		if err := db.PutCoverage(ctx, id, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FinishScan(ctx, id, store.ScanPartial, "test"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := nfRun(t, "--db", dbPath, "checks", "run", "--format", "json"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, err := nfRun(t, "--db", dbPath, "findings", "--format", "json", "--check", "ec2.sg_ingress_ssh_world,guardduty.enabled")
	if err != nil {
		t.Fatal(err)
	}
	var fs []struct {
		CheckID     string `json:"check_id"`
		Status      string
		ResourceARN string `json:"resource_arn"`
		Detail      string
	}
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.CheckID+" "+f.ResourceARN] = f.Status
	}
	if got["ec2.sg_ingress_ssh_world "+sg.ARN] != "FAIL" || got["guardduty.enabled arn:aws:guardduty:us-east-1:123456789012:account-status"] != "ERROR" {
		t.Fatalf("findings: %+v", fs)
	}
}
