package inspector2_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// ListFindings over two pages, filtered on the account and on ACTIVE findings: package, code and
// network reachability findings all come out, on the inventory's ARNs.
func TestInspectorFindingsPaginatedAndDenied(t *testing.T) {
	const account = "111122223333"
	samples := i2Samples(t, account)
	for _, deny := range []bool{false, true} {
		pages := 0
		_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
			if r.Method != "POST" || r.Path != "/findings/list" {
				nativetest.Error(w, http.StatusNotFound, "ResourceNotFoundException", r.Path)
				return
			}
			if deny {
				nativetest.Error(w, http.StatusForbidden, "AccessDeniedException", "not authorized to perform: inspector2:ListFindings")
				return
			}
			crit, _ := r.Body["filterCriteria"].(map[string]any)
			if fmt.Sprint(crit["awsAccountId"]) != "[map[comparison:EQUALS value:"+account+"]]" ||
				fmt.Sprint(crit["findingStatus"]) != "[map[comparison:EQUALS value:ACTIVE]]" {
				t.Errorf("filter %v", crit)
			}
			pages++
			page, next := samples[:2], `,"nextToken":"p2"`
			if r.Body["nextToken"] == "p2" {
				page, next = samples[2:], ""
			}
			b, _ := json.Marshal(page)
			nativetest.JSON(w, `{"findings":`+string(b)+next+`}`)
		})
		sink, err := collecttest.Run(t, "inspector2.findings", cfg, account, "us-east-1")
		if deny {
			if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
				t.Errorf("denied: outcome %s (%v)", outcome, err)
			}
			continue
		}
		if err != nil || pages != 2 || len(sink.Findings) != len(samples) {
			t.Fatalf("err %v, %d pages, %d findings", err, pages, len(sink.Findings))
		}
		types := map[string]string{}
		for _, f := range sink.Findings {
			types[f.CheckID] = f.ResourceARN
		}
		for typ, arn := range map[string]string{
			"CODE_VULNERABILITY":   "arn:aws:lambda:us-east-1:111122223333:function:orders",
			"NETWORK_REACHABILITY": "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890",
		} {
			if types[typ] != arn {
				t.Errorf("%s on %q, want %s", typ, types[typ], arn)
			}
		}
	}
}
