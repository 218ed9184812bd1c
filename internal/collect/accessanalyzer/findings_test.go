package accessanalyzer_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

const (
	aaAccount  = "111122223333"
	aaExternal = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/org-external"
	aaUnused   = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused"
)

// aaFinding is one ListFindingsV2 entry in Access Analyzer's REST-JSON wire shape.
func aaFinding(id, resource, rtype, ftype string) string {
	return fmt.Sprintf(`{"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","id":%q,"resource":%q,
	"resourceOwnerAccount":%q,"resourceType":%q,"status":"ACTIVE","updatedAt":"2026-11-28T08:00:00Z","findingType":%q}`,
		id, resource, aaAccount, rtype, ftype)
}

func aaHandler(t *testing.T, deny bool) func(http.ResponseWriter, nativetest.Request) {
	return func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case r.Method == "GET" && r.Path == "/analyzer":
			if strings.Contains(r.Query, "nextToken=a2") {
				nativetest.JSON(w, `{"analyzers":[{"arn":"`+aaUnused+`","name":"unused","type":"ACCOUNT_UNUSED_ACCESS","status":"ACTIVE","createdAt":"2026-01-01T00:00:00Z"},
					{"arn":"arn:aws:access-analyzer:us-east-1:111122223333:analyzer/old","name":"old","type":"ACCOUNT","status":"DISABLED","createdAt":"2026-01-01T00:00:00Z"}]}`)
				return
			}
			nativetest.JSON(w, `{"analyzers":[{"arn":"`+aaExternal+`","name":"org-external","type":"ORGANIZATION","status":"ACTIVE","createdAt":"2026-01-01T00:00:00Z"}],"nextToken":"a2"}`)
		case r.Method == "POST" && r.Path == "/finding":
			// ListFindings (external access analyzers): summaries with principals and public flag.
			if deny {
				nativetest.Error(w, http.StatusForbidden, "AccessDeniedException", "not authorized to perform access-analyzer:ListFindings")
				return
			}
			if r.Body["analyzerArn"] != aaExternal {
				t.Errorf("ListFindings for %v", r.Body["analyzerArn"])
			}
			status, _ := r.Body["filter"].(map[string]any)["status"].(map[string]any)
			if fmt.Sprint(status["eq"]) != "[ACTIVE]" {
				t.Errorf("ListFindings without the ACTIVE filter: %v", r.Body)
			}
			if r.Body["nextToken"] == "f2" {
				nativetest.JSON(w, `{"findings":[{"id":"e2","resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd","resourceType":"AWS::KMS::Key",
					"resourceOwnerAccount":"111122223333","status":"ACTIVE","isPublic":false,"principal":{"AWS":"999999999999"},"action":["kms:Decrypt"],
					"condition":{},"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","updatedAt":"2026-11-28T08:00:00Z"}]}`)
				return
			}
			nativetest.JSON(w, `{"findings":[{"id":"e1","resource":"arn:aws:s3:::shared-reports","resourceType":"AWS::S3::Bucket",
				"resourceOwnerAccount":"111122223333","status":"ACTIVE","isPublic":true,"principal":{"AWS":"*"},"action":["s3:GetObject"],
				"condition":{},"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","updatedAt":"2026-11-28T08:00:00Z"}],"nextToken":"f2"}`)
		case r.Method == "POST" && r.Path == "/findingv2":
			if deny {
				nativetest.Error(w, http.StatusForbidden, "AccessDeniedException", "not authorized to perform access-analyzer:ListFindingsV2")
				return
			}
			status, _ := r.Body["filter"].(map[string]any)["status"].(map[string]any)
			if fmt.Sprint(status["eq"]) != "[ACTIVE]" {
				t.Errorf("ListFindingsV2 without the ACTIVE filter: %v", r.Body)
			}
			switch {
			case r.Body["analyzerArn"] == "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/old":
				t.Errorf("a disabled analyzer was read")
			case r.Body["analyzerArn"] == aaUnused && r.Body["nextToken"] == "u2":
				nativetest.JSON(w, `{"findings":[`+aaFinding("u2", "arn:aws:iam::111122223333:user/old-deploy", "AWS::IAM::User", "UnusedIAMUserAccessKey")+`]}`)
			case r.Body["analyzerArn"] == aaUnused:
				nativetest.JSON(w, `{"findings":[`+aaFinding("u1", "arn:aws:iam::111122223333:role/old-ci", "AWS::IAM::Role", "UnusedIAMRole")+`],"nextToken":"u2"}`)
			default:
				t.Errorf("ListFindingsV2 for %v", r.Body["analyzerArn"])
				nativetest.JSON(w, `{"findings":[]}`)
			}
		default:
			nativetest.Error(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.Path)
		}
	}
}

func TestAccessAnalyzerFindings(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", aaHandler(t, false))
	sink, err := collecttest.Run(t, "accessanalyzer.findings", cfg, aaAccount, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 4 {
		t.Fatalf("%d findings, want 4 (two pages of external access, two of unused access)", len(sink.Findings))
	}
	byARN := map[string]*finding.Finding{}
	for _, f := range sink.Findings {
		byARN[f.ResourceARN] = f
	}
	b := byARN["arn:aws:s3:::shared-reports"]
	if b == nil || b.Source != "accessanalyzer" || b.Severity != finding.Critical || b.ResourceType != "AWS::S3::Bucket" ||
		b.SourceID != "ExternalAccess|arn:aws:s3:::shared-reports|principal=AWS=*|condition=" || b.Region != "us-east-1" || b.AccountID != aaAccount {
		t.Errorf("external access finding %+v", b)
	}
	if k := byARN["arn:aws:kms:us-east-1:111122223333:key/1234abcd"]; k == nil || k.CheckID != "ExternalAccess" || k.Severity != finding.High ||
		!strings.Contains(k.Detail, "999999999999") || !strings.Contains(string(k.Evidence), `"kms:Decrypt"`) {
		t.Errorf("second page (access for another account): %+v", k)
	}
	if u := byARN["arn:aws:iam::111122223333:user/old-deploy"]; u == nil || u.CheckID != "UnusedIAMUserAccessKey" {
		t.Errorf("second page of unused access: %+v", u)
	}
	if u := byARN["arn:aws:iam::111122223333:role/old-ci"]; u == nil || u.CheckID != "UnusedIAMRole" || u.Severity != finding.Low {
		t.Errorf("unused access finding %+v", u)
	}
}

func TestAccessAnalyzerFindingsDenied(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", aaHandler(t, true))
	_, err := collecttest.Run(t, "accessanalyzer.findings", cfg, aaAccount, "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
		t.Fatalf("outcome %s (%v), want denied", outcome, err)
	}
}
