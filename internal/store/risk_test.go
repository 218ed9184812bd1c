package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func TestSetRisksOrdersTheQueue(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scan, err := db.CreateScan(ctx, "arn:aws:iam::111122223333:user/t", "111122223333", "", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewFindingWriter(scan)
	for _, id := range []string{"low", "high", "unscored"} {
		if err := w.Put(&finding.Finding{ID: id, Source: "yagura", Status: finding.Fail, Severity: finding.Critical, AccountID: "111122223333"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRisks(ctx, map[string]*finding.Risk{
		"low":  {Score: 12.5, Reason: "low", Factors: map[string]float64{"severity": 0.25}},
		"high": {Score: 97, Reason: "internet-exposed", Factors: map[string]float64{"exposure": 1}, Path: []string{"internet", "i-1"}},
	}); err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, FindingFilter{OrderByRisk: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].ID != "high" || fs[1].ID != "low" || fs[2].ID != "unscored" {
		t.Fatalf("order: %v", riskTestIDs(fs))
	}
	if r := fs[0].Risk; r == nil || r.Score != 97 || r.Factors["exposure"] != 1 || len(r.Path) != 2 || r.Reason != "internet-exposed" {
		t.Errorf("risk read back: %+v", r)
	}
	if fs[2].Risk != nil {
		t.Errorf("unscored finding has risk %+v", fs[2].Risk)
	}
	// A nil risk clears the score.
	if err := db.SetRisk(ctx, "high", nil); err != nil {
		t.Fatal(err)
	}
	fs, _ = db.Findings(ctx, FindingFilter{OrderByRisk: true, Limit: 1})
	if fs[0].ID != "low" {
		t.Errorf("after clearing, first is %s", fs[0].ID)
	}
}

func riskTestIDs(fs []*finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}
