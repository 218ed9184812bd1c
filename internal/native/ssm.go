package native

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FromPatchState normalizes the patch state of one managed instance. An instance with missing,
// failed, critical or security non-compliant patches FAILs: critical when a critical patch is
// missing, high for security patches or failed installs, medium for other missing patches. A
// compliant instance PASSes, so that a patched instance resolves its earlier finding.
func FromPatchState(partition, account, region string, p *ssmtypes.InstancePatchState) *finding.Finding {
	id := aws.ToString(p.InstanceId)
	sourceID := account + "/" + region + "/" + id
	critical, security := aws.ToInt32(p.CriticalNonCompliantCount), aws.ToInt32(p.SecurityNonCompliantCount)
	out := &finding.Finding{
		ID:           finding.StableID(SourceSSM, sourceID),
		Source:       SourceSSM,
		Sources:      []string{SourceSSM},
		SourceID:     sourceID,
		CheckID:      "ssm.patch-compliance",
		Status:       finding.Pass,
		Severity:     finding.Informational,
		AccountID:    account,
		Region:       region,
		ResourceARN:  idARN(partition, region, account, id),
		ResourceType: "AWS::EC2::Instance",
		Title:        "Instance " + id + " is patch compliant",
	}
	if len(id) > 3 && id[:3] == "mi-" {
		out.ResourceType = "AWS::SSM::ManagedInstance" // synthetic: CloudFormation has no type for hybrid nodes
	}
	switch {
	case critical > 0:
		out.Severity = finding.Critical
	case security > 0 || p.FailedCount > 0:
		out.Severity = finding.High
	case p.MissingCount > 0:
		out.Severity = finding.Medium
	}
	if critical+security+p.FailedCount+p.MissingCount > 0 {
		out.Status = finding.Fail
		out.Title = "Instance " + id + " misses patches"
		out.Detail = fmt.Sprintf("Patch baseline %s (%s): %d missing, %d failed, %d critical non-compliant, %d security non-compliant.",
			aws.ToString(p.BaselineId), p.Operation, p.MissingCount, p.FailedCount, critical, security)
		out.Remediation = "Run AWS-RunPatchBaseline with Operation=Install on the instance (or its patch group's maintenance window)."
	}
	out.Evidence = evidence(map[string]any{"instanceId": id, "baselineId": p.BaselineId, "patchGroup": p.PatchGroup,
		"operation": p.Operation, "operationEndTime": p.OperationEndTime, "missingCount": p.MissingCount,
		"failedCount": p.FailedCount, "criticalNonCompliantCount": critical, "securityNonCompliantCount": security,
		"installedPendingRebootCount": p.InstalledPendingRebootCount, "availableSecurityUpdateCount": p.AvailableSecurityUpdateCount})
	return out
}
