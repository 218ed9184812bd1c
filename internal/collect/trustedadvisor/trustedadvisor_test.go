package trustedadvisor_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/trustedadvisor"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

const taAccount = "111122223333"

// The Support API's answers (AWS JSON 1.1), shaped as in its API reference.
const (
	taChecks = `{"checks":[
	  {"id":"HCP4007jGY","name":"Security Groups - Specific Ports Unrestricted","category":"security",
	   "description":"Checks security groups for rules that allow unrestricted access (0.0.0.0/0) to specific ports.<br>",
	   "metadata":["Region","Security Group Name","Security Group ID","Protocol","Status","Ports"]},
	  {"id":"Qch7DwouX1","name":"Low Utilization Amazon EC2 Instances","category":"cost_optimizing","description":"x","metadata":[]},
	  {"id":"zXCkfM1nI3","name":"IAM Use","category":"security","description":"Checks for your use of AWS IAM.","metadata":[]}]}`
	taResult = `{"result":{"checkId":"HCP4007jGY","timestamp":"2026-11-28T08:00:00Z","status":"error",
	  "resourcesSummary":{"resourcesProcessed":12,"resourcesFlagged":2,"resourcesIgnored":0,"resourcesSuppressed":0},
	  "categorySpecificSummary":{},
	  "flaggedResources":[
	    {"status":"error","region":"us-east-1","resourceId":"Ab12Cd34","isSuppressed":false,"metadata":["us-east-1","web","sg-0123456789abcdef0","tcp","Red","22"]},
	    {"status":"warning","region":"eu-west-1","resourceId":"Ef56Gh78","isSuppressed":false,"metadata":["eu-west-1","db","sg-0fedcba9876543210","tcp","Yellow","3306"]}]}}`
	taEmpty = `{"result":{"checkId":"zXCkfM1nI3","timestamp":"2026-11-28T08:00:00Z","status":"ok","resourcesSummary":{"resourcesProcessed":1,"resourcesFlagged":0,"resourcesIgnored":0,"resourcesSuppressed":0},"categorySpecificSummary":{},"flaggedResources":[]}}`
)

func TestTrustedAdvisorSecurityChecks(t *testing.T) {
	srv, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch r.Target {
		case "DescribeTrustedAdvisorChecks":
			nativetest.JSON(w, taChecks)
		case "DescribeTrustedAdvisorCheckResult":
			switch r.Body["checkId"] {
			case "HCP4007jGY":
				nativetest.JSON(w, taResult)
			case "zXCkfM1nI3":
				nativetest.JSON(w, taEmpty)
			default:
				t.Errorf("non-security check %v read", r.Body["checkId"])
				nativetest.JSON(w, taEmpty)
			}
		default:
			nativetest.Error(w, 400, "UnknownOperationException", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "trustedadvisor.checks", cfg, taAccount, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 2 {
		t.Fatalf("%d findings, want 2", len(sink.Findings))
	}
	red := sink.Findings[0]
	if red.Source != "trustedadvisor" || red.Severity != finding.High || red.Region != "us-east-1" || red.CheckID != "HCP4007jGY" ||
		!strings.Contains(string(red.Evidence), `"Security Group ID":"sg-0123456789abcdef0"`) {
		t.Errorf("red finding %+v (%s)", red, red.Evidence)
	}
	if sink.Findings[1].Severity != finding.Medium || sink.Findings[1].Region != "eu-west-1" {
		t.Errorf("yellow finding %+v", sink.Findings[1])
	}
	// The calls are signed for the Support API.
	calls := srv.Calls()
	if len(calls) != 3 {
		t.Errorf("%d calls, want 3 (checks + two security results)", len(calls))
	}
	for _, c := range calls {
		if auth := c.Header.Get("Authorization"); !strings.Contains(auth, "/us-east-1/support/aws4_request") || !strings.Contains(auth, "Credential=testing/") {
			t.Errorf("%s not signed for the Support API: %q", c.Target, auth)
		}
		if c.Header.Get("X-Amz-Target") != "AWSSupport_20130415."+c.Target {
			t.Errorf("target header %q", c.Header.Get("X-Amz-Target"))
		}
	}
}

func TestTrustedAdvisorErrors(t *testing.T) {
	for _, c := range []struct {
		code, msg, outcome string
		status             int
	}{
		{"SubscriptionRequiredException", "AWS Premium Support Subscription is required to use this service.", awsx.OutcomeSkipped, 400},
		{"AccessDeniedException", "User is not authorized to perform: support:DescribeTrustedAdvisorChecks", awsx.OutcomeDenied, 400},
		{"ThrottlingException", "Rate exceeded", awsx.OutcomeThrottled, 400},
	} {
		t.Run(c.code, func(t *testing.T) {
			_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
				nativetest.Error(w, c.status, c.code, c.msg)
			})
			_, err := collecttest.Run(t, "trustedadvisor.checks", cfg, taAccount, "us-east-1")
			outcome, reason := awsx.Classify(err)
			if outcome != c.outcome || !strings.Contains(reason, c.msg) {
				t.Fatalf("outcome %s (%s), want %s", outcome, reason, c.outcome)
			}
		})
	}
}

// A throttled call is retried with the configuration's retryer, as SDK clients do.
func TestTrustedAdvisorRetriesThrottling(t *testing.T) {
	throttled := 0
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		if r.Target == "DescribeTrustedAdvisorChecks" && throttled == 0 {
			throttled++
			nativetest.Error(w, 400, "ThrottlingException", "Rate exceeded")
			return
		}
		switch r.Target {
		case "DescribeTrustedAdvisorChecks":
			nativetest.JSON(w, taChecks)
		default:
			nativetest.JSON(w, taEmpty)
		}
	})
	if _, err := collecttest.Run(t, "trustedadvisor.checks", cfg, taAccount, "us-east-1"); err != nil || throttled != 1 {
		t.Fatalf("err %v after %d throttles", err, throttled)
	}
}

// Every Support API attempt, retries included, takes a token from the account's "support" bucket
// of the scan's limiter and is counted there, as the SDK clients' calls are.
func TestTrustedAdvisorPacedByTheLimiter(t *testing.T) {
	var mu sync.Mutex
	throttledOnce := map[string]bool{}
	srv, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		mu.Lock()
		key := r.Target + fmt.Sprint(r.Body["checkId"])
		first := !throttledOnce[key] && r.Target == "DescribeTrustedAdvisorCheckResult"
		throttledOnce[key] = true
		mu.Unlock()
		switch {
		case first:
			nativetest.Error(w, 400, "ThrottlingException", "Rate exceeded")
		case r.Target == "DescribeTrustedAdvisorChecks":
			nativetest.JSON(w, taChecks)
		default:
			nativetest.JSON(w, taEmpty)
		}
	})
	lim := awsx.NewLimiter(map[string]awsx.Limit{"support": {Rate: 10, Burst: 1}})
	lim.Attach(&cfg, taAccount)
	start := time.Now()
	if _, err := collecttest.Run(t, "trustedadvisor.checks", cfg, taAccount, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// checks + two results, each result throttled once and retried: 5 attempts.
	if n := len(srv.Calls()); n != 5 {
		t.Fatalf("%d calls reached the server, want 5", n)
	}
	if lim.Calls.Load() != 5 || lim.Throttles.Load() != 2 {
		t.Errorf("limiter counted %d calls and %d throttles, want 5 and 2", lim.Calls.Load(), lim.Throttles.Load())
	}
	// Burst 1 at 10 per second: the 4 attempts after the first wait 100 ms each.
	if elapsed < 380*time.Millisecond {
		t.Errorf("5 attempts in %s: not paced by the 10/s support bucket", elapsed)
	}
}

// Trusted Advisor's IAM checks name users without their path; IAM gives the inventory's ARN.
func TestTrustedAdvisorIAMUsersResolved(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case r.Form.Get("Action") == "GetUser" && r.Form.Get("UserName") == "bob":
			nativetest.IAMUser(w, taAccount, "/ops/", "bob")
		case r.Target == "DescribeTrustedAdvisorChecks":
			nativetest.JSON(w, `{"checks":[{"id":"DqdJqYeRm5","name":"IAM Access Key Rotation","category":"security","description":"x",
				"metadata":["Status","IAM User","Access Key","Key Last Rotated","Reason"]}]}`)
		case r.Target == "DescribeTrustedAdvisorCheckResult":
			nativetest.JSON(w, `{"result":{"checkId":"DqdJqYeRm5","timestamp":"2026-11-28T08:00:00Z","status":"warning","resourcesSummary":{},"categorySpecificSummary":{},
				"flaggedResources":[{"status":"warning","resourceId":"h1","metadata":["Yellow","bob","AKIA1","2025-01-01","Not rotated in 365 days"]}]}}`)
		default:
			nativetest.Error(w, 400, "UnknownOperationException", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "trustedadvisor.checks", cfg, taAccount, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 1 || sink.Findings[0].ResourceARN != "arn:aws:iam::111122223333:user/ops/bob" || native.Unmatched(sink.Findings[0]) != "" {
		t.Fatalf("findings %+v", sink.Findings)
	}
}
