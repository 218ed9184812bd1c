package trail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func records(t testing.TB, recs ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, root, key string, data []byte) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func logKey(acct, region string, ts time.Time, uniq string) string {
	return "AWSLogs/o-abc123/" + acct + "/CloudTrail/" + region + "/" + ts.Format("2006/01/02") + "/" +
		acct + "_CloudTrail_" + region + "_" + ts.Format("20060102T1504Z") + "_" + uniq + ".json.gz"
}

func ev(name, source, acct, region string, ts time.Time, extra map[string]any) map[string]any {
	m := map[string]any{
		"eventVersion": "1.08", "eventName": name, "eventSource": source,
		"eventTime": ts.UTC().Format(time.RFC3339), "awsRegion": region, "recipientAccountId": acct,
		"sourceIPAddress": "198.51.100.7",
		"userIdentity":    map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::" + acct + ":user/alice", "accountId": acct, "accessKeyId": "AKIAEXAMPLE"},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func collect(t *testing.T, r *Reader) ([]string, *Stats) {
	t.Helper()
	var mu sync.Mutex
	var names []string
	st, err := r.Run(context.Background(), func(e *Event) error {
		mu.Lock()
		names = append(names, e.EventName+"@"+e.Account+"/"+e.Region)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names, st
}

func TestDecoderFlattensArraysElementWise(t *testing.T) {
	data := []byte(`{"Records":[{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"},{"cidrIp":"0.0.0.0/0"}]}}]}},"n":12,"b":true,"z":null,"esc":"a\"b\u00e9\ud83d\ude00"}]}`)
	d := newDecoder()
	var got []Field
	_, err := d.decodeFile(data, "k", func(e *Event) error {
		for _, f := range e.Fields {
			got = append(got, Field{Path: strings.Clone(f.Path), Value: strings.Clone(f.Value), Kind: f.Kind})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{"eventName", "AuthorizeSecurityGroupIngress", KindString},
		{"requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "10.0.0.0/8", KindString},
		{"requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "0.0.0.0/0", KindString},
		{"n", "12", KindNumber}, {"b", "true", KindBool}, {"z", "", KindNull},
		{"esc", "a\"bé😀", KindString},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

func TestReaderDirSkipsMalformed(t *testing.T) {
	root := t.TempDir()
	day := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	a, b := "111111111111", "222222222222"
	writeFile(t, root, logKey(a, "us-east-1", day, "good1"), gz(t, records(t,
		ev("GetObject", "s3.amazonaws.com", a, "us-east-1", day, nil),
		ev("PutObject", "s3.amazonaws.com", a, "us-east-1", day, nil))))
	writeFile(t, root, logKey(b, "eu-west-1", day, "good2"), records(t, ev("ListUsers", "iam.amazonaws.com", b, "eu-west-1", day, nil))) // plain JSON
	full := gz(t, records(t, ev("X", "s", a, "us-east-1", day, nil)))
	writeFile(t, root, logKey(a, "us-east-1", day, "trunc"), full[:len(full)/2])
	writeFile(t, root, logKey(a, "us-east-1", day, "badjson"), gz(t, []byte(`{"Records":[{"eventName":`)))
	writeFile(t, root, logKey(a, "us-east-1", day, "shape"), gz(t, []byte(`{"foo":[]}`)))
	writeFile(t, root, logKey(a, "us-east-1", day, "arr"), gz(t, []byte(`[1,2]`)))
	writeFile(t, root, logKey(a, "us-east-1", day, "ctrl"), gz(t, []byte("{\"Records\":[{\"eventName\":\"a\x1b[2Jb\"}]}")))
	// outside the window by date
	writeFile(t, root, logKey(a, "us-east-1", day.AddDate(0, 0, -3), "old"), gz(t, records(t, ev("Old", "s", a, "us-east-1", day.AddDate(0, 0, -3), nil))))

	r := &Reader{Source: &DirSource{Roots: []string{root}}, Window: Window{Since: day.Add(-time.Hour), Until: day.Add(time.Hour)}}
	names, st := collect(t, r)
	if len(names) != 3 {
		t.Errorf("events %v", names)
	}
	if len(st.Bad) != 5 {
		t.Fatalf("bad objects %+v", st.Bad)
	}
	for _, bo := range st.Bad {
		if !strings.Contains(bo.Key, "trunc") && !strings.Contains(bo.Key, "badjson") && !strings.Contains(bo.Key, "shape") && !strings.Contains(bo.Key, "arr") && !strings.Contains(bo.Key, "ctrl") {
			t.Errorf("unexpected bad %v", bo)
		}
	}
	// account and region filters
	r.Window.Accounts = []string{b}
	names, _ = collect(t, r)
	if len(names) != 1 || names[0] != "ListUsers@222222222222/eu-west-1" {
		t.Errorf("account filter: %v", names)
	}
}

func TestGunzipMembersHeadersAndTrailer(t *testing.T) {
	var buf bytes.Buffer
	for i, part := range []string{`{"Records":[{"eventName":"A"},`, `{"eventName":"B"}]}`} {
		w := gzip.NewWriter(&buf)
		if i == 0 {
			w.Header.Name = "part0.json"
			w.Header.Comment = "first"
			w.Header.Extra = []byte("xx")
		}
		w.Write([]byte(part))
		w.Close()
	}
	var g gunzipper
	var out bytes.Buffer
	if err := g.inflate(bufio.NewReader(bytes.NewReader(buf.Bytes())), &out, 1<<20); err != nil {
		t.Fatal(err)
	}
	if out.String() != `{"Records":[{"eventName":"A"},{"eventName":"B"}]}` {
		t.Fatalf("got %q", out.String())
	}
	bad := append([]byte(nil), buf.Bytes()...)
	bad[len(bad)-1] ^= 0xff // length in the last trailer
	out.Reset()
	if err := g.inflate(bufio.NewReader(bytes.NewReader(bad)), &out, 1<<20); err == nil {
		t.Error("corrupt trailer accepted")
	}
	out.Reset()
	if err := g.inflate(bufio.NewReader(bytes.NewReader(buf.Bytes()[:buf.Len()-5])), &out, 1<<20); err == nil {
		t.Error("truncated stream accepted")
	}
	out.Reset()
	if err := g.inflate(bufio.NewReader(bytes.NewReader(buf.Bytes())), &out, 10); err == nil {
		t.Error("size limit ignored")
	}
}
