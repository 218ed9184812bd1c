package native_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

// load decodes a testdata sample (an API answer in its wire shape) into v. encoding/json matches
// member names case-insensitively, which is how the services' camelCase members meet the SDK's
// field names.
func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func evidenceOf(t *testing.T, f *finding.Finding) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Evidence, &m); err != nil {
		t.Fatalf("evidence of %s: %v (%s)", f.Title, err, f.Evidence)
	}
	return m
}

type want struct {
	source, sourceID, checkID string
	sources                   []string
	status                    finding.Status
	severity                  finding.Severity
	account, region           string
	arn, rtype                string
	controls                  []string
	muted                     bool
}

func check(t *testing.T, f *finding.Finding, w want) {
	t.Helper()
	if f.Source != w.source || f.SourceID != w.sourceID {
		t.Errorf("source %q/%q, want %q/%q", f.Source, f.SourceID, w.source, w.sourceID)
	}
	if f.ID != finding.StableID(w.source, w.sourceID) && w.source != native.SourceYagura {
		t.Errorf("id %s is not StableID(%q, %q)", f.ID, w.source, w.sourceID)
	}
	if w.checkID != "" && f.CheckID != w.checkID {
		t.Errorf("check id %q, want %q", f.CheckID, w.checkID)
	}
	if w.sources != nil && !equal(f.Sources, w.sources) {
		t.Errorf("sources %v, want %v", f.Sources, w.sources)
	}
	if f.Status != w.status || f.Severity != w.severity {
		t.Errorf("status/severity %s/%s, want %s/%s", f.Status, f.Severity, w.status, w.severity)
	}
	if f.AccountID != w.account || f.Region != w.region {
		t.Errorf("account/region %s/%s, want %s/%s", f.AccountID, f.Region, w.account, w.region)
	}
	if f.ResourceARN != w.arn || f.ResourceType != w.rtype {
		t.Errorf("resource %s (%s), want %s (%s)", f.ResourceARN, f.ResourceType, w.arn, w.rtype)
	}
	if w.controls != nil && !equal(f.Controls, w.controls) {
		t.Errorf("controls %v, want %v", f.Controls, w.controls)
	}
	if f.Muted != w.muted {
		t.Errorf("muted %v, want %v", f.Muted, w.muted)
	}
	if f.Title == "" {
		t.Errorf("no title")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const acct = "111122223333"

func TestFromASFF(t *testing.T) {
	var out struct{ Findings []shtypes.AwsSecurityFinding }
	load(t, "asff.json", &out)
	if len(out.Findings) != 5 {
		t.Fatalf("%d findings in sample", len(out.Findings))
	}
	got := make([]*finding.Finding, len(out.Findings))
	for i := range out.Findings {
		got[i] = native.FromASFF(&out.Findings[i])
	}
	check(t, got[0], want{source: "securityhub", sourceID: "arn:aws:securityhub:us-east-1:111122223333:security-control/EC2.19/finding/5d6a1c2e-8f3b-4f0e-9c1d-2b7e6a4f9c01",
		checkID: "EC2.19", sources: []string{"securityhub"}, status: finding.Fail, severity: finding.Critical, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0", rtype: "AWS::EC2::SecurityGroup", controls: []string{"fsbp:EC2.19"}})
	if got[0].Remediation == "" {
		t.Errorf("control remediation lost")
	}
	// GuardDuty through Security Hub takes GuardDuty's own identity.
	check(t, got[1], want{source: "guardduty", sourceID: "arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/b4bc3b1a2e6c4fbb8e4c4b0c7d6f3b6e",
		sources: []string{"guardduty", "securityhub"}, status: finding.Fail, severity: finding.High, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance"})
	// Inspector through Security Hub, suppressed there: muted, status kept.
	check(t, got[2], want{source: "inspector2", sourceID: "arn:aws:inspector2:us-east-1:111122223333:finding/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
		sources: []string{"inspector2", "securityhub"}, status: finding.Fail, severity: finding.High, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance", muted: true})
	if ev := evidenceOf(t, got[2]); ev["Vulnerabilities"] == nil || ev["WorkflowStatus"] != "SUPPRESSED" {
		t.Errorf("inspector evidence lacks vulnerabilities or workflow: %v", ev)
	}
	check(t, got[3], want{source: "securityhub", sourceID: aws(out.Findings[3].Id), checkID: "S3.8", status: finding.Pass, severity: finding.Informational,
		account: acct, region: "us-east-1", arn: "arn:aws:s3:::example-logs", rtype: "AWS::S3::Bucket", controls: []string{"fsbp:S3.8"}})
	check(t, got[4], want{source: "securityhub", sourceID: aws(out.Findings[4].Id), checkID: "Config.1", status: finding.Error, severity: finding.Medium,
		account: acct, region: "eu-west-1", arn: "AWS::::Account:111122223333", rtype: "AWS::::Account", controls: []string{"fsbp:Config.1"}})
	if got[4].Detail == aws(out.Findings[4].Description) {
		t.Errorf("NOT_AVAILABLE reason missing from detail: %q", got[4].Detail)
	}
}

func aws(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestSecurityControlIDOlderGenerator(t *testing.T) {
	gen := "aws-foundational-security-best-practices/v/1.0.0/EC2.2"
	if got := native.SecurityControlID(&shtypes.AwsSecurityFinding{GeneratorId: &gen}); got != "EC2.2" {
		t.Fatalf("got %q", got)
	}
	other := "arn:aws:guardduty:us-east-1:1:detector/x"
	if got := native.SecurityControlID(&shtypes.AwsSecurityFinding{GeneratorId: &other}); got != "" {
		t.Fatalf("GuardDuty generator taken for a control: %q", got)
	}
}

func TestFromInspector(t *testing.T) {
	var out struct{ Findings []i2types.Finding }
	load(t, "inspector.json", &out)
	got := make([]*finding.Finding, len(out.Findings))
	for i := range out.Findings {
		got[i] = native.FromInspector(&out.Findings[i])
	}
	check(t, got[0], want{source: "inspector2", sourceID: "arn:aws:inspector2:us-east-1:111122223333:finding/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
		checkID: "PACKAGE_VULNERABILITY", status: finding.Fail, severity: finding.High, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance"})
	ev := evidenceOf(t, got[0])
	if ev["exploitAvailable"] != "YES" || ev["fixAvailable"] != "YES" || ev["epss"] != 0.42 || ev["inspectorScore"] != 8.1 {
		t.Errorf("scores missing from evidence: %v", ev)
	}
	if cves, _ := ev["cves"].([]any); len(cves) != 1 || cves[0] != "CVE-2024-6387" {
		t.Errorf("cves %v", ev["cves"])
	}
	if pk, _ := ev["packages"].([]any); len(pk) != 1 || pk[0].(map[string]any)["name"] != "openssh-server" {
		t.Errorf("packages %v", ev["packages"])
	}
	if cv, _ := ev["cvss"].([]any); len(cv) != 1 || cv[0].(map[string]any)["BaseScore"] != 8.1 {
		t.Errorf("cvss %v", ev["cvss"])
	}
	if got[0].Remediation != "Upgrade to openssh-server 0:8.7p1-8.amzn2023.0.10" {
		t.Errorf("remediation %q", got[0].Remediation)
	}
	// ECR image → its repository, digest kept.
	check(t, got[1], want{source: "inspector2", sourceID: "arn:aws:inspector2:us-east-1:111122223333:finding/1b2c3d4e5f60718293a4b5c6d7e8f9a0",
		status: finding.Fail, severity: finding.Medium, account: acct, region: "us-east-1",
		arn: "arn:aws:ecr:us-east-1:111122223333:repository/web/api", rtype: "AWS::ECR::Repository"})
	if img, _ := evidenceOf(t, got[1])["image"].(map[string]any); img["imageHash"] == nil {
		t.Errorf("image digest lost: %v", img)
	}
	// Lambda: qualifier dropped; code vulnerability details kept.
	check(t, got[2], want{source: "inspector2", sourceID: "arn:aws:inspector2:us-east-1:111122223333:finding/2c3d4e5f60718293a4b5c6d7e8f9a0b1",
		checkID: "CODE_VULNERABILITY", status: finding.Fail, severity: finding.Critical, account: acct, region: "us-east-1",
		arn: "arn:aws:lambda:us-east-1:111122223333:function:orders", rtype: "AWS::Lambda::Function"})
	if code, _ := evidenceOf(t, got[2])["code"].(map[string]any); code["ruleId"] != "python-avoid-sql-injection" {
		t.Errorf("code details lost: %v", code)
	}
	if got[2].Remediation != "Use parameterized queries." {
		t.Errorf("remediation %q", got[2].Remediation)
	}
	check(t, got[3], want{source: "inspector2", sourceID: "arn:aws:inspector2:us-east-1:111122223333:finding/3d4e5f60718293a4b5c6d7e8f9a0b1c2",
		checkID: "NETWORK_REACHABILITY", status: finding.Fail, severity: finding.Medium, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance"})
	if nr, _ := evidenceOf(t, got[3])["networkReachability"].(map[string]any); nr["protocol"] != "TCP" {
		t.Errorf("reachability lost: %v", nr)
	}
}

func TestFromGuardDuty(t *testing.T) {
	var out struct{ Findings []gdtypes.Finding }
	load(t, "guardduty.json", &out)
	got := make([]*finding.Finding, len(out.Findings))
	for i := range out.Findings {
		got[i] = native.FromGuardDuty(&out.Findings[i])
	}
	check(t, got[0], want{source: "guardduty", sourceID: "arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/b4bc3b1a2e6c4fbb8e4c4b0c7d6f3b6e",
		checkID: "UnauthorizedAccess:EC2/SSHBruteForce", status: finding.Fail, severity: finding.High, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance"})
	if ev := evidenceOf(t, got[0]); ev["count"] != 12.0 || ev["action"] == nil {
		t.Errorf("evidence %v", ev)
	}
	check(t, got[1], want{source: "guardduty", sourceID: aws(out.Findings[1].Arn), checkID: "Recon:IAMUser/MaliciousIPCaller",
		status: finding.Fail, severity: finding.Medium, account: acct, region: "us-east-1",
		arn: "arn:aws:iam::111122223333:user/deploy", rtype: "AWS::IAM::User"})
	check(t, got[2], want{source: "guardduty", sourceID: aws(out.Findings[2].Arn), status: finding.Fail, severity: finding.Critical,
		account: acct, region: "us-east-1", arn: "arn:aws:s3:::example-logs", rtype: "AWS::S3::Bucket"})
}

// The same GuardDuty finding read directly and through Security Hub must get the same id.
func TestGuardDutyAndSecurityHubCopiesShareID(t *testing.T) {
	var gd struct{ Findings []gdtypes.Finding }
	load(t, "guardduty.json", &gd)
	var sh struct{ Findings []shtypes.AwsSecurityFinding }
	load(t, "asff.json", &sh)
	if a, b := native.FromGuardDuty(&gd.Findings[0]).ID, native.FromASFF(&sh.Findings[1]).ID; a != b {
		t.Errorf("guardduty %s != security hub copy %s", a, b)
	}
	var in struct{ Findings []i2types.Finding }
	load(t, "inspector.json", &in)
	if a, b := native.FromInspector(&in.Findings[0]).ID, native.FromASFF(&sh.Findings[2]).ID; a != b {
		t.Errorf("inspector %s != security hub copy %s", a, b)
	}
}

func TestGuardDutySeverityRanges(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want finding.Severity
	}{{0.5, finding.Informational}, {1.0, finding.Low}, {3.9, finding.Low}, {4.0, finding.Medium}, {6.9, finding.Medium},
		{7.0, finding.High}, {8.9, finding.High}, {9.0, finding.Critical}, {10, finding.Critical}} {
		if got := native.GuardDutySeverity(c.in); got != c.want {
			t.Errorf("%v: %s, want %s", c.in, got, c.want)
		}
	}
}

func TestFromAccessAnalyzer(t *testing.T) {
	const wire = `{"findings": [
	  {"analyzedAt": "2026-11-28T08:00:00Z", "createdAt": "2026-11-20T08:00:00Z", "id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
	   "resource": "arn:aws:s3:::shared-reports", "resourceOwnerAccount": "111122223333", "resourceType": "AWS::S3::Bucket",
	   "status": "ACTIVE", "updatedAt": "2026-11-28T08:00:00Z", "findingType": "ExternalAccess"},
	  {"analyzedAt": "2026-11-28T08:00:00Z", "createdAt": "2026-11-20T08:00:00Z", "id": "b1b2c3d4-5678-90ab-cdef-EXAMPLE22222",
	   "resource": "arn:aws:iam::111122223333:role/old-ci", "resourceOwnerAccount": "111122223333", "resourceType": "AWS::IAM::Role",
	   "status": "ACTIVE", "updatedAt": "2026-11-28T08:00:00Z", "findingType": "UnusedIAMRole"},
	  {"analyzedAt": "2026-11-28T08:00:00Z", "createdAt": "2026-11-20T08:00:00Z", "id": "c1b2c3d4",
	   "resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd", "resourceOwnerAccount": "111122223333", "resourceType": "AWS::KMS::Key",
	   "status": "ACTIVE", "updatedAt": "2026-11-28T08:00:00Z", "findingType": "ExternalAccess", "error": "ACCESS_DENIED"}]}`
	var out struct{ Findings []aatypes.FindingSummaryV2 }
	if err := json.Unmarshal([]byte(wire), &out); err != nil {
		t.Fatal(err)
	}
	const an = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/org"
	f := native.FromAccessAnalyzer(an, "us-east-1", &out.Findings[0])
	check(t, f, want{source: "accessanalyzer", sourceID: "ExternalAccess|arn:aws:s3:::shared-reports|principal=|condition=", checkID: "ExternalAccess",
		status: finding.Fail, severity: finding.High, account: acct, region: "us-east-1", arn: "arn:aws:s3:::shared-reports", rtype: "AWS::S3::Bucket"})
	f = native.FromAccessAnalyzer(an, "us-east-1", &out.Findings[1])
	check(t, f, want{source: "accessanalyzer", sourceID: "UnusedIAMRole|arn:aws:iam::111122223333:role/old-ci", checkID: "UnusedIAMRole",
		status: finding.Fail, severity: finding.Low, account: acct, region: "us-east-1", arn: "arn:aws:iam::111122223333:role/old-ci", rtype: "AWS::IAM::Role"})
	if f := native.FromAccessAnalyzer(an, "us-east-1", &out.Findings[2]); f.Status != finding.Error {
		t.Errorf("analysis error gave %s", f.Status)
	}
}

func TestFromConfigEvaluation(t *testing.T) {
	const wire = `{"EvaluationResults": [
	  {"Annotation": "Port 22 is open to 0.0.0.0/0", "ComplianceType": "NON_COMPLIANT",
	   "EvaluationResultIdentifier": {"EvaluationResultQualifier": {"ConfigRuleName": "restricted-ssh", "ResourceId": "sg-0123456789abcdef0", "ResourceType": "AWS::EC2::SecurityGroup"}}},
	  {"ComplianceType": "NON_COMPLIANT",
	   "EvaluationResultIdentifier": {"EvaluationResultQualifier": {"ConfigRuleName": "s3-bucket-versioning-enabled", "ResourceId": "example-logs", "ResourceType": "AWS::S3::Bucket"}}},
	  {"ComplianceType": "NON_COMPLIANT",
	   "EvaluationResultIdentifier": {"EvaluationResultQualifier": {"ConfigRuleName": "iam-user-mfa-enabled", "ResourceId": "AIDAEXAMPLE", "ResourceType": "AWS::IAM::User"}}},
	  {"ComplianceType": "INSUFFICIENT_DATA",
	   "EvaluationResultIdentifier": {"EvaluationResultQualifier": {"ConfigRuleName": "restricted-ssh", "ResourceId": "sg-1", "ResourceType": "AWS::EC2::SecurityGroup"}}}]}`
	var out struct{ EvaluationResults []cfgtypes.EvaluationResult }
	if err := json.Unmarshal([]byte(wire), &out); err != nil {
		t.Fatal(err)
	}
	f := native.FromConfigEvaluation("aws", acct, "us-east-1", &out.EvaluationResults[0])
	check(t, f, want{source: "config", sourceID: acct + "/us-east-1/restricted-ssh/AWS::EC2::SecurityGroup/sg-0123456789abcdef0", checkID: "restricted-ssh",
		status: finding.Fail, severity: finding.Medium, account: acct, region: "us-east-1",
		arn: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0", rtype: "AWS::EC2::SecurityGroup"})
	if f.Detail != "Port 22 is open to 0.0.0.0/0" {
		t.Errorf("annotation lost: %q", f.Detail)
	}
	if f := native.FromConfigEvaluation("aws", acct, "us-east-1", &out.EvaluationResults[1]); f.ResourceARN != "arn:aws:s3:::example-logs" {
		t.Errorf("bucket arn %q", f.ResourceARN)
	}
	if f := native.FromConfigEvaluation("aws", acct, "us-east-1", &out.EvaluationResults[2]); f.ResourceARN != "AIDAEXAMPLE" || f.Status != finding.Fail ||
		native.Unmatched(f) == "" {
		t.Errorf("IAM user by unique id: arn %q status %s, unmatched %q", f.ResourceARN, f.Status, native.Unmatched(f))
	}
	if f := native.FromConfigEvaluation("aws", acct, "us-east-1", &out.EvaluationResults[3]); f.Status != finding.Error {
		t.Errorf("INSUFFICIENT_DATA gave %s", f.Status)
	}
}

func TestFromPatchState(t *testing.T) {
	const wire = `{"InstancePatchStates": [
	  {"BaselineId": "pb-0c10e65780EXAMPLE", "CriticalNonCompliantCount": 2, "FailedCount": 0, "InstalledCount": 40, "InstalledOtherCount": 3,
	   "InstanceId": "i-0abcdef1234567890", "MissingCount": 5, "NotApplicableCount": 800, "Operation": "Scan",
	   "OperationEndTime": "2026-11-28T03:00:00Z", "OperationStartTime": "2026-11-28T02:58:00Z", "PatchGroup": "web", "SecurityNonCompliantCount": 4},
	  {"BaselineId": "pb-0c10e65780EXAMPLE", "FailedCount": 0, "InstalledCount": 45, "InstanceId": "mi-0123456789abcdef0", "MissingCount": 0,
	   "NotApplicableCount": 800, "Operation": "Scan", "OperationEndTime": "2026-11-28T03:00:00Z", "OperationStartTime": "2026-11-28T02:58:00Z"},
	  {"BaselineId": "pb-1", "FailedCount": 1, "InstanceId": "i-1", "MissingCount": 0, "Operation": "Install",
	   "OperationEndTime": "2026-11-28T03:00:00Z", "OperationStartTime": "2026-11-28T02:58:00Z"}]}`
	var out struct{ InstancePatchStates []ssmtypes.InstancePatchState }
	if err := json.Unmarshal([]byte(wire), &out); err != nil {
		t.Fatal(err)
	}
	f := native.FromPatchState("aws", acct, "us-east-1", &out.InstancePatchStates[0])
	check(t, f, want{source: "ssm", sourceID: acct + "/us-east-1/i-0abcdef1234567890", checkID: "ssm.patch-compliance", status: finding.Fail,
		severity: finding.Critical, account: acct, region: "us-east-1", arn: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcdef1234567890", rtype: "AWS::EC2::Instance"})
	ev := evidenceOf(t, f)
	if ev["missingCount"] != 5.0 || ev["criticalNonCompliantCount"] != 2.0 || ev["securityNonCompliantCount"] != 4.0 || ev["failedCount"] != 0.0 {
		t.Errorf("counts %v", ev)
	}
	f = native.FromPatchState("aws", acct, "us-east-1", &out.InstancePatchStates[1])
	if f.Status != finding.Pass || f.ResourceARN != "arn:aws:ssm:us-east-1:111122223333:managed-instance/mi-0123456789abcdef0" {
		t.Errorf("compliant hybrid instance: %s %s", f.Status, f.ResourceARN)
	}
	if f := native.FromPatchState("aws", acct, "us-east-1", &out.InstancePatchStates[2]); f.Status != finding.Fail || f.Severity != finding.High {
		t.Errorf("failed install: %s/%s", f.Status, f.Severity)
	}
}

func TestFromTrustedAdvisor(t *testing.T) {
	c := &native.TACheck{ID: "HCP4007jGY", Name: "Security Groups - Specific Ports Unrestricted", Category: "security",
		Description: "Checks security groups for rules that allow unrestricted access (0.0.0.0/0) to specific ports.<br><br><b>Alert Criteria</b>",
		Metadata:    []string{"Region", "Security Group Name", "Security Group ID", "Protocol", "Status", "Ports"}}
	r := &native.TAFlaggedResource{Status: "error", Region: "us-east-1", ResourceID: "1x2y3z", Metadata: []string{"us-east-1", "web", "sg-0123", "tcp", "Red", "22"}}
	f := native.FromTrustedAdvisor("aws", acct, c, r)
	check(t, f, want{source: "trustedadvisor", sourceID: acct + "/HCP4007jGY/1x2y3z", checkID: "HCP4007jGY", status: finding.Fail, severity: finding.High,
		account: acct, region: "us-east-1", arn: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123", rtype: "AWS::EC2::SecurityGroup"})
	if md, _ := evidenceOf(t, f)["metadata"].(map[string]any); md["Security Group ID"] != "sg-0123" {
		t.Errorf("metadata columns %v", md)
	}
	if f.Detail != "Checks security groups for rules that allow unrestricted access (0.0.0.0/0) to specific ports. Alert Criteria" {
		t.Errorf("detail %q", f.Detail)
	}
	r.Status, r.IsSuppressed = "warning", true
	if f := native.FromTrustedAdvisor("aws", acct, c, r); f.Severity != finding.Medium || !f.Muted {
		t.Errorf("warning: %s muted=%v", f.Severity, f.Muted)
	}
}

func TestInventoryARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:ecr:us-east-1:1:repository/a/b/sha256:abc": "arn:aws:ecr:us-east-1:1:repository/a/b",
		"arn:aws:lambda:us-east-1:1:function:f:$LATEST":     "arn:aws:lambda:us-east-1:1:function:f",
		"arn:aws:lambda:us-east-1:1:function:f":             "arn:aws:lambda:us-east-1:1:function:f",
		"arn:aws:ec2:us-east-1:1:instance/i-1":              "arn:aws:ec2:us-east-1:1:instance/i-1",
		"AWS::::Account:1":                                  "AWS::::Account:1",
	} {
		if got := native.InventoryARN(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestControlIndexAdopt(t *testing.T) {
	var out struct{ Findings []shtypes.AwsSecurityFinding }
	load(t, "asff.json", &out)
	ix := native.ControlIndex{}
	ix.Add("ec2.sg_no_open_admin_ports", "AWS::EC2::SecurityGroup", []string{"fsbp:EC2.19", "cis-aws-3.0:5.2"})
	ix.Add("s3.account_public_access_block", "AWS::S3::AccountPublicAccessBlock", []string{"fsbp:S3.8"})

	sg := native.FromASFF(&out.Findings[0])
	if !ix.Adopt(sg) {
		t.Fatal("control finding not adopted")
	}
	if want := finding.StableID("yagura", "ec2.sg_no_open_admin_ports", "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0"); sg.ID != want {
		t.Errorf("id %s, want the yagura finding's %s", sg.ID, want)
	}
	if sg.CheckID != "ec2.sg_no_open_admin_ports" || sg.Source != "securityhub" {
		t.Errorf("check %q source %q", sg.CheckID, sg.Source)
	}
	// A check of another resource type implementing the same control is a different problem.
	bucket := native.FromASFF(&out.Findings[3])
	before := bucket.ID
	if ix.Adopt(bucket) || bucket.ID != before {
		t.Errorf("bucket finding merged into an account-level check")
	}
	// GuardDuty copies keep their GuardDuty identity.
	gd := native.FromASFF(&out.Findings[1])
	if ix.Adopt(gd) {
		t.Errorf("GuardDuty finding adopted")
	}
}

// Security Hub reports account-level controls on the account; they merge with the yagura check
// of the account or account-region.
func TestControlIndexAdoptAccountLevel(t *testing.T) {
	var out struct{ Findings []shtypes.AwsSecurityFinding }
	load(t, "asff.json", &out)
	unit := func(partition, account, region string) string {
		if region == "global" {
			return "arn:" + partition + "::" + account + ":account"
		}
		return "arn:" + partition + "::" + account + ":region/" + region
	}
	ix := native.ControlIndex{}
	ix.AddCheck(native.ControlCheck{CheckID: "config.recorder_on", ResourceType: "AWS::Config::RecorderStatus", Scope: "region", UnitARN: unit},
		[]string{"fsbp:Config.1"})
	f := native.FromASFF(&out.Findings[4]) // Config.1 on AWS::::Account:111122223333 in eu-west-1
	if !ix.Adopt(f) {
		t.Fatal("account-level control not adopted")
	}
	arn := "arn:aws::111122223333:region/eu-west-1"
	if f.ResourceARN != arn || f.ResourceType != "AWS::Config::RecorderStatus" || f.ID != finding.StableID("yagura", "config.recorder_on", arn) {
		t.Errorf("adopted %s %s %s", f.ResourceARN, f.ResourceType, f.ID)
	}
}
