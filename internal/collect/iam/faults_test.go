package iam_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// queryFaultProxy forwards IAM's query-protocol requests to moto, except those whose Action is
// in deny: they get IAM's real AccessDenied answer.
func queryFaultProxy(t *testing.T, target string, deny ...string) *httptest.Server {
	u, err := url.Parse(target)
	must(t, err, "parse")
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		for _, a := range deny {
			if form.Get("Action") == a {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/yagura-audit/scan is not authorized to perform: iam:`+a+`</Message></Error><RequestId>8c7e5a7e-0000-0000-0000-000000000000</RequestId></ErrorResponse>`)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func TestUserFollowUpDenied(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	c := awsiam.NewFromConfig(srv.Config(t, "us-east-1"))
	_, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("dave")})
	must(t, err, "CreateUser")
	_, err = c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("dave")})
	must(t, err, "CreateAccessKey")

	p := queryFaultProxy(t, srv.URL, "GetLoginProfile", "GetAccessKeyLastUsed")
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: p.URL})
	must(t, err, "Load")
	s, err := collecttest.Run(t, "iam.authorization-details", cfg, mgmt, "us-east-1")
	must(t, err, "iam.authorization-details")
	u := s.ByARN("arn:aws:iam::" + mgmt + ":user/dave")
	if u == nil {
		t.Fatalf("user not written")
	}
	for _, k := range []string{"LoginProfile", "AccessKeys"} {
		if !strings.HasPrefix(u.Errors[k], "access denied") {
			t.Errorf("Errors[%s] = %q", k, u.Errors[k])
		}
	}
	m := decode(t, u)
	if m["LoginProfile"] != nil || m["AccessKeys"] != nil {
		t.Errorf("unread attributes must be null: %s", u.Config)
	}
	if mfa, ok := m["MFADevices"].([]any); !ok || len(mfa) != 0 || u.Errors["MFADevices"] != "" {
		t.Errorf("MFADevices was readable: %v %v", m["MFADevices"], u.Errors)
	}

	// The main listing denied fails the collector.
	p2 := queryFaultProxy(t, srv.URL, "GetAccountAuthorizationDetails")
	cfg2, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: p2.URL, MaxAttempts: 1})
	must(t, err, "Load")
	if _, err := collecttest.Run(t, "iam.authorization-details", cfg2, mgmt, "us-east-1"); !awsx.IsDenied(err) {
		t.Errorf("want a denied error, got %v", err)
	}
}
