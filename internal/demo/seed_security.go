package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// seedLogging gives every account but dev a multi-region trail with log file validation; dev is
// the planted "account without CloudTrail".
func (o *Org) seedLogging(ctx context.Context, base aws.Config) error {
	for _, key := range []string{"management", "security", "log-archive", "prod", "staging"} {
		cfg := base.Copy()
		if key != "management" {
			cfg = o.Config(base, key, Regions[0])
		} else {
			cfg.Region = Regions[0]
		}
		bucket := "cloudtrail-logs-" + o.accountID(key)
		if err := createBucket(ctx, s3.NewFromConfig(cfg, awsx.S3Options(cfg)), bucket, Regions[0], nil); err != nil {
			return err
		}
		ct := cloudtrail.NewFromConfig(cfg)
		name := "org-audit"
		if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket),
			IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(key != "staging"), IncludeGlobalServiceEvents: aws.Bool(true)}); err != nil {
			return fmt.Errorf("trail in %s: %w", key, err)
		}
		if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
			return err
		}
	}
	o.Planted["account-without-cloudtrail"] = o.Accounts["dev"]
	return nil
}

func (o *Org) accountID(key string) string {
	if key == "management" {
		return o.ManagementID
	}
	return o.Accounts[key]
}

// seedSecurityServices enables GuardDuty and Config in some accounts and regions only (the gaps
// are the point), enables Security Hub in the security tooling account and imports findings from
// the GuardDuty, Inspector and Security Hub controls products about prod's resources.
func (o *Org) seedSecurityServices(ctx context.Context, base aws.Config) error {
	for _, key := range []string{"security", "prod", "staging"} {
		if _, err := guardduty.NewFromConfig(o.Config(base, key, Regions[0])).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)}); err != nil {
			return fmt.Errorf("guardduty in %s: %w", key, err)
		}
	}
	prodCfg := o.Config(base, "prod", Regions[0])
	cs := configservice.NewFromConfig(prodCfg)
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + o.Accounts["prod"] + ":role/config-recorder"),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}); err != nil {
		return fmt.Errorf("config recorder: %w", err)
	}

	hubCfg := o.Config(base, "security", Regions[0])
	hub := securityhub.NewFromConfig(hubCfg)
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(true)}); err != nil {
		return fmt.Errorf("security hub: %w", err)
	}
	prod, region := o.Accounts["prod"], Regions[0]
	instanceARN := fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, prod, o.Planted["instance-imdsv1-public-admin"])
	sgARN := fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, prod, o.Planted["sg-ssh-world"])
	now := time.Now().UTC().Format(time.RFC3339)
	mk := func(id, product, generator, typ, label, title, desc, resType, resID string) shtypes.AwsSecurityFinding {
		return shtypes.AwsSecurityFinding{
			SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id),
			ProductArn:  aws.String(fmt.Sprintf("arn:aws:securityhub:%s::product/aws/%s", region, product)),
			GeneratorId: aws.String(generator), AwsAccountId: aws.String(prod), Region: aws.String(region),
			Types: []string{typ}, CreatedAt: aws.String(now), UpdatedAt: aws.String(now),
			Severity: &shtypes.Severity{Label: shtypes.SeverityLabel(label)},
			Title:    aws.String(title), Description: aws.String(desc),
			Resources:   []shtypes.Resource{{Type: aws.String(resType), Id: aws.String(resID), Region: aws.String(region), Partition: shtypes.PartitionAws}},
			RecordState: shtypes.RecordStateActive, Workflow: &shtypes.Workflow{Status: shtypes.WorkflowStatusNew},
		}
	}
	gd := mk(fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/demo/finding/0c5f1b7e2d", region, prod), "guardduty",
		"arn:aws:guardduty:"+region+":"+prod+":detector/demo", "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce", "HIGH",
		"SSH brute force attacks against "+o.Planted["instance-imdsv1-public-admin"],
		"198.51.100.23 is performing SSH brute force attacks against the instance.", "AwsEc2Instance", instanceARN)
	gd.ProductFields = map[string]string{"aws/guardduty/service/serviceName": "guardduty"}
	insp := mk(fmt.Sprintf("arn:aws:inspector2:%s:%s:finding/demo0001", region, prod), "inspector", "AWSInspector",
		"Software and Configuration Checks/Vulnerabilities/CVE", "CRITICAL", "CVE-2024-6387 - openssh",
		"A signal handler race condition in OpenSSH's server (regreSSHion) allows unauthenticated remote code execution.", "AwsEc2Instance", instanceARN)
	insp.Vulnerabilities = []shtypes.Vulnerability{{Id: aws.String("CVE-2024-6387"), ExploitAvailable: shtypes.VulnerabilityExploitAvailableYes,
		FixAvailable: shtypes.VulnerabilityFixAvailableYes, Cvss: []shtypes.Cvss{{BaseScore: aws.Float64(8.1), Version: aws.String("3.1")}},
		EpssScore: aws.Float64(0.43)}}
	ctrl := mk(fmt.Sprintf("arn:aws:securityhub:%s:%s:security-control/EC2.13/finding/demo-ec2-13", region, prod), "securityhub",
		"security-control/EC2.13", "Software and Configuration Checks/Industry and Regulatory Standards", "HIGH",
		"Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22", "The security group allows SSH from anywhere.",
		"AwsEc2SecurityGroup", sgARN)
	ctrl.Compliance = &shtypes.Compliance{Status: shtypes.ComplianceStatusFailed, SecurityControlId: aws.String("EC2.13")}
	out, err := hub.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{gd, insp, ctrl}})
	if err != nil {
		return fmt.Errorf("import findings: %w", err)
	}
	if aws.ToInt32(out.FailedCount) > 0 {
		return fmt.Errorf("security hub refused %d demo findings", aws.ToInt32(out.FailedCount))
	}
	return nil
}
