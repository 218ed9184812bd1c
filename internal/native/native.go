// Package native turns the findings of AWS's own security services (Security Hub, Inspector,
// GuardDuty, IAM Access Analyzer, Config, Trusted Advisor, SSM patch compliance) into yagura's
// one finding model, and merges the duplicates they report. Every function here is pure: the
// collectors hand it SDK structs, so it is tested from JSON samples without AWS.
package native

import (
	"encoding/json"
	"strings"

	"github.com/yagura-dev/yagura/internal/collect/ec2"
	"github.com/yagura-dev/yagura/internal/finding"
)

// Source names, as in the finding JSON's `source`.
const (
	SourceYagura         = "yagura"
	SourceSecurityHub    = "securityhub"
	SourceInspector      = "inspector2"
	SourceGuardDuty      = "guardduty"
	SourceAccessAnalyzer = "accessanalyzer"
	SourceConfig         = "config"
	SourceTrustedAdvisor = "trustedadvisor"
	SourceSSM            = "ssm"
)

// FSBP is the control framework prefix of Security Hub's own controls (DESIGN.md: `fsbp:EC2.13`).
const FSBP = "fsbp"

// evidence marshals the source's details; a value that cannot be marshalled is dropped rather
// than failing the finding.
func evidence(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// GuardDutySeverity maps GuardDuty's numeric severity with AWS's documented ranges: low
// 1.0–3.9, medium 4.0–6.9, high 7.0–8.9, critical 9.0–10.0 (anything below 1 is informational).
func GuardDutySeverity(s float64) finding.Severity {
	switch {
	case s >= 9:
		return finding.Critical
	case s >= 7:
		return finding.High
	case s >= 4:
		return finding.Medium
	case s >= 1:
		return finding.Low
	}
	return finding.Informational
}

// labelSeverity reads the upper-case labels Security Hub and Inspector use (INFORMATIONAL, LOW,
// MEDIUM, HIGH, CRITICAL, UNTRIAGED); unknown labels are informational.
func labelSeverity(label string) finding.Severity {
	switch strings.ToUpper(label) {
	case "LOW":
		return finding.Low
	case "MEDIUM":
		return finding.Medium
	case "HIGH":
		return finding.High
	case "CRITICAL":
		return finding.Critical
	}
	return finding.Informational
}

// asffTypes maps ASFF resource types to CloudFormation names (the inventory's naming). ASFF
// names glue the service and the type together (AwsEc2SecurityGroup), so a table is the only
// reliable way back.
var asffTypes = map[string]string{
	"AwsAccount":                    "AWS::::Account",
	"AwsEc2Instance":                ec2.TypeInstance,
	"AwsEc2SecurityGroup":           ec2.TypeSecurityGroup,
	"AwsEc2Vpc":                     ec2.TypeVPC,
	"AwsEc2Subnet":                  ec2.TypeSubnet,
	"AwsEc2Volume":                  ec2.TypeVolume,
	"AwsEc2NetworkAcl":              ec2.TypeNetworkACL,
	"AwsEc2NetworkInterface":        ec2.TypeNetworkInterface,
	"AwsEc2Eip":                     ec2.TypeEIP,
	"AwsEc2VpcEndpointService":      "AWS::EC2::VPCEndpointService",
	"AwsS3Bucket":                   "AWS::S3::Bucket",
	"AwsS3AccountPublicAccessBlock": "AWS::S3::AccountPublicAccessBlock",
	"AwsIamRole":                    "AWS::IAM::Role",
	"AwsIamUser":                    "AWS::IAM::User",
	"AwsIamGroup":                   "AWS::IAM::Group",
	"AwsIamPolicy":                  "AWS::IAM::ManagedPolicy",
	"AwsIamAccessKey":               "AWS::IAM::AccessKey",
	"AwsLambdaFunction":             "AWS::Lambda::Function",
	"AwsRdsDbInstance":              "AWS::RDS::DBInstance",
	"AwsRdsDbCluster":               "AWS::RDS::DBCluster",
	"AwsRdsDbSnapshot":              "AWS::RDS::DBSnapshot",
	"AwsRdsDbClusterSnapshot":       "AWS::RDS::DBClusterSnapshot",
	"AwsKmsKey":                     "AWS::KMS::Key",
	"AwsEcrRepository":              "AWS::ECR::Repository",
	"AwsEcrContainerImage":          "AWS::ECR::Repository",
	"AwsEksCluster":                 "AWS::EKS::Cluster",
	"AwsCloudTrailTrail":            "AWS::CloudTrail::Trail",
	"AwsElbv2LoadBalancer":          "AWS::ElasticLoadBalancingV2::LoadBalancer",
	"AwsElbLoadBalancer":            "AWS::ElasticLoadBalancing::LoadBalancer",
	"AwsSnsTopic":                   "AWS::SNS::Topic",
	"AwsSqsQueue":                   "AWS::SQS::Queue",
	"AwsDynamoDbTable":              "AWS::DynamoDB::Table",
	"AwsSecretsManagerSecret":       "AWS::SecretsManager::Secret",
	"AwsCloudFrontDistribution":     "AWS::CloudFront::Distribution",
}

// ResourceTypeFromASFF returns the CloudFormation name of an ASFF resource type, or the ASFF
// name unchanged when it has no known equivalent (so that nothing is lost).
func ResourceTypeFromASFF(t string) string {
	if cfn, ok := asffTypes[t]; ok {
		return cfn
	}
	return t
}

// InventoryARN rewrites the ARNs the security services give into the form the inventory uses,
// so that findings join their resources: ECR image ARNs become their repository's ARN (yagura
// inventories repositories, not images), qualified Lambda ARNs (…:function:name:$LATEST)
// lose the qualifier, and EC2 snapshot and AMI ARNs lose the account.
func InventoryARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return arn
	}
	switch parts[2] {
	case "ecr":
		// arn:aws:ecr:REGION:ACCOUNT:repository/NAME/sha256:DIGEST (SplitN keeps the digest's
		// colon inside parts[5]).
		if i := strings.Index(parts[5], "/sha256:"); i > 0 {
			return strings.Join(parts[:5], ":") + ":" + parts[5][:i]
		}
	case "ec2":
		// Snapshots and AMIs are shared across accounts by id; their inventory ARNs (as IAM's
		// service authorization reference writes them) carry no account.
		if strings.HasPrefix(parts[5], "snapshot/") || strings.HasPrefix(parts[5], "image/") {
			return strings.Join(parts[:4], ":") + "::" + parts[5]
		}
	case "lambda":
		// parts[5] is "function:NAME" or "function:NAME:QUALIFIER".
		if fn := strings.Split(parts[5], ":"); len(fn) == 3 && fn[0] == "function" {
			return strings.Join(parts[:5], ":") + ":function:" + fn[1]
		}
	}
	return arn
}

// idARN builds the inventory ARN of a resource known by id only (i-…, sg-…, mi-…, a bucket
// name) in the given partition, region and account.
func idARN(partition, region, account, id string) string {
	if partition == "" {
		partition = "aws"
	}
	if strings.HasPrefix(id, "arn:") {
		return InventoryARN(id)
	}
	if a := ec2.ARNForID(partition, region, account, id); a != "" {
		return a
	}
	if strings.HasPrefix(id, "mi-") {
		return "arn:" + partition + ":ssm:" + region + ":" + account + ":managed-instance/" + id
	}
	return ""
}

// partitionOf returns the partition of an ARN, "aws" when it is not one.
func partitionOf(arn string) string {
	if p := strings.SplitN(arn, ":", 3); len(p) == 3 && p[0] == "arn" && p[1] != "" {
		return p[1]
	}
	return "aws"
}

// firstNonEmpty returns the first argument that is not "".
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
