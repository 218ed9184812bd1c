package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/store"
)

// benchDB fills a database with n findings over 20 accounts and 3 regions, through the
// store's writer, as a large organization's scan would.
func benchDB(b *testing.B, n int) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	scanID, err := db.CreateScan(ctx, "arn:aws:iam::123456789012:user/bench", "123456789012", "o-bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	regions := []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	for a := 0; a < 20; a++ {
		acct := fmt.Sprintf("1000000000%02d", a)
		must(b, db.PutAccount(ctx, scanID, store.Account{ID: acct, Name: "acct-" + acct, Status: "ACTIVE", Access: "ok", Regions: regions}))
		for _, r := range regions {
			must(b, db.PutCoverage(ctx, scanID, store.Coverage{AccountID: acct, Region: r, Collector: "ec2.security-groups", Service: "ec2", Status: store.CoverageOK}))
		}
	}
	began := time.Now()
	fw := db.NewFindingWriter(scanID)
	statuses := []finding.Status{finding.Fail, finding.Fail, finding.Pass, finding.Fail, finding.Error}
	for i := 0; i < n; i++ {
		acct := fmt.Sprintf("1000000000%02d", i%20)
		region := regions[i%3]
		arn := fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/sg-%08x", region, acct, i)
		must(b, fw.Put(&finding.Finding{
			ID: finding.StableID("bench", arn, fmt.Sprint(i%7)), CheckID: fmt.Sprintf("ec2.check_%d", i%7), Controls: []string{fmt.Sprintf("fsbp:EC2.%d", i%7)},
			Source: "yagura", Status: statuses[i%len(statuses)], Severity: finding.Severity(i % 5), AccountID: acct, Region: region,
			ResourceARN: arn, ResourceType: "AWS::EC2::SecurityGroup", Title: fmt.Sprintf("Check %d on sg-%08x", i%7, i),
			Detail: "bench", Evidence: []byte(`{"FromPort":22,"CidrIp":"0.0.0.0/0"}`), Collector: "ec2.security-groups|" + acct + "|" + region,
		}))
	}
	must(b, fw.Close())
	must(b, db.FinishScan(ctx, scanID, store.ScanComplete, ""))
	b.Logf("stored %d findings in %s", n, time.Since(began).Round(time.Millisecond))
	return db
}

// BenchmarkPages times the overview and filtered findings pages with 100k findings stored (the
// issue's target is under 200 ms each), and the other aggregate pages for reference.
func BenchmarkPages(b *testing.B) {
	db := benchDB(b, 100_000)
	s, err := New(db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{
		"/",
		"/findings?status=FAIL&severity=high&account=100000000007",
		"/findings?status=FAIL",
		"/findings?status=FAIL&offset=5000",
		"/api/v1/findings?status=FAIL&severity=high&account=100000000007&limit=100",
		"/findings?status=FAIL&severity=high%2B&account=100000000007&control=fsbp:EC2.3",
		"/risks",
		"/compliance?framework=fsbp",
		"/checks",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
