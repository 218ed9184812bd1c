package trail

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// TestReaderS3 reads an organization archive in moto's S3: accounts and regions discovered by
// delimiter listing, a time window that lists only its own day prefixes, a malformed object
// reported and skipped.
func TestReaderS3(t *testing.T) {
	motoURL := startMoto(t)
	u, _ := url.Parse(motoURL)
	// Record the prefixes the reader lists, to prove a window touches only its own days.
	var mu sync.Mutex
	var listed []string
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
			mu.Lock()
			listed = append(listed, r.URL.Query().Get("prefix"))
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, awsx.S3Options(cfg), QuietS3)
	bucket := "archive"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(body))}); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	want := 0
	for _, acct := range []string{"111111111111", "222222222222"} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			for d := -2; d <= 2; d++ {
				ts := day.AddDate(0, 0, d).Add(12 * time.Hour)
				key := "logs/" + logKey(acct, region, ts, fmt.Sprintf("x%d", d+2))
				put(key, gz(t, records(t, ev("DescribeInstances", "ec2.amazonaws.com", acct, region, ts, nil), ev("RunInstances", "ec2.amazonaws.com", acct, region, ts, nil))))
				if d == 0 {
					want += 2
				}
			}
		}
	}
	bad := "logs/" + logKey("222222222222", "eu-west-1", day.Add(13*time.Hour), "bad")
	put(bad, []byte("\x1f\x8b\x08\x00garbage"))
	put("logs/AWSLogs/o-abc123/111111111111/CloudTrail-Digest/us-east-1/2026/03/04/ignored.json.gz", gz(t, []byte(`{}`)))

	r := &Reader{Source: &S3Source{Client: client, Bucket: bucket}, Window: Window{Prefix: "logs", Since: day, Until: day.Add(23 * time.Hour)}}
	names, st := collect(t, r)
	if len(names) != want {
		t.Errorf("got %d events, want %d: %v", len(names), want, names)
	}
	if len(st.Bad) != 1 || st.Bad[0].Key != "s3://archive/"+bad {
		t.Errorf("bad objects %+v", st.Bad)
	}
	for _, p := range listed {
		// Delimiter listings discover accounts and regions; object listings must be per day.
		if strings.HasSuffix(p, "/CloudTrail/") || strings.HasSuffix(p, "/AWSLogs/") || strings.HasSuffix(p, "o-abc123/") {
			continue
		}
		if !strings.Contains(p, "/2026/03/04/") && !strings.Contains(p, "/2026/03/05/") {
			t.Errorf("listed a prefix outside the window: %s", p)
		}
	}
	// Explicit accounts and regions skip discovery.
	listed = nil
	r.Window.Accounts, r.Window.Regions, r.Window.OrgID = []string{"111111111111"}, []string{"eu-west-1"}, "o-abc123"
	names, _ = collect(t, r)
	if len(names) != 2 || !strings.HasSuffix(names[0], "111111111111/eu-west-1") {
		t.Errorf("filtered: %v", names)
	}
	for _, p := range listed {
		if !strings.Contains(p, "111111111111/CloudTrail/eu-west-1/") {
			t.Errorf("listed %q with accounts and regions given", p)
		}
	}
}
