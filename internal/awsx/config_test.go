package awsx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Throttling is retried until it passes; a persistent 5xx gives up after a few attempts.
func TestRetriesThrottlingLongerThanServerErrors(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	var calls atomic.Int64
	throttleFirst := int64(6)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Query().Get("mode") == "" && n <= throttleFirst {
			w.WriteHeader(400)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`))
			return
		}
		if n > throttleFirst {
			w.WriteHeader(500)
			w.Write([]byte(`<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>boom</Message></Error></ErrorResponse>`))
		}
	}))
	defer srv.Close()
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("expected the final 500 to surface")
	}
	// 6 throttled attempts were retried; then 500s got at most 4 attempts.
	if got := calls.Load(); got < 7 || got > 6+4 {
		t.Fatalf("%d attempts", got)
	}
	if out, _ := Classify(err); out != OutcomeError {
		t.Fatalf("a persistent server error classified as %s", out)
	}
}

func TestClassify(t *testing.T) {
	if o, _ := Classify(nil); o != OutcomeOK {
		t.Fatal(o)
	}
	if o, r := Classify(context.Canceled); o != OutcomeError || r == "" {
		t.Fatal(o, r)
	}
}

func TestClassOfEC2DistinguishesPaginatedCalls(t *testing.T) {
	type in struct {
		MaxResults *int32
		Filters    []string
	}
	n := int32(5)
	if c := ClassOf("EC2", "DescribeInstances", &in{MaxResults: &n}); c != "ec2:nonmutating" {
		t.Fatal(c)
	}
	if c := ClassOf("EC2", "DescribeRegions", &in{}); c != "ec2:unpaginated" {
		t.Fatal(c)
	}
	if c := ClassOf("SecurityHub", "GetFindings", nil); c != "securityhub:GetFindings" {
		t.Fatal(c)
	}
	l := NewLimiter(nil)
	if lim := l.LimitFor("securityhub:GetFindings"); lim.Rate != 3 || lim.Burst != 6 {
		t.Fatal(lim)
	}
	if lim := l.LimitFor("ec2:nonmutating"); lim.Rate != 20 || lim.Burst != 100 {
		t.Fatal(lim)
	}
	if lim := l.LimitFor("unknownservice"); lim != DefaultLimits["*"] {
		t.Fatal(lim)
	}
	if _, _, err := ParseLimit("ec2:nonmutating=0/1"); err == nil {
		t.Fatal("zero rate accepted")
	}
}
