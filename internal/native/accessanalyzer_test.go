package native_test

import (
	"encoding/json"
	"testing"

	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

const (
	orgAnalyzer    = "arn:aws:access-analyzer:us-east-1:111111111111:analyzer/org"
	memberAnalyzer = "arn:aws:access-analyzer:us-east-1:222222222222:analyzer/account"
)

// externalSummary decodes one ListFindings summary in Access Analyzer's wire shape.
func externalSummary(t *testing.T, wire string) *aatypes.FindingSummary {
	t.Helper()
	var f aatypes.FindingSummary
	if err := json.Unmarshal([]byte(wire), &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// The organization analyzer and the member's account analyzer report the same grant under
// their own finding ids; they are one finding. A different principal or condition is another.
func TestAccessAnalyzerIdentityIgnoresTheAnalyzer(t *testing.T) {
	bucketShared := func(id, principal, condition, actions string, public bool) string {
		p, _ := json.Marshal(public)
		return `{"id":"` + id + `","resource":"arn:aws:s3:::reports","resourceType":"AWS::S3::Bucket","resourceOwnerAccount":"222222222222",
		"status":"ACTIVE","isPublic":` + string(p) + `,"principal":` + principal + `,"action":` + actions + `,"condition":` + condition + `,
		"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","updatedAt":"2026-11-28T08:00:00Z"}`
	}
	org := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		bucketShared("org-1", `{"AWS":"444455556666"}`, `{}`, `["s3:GetObject"]`, false)))
	member := native.FromAccessAnalyzerExternal(memberAnalyzer, "us-east-1", externalSummary(t,
		bucketShared("acct-9", `{"AWS":"arn:aws:iam::444455556666:root"}`, `{}`, `["s3:GetObject","s3:ListBucket"]`, false)))
	if org.ID != member.ID || org.SourceID != member.SourceID {
		t.Fatalf("the two analyzers' copies differ: %s %q / %s %q", org.ID, org.SourceID, member.ID, member.SourceID)
	}
	if org.AccountID != "222222222222" || org.ResourceARN != "arn:aws:s3:::reports" {
		t.Errorf("owner/resource %s %s", org.AccountID, org.ResourceARN)
	}
	var ev map[string]any
	_ = json.Unmarshal(member.Evidence, &ev)
	if o, _ := ev[native.EvidenceOrigins].([]any); len(o) != 1 || o[0] != memberAnalyzer {
		t.Errorf("origins %v, want the member's analyzer", ev[native.EvidenceOrigins])
	}
	other := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		bucketShared("org-2", `{"AWS":"555566667777"}`, `{}`, `["s3:GetObject"]`, false)))
	conditioned := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		bucketShared("org-3", `{"AWS":"444455556666"}`, `{"aws:SourceVpc":"vpc-1"}`, `["s3:GetObject"]`, false)))
	public := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		bucketShared("org-4", `{"AWS":"*"}`, `{}`, `["s3:GetObject"]`, true)))
	ids := map[string]bool{org.ID: true, other.ID: true, conditioned.ID: true, public.ID: true}
	if len(ids) != 4 {
		t.Errorf("another principal, a condition and public access must be distinct findings: %q %q %q %q",
			org.SourceID, other.SourceID, conditioned.SourceID, public.SourceID)
	}
	if public.Severity != finding.Critical || org.Severity != finding.High {
		t.Errorf("severities public %s, cross-account %s", public.Severity, org.Severity)
	}
}

// Security Hub relays one record per analyzer and resource; its copy merges with the direct one.
func TestAccessAnalyzerRelayedBySecurityHubMerges(t *testing.T) {
	direct := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		`{"id":"org-1","resource":"arn:aws:iam::222222222222:role/sso","resourceType":"AWS::IAM::Role","resourceOwnerAccount":"222222222222",
		"status":"ACTIVE","isPublic":false,"principal":{"Federated":"arn:aws:iam::222222222222:saml-provider/Okta"},
		"action":["sts:AssumeRoleWithSAML"],"condition":{},"analyzedAt":"2026-11-28T08:00:00Z","createdAt":"2026-11-20T08:00:00Z","updatedAt":"2026-11-28T08:00:00Z"}`))
	const asff = `[{"SchemaVersion":"2018-10-08",
	  "Id":"arn:aws:access-analyzer:us-east-1:111111111111:analyzer/org/arn:aws:iam::222222222222:role/sso",
	  "ProductArn":"arn:aws:securityhub:us-east-1::product/aws/access-analyzer","GeneratorId":"aws/access-analyzer",
	  "AwsAccountId":"111111111111","Region":"us-east-1","Types":["Software and Configuration Checks/AWS Security Best Practices/External Access Granted"],
	  "Severity":{"Label":"LOW","Normalized":1},"Title":"AwsIamRole/arn:aws:iam::222222222222:role/sso/ allows cross-account access",
	  "Description":"allows cross-account access from Federated arn:aws:iam::222222222222:saml-provider/Okta",
	  "Resources":[{"Type":"AwsIamRole","Id":"arn:aws:iam::222222222222:role/sso","Details":{"Other":{"External Principal Type":"Federated",
	    "Condition":"none","Action Granted":"sts:AssumeRoleWithSAML","External Principal":"arn:aws:iam::222222222222:saml-provider/Okta"}}}],
	  "ProductFields":{"ResourceOwnerAccount":"222222222222"},"RecordState":"ACTIVE","Workflow":{"Status":"NEW"}},
	 {"SchemaVersion":"2018-10-08",
	  "Id":"arn:aws:access-analyzer:us-east-1:222222222222:analyzer/unused/arn:aws:iam::222222222222:role/old-ci/UnusedIAMRole",
	  "ProductArn":"arn:aws:securityhub:us-east-1::product/aws/access-analyzer","GeneratorId":"aws/access-analyzer",
	  "AwsAccountId":"222222222222","Region":"us-east-1","Types":["Software and Configuration Checks/AWS Security Best Practices/Unused IAM Role"],
	  "Severity":{"Label":"MEDIUM","Normalized":40},"Title":"unused role",
	  "Resources":[{"Type":"AwsIamRole","Id":"arn:aws:iam::222222222222:role/old-ci"}],
	  "ProductFields":{"ResourceOwnerAccount":"222222222222","findingType":"UnusedIAMRole"},"RecordState":"ACTIVE","Workflow":{"Status":"NEW"}}]`
	var fs []shtypes.AwsSecurityFinding
	if err := json.Unmarshal([]byte(asff), &fs); err != nil {
		t.Fatal(err)
	}
	relayed := native.FromASFF(&fs[0])
	check(t, relayed, want{source: "accessanalyzer", sourceID: direct.SourceID, checkID: "ExternalAccess",
		sources: []string{"accessanalyzer", "securityhub"}, status: finding.Fail, severity: finding.Low,
		account: "222222222222", region: "us-east-1", arn: "arn:aws:iam::222222222222:role/sso", rtype: "AWS::IAM::Role"})
	if relayed.ID != direct.ID {
		t.Errorf("relayed copy %s, direct %s", relayed.ID, direct.ID)
	}
	var ev map[string]any
	_ = json.Unmarshal(relayed.Evidence, &ev)
	if o, _ := ev[native.EvidenceOrigins].([]any); len(o) != 1 || o[0] != orgAnalyzer {
		t.Errorf("relayed origins %v", ev[native.EvidenceOrigins])
	}
	unused := native.FromASFF(&fs[1])
	if unused.SourceID != "UnusedIAMRole|arn:aws:iam::222222222222:role/old-ci" || unused.CheckID != "UnusedIAMRole" {
		t.Errorf("relayed unused access: %q %q", unused.SourceID, unused.CheckID)
	}
}

func TestAccessAnalyzerTitleNamesThePrincipal(t *testing.T) {
	f := native.FromAccessAnalyzerExternal(orgAnalyzer, "us-east-1", externalSummary(t,
		`{"id":"x","resource":"arn:aws:kms:us-east-1:222222222222:key/k1","resourceType":"AWS::KMS::Key","resourceOwnerAccount":"222222222222",
		"status":"ACTIVE","isPublic":false,"principal":{"AWS":"444455556666"},"action":["kms:Decrypt"],"condition":{}}`))
	if f.Title != "Resource k1 is shared with AWS 444455556666" {
		t.Errorf("title %q", f.Title)
	}
}
