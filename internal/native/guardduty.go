package native

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FromGuardDuty normalizes one GuardDuty finding. Its SourceID is the finding ARN, which
// Security Hub uses as the ASFF Id of its copy, so both merge into one finding.
func FromGuardDuty(f *gdtypes.Finding) *finding.Finding {
	arn := aws.ToString(f.Arn)
	part := firstNonEmpty(aws.ToString(f.Partition), partitionOf(arn))
	account, region := aws.ToString(f.AccountId), aws.ToString(f.Region)
	if arn == "" {
		arn = "arn:" + part + ":guardduty:" + region + ":" + account + ":finding/" + aws.ToString(f.Id)
	}
	out := &finding.Finding{
		ID:        finding.StableID(SourceGuardDuty, arn),
		Source:    SourceGuardDuty,
		Sources:   []string{SourceGuardDuty},
		SourceID:  arn,
		CheckID:   aws.ToString(f.Type),
		Status:    finding.Fail,
		Severity:  GuardDutySeverity(aws.ToFloat64(f.Severity)),
		AccountID: account,
		Region:    region,
		Title:     aws.ToString(f.Title),
		Detail:    aws.ToString(f.Description),
	}
	ev := map[string]any{"id": f.Id, "arn": arn, "type": f.Type, "severity": f.Severity, "confidence": f.Confidence,
		"createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt}
	if s := f.Service; s != nil {
		ev["count"] = s.Count
		ev["eventFirstSeen"], ev["eventLastSeen"] = s.EventFirstSeen, s.EventLastSeen
		ev["archived"] = s.Archived
		ev["detectorId"] = s.DetectorId
		if s.Action != nil {
			ev["action"] = s.Action
		}
		if aws.ToBool(s.Archived) {
			out.Status = finding.Pass
		}
	}
	if r := f.Resource; r != nil {
		ev["resourceType"] = r.ResourceType
		out.ResourceARN, out.ResourceType = guardDutyResource(r, part, region, account)
		if r.AccessKeyDetails != nil {
			ev["accessKey"] = r.AccessKeyDetails
		}
	}
	out.Evidence = evidence(ev)
	switch {
	case out.ResourceType == "AWS::IAM::User" || out.ResourceType == "AWS::IAM::Role":
		// The inventory's ARN has the path, which GuardDuty does not give; the collector
		// resolves the name with IAM (IAMPrincipal, package iamname).
		MarkUnmatched(out, out.ResourceARN, "GuardDuty names the IAM principal "+lastSegment(out.ResourceARN)+" without its path")
	case out.ResourceARN == "":
		MarkUnmatched(out, "", "GuardDuty gives no identifier of this "+firstNonEmpty(out.ResourceType, "resource")+" that yagura inventories")
	}
	return out
}

// IAMPrincipal returns the kind ("user" or "role") and name of the IAM principal of a finding
// whose source named it without its path (GuardDuty, Trusted Advisor), or "" when f is not one
// or is already matched. Package iamname resolves it.
func IAMPrincipal(f *finding.Finding) (kind, name string) {
	if Unmatched(f) == "" {
		return "", ""
	}
	switch f.ResourceType {
	case "AWS::IAM::User":
		kind = "user"
	case "AWS::IAM::Role":
		kind = "role"
	default:
		return "", ""
	}
	return kind, lastSegment(f.ResourceARN)
}

// guardDutyResource maps GuardDuty's resource onto the inventory's ARN and type. GuardDuty
// names instances by id, IAM principals by user name and type, the others by ARN.
func guardDutyResource(r *gdtypes.Resource, part, region, account string) (arn, typ string) {
	switch {
	case r.InstanceDetails != nil && aws.ToString(r.InstanceDetails.InstanceId) != "":
		return idARN(part, region, account, aws.ToString(r.InstanceDetails.InstanceId)), "AWS::EC2::Instance"
	case r.EksClusterDetails != nil && aws.ToString(r.EksClusterDetails.Arn) != "":
		return aws.ToString(r.EksClusterDetails.Arn), "AWS::EKS::Cluster"
	case r.LambdaDetails != nil && aws.ToString(r.LambdaDetails.FunctionArn) != "":
		return InventoryARN(aws.ToString(r.LambdaDetails.FunctionArn)), "AWS::Lambda::Function"
	case r.RdsDbInstanceDetails != nil && aws.ToString(r.RdsDbInstanceDetails.DbInstanceArn) != "":
		return aws.ToString(r.RdsDbInstanceDetails.DbInstanceArn), "AWS::RDS::DBInstance"
	case len(r.S3BucketDetails) > 0 && aws.ToString(r.S3BucketDetails[0].Arn) != "":
		return aws.ToString(r.S3BucketDetails[0].Arn), "AWS::S3::Bucket"
	case r.EbsSnapshotDetails != nil && aws.ToString(r.EbsSnapshotDetails.SnapshotArn) != "":
		return InventoryARN(aws.ToString(r.EbsSnapshotDetails.SnapshotArn)), "AWS::EC2::Snapshot"
	case r.Ec2ImageDetails != nil && aws.ToString(r.Ec2ImageDetails.ImageArn) != "":
		return InventoryARN(aws.ToString(r.Ec2ImageDetails.ImageArn)), "AWS::EC2::Image"
	case r.RdsLimitlessDbDetails != nil && aws.ToString(r.RdsLimitlessDbDetails.DbClusterIdentifier) != "":
		// The shard group belongs to a DB cluster, which the inventory holds.
		return "arn:" + part + ":rds:" + region + ":" + account + ":cluster:" + aws.ToString(r.RdsLimitlessDbDetails.DbClusterIdentifier), "AWS::RDS::DBCluster"
	case r.EcsClusterDetails != nil && aws.ToString(r.EcsClusterDetails.Arn) != "":
		return aws.ToString(r.EcsClusterDetails.Arn), "AWS::ECS::Cluster"
	case r.AccessKeyDetails != nil:
		k := r.AccessKeyDetails
		name := aws.ToString(k.UserName)
		switch aws.ToString(k.UserType) {
		case "IAMUser":
			return "arn:" + part + ":iam::" + account + ":user/" + name, "AWS::IAM::User"
		case "AssumedRole", "Role":
			return "arn:" + part + ":iam::" + account + ":role/" + name, "AWS::IAM::Role"
		case "Root":
			return "arn:" + part + ":iam::" + account + ":root", "AWS::::Account"
		}
	}
	typ = aws.ToString(r.ResourceType)
	if typ != "" && !strings.Contains(typ, "::") {
		typ = "GuardDuty::" + typ
	}
	return "", typ
}
