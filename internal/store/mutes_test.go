package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
)

func TestMutelistStoredAndAppliedWithDashboardMutes(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	scan := newScan(t, db)
	mk := func(check, arn string) *finding.Finding {
		return &finding.Finding{ID: finding.StableID("yagura", check, arn), CheckID: check, Source: "yagura", Status: finding.Fail,
			Severity: finding.High, AccountID: "123456789012", Region: "us-east-1", ResourceARN: arn, Controls: []string{"fsbp:EC2.13"}}
	}
	byRule := mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-rule")
	byTag := mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-tagged")
	byWeb := mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-web")
	webExpired := mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-webold")
	ruleExpired := mk("ec2.sg_ingress_rdp_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-ruleold")
	plain := mk("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-plain")
	put(t, db, scan, byRule, byTag, byWeb, webExpired, ruleExpired, plain)
	w := db.NewWriter(scan)
	for arn, env := range map[string]string{byTag.ResourceARN: "sandbox", plain.ResourceARN: "prod"} {
		if err := w.PutResource(&inventory.Resource{ARN: arn, Type: "AWS::EC2::SecurityGroup", AccountID: "123456789012", Region: "us-east-1",
			Tags: map[string]string{"env": env}, CollectedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishScan(ctx, scan, ScanComplete, ""); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-48*time.Hour), now.Add(48*time.Hour)
	if err := db.PutMute(ctx, Mute{FindingID: byWeb.ID, Reason: "bastion", Expires: &future, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMute(ctx, Mute{FindingID: webExpired.ID, Reason: "temporary", Expires: &past, CreatedAt: past}); err != nil {
		t.Fatal(err)
	}

	if m, err := db.Mutelist(ctx); err != nil || m != nil {
		t.Fatalf("empty database: %v %v", m, err)
	}
	const doc = `# reviewed 2026-11
mutes:
  - reason: reviewed exception
    resources: ["*sg-rule"]
  - reason: sandbox
    tags: {env: sandbox}
  - reason: old RDP exception
    checks: [ec2.sg_ingress_rdp_world]
    expires: 2026-01-31
`
	if _, err := db.ImportMutelist(ctx, []byte(doc), "mutes.yaml", now); err != nil {
		t.Fatal(err)
	}
	stored, err := db.Mutelist(ctx)
	if err != nil || stored == nil || stored.Document != doc || stored.Source != "mutes.yaml" || len(stored.List.Mutes) != 3 {
		t.Fatalf("stored: %+v %v", stored, err)
	}

	// A hostile or malformed document is refused with a clear error, and the stored list stays.
	for name, bad := range map[string]string{
		"not yaml":        "mutes: [",
		"mute everything": "mutes:\n  - reason: all of it\n",
		"no reason":       "mutes:\n  - checks: ['*']\n",
		"alias bomb":      "a: &a [x, x]\nb: &b [*a, *a]\nmutes: *b\n",
		"unknown key":     "mutes:\n  - reason: r\n    account: ['1']\n",
		"bad regex":       "mutes:\n  - reason: r\n    resources: ['re:(']\n",
	} {
		if _, err := db.ImportMutelist(ctx, []byte(bad), "bad.yaml", now); err == nil || !strings.Contains(err.Error(), "mutelist") {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if again, err := db.Mutelist(ctx); err != nil || again.Document != doc {
		t.Fatalf("a refused import changed the stored list: %v %v", again, err)
	}

	// ApplyMutes (the dashboard's call) applies the stored rules and the dashboard mutes.
	fs, err := db.Findings(ctx, FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyMutes(ctx, fs, now); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		muted  bool
		reason string
	}{
		byRule.ID:      {true, "reviewed exception"},
		byTag.ID:       {true, "sandbox"},
		byWeb.ID:       {true, "bastion"},
		webExpired.ID:  {false, "mute expired on " + past.Format(time.DateOnly) + ": temporary"},
		ruleExpired.ID: {false, "mute expired on 2026-01-31: old RDP exception"},
		plain.ID:       {false, ""},
	}
	for _, f := range fs {
		w := want[f.ID]
		if f.Muted != w.muted || f.MuteReason != w.reason || f.Status != finding.Fail {
			t.Errorf("%s: muted %v %q status %s; want %v %q", f.ResourceARN, f.Muted, f.MuteReason, f.Status, w.muted, w.reason)
		}
	}

	// Clearing the stored list leaves the dashboard mutes.
	if had, err := db.ClearMutelist(ctx); err != nil || !had {
		t.Fatalf("clear: %v %v", had, err)
	}
	fs, _ = db.Findings(ctx, FindingFilter{})
	if err := db.ApplyMutes(ctx, fs, now); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Muted != (f.ID == byWeb.ID) {
			t.Errorf("after clear: %s muted %v", f.ResourceARN, f.Muted)
		}
	}
}

// A listing larger than one IN (…) chunk is muted whole.
func TestApplyMutesManyFindings(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	scan := newScan(t, db)
	var fs []*finding.Finding
	for i := 0; i < 3*inChunk+7; i++ {
		arn := "arn:aws:s3:::b" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "-" + time.Duration(i).String()
		fs = append(fs, &finding.Finding{ID: finding.StableID("yagura", "s3.x", arn), CheckID: "s3.x", Source: "yagura", Status: finding.Fail, ResourceARN: arn})
	}
	put(t, db, scan, fs...)
	last := fs[len(fs)-1]
	if err := db.PutMute(ctx, Mute{FindingID: last.ID, Reason: "last one", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Findings(ctx, FindingFilter{})
	if err := db.ApplyMutes(ctx, got, time.Now()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range got {
		if f.Muted {
			n++
			if f.ID != last.ID {
				t.Errorf("muted %s", f.ResourceARN)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d muted of %d", n, len(got))
	}
}
