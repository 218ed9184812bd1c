package awsx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// recordingYielder is a scheduler slot that remembers whether it is held.
type recordingYielder struct {
	mu              sync.Mutex
	held            bool
	yields, resumes int
}

func (y *recordingYielder) Yield() {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.held {
		y.held = false
		y.yields++
	}
}

func (y *recordingYielder) Resume(context.Context) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if !y.held {
		y.held = true
		y.resumes++
	}
}

func (y *recordingYielder) isHeld() bool {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.held
}

// A call waiting for a token or backing off after a throttle lends its slot, and holds it again
// whenever a request is on the wire and when the operation returns.
func TestLimiterLendsSlotWhileAsleep(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	y := &recordingYielder{held: true}
	var requests, unheld atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !y.isHeld() {
			unheld.Add(1)
		}
		if requests.Add(1) == 1 {
			w.WriteHeader(400)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`))
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
			`<Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDA</UserId><Account>123456789012</Account>` +
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`))
	}))
	defer srv.Close()
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	NewLimiter(map[string]Limit{"sts": {Rate: 20, Burst: 1}}).Attach(&cfg, "123456789012")
	client := sts.NewFromConfig(cfg)
	ctx := WithYielder(context.Background(), y)
	for i := 0; i < 3; i++ {
		if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !y.isHeld() {
			t.Fatalf("call %d returned with the slot lent out", i)
		}
	}
	// The throttled first attempt, then one 50 ms token wait per later attempt (3 of them).
	if y.yields < 3 || y.yields != y.resumes {
		t.Fatalf("%d yields, %d resumes; want at least 3, balanced", y.yields, y.resumes)
	}
	if n := unheld.Load(); n != 0 {
		t.Fatalf("%d of %d requests were sent without holding the slot", n, requests.Load())
	}
}
