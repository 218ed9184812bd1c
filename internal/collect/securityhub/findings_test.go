package securityhub_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// shSampleFindings are the ASFF samples of internal/native/testdata, rewritten into account.
func shSampleFindings(t *testing.T, account string) []shtypes.AwsSecurityFinding {
	t.Helper()
	b, err := os.ReadFile("../../native/testdata/asff.json")
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "111122223333", account))
	var out struct{ Findings []shtypes.AwsSecurityFinding }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Findings
}

// Findings planted in moto's Security Hub through BatchImportFindings (GuardDuty, Inspector and
// Security Hub control product ARNs) come out normalized, GuardDuty and Inspector copies under
// their own services' identities.
func TestSecurityHubFindingsFromMoto(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	ctx := context.Background()
	const account = "123456789012"
	client := securityhub.NewFromConfig(cfg)
	if _, err := client.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatalf("EnableSecurityHub: %v", err)
	}
	samples := shSampleFindings(t, account)
	archived := samples[0]
	archived.Id = aws.String(*archived.Id + "-archived")
	archived.RecordState = shtypes.RecordStateArchived
	// eu-west-1's sample is imported in us-east-1 too: findings keep the Region they carry.
	out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: append(samples, archived)})
	if err != nil || aws.ToInt32(out.FailedCount) != 0 {
		t.Fatalf("BatchImportFindings: %v %+v", err, out)
	}
	sink, err := collecttest.Run(t, "securityhub.findings", cfg, account, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != len(samples) {
		t.Fatalf("%d findings, want %d (archived records excluded)", len(sink.Findings), len(samples))
	}
	bySource := map[string][]*finding.Finding{}
	for _, f := range sink.Findings {
		bySource[f.Source] = append(bySource[f.Source], f)
	}
	gd := bySource["guardduty"]
	if len(gd) != 1 || gd[0].ID != finding.StableID("guardduty", "arn:aws:guardduty:us-east-1:"+account+":detector/12abc34d567e8fa901bc2d34e56789f0/finding/b4bc3b1a2e6c4fbb8e4c4b0c7d6f3b6e") ||
		gd[0].ResourceARN != "arn:aws:ec2:us-east-1:"+account+":instance/i-0abcdef1234567890" || gd[0].Severity != finding.High {
		t.Errorf("GuardDuty via Security Hub: %+v", gd)
	}
	in := bySource["inspector2"]
	if len(in) != 1 || !in[0].Muted || in[0].ResourceType != "AWS::EC2::Instance" {
		t.Errorf("Inspector via Security Hub: %+v", in)
	}
	var sg *finding.Finding
	for _, f := range bySource["securityhub"] {
		if len(f.Controls) == 1 && f.Controls[0] == "fsbp:EC2.19" {
			sg = f
		}
	}
	if sg == nil || sg.Status != finding.Fail || sg.Severity != finding.Critical || sg.ResourceType != "AWS::EC2::SecurityGroup" ||
		sg.ResourceARN != "arn:aws:ec2:us-east-1:"+account+":security-group/sg-0123456789abcdef0" {
		t.Errorf("control finding: %+v", sg)
	}
	for _, f := range sink.Findings {
		if f.AccountID != account {
			t.Errorf("%s: account %q", f.Title, f.AccountID)
		}
	}
}
