package accessanalyzer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	_ "github.com/yagura-dev/yagura/internal/collect/securityhub"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	adminAccount  = "111111111111" // delegated administrator of Access Analyzer and Security Hub
	memberAccount = "222222222222"
	orgARN        = "arn:aws:access-analyzer:us-east-1:111111111111:analyzer/org"
	accountARN    = "arn:aws:access-analyzer:us-east-1:222222222222:analyzer/account"
	sharedBucket  = "arn:aws:s3:::member-reports"
)

// grant is one ListFindings summary of the member's bucket shared with principal.
func grant(id, principal string) string {
	return `{"id":"` + id + `","resource":"` + sharedBucket + `","resourceType":"AWS::S3::Bucket","resourceOwnerAccount":"222222222222",
	"status":"ACTIVE","isPublic":false,"principal":{"AWS":"` + principal + `"},"action":["s3:GetObject","s3:ListBucket"],"condition":{},
	"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","updatedAt":"2026-11-28T08:00:00Z"}`
}

// analyzerServer answers one account's Access Analyzer (a single analyzer with the given
// findings) and Security Hub (GetFindings with asff; no aggregator, no administrator).
func analyzerServer(t *testing.T, arn, typ, findings, asff string) func(http.ResponseWriter, nativetest.Request) {
	return func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case r.Method == "GET" && r.Path == "/analyzer":
			nativetest.JSON(w, `{"analyzers":[{"arn":"`+arn+`","name":"a","type":"`+typ+`","status":"ACTIVE","createdAt":"2026-01-01T00:00:00Z"}]}`)
		case r.Method == "POST" && r.Path == "/finding":
			if r.Body["analyzerArn"] != arn {
				t.Errorf("ListFindings for %v", r.Body["analyzerArn"])
			}
			nativetest.JSON(w, `{"findings":[`+findings+`]}`)
		case r.Method == "POST" && r.Path == "/findings":
			nativetest.JSON(w, `{"Findings":[`+asff+`]}`)
		default:
			nativetest.Error(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.Path)
		}
	}
}

// The organization analyzer (administrator), the member's account analyzer and Security Hub's
// relayed copy of the organization analyzer's finding report one grant: one finding, with both
// analyzers as origins and Security Hub among the sources. The account analyzer's finding of a
// grant to another organization account (inside the organization's zone of trust, so only the
// account analyzer reports it) stays a finding of its own.
func TestOrganizationAndAccountAnalyzersGiveOneFinding(t *testing.T) {
	const relayed = `{"SchemaVersion":"2018-10-08","Id":"` + orgARN + `/` + sharedBucket + `",
	  "ProductArn":"arn:aws:securityhub:us-east-1::product/aws/access-analyzer","GeneratorId":"aws/access-analyzer",
	  "AwsAccountId":"111111111111","Region":"us-east-1","Types":["Software and Configuration Checks/AWS Security Best Practices/External Access Granted"],
	  "CreatedAt":"2026-11-20T08:00:00Z","UpdatedAt":"2026-11-28T08:00:00Z","Severity":{"Label":"LOW","Normalized":1},
	  "Title":"AwsS3Bucket/` + sharedBucket + `/ allows cross-account access","Description":"allows cross-account access from AWS 444455556666",
	  "Resources":[{"Type":"AwsS3Bucket","Id":"` + sharedBucket + `","Details":{"Other":{"External Principal Type":"AWS","Condition":"none",
	    "Action Granted":"s3:GetObject,s3:ListBucket","External Principal":"444455556666"}}}],
	  "ProductFields":{"ResourceOwnerAccount":"222222222222"},"RecordState":"ACTIVE","Workflow":{"Status":"NEW"}}`
	_, adminCfg := nativetest.Serve(t, "us-east-1", analyzerServer(t, orgARN, "ORGANIZATION", grant("org-7", "444455556666"), relayed))
	_, memberCfg := nativetest.Serve(t, "us-east-1", analyzerServer(t, accountARN, "ACCOUNT",
		grant("acct-1", "arn:aws:iam::444455556666:root")+","+grant("acct-2", adminAccount), ""))

	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scan, err := db.CreateScan(ctx, "arn:aws:iam::111111111111:user/a", adminAccount, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewFindingWriter(scan)
	read := 0
	for _, c := range []struct {
		collector, account string
		member             bool
	}{{"accessanalyzer.findings", adminAccount, false}, {"securityhub.findings", adminAccount, false}, {"accessanalyzer.findings", memberAccount, true}} {
		cfg := adminCfg
		if c.member {
			cfg = memberCfg
		}
		sink, err := collecttest.Run(t, c.collector, cfg, c.account, "us-east-1")
		if err != nil {
			t.Fatalf("%s in %s: %v", c.collector, c.account, err)
		}
		read += len(sink.Findings)
		for _, f := range sink.Findings {
			if err := w.Put(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if read != 4 {
		t.Fatalf("%d findings read, want 4 (org analyzer, Security Hub, two of the account analyzer)", read)
	}

	// The inventory's bucket ARN finds them, as `yagura findings --resource` does.
	fs, err := db.Findings(ctx, store.FindingFilter{ResourceGlob: sharedBucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("%d findings on the bucket, want 2 (outside account, organization account)", len(fs))
	}
	var outside, inside *finding.Finding
	for _, f := range fs {
		if slices.Contains(f.Sources, "securityhub") {
			outside = f
		} else {
			inside = f
		}
	}
	if outside == nil || inside == nil {
		t.Fatalf("findings %+v %+v", fs[0], fs[1])
	}
	var ev struct{ Origins []string }
	_ = json.Unmarshal(outside.Evidence, &ev)
	if !slices.Equal(ev.Origins, []string{orgARN, accountARN}) {
		t.Errorf("origins %v, want both analyzers", ev.Origins)
	}
	if outside.Source != "accessanalyzer" || !slices.Equal(outside.Sources, []string{"accessanalyzer", "securityhub"}) ||
		outside.AccountID != memberAccount || outside.Severity != finding.High || outside.CheckID != "ExternalAccess" {
		t.Errorf("merged finding: source %s %v account %s severity %s check %s", outside.Source, outside.Sources, outside.AccountID, outside.Severity, outside.CheckID)
	}
	_ = json.Unmarshal(inside.Evidence, &ev)
	if !slices.Equal(ev.Origins, []string{accountARN}) || !slices.Equal(inside.Sources, []string{"accessanalyzer"}) {
		t.Errorf("grant inside the organization: origins %v sources %v", ev.Origins, inside.Sources)
	}
}
