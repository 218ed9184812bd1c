package inspector2_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/inspector2"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// i2Seed queues one ListFindings result in moto (its findings-seeding API); moto hands it to the
// first ListFindings request and repeats it for identical requests.
func i2Seed(t *testing.T, srv *mototest.Server, account, region string, findings []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"account_id": account, "region": region, "results": [][]map[string]any{findings}})
	resp, err := http.Post(srv.URL+"/moto-api/static/inspector2/findings-results", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("seeding inspector2 findings: %s", resp.Status)
	}
}

// i2Samples are the wire-format samples of internal/native/testdata, rewritten into account.
func i2Samples(t *testing.T, account string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../native/testdata/inspector.json")
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Findings []map[string]any }
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "111122223333", account)), &out); err != nil {
		t.Fatal(err)
	}
	return out.Findings
}

func TestInspectorFindingsFromMoto(t *testing.T) {
	srv := mototest.New(t)
	const account = "123456789012"
	cfg := srv.Config(t, "us-east-1")
	i2Seed(t, srv, account, "us-east-1", i2Samples(t, account))
	sink, err := collecttest.Run(t, "inspector2.findings", cfg, account, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 4 {
		t.Fatalf("%d findings, want 4", len(sink.Findings))
	}
	byType := map[string]*finding.Finding{}
	for _, f := range sink.Findings {
		if f.Source != "inspector2" || f.AccountID != account || f.Region != "us-east-1" || f.Status != finding.Fail {
			t.Errorf("finding %+v", f)
		}
		byType[f.ResourceType+" "+f.CheckID] = f
	}
	ec2 := byType["AWS::EC2::Instance PACKAGE_VULNERABILITY"]
	if ec2 == nil || ec2.ResourceARN != "arn:aws:ec2:us-east-1:"+account+":instance/i-0abcdef1234567890" || ec2.Severity != finding.High {
		t.Fatalf("EC2 package vulnerability: %+v", ec2)
	}
	var ev map[string]any
	if err := json.Unmarshal(ec2.Evidence, &ev); err != nil || ev["exploitAvailable"] != "YES" || ev["epss"] != 0.42 {
		t.Errorf("evidence %s", ec2.Evidence)
	}
	if ecr := byType["AWS::ECR::Repository PACKAGE_VULNERABILITY"]; ecr == nil || ecr.ResourceARN != "arn:aws:ecr:us-east-1:"+account+":repository/web/api" {
		t.Errorf("ECR image: %+v", ecr)
	}
	if fn := byType["AWS::Lambda::Function CODE_VULNERABILITY"]; fn == nil || fn.ResourceARN != "arn:aws:lambda:us-east-1:"+account+":function:orders" {
		t.Errorf("Lambda code vulnerability: %+v", fn)
	}
	if nr := byType["AWS::EC2::Instance NETWORK_REACHABILITY"]; nr == nil {
		t.Errorf("network reachability finding missing")
	}
}
