package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/pipeline"
	"github.com/yagura-dev/yagura/internal/store"
)

// The same control reported by a yagura check and by Security Hub (S3.14, bucket versioning)
// is one finding with both sources.
func TestYaguraAndSecurityHubControlMerge(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	ctx := context.Background()
	const bucket = "prod-unversioned"
	if _, err := s3.NewFromConfig(mcfg, awsx.S3Options(mcfg)).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := securityhub.NewFromConfig(mcfg).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:s3:::" + bucket
	f := nfControlFinding(member, "us-east-1", "x", shtypes.ComplianceStatusFailed)
	f.Id = aws.String("arn:aws:securityhub:us-east-1:" + member + ":security-control/S3.14/finding/0f1e2d3c")
	f.GeneratorId = aws.String("security-control/S3.14")
	f.Compliance.SecurityControlId = aws.String("S3.14")
	f.Severity = &shtypes.Severity{Label: shtypes.SeverityLabelLow}
	f.Title = aws.String("S3 general purpose buckets should have versioning enabled")
	f.Resources = []shtypes.Resource{{Type: aws.String("AwsS3Bucket"), Id: aws.String(arn), Partition: shtypes.PartitionAws, Region: aws.String("us-east-1")}}
	nfImport(t, mcfg, f)

	db := filepath.Join(t.TempDir(), "y.db")
	if _, err := nfRun(t, "--db", db, "--endpoint-url", srv.URL, "scan", "--role-name", "OrganizationAccountAccessRole",
		"--regions", "us-east-1", "--services", "s3,securityhub"); err != nil {
		t.Fatal(err)
	}
	d, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.Findings(ctx, store.FindingFilter{ResourceGlob: arn, Control: "fsbp:S3.14"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		b, _ := json.MarshalIndent(fs, "", " ")
		t.Fatalf("%d findings for S3.14 on the bucket, want one merged finding:\n%s", len(fs), b)
	}
	m := fs[0]
	if m.ID != finding.StableID("yagura", "s3.bucket_versioning", arn) || !slices.Equal(m.Sources, []string{"securityhub", "yagura"}) ||
		m.Status != finding.Fail || m.CheckID != "s3.bucket_versioning" {
		t.Errorf("merged finding: id %s sources %v status %s check %s", m.ID, m.Sources, m.Status, m.CheckID)
	}
}

// nfSeedScans writes three finished scans: finding A fails in all of them, B fails in scan 1 and
// passes (resolved) in scan 2, C appears in scan 3.
func nfSeedScans(t *testing.T, path string) {
	t.Helper()
	mk := func(id string, st finding.Status) *finding.Finding {
		return &finding.Finding{ID: id, Source: "securityhub", Status: st, Severity: finding.High, AccountID: "111122223333",
			Region: "us-east-1", Title: "finding " + id, Collector: "securityhub.findings|111122223333|us-east-1"}
	}
	nfWriteScans(t, path,
		[]*finding.Finding{mk("A", finding.Fail), mk("B", finding.Fail)},
		[]*finding.Finding{mk("A", finding.Fail), mk("B", finding.Pass)},
		[]*finding.Finding{mk("A", finding.Fail), mk("C", finding.Fail)})
}

func TestScansPruneKeepsHistoryOfOpenFindings(t *testing.T) {
	mototest.SetTestEnv(t)
	path := filepath.Join(t.TempDir(), "y.db")
	nfSeedScans(t, path)
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Findings(ctx, store.FindingFilter{IDs: []string{"A"}})
	if err != nil || len(before) != 1 {
		t.Fatal(err, before)
	}
	db.Close()

	out, err := nfRun(t, "--db", path, "scans", "prune", "--keep", "1", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var pr store.PruneResult
	if err := json.Unmarshal([]byte(out), &pr); err != nil || !slices.Equal(pr.Scans, []int64{2, 1}) || pr.Findings != 1 {
		t.Fatalf("prune result %s (%v)", out, err)
	}
	out, err = nfRun(t, "--db", path, "scans", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []scanRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].ID != 3 || rows[0].Status != store.ScanComplete {
		t.Fatalf("scans after prune: %s (%v)", out, err)
	}

	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A is still open: its first_seen and its "new" event from the deleted scan 1 survive.
	after, err := db.Findings(ctx, store.FindingFilter{IDs: []string{"A", "B", "C"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*finding.Finding{}
	for _, f := range after {
		ids[f.ID] = f
	}
	if a := ids["A"]; a == nil || !a.FirstSeen.Equal(before[0].FirstSeen) || a.Lifecycle != finding.LifecycleOpen {
		t.Errorf("open finding A after prune: %+v", a)
	}
	if ids["B"] != nil {
		t.Errorf("B, resolved in a deleted scan, is still there")
	}
	if ids["C"] == nil {
		t.Errorf("C, from the kept scan, is gone")
	}
	ev, err := db.FindingEvents(ctx, "A", 0, 0)
	if err != nil || len(ev) == 0 || ev[0].Event != "new" || ev[0].ScanID != 1 {
		t.Errorf("history of A: %+v %v", ev, err)
	}
	if ev, _ := db.FindingEvents(ctx, "B", 0, 0); len(ev) != 0 {
		t.Errorf("history of pruned B left behind: %+v", ev)
	}
	if _, err := nfRun(t, "--db", path, "scans", "prune", "--keep", "0"); err == nil {
		t.Errorf("--keep 0 accepted")
	}
}

// Without a Business or Enterprise support plan the Support API answers
// SubscriptionRequiredException: the Trusted Advisor task is recorded as skipped with that
// reason, and the scan stays complete.
func TestTrustedAdvisorWithoutSupportPlanIsSkipped(t *testing.T) {
	srv := mototest.New(t)
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxy.AddFault(faultproxy.Fault{
		Match:       func(c *faultproxy.Call) bool { return c.Service == "support" },
		Status:      400,
		ContentType: "application/x-amz-json-1.1",
		Header:      map[string]string{"x-amzn-ErrorType": "SubscriptionRequiredException"},
		Body:        `{"__type":"SubscriptionRequiredException","message":"AWS Premium Support Subscription is required to use this service."}`,
	})
	path := filepath.Join(t.TempDir(), "y.db")
	if _, err := nfRun(t, "--db", path, "--endpoint-url", proxy.URL, "scan", "--regions", "us-east-1", "--services", "trustedadvisor"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sc, err := db.GetScan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status != store.ScanComplete {
		t.Errorf("scan %s (%s), want complete", sc.Status, sc.StatusReason)
	}
	cov, err := db.CoverageOf(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cov {
		if c.Collector == "trustedadvisor.checks" {
			found = true
			if c.Status != store.CoverageSkipped || !strings.Contains(c.Reason, "SubscriptionRequiredException") || c.Region != "global" {
				t.Errorf("coverage %+v", c)
			}
		}
	}
	if !found {
		t.Fatalf("no coverage for trustedadvisor.checks: %+v", cov)
	}
}

// nfWriteScans writes one finished scan per element, each putting the given findings.
func nfWriteScans(t *testing.T, path string, scans ...[]*finding.Finding) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, fs := range scans {
		id, err := db.CreateScan(ctx, "arn:aws:iam::111122223333:user/test", "111122223333", "", map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		w := db.NewFindingWriter(id)
		for _, f := range fs {
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
	}
}

// Each finding's events between the two scans reduce to its net change.
func TestDiffReducesEventsToNetChange(t *testing.T) {
	mototest.SetTestEnv(t)
	mk := func(id string, st finding.Status) *finding.Finding {
		return &finding.Finding{ID: id, Source: "guardduty", Status: st, Severity: finding.Medium, AccountID: "111122223333",
			Region: "us-east-1", Title: "finding " + id}
	}
	path := filepath.Join(t.TempDir(), "y.db")
	nfWriteScans(t, path,
		[]*finding.Finding{mk("reopened", finding.Fail), mk("fixed", finding.Fail), mk("pass", finding.Pass)},
		[]*finding.Finding{mk("reopened", finding.Pass), mk("fixed", finding.Fail), mk("pass", finding.Pass), mk("blip", finding.Fail)},
		[]*finding.Finding{mk("reopened", finding.Fail), mk("fixed", finding.Pass), mk("pass", finding.Pass), mk("blip", finding.Pass), mk("fresh", finding.Fail)},
	)
	changes := func(res diffResult) map[string]string {
		m := map[string]string{}
		for _, c := range res.Findings {
			m[c.ID] = c.Change
		}
		return m
	}
	got := changes(nfDiff(t, path, "--no-resources"))
	want := map[string]string{"reopened": changeReopened, "fixed": changeResolved, "blip": changeResolved, "fresh": changeNew}
	if len(got) != len(want) {
		t.Errorf("diff 2→3: %v, want %v", got, want)
	}
	for id, c := range want {
		if got[id] != c {
			t.Errorf("diff 2→3, %s: %q, want %q", id, got[id], c)
		}
	}
	// From scan 1: "blip" appeared and went away in between (no news); "reopened" was resolved and
	// reopened (reopened); a finding that is new but passing is no news either.
	got = changes(nfDiff(t, path, "--from", "1", "--to", "3", "--no-resources"))
	want = map[string]string{"reopened": changeReopened, "fixed": changeResolved, "fresh": changeNew}
	if len(got) != len(want) {
		t.Errorf("diff 1→3: %v, want %v", got, want)
	}
	for id, c := range want {
		if got[id] != c {
			t.Errorf("diff 1→3, %s: %q, want %q", id, got[id], c)
		}
	}
	if _, err := nfRun(t, "--db", path, "diff", "--from", "3", "--to", "2"); err == nil {
		t.Errorf("--from newer than --to accepted")
	}
}

// Security Hub reports account-level controls on the account (ASFF AwsAccount); with the
// catalog's index they take the id of yagura's region- or account-level check finding, whose
// subject ARN the check defines.
func TestControlIndexAdoptsAccountLevelControls(t *testing.T) {
	ix := pipeline.ControlIndex()
	tried := 0
	for _, c := range check.All() {
		if c.Scope != check.PerRegion && c.Scope != check.PerAccount {
			continue
		}
		for _, control := range c.Controls {
			if !strings.HasPrefix(control, "fsbp:") || len(ix[control]) != 1 {
				continue // a control several checks implement is matched by the first; skip the ambiguity here
			}
			tried++
			region := "eu-west-1"
			f := nfControlFinding("111122223333", region, "x", shtypes.ComplianceStatusFailed)
			id := strings.TrimPrefix(control, "fsbp:")
			f.Id = aws.String("arn:aws:securityhub:eu-west-1:111122223333:security-control/" + id + "/finding/1")
			f.GeneratorId = aws.String("security-control/" + id)
			f.Compliance.SecurityControlId = aws.String(id)
			f.Resources = []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:111122223333"), Region: aws.String(region)}}
			got := native.FromASFF(&f)
			if !ix.Adopt(got) {
				t.Errorf("%s (%s) not adopted", control, c.ID)
				continue
			}
			u := check.Unit{Partition: "aws", Account: "111122223333", Region: region}
			if c.Scope == check.PerAccount {
				u.Region = "global"
			}
			want := check.SubjectARN(c, u)
			if got.ResourceARN != want || got.ID != finding.StableID("yagura", c.ID, want) || got.CheckID != c.ID {
				t.Errorf("%s: adopted as %s %s, want the subject %s of %s", control, got.ResourceARN, got.CheckID, want, c.ID)
			}
		}
	}
	if tried == 0 {
		t.Skip("the catalog has no account- or region-level fsbp check")
	}
}
