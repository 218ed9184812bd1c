package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func inventoryDB(t *testing.T, rs ...*inventory.Resource) (*store.DB, int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	id, err := db.CreateScan(ctx, "", "123456789012", "", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(id)
	for _, r := range rs {
		if err := w.PutResource(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return db, id
}

// The streamed outputs are valid documents, filter as asked, and a hostile name reaches neither
// a spreadsheet formula nor the terminal.
func TestPrintInventoryFormats(t *testing.T) {
	now := time.Now()
	db, id := inventoryDB(t,
		&inventory.Resource{ARN: "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1", Type: "AWS::EC2::SecurityGroup", AccountID: "111111111111",
			Region: "us-east-1", Name: "=HYPERLINK(\"http://evil\")", Tags: map[string]string{"env": "prod"}, Config: json.RawMessage(`{"GroupId":"sg-1"}`), CollectedAt: now},
		&inventory.Resource{ARN: "arn:aws:ec2:eu-west-1:222222222222:security-group/sg-2", Type: "AWS::EC2::SecurityGroup", AccountID: "222222222222",
			Region: "eu-west-1", Name: "db\x1b[31m", Tags: map[string]string{"env": "dev"}, Config: json.RawMessage(`{"GroupId":"sg-2"}`), CollectedAt: now},
		&inventory.Resource{ARN: "arn:aws:s3:::logs", Type: "AWS::S3::Bucket", AccountID: "111111111111", Region: "us-east-1", Name: "logs",
			Config: json.RawMessage(`{"Name":"logs"}`), CollectedAt: now},
	)
	ctx := context.Background()
	run := func(f store.ResourceFilter, format string) string {
		var b bytes.Buffer
		if err := printInventory(ctx, &b, db, id, f, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	var all []inventory.Resource
	if err := json.Unmarshal([]byte(run(store.ResourceFilter{}, report.FormatJSON)), &all); err != nil || len(all) != 3 {
		t.Fatalf("json: %d records, %v", len(all), err)
	}
	var none []inventory.Resource
	if out := run(store.ResourceFilter{Types: []string{"AWS::IAM::User"}}, report.FormatJSON); json.Unmarshal([]byte(out), &none) != nil || none == nil || len(none) != 0 {
		t.Errorf("an empty listing must be the empty array, got %q", out)
	}
	var prod []inventory.Resource
	json.Unmarshal([]byte(run(store.ResourceFilter{Tags: map[string]string{"env": "prod"}, Types: []string{"AWS::EC2::SecurityGroup"}}, report.FormatJSON)), &prod)
	if len(prod) != 1 || prod[0].ARN != "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1" || string(prod[0].Config) != `{"GroupId":"sg-1"}` {
		t.Errorf("tag filter: %+v", prod)
	}
	lines := strings.Split(strings.TrimSpace(run(store.ResourceFilter{Region: "eu-west-1"}, report.FormatJSONL)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"sg-2"`) {
		t.Errorf("jsonl region filter: %q", lines)
	}

	recs, err := csv.NewReader(strings.NewReader(run(store.ResourceFilter{AccountID: "111111111111"}, report.FormatCSV))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv: %v %v", recs, err)
	}
	for _, r := range recs[1:] {
		if strings.HasPrefix(r[3], "=") {
			t.Errorf("csv cell left as a formula: %q", r[3])
		}
	}
	if tbl := run(store.ResourceFilter{}, report.FormatTable); strings.Contains(tbl, "\x1b") || !strings.Contains(tbl, "TYPE") {
		t.Errorf("table not terminal-safe or headerless:\n%q", tbl)
	}

	var b bytes.Buffer
	if err := printCounts(ctx, &b, db, id, report.FormatTable); err != nil {
		t.Fatal(err)
	}
	// AWS::EC2::SecurityGroup row: 1 in each account, total 2; totals row 2 + 1 = 3.
	if !strings.Contains(b.String(), "AWS::EC2::SecurityGroup") || !strings.Contains(b.String(), "TOTAL") {
		t.Errorf("counts table:\n%s", b.String())
	}
	var sgRow, totalRow []string
	for _, l := range strings.Split(b.String(), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "AWS::EC2::SecurityGroup" {
			sgRow = f
		}
		if len(f) > 0 && f[0] == "TOTAL" && len(f) == 4 {
			totalRow = f
		}
	}
	if strings.Join(sgRow, " ") != "AWS::EC2::SecurityGroup 1 1 2" || strings.Join(totalRow, " ") != "TOTAL 2 1 3" {
		t.Errorf("counts: sg row %v, total row %v\n%s", sgRow, totalRow, b.String())
	}
}
