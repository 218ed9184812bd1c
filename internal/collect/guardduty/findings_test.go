package guardduty_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/guardduty"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

const gdAccount = "111122223333"

// gdSample is one finding of ../../native/testdata/guardduty.json (GetFindings' wire shape).
func gdSample(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../native/testdata/guardduty.json")
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Findings []map[string]any }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Findings[0]
}

// gdServer answers GuardDuty's REST-JSON API: two detectors over two ListDetectors pages, the
// first with 53 unarchived findings over two ListFindings pages, the second with none.
func gdServer(t *testing.T, deny string) (aws.Config, func() (getCalls, maxIDs int)) {
	tmpl := gdSample(t)
	ids := make([]string, 53)
	for i := range ids {
		ids[i] = fmt.Sprintf("f%031d", i)
	}
	var getCalls, maxIDs int
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case deny != "" && strings.HasSuffix(r.Path, deny):
			nativetest.Error(w, http.StatusForbidden, "AccessDeniedException", "User is not authorized to perform: guardduty:ListFindings")
		case r.Method == "GET" && r.Path == "/detector":
			if strings.Contains(r.Query, "nextToken=d2") {
				nativetest.JSON(w, `{"detectorIds":["det2"]}`)
				return
			}
			nativetest.JSON(w, `{"detectorIds":["det1"],"nextToken":"d2"}`)
		case r.Method == "POST" && r.Path == "/detector/det1/findings":
			crit, _ := r.Body["findingCriteria"].(map[string]any)["criterion"].(map[string]any)
			arch, _ := crit["service.archived"].(map[string]any)
			if fmt.Sprint(arch["equals"]) != "[false]" || r.Body["maxResults"] != 50.0 {
				t.Errorf("ListFindings without the unarchived criterion or page size: %v", r.Body)
			}
			page := ids[:50]
			next := `,"nextToken":"p2"`
			if r.Body["nextToken"] == "p2" {
				page, next = ids[50:], ""
			}
			b, _ := json.Marshal(page)
			nativetest.JSON(w, `{"findingIds":`+string(b)+next+`}`)
		case r.Method == "POST" && r.Path == "/detector/det2/findings":
			nativetest.JSON(w, `{"findingIds":[]}`)
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/findings/get"):
			getCalls++
			req, _ := r.Body["findingIds"].([]any)
			maxIDs = max(maxIDs, len(req))
			var fs []map[string]any
			for _, id := range req {
				fs = append(fs, gdFinding(tmpl, id.(string)))
			}
			b, _ := json.Marshal(map[string]any{"findings": fs})
			nativetest.JSON(w, string(b))
		default:
			nativetest.Error(w, http.StatusNotFound, "NotFoundException", r.Method+" "+r.Path)
		}
	})
	return cfg, func() (int, int) { return getCalls, maxIDs }
}

func TestGuardDutyFindingsPaginated(t *testing.T) {
	cfg, counts := gdServer(t, "")
	sink, err := collecttest.Run(t, "guardduty.findings", cfg, gdAccount, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 53 {
		t.Fatalf("%d findings, want 53", len(sink.Findings))
	}
	getCalls, maxIDs := counts()
	if getCalls != 2 || maxIDs > 50 {
		t.Errorf("GetFindings called %d times with up to %d ids; want 2 calls of at most 50", getCalls, maxIDs)
	}
	f := sink.Findings[52]
	if f.Source != "guardduty" || f.Severity != finding.High || f.Status != finding.Fail ||
		f.ResourceARN != "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890" ||
		f.ID != finding.StableID("guardduty", "arn:aws:guardduty:us-east-1:111122223333:detector/det1/finding/"+fmt.Sprintf("f%031d", 52)) {
		t.Errorf("finding %+v", f)
	}
	seen := map[string]bool{}
	for _, f := range sink.Findings {
		seen[f.ID] = true
	}
	if len(seen) != 53 {
		t.Errorf("%d distinct ids", len(seen))
	}
}

func TestGuardDutyFindingsDenied(t *testing.T) {
	cfg, _ := gdServer(t, "/detector/det1/findings")
	_, err := collecttest.Run(t, "guardduty.findings", cfg, gdAccount, "us-east-1")
	if outcome, reason := awsx.Classify(err); outcome != awsx.OutcomeDenied || !strings.Contains(reason, "AccessDeniedException") {
		t.Fatalf("outcome %s (%s), want denied", outcome, reason)
	}
}
