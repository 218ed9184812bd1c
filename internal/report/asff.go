package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

// ASFFTarget says where ASFF findings are imported: the account and region of the Security Hub
// that receives them (the product ARN is that account's own "default" product).
type ASFFTarget struct {
	Account   string
	Region    string
	Partition string
}

// asffTypes maps resource types to ASFF resource types; others become "Other".
var asffTypes = map[string]string{
	"AWS::S3::Bucket": "AwsS3Bucket", "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup", "AWS::EC2::Instance": "AwsEc2Instance",
	"AWS::EC2::Volume": "AwsEc2Volume", "AWS::EC2::VPC": "AwsEc2Vpc", "AWS::EC2::Subnet": "AwsEc2Subnet",
	"AWS::EC2::NetworkAcl": "AwsEc2NetworkAcl", "AWS::IAM::User": "AwsIamUser", "AWS::IAM::Role": "AwsIamRole",
	"AWS::IAM::Group": "AwsIamGroup", "AWS::IAM::ManagedPolicy": "AwsIamPolicy", "AWS::KMS::Key": "AwsKmsKey",
	"AWS::CloudTrail::Trail": "AwsCloudTrailTrail", "AWS::RDS::DBInstance": "AwsRdsDbInstance",
	"AWS::RDS::DBCluster": "AwsRdsDbCluster", "AWS::RDS::DBSnapshot": "AwsRdsDbSnapshot",
	"AWS::RDS::DBClusterSnapshot": "AwsRdsDbClusterSnapshot", "AWS::Lambda::Function": "AwsLambdaFunction",
	"AWS::ECR::Repository": "AwsEcrRepository", "AWS::EKS::Cluster": "AwsEksCluster",
	"AWS::ElasticLoadBalancingV2::LoadBalancer": "AwsElbv2LoadBalancer", "AWS::EFS::FileSystem": "AwsEfsAccessPoint",
	"AWS::SNS::Topic": "AwsSnsTopic", "AWS::GuardDuty::Detector": "AwsGuardDutyDetector",
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ASFFFinding converts a finding into an AWS Security Finding Format object that
// BatchImportFindings accepts (field names and limits of the ASFF reference).
func ASFFFinding(f *finding.Finding, t ASFFTarget) map[string]any {
	part := t.Partition
	if part == "" {
		part = "aws"
	}
	sev := strings.ToUpper(f.Severity.String())
	if sev == "INFO" {
		sev = "INFORMATIONAL"
	}
	comp := "NOT_AVAILABLE"
	switch f.Status {
	case finding.Pass:
		comp = "PASSED"
	case finding.Fail:
		comp = "FAILED"
	}
	workflow := "NEW"
	if f.Muted {
		workflow = "SUPPRESSED"
	} else if f.Lifecycle == finding.LifecycleResolved || f.Status == finding.Pass {
		workflow = "RESOLVED"
	}
	record := "ACTIVE"
	if f.Lifecycle == finding.LifecycleResolved {
		record = "ARCHIVED"
	}
	rtype := asffTypes[f.ResourceType]
	if rtype == "" {
		rtype = "Other"
	}
	region := f.Region
	if region == "" || region == "global" {
		region = t.Region
	}
	first, last := f.FirstSeen, f.LastSeen
	if first.IsZero() {
		first = time.Now().UTC()
	}
	if last.IsZero() {
		last = first
	}
	var reqs []string
	for _, c := range f.Controls {
		reqs = append(reqs, c)
	}
	types := []string{"Software and Configuration Checks/AWS Security Best Practices"}
	for _, c := range f.Controls {
		if strings.HasPrefix(c, "cis-") {
			types = append(types, "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark")
			break
		}
	}
	desc := f.Detail
	if desc == "" {
		desc = f.Title
	}
	o := map[string]any{
		"SchemaVersion":   "2018-10-08",
		"Id":              truncate(f.ID, 512),
		"ProductArn":      fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", part, t.Region, t.Account, t.Account),
		"ProductName":     "yagura",
		"CompanyName":     "yagura",
		"GeneratorId":     truncate("yagura/"+f.CheckID, 512),
		"AwsAccountId":    f.AccountID,
		"Types":           types,
		"CreatedAt":       first.UTC().Format(time.RFC3339),
		"UpdatedAt":       last.UTC().Format(time.RFC3339),
		"FirstObservedAt": first.UTC().Format(time.RFC3339),
		"LastObservedAt":  last.UTC().Format(time.RFC3339),
		"Severity":        map[string]any{"Label": sev},
		"Title":           truncate(f.Title, 256),
		"Description":     truncate(desc, 1024),
		"Resources": []map[string]any{{
			"Type": rtype, "Id": truncate(f.ResourceARN, 512), "Partition": part, "Region": region,
		}},
		"Compliance":  map[string]any{"Status": comp},
		"RecordState": record,
		"Workflow":    map[string]any{"Status": workflow},
		"ProductFields": map[string]string{
			"yagura/CheckId": f.CheckID, "yagura/Status": string(f.Status), "yagura/Source": f.Source,
		},
	}
	if len(reqs) > 0 {
		o["Compliance"].(map[string]any)["RelatedRequirements"] = reqs
	}
	if f.Remediation != "" {
		o["Remediation"] = map[string]any{"Recommendation": map[string]any{"Text": truncate(f.Remediation, 512)}}
	}
	if f.Muted {
		o["Note"] = map[string]any{"Text": truncate("muted: "+f.MuteReason, 512), "UpdatedBy": "yagura", "UpdatedAt": last.UTC().Format(time.RFC3339)}
	}
	return o
}

// ASFF writes findings as a JSON array of ASFF objects for the target Security Hub.
func ASFF(w io.Writer, fs []*finding.Finding, t ASFFTarget) error {
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, ASFFFinding(f, t))
	}
	return JSON(w, out)
}
