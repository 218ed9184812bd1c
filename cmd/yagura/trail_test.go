package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/store"
)

// trailRun runs the CLI with args and returns what it printed on stdout.
func trailRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	old := os.Stdout
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	cmd := newRootCmd()
	cmd.SetArgs(args)
	runErr := cmd.Execute()
	w.Close()
	os.Stdout = old
	return <-done, runErr
}

func trailArchive(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(key, body string, zip bool) {
		p := filepath.Join(dir, filepath.FromSlash(key))
		os.MkdirAll(filepath.Dir(p), 0o755)
		data := []byte(body)
		if zip {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			data = b.Bytes()
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "AWSLogs/o-abc123/111111111111/CloudTrail/us-east-1/2026/03/04/111111111111_CloudTrail_us-east-1_20260304T1005Z_"
	write(base+"a.json.gz", `{"Records":[
{"eventTime":"2026-03-04T10:00:00Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","sourceIPAddress":"203.0.113.9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/mallory","accessKeyId":"AKIAMALLORY"}},
{"eventTime":"2026-03-04T10:01:00Z","eventName":"AssumeRole","eventSource":"sts.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","sourceIPAddress":"198.51.100.1","userIdentity":{"type":"AWSAccount","accountId":"999999999999","principalId":"AIDAOUTSIDER"}},
{"eventTime":"2026-03-04T10:02:00Z","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","sourceIPAddress":"203.0.113.10","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/mallory","accessKeyId":"AKIAMALLORY"}}]}`, true)
	write(base+"b.json", `{"Records":[{"eventTime":"2026-03-04T10:03:00Z","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/alice"}}]}`, false)
	write(base+"c.json.gz", `{"Records":[{"eventName":`, true) // truncated JSON
	return dir
}

func TestTrailHuntCLI(t *testing.T) {
	dir := trailArchive(t)
	rules := t.TempDir()
	os.WriteFile(filepath.Join(rules, "mine.yml"), []byte("title: Bucket listing by mallory\nid: mine-1\nlevel: low\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: ListBuckets\n    userIdentity.arn|endswith: /mallory\n  condition: sel\n"), 0o644)
	os.WriteFile(filepath.Join(rules, "bad.yml"), []byte("title: b\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName|windash: x\n  condition: sel\n"), 0o644)
	out, err := trailRun(t, "trail", "hunt", "--dir", dir, "--since", "2026-03-04", "--until", "2026-03-05", "--accounts", "111111111111", "--rules", rules, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Alerts []struct {
			Rule, Level, Principal string
			Count                  int
			Events                 []json.RawMessage
		}
		RulesNotEvaluated []struct{ File, Reason string } `json:"rules_not_evaluated"`
		Stats             struct {
			Records    int
			BadObjects []struct{ Key string } `json:"bad_objects"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, a := range res.Alerts {
		got[a.Rule] = true
		if len(a.Events) != a.Count {
			t.Errorf("%s: %d events for count %d", a.Rule, len(a.Events), a.Count)
		}
	}
	for _, want := range []string{"cloudtrail_stopped_or_deleted", "role_assumed_from_unknown_account", "mine"} {
		if !got[want] {
			t.Errorf("missing alert %s in %v", want, got)
		}
	}
	if len(res.Alerts) != 3 {
		t.Errorf("alerts: %+v", res.Alerts)
	}
	if len(res.RulesNotEvaluated) != 1 || !strings.Contains(res.RulesNotEvaluated[0].Reason, "windash") {
		t.Errorf("not evaluated: %+v", res.RulesNotEvaluated)
	}
	if len(res.Stats.BadObjects) != 1 || !strings.HasSuffix(res.Stats.BadObjects[0].Key, "_c.json.gz") || res.Stats.Records != 4 {
		t.Errorf("stats: %+v", res.Stats)
	}
}

func TestTrailSearchCLI(t *testing.T) {
	dir := trailArchive(t)
	out, err := trailRun(t, "trail", "search", "--dir", dir, "--since", "2026-03-04", "--source-ip", "203.0.113.0/24", "--access-key", "AKIAMALLORY", "--format", "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev struct{ EventName string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		names = append(names, ev.EventName)
	}
	if len(names) != 2 {
		t.Errorf("got %v", names)
	}
	out, err = trailRun(t, "trail", "search", "--dir", dir, "--since", "2026-03-04", "--count-by", "eventName", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var counts []struct {
		Value string
		Count int
	}
	if err := json.Unmarshal([]byte(out), &counts); err != nil || len(counts) != 3 || counts[0].Value != "ListBuckets" || counts[0].Count != 2 {
		t.Errorf("counts %v %s", err, out)
	}
	out, err = trailRun(t, "trail", "search", "--dir", dir, "--since", "2026-03-04", "--principal", "*mallory", "--format", "table")
	if err != nil || strings.Count(out, "mallory") != 2 {
		t.Errorf("table %v:\n%s", err, out)
	}
}

func TestTrailVerifyNeedsBucket(t *testing.T) {
	_, err := trailRun(t, "trail", "verify", "--dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "metadata") {
		t.Errorf("got %v", err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		t.Errorf("usage problem reported as invalid archive")
	}
}

func TestTrailAthenaCLI(t *testing.T) {
	out, err := trailRun(t, "trail", "athena", "search", "--event-name", "ConsoleLogin", "--since", "2026-03-01", "--format", "table")
	if err != nil || !strings.Contains(out, "lower(eventname) = 'consolelogin'") || !strings.Contains(out, "dt >= '2026/03/01'") {
		t.Errorf("%v\n%s", err, out)
	}
	out, err = trailRun(t, "trail", "athena", "table", "--bucket", "logs", "--org-id", "o-abc123", "--format", "table")
	if err != nil || !strings.Contains(out, "'storage.location.template' = 's3://logs/AWSLogs/o-abc123/${account}/CloudTrail/${region}/${dt}'") {
		t.Errorf("%v\n%s", err, out)
	}
}

func TestTrailHuntSave(t *testing.T) {
	dir := trailArchive(t)
	db := filepath.Join(t.TempDir(), "y.db")
	if _, err := trailRun(t, "--db", db, "trail", "hunt", "--dir", dir, "--since", "2026-03-04", "--accounts", "111111111111", "--save", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs, err := st.Findings(context.Background(), store.FindingFilter{Sources: []string{"cloudtrail"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("saved %d findings, want 2", len(fs))
	}
	for _, f := range fs {
		if f.Status != finding.Fail || f.AccountID != "111111111111" || !strings.HasPrefix(f.CheckID, "trail:") || len(f.Evidence) == 0 {
			t.Errorf("finding %+v", f)
		}
	}
	// Saving the same hunt again updates, not duplicates.
	if _, err := trailRun(t, "--db", db, "trail", "hunt", "--dir", dir, "--since", "2026-03-04", "--accounts", "111111111111", "--save", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountFindings(context.Background(), store.FindingFilter{Sources: []string{"cloudtrail"}}); n != 2 {
		t.Errorf("after a second save: %d findings", n)
	}
}
