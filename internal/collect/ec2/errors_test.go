package ec2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// ec2Denied is EC2's real error body for a call the caller's policy does not allow (EC2 is a
// query protocol service: <Response><Errors><Error>…, HTTP 403).
func ec2Denied(w http.ResponseWriter, action string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/yagura-audit/yagura-scan is not authorized to perform: ec2:%s because no identity-based policy allows the ec2:%s action</Message></Error></Errors><RequestID>6f1ab5b1-8a8e-4c0c-9d4e-0d7c8f0a1b2c</RequestID></Response>`, action, action)
}

// TestListingDeniedIsClassifiedDenied: when the main listing call is refused, the collector
// returns the error, awsx.Classify calls it denied, and nothing half-read is written.
func TestListingDeniedIsClassifiedDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		calls = append(calls, r.Form.Get("Action"))
		ec2Denied(w, r.Form.Get("Action"))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "eu-west-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for name, action := range map[string]string{
		"ec2.security-groups":           "DescribeSecurityGroups",
		"ec2.instances":                 "DescribeInstances",
		"ec2.snapshots":                 "DescribeSnapshots",
		"ec2.elastic-ips":               "DescribeAddresses",
		"ec2.ebs-encryption-by-default": "GetEbsEncryptionByDefault",
	} {
		calls = nil
		sink, err := collecttest.Run(t, name, cfg, mgmtAccount, "eu-west-1")
		if err == nil {
			t.Errorf("%s: no error on a denied listing", name)
			continue
		}
		outcome, reason := awsx.Classify(err)
		if outcome != awsx.OutcomeDenied || !strings.Contains(reason, "UnauthorizedOperation") {
			t.Errorf("%s: Classify = %q, %q", name, outcome, reason)
		}
		if len(sink.Resources) != 0 {
			t.Errorf("%s wrote %d resources after a denied listing", name, len(sink.Resources))
		}
		if len(calls) != 1 || calls[0] != action {
			t.Errorf("%s: calls %v, want one %s (a denial is not retried)", name, calls, action)
		}
	}
}

// denyProxy forwards to moto but refuses the named EC2 actions, as a role whose policy lacks
// them would.
func denyProxy(t *testing.T, target string, deny ...string) *httptest.Server {
	return faultProxy(t, target, ec2Denied, deny...)
}

// ec2NotFound answers as EC2 does for a snapshot deleted a moment ago.
func ec2NotFound(w http.ResponseWriter, action string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code><Message>The snapshot 'snap-0' does not exist.</Message></Error></Errors><RequestID>0b7c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4</RequestID></Response>`)
}

// deletedMidScan: a snapshot deleted between the listing and its attribute read is left out,
// not written with an error, and the collector still succeeds.
func deletedMidScan(t *testing.T, e *estate) {
	w := e.worlds[0]
	proxy := faultProxy(t, e.srv.URL, ec2NotFound, "DescribeSnapshotAttribute")
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: w.region, EndpointURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "ec2.snapshots", cfg, w.account, w.region)
	if err != nil || len(sink.Resources) != 0 {
		t.Errorf("err %v, %d snapshots written", err, len(sink.Resources))
	}
}

func faultProxy(t *testing.T, target string, fault func(http.ResponseWriter, string), deny ...string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		for _, d := range deny {
			if form.Get("Action") == d {
				fault(w, d)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// followUpDenied runs inside TestEC2Collectors (it needs its moto estate): a refused follow-up
// read leaves the resource written, its attribute null and the reason in Resource.Errors.
func followUpDenied(t *testing.T, e *estate) {
	w := e.worlds[0]
	proxy := denyProxy(t, e.srv.URL, "DescribeSnapshotAttribute", "DescribeSecurityGroupRules", "GetManagedPrefixListEntries")
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: w.region, EndpointURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		collector, arn, attr string
		present              string // a key of the main listing that must still be there
	}{
		{"ec2.snapshots", "arn:aws:ec2:" + w.region + "::snapshot/" + w.snapshot, "Public", "VolumeId"},
		{"ec2.security-groups", arn(w, w.sgWeb), "Rules", "IpPermissions"},
		{"ec2.prefix-lists", arn(w, w.prefixList), "Entries", "PrefixListName"},
	}
	for _, c := range cases {
		sink, err := collecttest.Run(t, c.collector, cfg, w.account, w.region)
		if err != nil {
			t.Fatalf("%s: a follow-up failure failed the collector: %v", c.collector, err)
		}
		r := sink.ByARN(c.arn)
		if r == nil {
			t.Fatalf("%s: %s not written", c.collector, c.arn)
		}
		var m map[string]any
		json.Unmarshal(r.Config, &m)
		if v, ok := m[c.attr]; ok && v != nil {
			t.Errorf("%s: %s = %v though it could not be read", c.collector, c.attr, v)
		}
		if m[c.present] == nil {
			t.Errorf("%s: %s missing from %s", c.collector, c.present, r.Config)
		}
		if !strings.HasPrefix(r.Errors[c.attr], "access denied: UnauthorizedOperation") {
			t.Errorf("%s: Errors = %v", c.collector, r.Errors)
		}
	}
}

// fewRetries makes a config give up quickly on errors that retrying cannot fix (moto answers
// some unimplemented calls with a retryable 500).
func fewRetries(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer { return awsx.NewRetryer(2) }
	return cfg
}
