package store

import (
	"encoding/json"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func bucketShared(analyzer string, sev finding.Severity) *finding.Finding {
	ev, _ := json.Marshal(map[string]any{"id": "x", "origins": []string{analyzer}})
	return &finding.Finding{ID: "aa1", CheckID: "ExternalAccess", Source: "accessanalyzer", Sources: []string{"accessanalyzer"},
		Status: finding.Fail, Severity: sev, AccountID: "222222222222", Region: "us-east-1", ResourceARN: "arn:aws:s3:::reports",
		Evidence: ev, Collector: "accessanalyzer.findings|222222222222|us-east-1"}
}

func origins(t *testing.T, f *finding.Finding) []string {
	t.Helper()
	var ev struct{ Origins []string }
	if err := json.Unmarshal(f.Evidence, &ev); err != nil {
		t.Fatalf("evidence %s: %v", f.Evidence, err)
	}
	return ev.Origins
}

// Two analyzers reporting one finding in a scan leave one finding naming both; the next scan's
// report replaces the origins instead of piling them up.
func TestMergedFindingUnitesOrigins(t *testing.T) {
	db := testDB(t)
	s1 := newScan(t, db)
	put(t, db, s1, bucketShared("arn:org", finding.Critical), bucketShared("arn:acct", finding.High))
	f := get(t, db, "aa1")
	if o := origins(t, f); len(o) != 2 || o[0] != "arn:acct" || o[1] != "arn:org" {
		t.Fatalf("origins %v, want both analyzers", o)
	}
	if f.Severity != finding.Critical {
		t.Errorf("severity %s", f.Severity)
	}
	s2 := newScan(t, db)
	put(t, db, s2, bucketShared("arn:acct", finding.High))
	if o := origins(t, get(t, db, "aa1")); len(o) != 1 || o[0] != "arn:acct" {
		t.Fatalf("origins in the next scan %v, want only the analyzer that still reports it", o)
	}
}

func TestMergeOriginsLeavesOtherEvidenceAlone(t *testing.T) {
	for _, c := range []struct{ prev, next, want string }{
		{`{"a":1}`, `{"b":2}`, `{"b":2}`},
		{`null`, `{"origins":["x"]}`, `{"origins":["x"]}`},
		{`{"origins":["x"]}`, `null`, `null`},
		{`{"origins":["x"]}`, `{"b":2}`, `{"b":2,"origins":["x"]}`},
	} {
		if got := mergeOrigins(c.prev, c.next); got != c.want {
			t.Errorf("mergeOrigins(%s, %s) = %s, want %s", c.prev, c.next, got, c.want)
		}
	}
}

// A copy Security Hub relayed does not replace the copy read from the service directly, in
// whichever order the two tasks finish; sources, severity and origins still merge.
func TestRelayedCopyDoesNotReplaceTheDirectOne(t *testing.T) {
	direct := func() *finding.Finding {
		f := bucketShared("arn:org", finding.High)
		f.ResourceARN, f.Title = "arn:aws:iam::222222222222:user/ops/bob", "direct"
		f.Evidence = json.RawMessage(`{"principal":{"AWS":"444455556666"},"origins":["arn:org"]}`)
		return f
	}
	relayed := func() *finding.Finding {
		f := bucketShared("arn:acct", finding.Low)
		f.Sources = []string{"accessanalyzer", "securityhub"}
		f.ResourceARN, f.Title, f.Collector = "AWS::IAM::AccessKey:AKIA1", "relayed", "securityhub.findings|111111111111|us-east-1"
		f.Evidence = json.RawMessage(`{"Id":"x","origins":["arn:acct"]}`)
		return f
	}
	for _, order := range [][]*finding.Finding{{direct(), relayed()}, {relayed(), direct()}} {
		db := testDB(t)
		put(t, db, newScan(t, db), order...)
		f := get(t, db, "aa1")
		if f.Title != "direct" || f.ResourceARN != "arn:aws:iam::222222222222:user/ops/bob" || f.Collector != "accessanalyzer.findings|222222222222|us-east-1" {
			t.Errorf("first %q: title %q resource %s collector %s", order[0].Title, f.Title, f.ResourceARN, f.Collector)
		}
		var ev struct {
			Principal map[string]string
			Origins   []string
		}
		_ = json.Unmarshal(f.Evidence, &ev)
		if ev.Principal["AWS"] != "444455556666" || len(ev.Origins) != 2 {
			t.Errorf("first %q: evidence %s", order[0].Title, f.Evidence)
		}
		if len(f.Sources) != 2 || f.Severity != finding.High {
			t.Errorf("first %q: sources %v severity %s", order[0].Title, f.Sources, f.Severity)
		}
	}
}

// Two copies of a Config finding (read in the account and through the aggregator), one of which
// could not resolve its resource: the merged finding keeps the resolved ARN.
func TestMergeKeepsTheResolvedResource(t *testing.T) {
	resolved := func() *finding.Finding {
		f := bucketShared("a", finding.Medium)
		f.Source, f.Sources, f.ResourceARN = "config", []string{"config"}, "arn:aws:iam::222222222222:user/ops/bob"
		f.Evidence = json.RawMessage(`{"resourceId":"AIDA1"}`)
		return f
	}
	unresolved := func() *finding.Finding {
		f := resolved()
		f.ResourceARN = "AIDA1"
		f.Evidence = json.RawMessage(`{"resourceId":"AIDA1","unmatchedResource":"lookup denied"}`)
		return f
	}
	for i, order := range [][]*finding.Finding{{resolved(), unresolved()}, {unresolved(), resolved()}} {
		db := testDB(t)
		put(t, db, newScan(t, db), order...)
		f := get(t, db, "aa1")
		if f.ResourceARN != "arn:aws:iam::222222222222:user/ops/bob" || string(f.Evidence) != `{"resourceId":"AIDA1"}` {
			t.Errorf("order %d: resource %s evidence %s", i, f.ResourceARN, f.Evidence)
		}
	}
}
