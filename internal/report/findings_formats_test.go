package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func sampleFindings() []*finding.Finding {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	return []*finding.Finding{
		{ID: finding.StableID("yagura", "ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"),
			CheckID: "ec2.sg_ingress_ssh_world", Controls: []string{"fsbp:EC2.13", "cis-aws-3.0:5.2"}, Source: "yagura", Status: finding.Fail,
			Severity: finding.High, AccountID: "123456789012", Region: "us-east-1", ResourceARN: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
			ResourceType: "AWS::EC2::SecurityGroup", Title: "Security groups should not allow ingress from 0.0.0.0/0 to port 22",
			Detail: "sg-1 allows tcp 22 from 0.0.0.0/0", Evidence: json.RawMessage(`{"rules":[{"source":"0.0.0.0/0"}]}`),
			Remediation: "CLI: aws ec2 revoke-security-group-ingress ...\nDocs: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
			FirstSeen:   t0, LastSeen: t1, Lifecycle: finding.LifecycleOpen},
		{ID: finding.StableID("yagura", "iam.password_policy_min_length_14", "arn:aws:iam::123456789012:password-policy"),
			CheckID: "iam.password_policy_min_length_14", Controls: []string{"cis-aws-3.0:1.8"}, Source: "yagura", Status: finding.Pass,
			Severity: finding.Medium, AccountID: "123456789012", Region: "global", ResourceARN: "arn:aws:iam::123456789012:password-policy",
			ResourceType: "AWS::IAM::PasswordPolicy", Title: "Password length", Detail: "length >= 14", FirstSeen: t0, LastSeen: t1, Lifecycle: finding.LifecycleNew},
		{ID: finding.StableID("yagura", "guardduty.enabled", "arn:aws::123456789012:region/eu-west-1"),
			CheckID: "guardduty.enabled", Controls: []string{"fsbp:GuardDuty.1"}, Source: "yagura", Status: finding.Error,
			Severity: finding.High, AccountID: "123456789012", Region: "eu-west-1", ResourceARN: "arn:aws::123456789012:region/eu-west-1",
			ResourceType: "AWS::GuardDuty::AccountStatus", Title: "GuardDuty should be enabled", Detail: "collector guardduty.detectors denied",
			FirstSeen: t0, LastSeen: t1, Lifecycle: finding.LifecycleNew, Muted: true, MuteReason: "region unused"},
	}
}

func TestOCSF(t *testing.T) {
	var buf bytes.Buffer
	if err := OCSF(&buf, sampleFindings()); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("%d objects", len(out))
	}
	f := out[0]
	if f["class_uid"].(float64) != 2003 || f["category_uid"].(float64) != 2 || f["type_uid"].(float64) != 200301 {
		t.Fatalf("class fields: %v", f)
	}
	if f["severity_id"].(float64) != 4 || f["status"] != "In Progress" {
		t.Fatalf("severity/status: %v %v", f["severity_id"], f["status"])
	}
	comp := f["compliance"].(map[string]any)
	if comp["status"] != "Fail" || comp["status_id"].(float64) != 3 || comp["control"] != "fsbp:EC2.13" {
		t.Fatalf("compliance: %v", comp)
	}
	res := f["resources"].([]any)[0].(map[string]any)
	if res["uid"] != "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1" || res["type"] != "AWS::EC2::SecurityGroup" || res["region"] != "us-east-1" {
		t.Fatalf("resource: %v", res)
	}
	if c := out[1]["compliance"].(map[string]any); c["status"] != "Pass" {
		t.Fatalf("pass: %v", c)
	}
	if c := out[2]["compliance"].(map[string]any); c["status_id"].(float64) != 99 || out[2]["status"] != "Suppressed" {
		t.Fatalf("error/muted: %v %v", c, out[2]["status"])
	}
}

func TestSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := SARIF(&buf, sampleFindings(), "dev"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID       string
				RuleIndex    int
				Kind, Level  string
				Suppressions []struct{ Justification string }
				Locations    []struct {
					LogicalLocations []struct{ FullyQualifiedName string }
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Tool.Driver.Rules) != 3 || len(doc.Runs[0].Results) != 3 {
		t.Fatalf("doc: %+v", doc)
	}
	r := doc.Runs[0].Results
	if r[0].Kind != "fail" || r[0].Level != "error" || r[0].Locations[0].LogicalLocations[0].FullyQualifiedName == "" {
		t.Fatalf("fail result: %+v", r[0])
	}
	if r[1].Kind != "pass" || r[1].Level != "none" || r[2].Kind != "review" || len(r[2].Suppressions) != 1 {
		t.Fatalf("results: %+v", r)
	}
	if doc.Runs[0].Tool.Driver.Rules[r[2].RuleIndex].ID != r[2].RuleID {
		t.Fatal("ruleIndex does not point at the rule")
	}
}

// TestASFFRoundTrip imports the ASFF output into moto's Security Hub with BatchImportFindings,
// reads it back with GetFindings and compares the fields yagura sets.
func TestASFFRoundTrip(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	ctx := context.Background()
	sh := securityhub.NewFromConfig(cfg)
	if _, err := sh.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fs := sampleFindings()
	if err := ASFF(&buf, fs, ASFFTarget{Account: "123456789012", Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	var asff []shtypes.AwsSecurityFinding
	if err := json.Unmarshal(buf.Bytes(), &asff); err != nil {
		t.Fatal(err)
	}
	out, err := sh.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: asff})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedCount) != 0 || aws.ToInt32(out.SuccessCount) != int32(len(fs)) {
		t.Fatalf("import: success %d failed %d %+v", aws.ToInt32(out.SuccessCount), aws.ToInt32(out.FailedCount), out.FailedFindings)
	}
	got, err := sh.GetFindings(ctx, &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]shtypes.AwsSecurityFinding{}
	for _, f := range got.Findings {
		byID[aws.ToString(f.Id)] = f
	}
	for _, f := range fs {
		g, ok := byID[f.ID]
		if !ok {
			t.Fatalf("finding %s not read back (got %d)", f.ID, len(got.Findings))
		}
		if aws.ToString(g.AwsAccountId) != f.AccountID || aws.ToString(g.GeneratorId) != "yagura/"+f.CheckID || aws.ToString(g.Title) != f.Title {
			t.Errorf("%s: identity fields differ: %+v", f.CheckID, g)
		}
		if g.Severity == nil || !strings.EqualFold(string(g.Severity.Label), f.Severity.String()) && !(f.Severity == finding.Informational && g.Severity.Label == "INFORMATIONAL") {
			t.Errorf("%s: severity %+v", f.CheckID, g.Severity)
		}
		if len(g.Resources) != 1 || aws.ToString(g.Resources[0].Id) != f.ResourceARN {
			t.Errorf("%s: resources %+v", f.CheckID, g.Resources)
		}
		want := map[finding.Status]shtypes.ComplianceStatus{finding.Pass: "PASSED", finding.Fail: "FAILED", finding.Error: "NOT_AVAILABLE"}[f.Status]
		if g.Compliance == nil || g.Compliance.Status != want {
			t.Errorf("%s: compliance %+v, want %s", f.CheckID, g.Compliance, want)
		}
	}
}
