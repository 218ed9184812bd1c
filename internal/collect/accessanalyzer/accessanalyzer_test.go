package accessanalyzer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	_ "github.com/yagura-dev/yagura/internal/collect/accessanalyzer"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

// signedRegion reads the region from the request's SigV4 credential scope.
func signedRegion(r *http.Request) string {
	scope := r.Header.Get("Authorization")
	if i := strings.Index(scope, "Credential="); i >= 0 {
		if parts := strings.Split(scope[i:], "/"); len(parts) > 2 {
			return parts[2]
		}
	}
	return ""
}

// analyzerAPI answers ListAnalyzers (GET /analyzer) in Access Analyzer's REST-JSON wire format,
// as moto has no Access Analyzer: us-east-1 holds three analyzers over two pages, eu-west-1 none.
type analyzerAPI struct {
	mu     sync.Mutex
	tokens []string // nextToken of each request, in order
}

func (a *analyzerAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/analyzer" {
		http.NotFound(w, r)
		return
	}
	token := r.URL.Query().Get("nextToken")
	a.mu.Lock()
	a.tokens = append(a.tokens, token)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if signedRegion(r) != "us-east-1" {
		w.Write([]byte(`{"analyzers":[]}`))
		return
	}
	switch token {
	case "":
		w.Write([]byte(`{"analyzers":[
{"arn":"arn:aws:access-analyzer:us-east-1:` + mgmt + `:analyzer/org-analyzer","name":"org-analyzer","type":"ORGANIZATION","createdAt":"2024-05-01T10:00:00Z","lastResourceAnalyzed":"arn:aws:s3:::logs","lastResourceAnalyzedAt":"2024-05-02T10:00:00Z","status":"ACTIVE","tags":{"owner":"security"}},
{"arn":"arn:aws:access-analyzer:us-east-1:` + mgmt + `:analyzer/unused","name":"unused","type":"ACCOUNT_UNUSED_ACCESS","createdAt":"2024-05-01T10:00:00Z","status":"ACTIVE","configuration":{"unusedAccess":{"unusedAccessAge":90}}}
],"nextToken":"page-2"}`))
	case "page-2":
		w.Write([]byte(`{"analyzers":[{"arn":"arn:aws:access-analyzer:us-east-1:` + mgmt + `:analyzer/broken","name":"broken","type":"ACCOUNT","createdAt":"2024-05-01T10:00:00Z","status":"FAILED","statusReason":{"code":"SERVICE_LINKED_ROLE_CREATION_FAILED"}}]}`))
	default:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"message":"bad token"}`))
	}
}

func TestAccessAnalyzer(t *testing.T) {
	mototest.SetTestEnv(t)
	api := &analyzerAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	sink, err := collecttest.Run(t, "accessanalyzer.analyzers", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(api.tokens, ",") != ",page-2" {
		t.Errorf("requests' nextTokens = %q", api.tokens)
	}
	if n := len(sink.ByType("AWS::AccessAnalyzer::Analyzer")); n != 3 {
		t.Fatalf("%d analyzers: %+v", n, sink.Resources)
	}
	org := sink.ByARN("arn:aws:access-analyzer:us-east-1:" + mgmt + ":analyzer/org-analyzer")
	if org == nil || org.Name != "org-analyzer" || org.AccountID != mgmt || org.Region != "us-east-1" || org.Tags["owner"] != "security" {
		t.Fatalf("org analyzer = %+v", org)
	}
	var c map[string]any
	json.Unmarshal(org.Config, &c)
	if c["Type"] != "ORGANIZATION" || c["Status"] != "ACTIVE" || c["LastResourceAnalyzed"] != "arn:aws:s3:::logs" {
		t.Errorf("org analyzer config = %v", c)
	}
	broken := sink.ByARN("arn:aws:access-analyzer:us-east-1:" + mgmt + ":analyzer/broken")
	json.Unmarshal(broken.Config, &c)
	if c["Status"] != "FAILED" || c["StatusReason"].(map[string]any)["Code"] != "SERVICE_LINKED_ROLE_CREATION_FAILED" {
		t.Errorf("broken analyzer config = %v", c)
	}
	st := sink.ByARN("arn:aws:access-analyzer:us-east-1:" + mgmt + ":analyzer-status")
	if st == nil || st.Type != "AWS::AccessAnalyzer::AccountStatus" {
		t.Fatalf("status missing: %+v", sink.Resources)
	}
	var s struct {
		Enabled      bool
		AnalyzerArns []string
	}
	json.Unmarshal(st.Config, &s)
	if !s.Enabled || len(s.AnalyzerArns) != 3 {
		t.Errorf("status = %s", st.Config)
	}

	// The AWS CLI reads the same stub the same way, which checks the stub's wire format too.
	if _, err := exec.LookPath("aws"); err == nil {
		out, err := exec.Command("aws", "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json",
			"accessanalyzer", "list-analyzers").Output()
		if err != nil {
			t.Fatalf("aws accessanalyzer list-analyzers: %v", err)
		}
		var cli struct {
			Analyzers []struct{ Arn, Type, Status string }
		}
		if err := json.Unmarshal(out, &cli); err != nil {
			t.Fatal(err)
		}
		if len(cli.Analyzers) != 3 {
			t.Fatalf("CLI sees %d analyzers", len(cli.Analyzers))
		}
		for _, a := range cli.Analyzers {
			r := sink.ByARN(a.Arn)
			if r == nil {
				t.Errorf("CLI analyzer %s not collected", a.Arn)
				continue
			}
			var got struct{ Type, Status string }
			json.Unmarshal(r.Config, &got)
			if got.Type != a.Type || got.Status != a.Status {
				t.Errorf("%s: yagura %+v, CLI %+v", a.Arn, got, a)
			}
		}
	}

	eu, err := collecttest.Run(t, "accessanalyzer.analyzers", cfg, mgmt, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(eu.Resources) != 1 || eu.Resources[0].ARN != "arn:aws:access-analyzer:eu-west-1:"+mgmt+":analyzer-status" || string(eu.Resources[0].Config) != `{"Enabled":false,"AnalyzerArns":[]}` {
		t.Errorf("eu-west-1 = %+v", eu.Resources)
	}
}

// Only an active external-access analyzer counts: an unused-access analyzer does not find public
// resources.
func TestAccessAnalyzerUnusedOnly(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"analyzers":[{"arn":"arn:aws:access-analyzer:us-east-1:` + mgmt + `:analyzer/unused","name":"unused","type":"ACCOUNT_UNUSED_ACCESS","createdAt":"2024-05-01T10:00:00Z","status":"ACTIVE"}]}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "accessanalyzer.analyzers", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	st := sink.ByType("AWS::AccessAnalyzer::AccountStatus")
	if len(st) != 1 || !strings.HasPrefix(string(st[0].Config), `{"Enabled":false,`) {
		t.Errorf("status = %+v", st)
	}
}

func TestAccessAnalyzerDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"User: arn:aws:sts::123456789012:assumed-role/yagura-audit/s is not authorized to perform: access-analyzer:ListAnalyzers"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "accessanalyzer.analyzers", cfg, mgmt, "us-east-1")
	if outcome, reason := awsx.Classify(err); outcome != awsx.OutcomeDenied || !strings.Contains(reason, "AccessDeniedException") || len(sink.Resources) != 0 {
		t.Errorf("outcome %q %q (err %v), %d resources", outcome, reason, err, len(sink.Resources))
	}
}
