package native

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// ConfigResourceARN builds the inventory ARN of a resource AWS Config names by type and id, for
// the types whose Config id is the name or id the ARN is made of (sg-…, bucket, function,
// repository and cluster names, key ids) or an ARN itself. The others get "": IAM resources are
// named by their unique id (AIDA…, AROA…), RDS instances and clusters by their resource id
// (db-…, cluster-…), and for the rest the id's meaning is not certain enough to build an ARN
// from. The Config collectors resolve those through Config's configuration items
// (BatchGetResourceConfig), which carry the resource's real ARN.
func ConfigResourceARN(partition, region, account, resourceType, resourceID string) string {
	if partition == "" {
		partition = "aws"
	}
	if strings.HasPrefix(resourceID, "arn:") {
		return InventoryARN(resourceID)
	}
	switch resourceType {
	case "AWS::S3::Bucket":
		return "arn:" + partition + ":s3:::" + resourceID
	case "AWS::Lambda::Function":
		return "arn:" + partition + ":lambda:" + region + ":" + account + ":function:" + resourceID
	case "AWS::ECR::Repository":
		return "arn:" + partition + ":ecr:" + region + ":" + account + ":repository/" + resourceID
	case "AWS::KMS::Key":
		return "arn:" + partition + ":kms:" + region + ":" + account + ":key/" + resourceID
	case "AWS::EKS::Cluster":
		return "arn:" + partition + ":eks:" + region + ":" + account + ":cluster/" + resourceID
	}
	if strings.HasPrefix(resourceType, "AWS::EC2::") {
		return idARN(partition, region, account, resourceID)
	}
	return ""
}

// FromConfigEvaluation normalizes one evaluation of a Config rule in account and region:
// NON_COMPLIANT is FAIL, COMPLIANT is PASS, INSUFFICIENT_DATA is ERROR (Config could not judge).
// Config rules carry no severity: medium, the middle, unless the caller knows better.
func FromConfigEvaluation(partition, account, region string, r *cfgtypes.EvaluationResult) *finding.Finding {
	var rule, rtype, rid string
	if r.EvaluationResultIdentifier != nil && r.EvaluationResultIdentifier.EvaluationResultQualifier != nil {
		q := r.EvaluationResultIdentifier.EvaluationResultQualifier
		rule, rtype, rid = aws.ToString(q.ConfigRuleName), aws.ToString(q.ResourceType), aws.ToString(q.ResourceId)
	}
	sourceID := strings.Join([]string{account, region, rule, rtype, rid}, "/")
	out := &finding.Finding{
		ID:           finding.StableID(SourceConfig, sourceID),
		Source:       SourceConfig,
		Sources:      []string{SourceConfig},
		SourceID:     sourceID,
		CheckID:      rule,
		Severity:     finding.Medium,
		AccountID:    account,
		Region:       region,
		ResourceType: rtype,
		ResourceARN:  ConfigResourceARN(partition, region, account, rtype, rid),
		Title:        "AWS Config rule " + rule + ": " + string(r.ComplianceType),
		Detail:       aws.ToString(r.Annotation),
	}
	switch r.ComplianceType {
	case cfgtypes.ComplianceTypeNonCompliant:
		out.Status = finding.Fail
		out.Title = "AWS Config rule " + rule + " is not met by " + rid
	case cfgtypes.ComplianceTypeCompliant, cfgtypes.ComplianceTypeNotApplicable:
		out.Status = finding.Pass
	default:
		out.Status = finding.Error
	}
	if out.ResourceARN == "" && rtype == "AWS::::Account" {
		out.ResourceARN = "AWS::::Account:" + account
	}
	out.Evidence = evidence(map[string]any{"configRuleName": rule, "resourceType": rtype, "resourceId": rid,
		"complianceType": r.ComplianceType, "annotation": r.Annotation, "resultRecordedTime": r.ResultRecordedTime,
		"configRuleInvokedTime": r.ConfigRuleInvokedTime})
	if out.ResourceARN == "" {
		MarkUnmatched(out, rid, "AWS Config names this "+rtype+" by its id "+rid+", not by its ARN")
	}
	return out
}
