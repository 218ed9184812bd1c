package trail

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/yagura-dev/yagura/internal/awsx"
)

func TestAthenaDDL(t *testing.T) {
	ddl, err := AthenaTable{Name: "sec.cloudtrail", Bucket: "logs", Prefix: "org", OrgID: "o-abc123", Accounts: []string{"111111111111"}, Regions: []string{"us-east-1"},
		From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}.DDL()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS sec.cloudtrail (", "LOCATION 's3://logs/org/AWSLogs/o-abc123/'",
		"'storage.location.template' = 's3://logs/org/AWSLogs/o-abc123/${account}/CloudTrail/${region}/${dt}'",
		"'projection.account.values' = '111111111111'", "'projection.dt.range' = '2024/01/01,NOW'", "PARTITIONED BY (account STRING, region STRING, dt STRING)"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
	if _, err := (AthenaTable{Name: "x; DROP TABLE y", Bucket: "b"}).DDL(); err == nil {
		t.Error("table name injection accepted")
	}
	if _, err := (AthenaTable{Name: "t", Bucket: "b", Accounts: []string{"1' OR '1"}}).DDL(); err == nil {
		t.Error("account injection accepted")
	}
}

func TestAthenaSearchSQL(t *testing.T) {
	f := &Filter{EventNames: []string{"ConsoleLogin", "Get*"}, Principals: []string{"o'brien"}, SourceIPs: []string{"10.0.0.0/8", "203.0.113.7"}, ErrorCodes: []string{"AccessDenied"}}
	w := Window{Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Accounts: []string{"111111111111"}}
	q, err := SearchSQL("cloudtrail_logs", f, w, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dt >= '2026/03/01'", "eventtime >= '2026-03-01T00:00:00Z'", "(lower(account) = '111111111111')",
		"lower(eventname) LIKE 'get%' ESCAPE '\\'", "lower(eventname) = 'consolelogin'", "'o''brien'",
		"contains('10.0.0.0/8', TRY_CAST(sourceipaddress AS IPADDRESS))", "lower(sourceipaddress) = '203.0.113.7'", "LIMIT 10;"} {
		if !strings.Contains(q, want) {
			t.Errorf("SQL lacks %q:\n%s", want, q)
		}
	}
	c, err := CountSQL("cloudtrail_logs", f, w, "userIdentity.arn")
	if err != nil || !strings.Contains(c, "SELECT useridentity.arn AS value, count(*) AS events") || !strings.Contains(c, "GROUP BY 1") || strings.Contains(c, "LIMIT") {
		t.Errorf("count SQL %v:\n%s", err, c)
	}
	if _, err := SearchSQL("t", &Filter{SourceIPs: []string{"10.0.0.0/99"}}, Window{}, 0); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func TestAthenaRuleSQL(t *testing.T) {
	rules, _, err := BuiltinRules(Placeholders{"org_accounts": {"111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	translated := 0
	for _, r := range rules {
		q, err := RuleSQL("cloudtrail_logs", r, Window{})
		if err != nil {
			if !strings.Contains(err.Error(), "array") {
				t.Errorf("%s: %v", r.Name, err)
			}
			continue
		}
		translated++
		if strings.Count(q, "(") != strings.Count(q, ")") {
			t.Errorf("%s: unbalanced SQL\n%s", r.Name, q)
		}
		switch r.Name {
		case "cloudtrail_stopped_or_deleted":
			if !strings.Contains(q, "lower(eventname) = 'stoplogging'") {
				t.Errorf("%s:\n%s", r.Name, q)
			}
		case "access_denied_burst":
			if !strings.Contains(q, "HAVING count(*) > 20") || !strings.Contains(q, "/ 600) * 600") {
				t.Errorf("%s:\n%s", r.Name, q)
			}
		case "root_account_usage":
			if !strings.Contains(q, "NOT COALESCE(") {
				t.Errorf("%s:\n%s", r.Name, q)
			}
		}
	}
	if translated < 12 {
		t.Errorf("only %d of %d built-in rules translated", translated, len(rules))
	}
}

// TestAthenaRunAgainstMoto submits a query to moto's Athena and reads the results moto was
// told to return (POST /moto-api/static/athena/query-results).
func TestAthenaRunAgainstMoto(t *testing.T) {
	motoURL := startMoto(t)
	seed := map[string]any{"account_id": "123456789012", "region": "us-east-1", "results": []any{map[string]any{
		"rows": []any{
			map[string]any{"Data": []any{map[string]string{"VarCharValue": "value"}, map[string]string{"VarCharValue": "events"}}},
			map[string]any{"Data": []any{map[string]string{"VarCharValue": "arn:aws:iam::111111111111:user/alice"}, map[string]string{"VarCharValue": "42"}}},
			map[string]any{"Data": []any{map[string]string{"VarCharValue": "arn:aws:iam::111111111111:user/bob"}, map[string]string{"VarCharValue": "7"}}},
		},
		"column_info": []any{map[string]any{"Name": "value", "Type": "varchar"}, map[string]any{"Name": "events", "Type": "bigint"}},
	}}}
	body, _ := json.Marshal(seed)
	resp, err := http.Post(motoURL+"/moto-api/static/athena/query-results", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("seed: %s", resp.Status)
	}
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: motoURL})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := CountSQL("cloudtrail_logs", &Filter{ErrorCodes: []string{"AccessDenied"}}, Window{}, "userIdentity.arn")
	res, err := RunQuery(ctx, athena.NewFromConfig(cfg), q, "primary", "s3://athena-results/", "default", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || strings.Join(res.Columns, ",") != "value,events" || len(res.Rows) != 2 || res.Rows[0][1] != "42" || res.Rows[1][0] != "arn:aws:iam::111111111111:user/bob" {
		t.Fatalf("results %+v", res)
	}
}
