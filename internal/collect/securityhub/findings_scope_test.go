package securityhub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// hubServer answers Security Hub's REST-JSON API for one account: its finding aggregator (in
// us-east-1, linking eu-west-1), its administrator, and two pages of findings.
func hubServer(t *testing.T, admin string, aggregator bool) (*nativetest.Server, func(region string) *collecttest.Sink, func(region string, org []string) (*collecttest.Sink, error)) {
	t.Helper()
	b, err := os.ReadFile("../../native/testdata/asff.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample struct{ Findings []json.RawMessage }
	if err := json.Unmarshal(b, &sample); err != nil {
		t.Fatal(err)
	}
	const aggARN = "arn:aws:securityhub:us-east-1:111122223333:finding-aggregator/123e4567-e89b-12d3-a456-426652340000"
	srv, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case r.Path == "/findingAggregator/list":
			if !aggregator {
				nativetest.JSON(w, `{"FindingAggregators":[]}`)
				return
			}
			nativetest.JSON(w, `{"FindingAggregators":[{"FindingAggregatorArn":"`+aggARN+`"}]}`)
		case strings.HasPrefix(r.Path, "/findingAggregator/get/"):
			nativetest.JSON(w, `{"FindingAggregationRegion":"us-east-1","FindingAggregatorArn":"`+aggARN+`","RegionLinkingMode":"SPECIFIED_REGIONS","Regions":["eu-west-1"]}`)
		case r.Path == "/administrator":
			if admin == "" {
				nativetest.JSON(w, `{}`)
				return
			}
			nativetest.JSON(w, `{"Administrator":{"AccountId":"`+admin+`","InvitationId":"abc","InvitedAt":"2026-01-01T00:00:00Z","MemberStatus":"Enabled"}}`)
		case r.Path == "/findings" && r.Method == "POST":
			filters, _ := r.Body["Filters"].(map[string]any)
			if rs, _ := filters["RecordState"].([]any); len(rs) != 1 || rs[0].(map[string]any)["Value"] != "ACTIVE" {
				t.Errorf("GetFindings without the ACTIVE record state filter: %v", r.Body)
			}
			if r.Body["NextToken"] == "p2" {
				nativetest.JSON(w, `{"Findings":[`+string(sample.Findings[3])+`,`+string(sample.Findings[4])+`]}`)
				return
			}
			nativetest.JSON(w, `{"Findings":[`+string(sample.Findings[0])+`,`+string(sample.Findings[1])+`,`+string(sample.Findings[2])+`],"NextToken":"p2"}`)
		default:
			nativetest.Error(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.Path)
		}
	})
	run := func(region string, org []string) (*collecttest.Sink, error) {
		var col *collect.Collector
		for _, c := range collect.All() {
			if c.Name == "securityhub.findings" {
				col = c
			}
		}
		c := cfg.Copy()
		c.Region = region
		sink := &collecttest.Sink{}
		err := col.Run(context.Background(), &collect.Target{AccountID: "111122223333", Region: region, Partition: "aws", Config: c, OrgAccounts: org}, sink)
		return sink, err
	}
	must := func(region string) *collecttest.Sink {
		s, err := run(region, []string{"111122223333", "999988887777"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return srv, must, run
}

func getFindingsCalls(srv *nativetest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Path == "/findings" {
			n++
		}
	}
	return n
}

// With a finding aggregator, the aggregation region reads everything (two pages) and a linked
// region reads nothing; an unlinked region reads its own.
func TestSecurityHubFindingsAggregationRegion(t *testing.T) {
	srv, run, _ := hubServer(t, "", true)
	if s := run("us-east-1"); len(s.Findings) != 5 || getFindingsCalls(srv) != 2 {
		t.Errorf("aggregation region: %d findings in %d calls, want 5 in 2", len(s.Findings), getFindingsCalls(srv))
	}
	if s := run("eu-west-1"); len(s.Findings) != 0 || getFindingsCalls(srv) != 2 {
		t.Errorf("linked region read again: %d findings, %d calls", len(s.Findings), getFindingsCalls(srv))
	}
	if s := run("ap-southeast-2"); len(s.Findings) != 5 {
		t.Errorf("unlinked region: %d findings", len(s.Findings))
	}
}

// A member of a Security Hub administrator inside the organization leaves its findings to the
// administrator's tasks; with an administrator outside the organization it reads its own.
func TestSecurityHubFindingsMemberOfAdministrator(t *testing.T) {
	srv, _, run := hubServer(t, "999988887777", false)
	s, err := run("us-east-1", []string{"111122223333", "999988887777"})
	if err != nil || len(s.Findings) != 0 || getFindingsCalls(srv) != 0 {
		t.Errorf("member read its findings itself: %v %d findings", err, len(s.Findings))
	}
	s, err = run("us-east-1", []string{"111122223333"})
	if err != nil || len(s.Findings) != 5 {
		t.Errorf("administrator outside the organization: %v %d findings", err, len(s.Findings))
	}
}

// Security Hub not enabled answers InvalidAccessException: coverage skipped.
func TestSecurityHubFindingsNotSubscribed(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		nativetest.Error(w, 401, "InvalidAccessException", "Account 111122223333 is not subscribed to AWS Security Hub")
	})
	_, err := collecttest.Run(t, "securityhub.findings", cfg, "111122223333", "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeSkipped {
		t.Fatalf("outcome %s (%v), want skipped", outcome, err)
	}
}

// A role without securityhub:GetFindings: coverage denied, not an empty result.
func TestSecurityHubFindingsDenied(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		nativetest.Error(w, http.StatusForbidden, "AccessDeniedException", "User is not authorized to perform: securityhub:"+strings.TrimPrefix(r.Path, "/"))
	})
	_, err := collecttest.Run(t, "securityhub.findings", cfg, "111122223333", "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
		t.Fatalf("outcome %s (%v), want denied", outcome, err)
	}
}
