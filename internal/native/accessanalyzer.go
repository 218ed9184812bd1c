package native

import (
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FromAccessAnalyzer normalizes one IAM Access Analyzer finding of analyzer analyzerARN, in the
// region the analyzer lives in. External access findings (a resource shared outside the zone of
// trust) are high; unused access findings (roles, keys, passwords, permissions nobody uses) are
// low. Access Analyzer already names resources by ARN and types them in CloudFormation naming.
func FromAccessAnalyzer(analyzerARN, region string, f *aatypes.FindingSummaryV2) *finding.Finding {
	id := aws.ToString(f.Id)
	sourceID := analyzerARN + "/finding/" + id
	ftype := string(f.FindingType)
	if ftype == "" {
		ftype = string(aatypes.FindingTypeExternalAccess)
	}
	out := &finding.Finding{
		ID:           finding.StableID(SourceAccessAnalyzer, sourceID),
		Source:       SourceAccessAnalyzer,
		Sources:      []string{SourceAccessAnalyzer},
		SourceID:     sourceID,
		CheckID:      ftype,
		Status:       finding.Fail,
		Severity:     finding.High,
		AccountID:    aws.ToString(f.ResourceOwnerAccount),
		Region:       region,
		ResourceARN:  aws.ToString(f.Resource),
		ResourceType: string(f.ResourceType),
	}
	name := lastSegment(out.ResourceARN)
	switch {
	case ftype == string(aatypes.FindingTypeExternalAccess):
		out.Title = "Resource " + name + " is accessible from outside the zone of trust"
		out.Detail = "IAM Access Analyzer found that a policy of " + out.ResourceARN + " grants access to principals outside the analyzer's zone of trust."
		out.Remediation = "Review the resource's policy in IAM Access Analyzer; remove the external access or archive the finding if it is intended."
	case strings.HasPrefix(ftype, "Unused"):
		out.Severity = finding.Low
		out.Title = "Unused access: " + ftype + " on " + name
		out.Detail = "IAM Access Analyzer reports " + ftype + " for " + out.ResourceARN + ": access that was granted but not used within the analyzer's tracking period."
		out.Remediation = "Remove the unused role, access key, password or permissions."
	default:
		out.Title = ftype + " on " + name
	}
	if aws.ToString(f.Error) != "" {
		// Access Analyzer could not analyze the resource: the finding says nothing certain.
		out.Status = finding.Error
		out.Detail = joinDetail(out.Detail, "analysis error: "+aws.ToString(f.Error))
	}
	if f.Status == aatypes.FindingStatusArchived || f.Status == aatypes.FindingStatusResolved {
		out.Status = finding.Pass
	}
	out.Evidence = evidence(map[string]any{"id": id, "analyzerArn": analyzerARN, "findingType": ftype, "status": f.Status,
		"resourceType": f.ResourceType, "analyzedAt": f.AnalyzedAt, "createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt, "error": f.Error})
	return out
}

func lastSegment(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}

// FromAccessAnalyzerExternal normalizes an external access finding as ListFindings (the first
// version of the API, for external access analyzers) returns it, with the principals, actions,
// conditions and whether the resource is public. A public resource is critical; access granted
// to named principals outside the zone of trust is high. The id is the same as
// FromAccessAnalyzer's for the same finding.
func FromAccessAnalyzerExternal(analyzerARN, region string, f *aatypes.FindingSummary) *finding.Finding {
	out := FromAccessAnalyzer(analyzerARN, region, &aatypes.FindingSummaryV2{
		Id: f.Id, Resource: f.Resource, ResourceOwnerAccount: f.ResourceOwnerAccount, ResourceType: f.ResourceType,
		Status: f.Status, Error: f.Error, AnalyzedAt: f.AnalyzedAt, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		FindingType: aatypes.FindingTypeExternalAccess,
	})
	name := lastSegment(out.ResourceARN)
	switch {
	case aws.ToBool(f.IsPublic):
		out.Severity = finding.Critical
		out.Title = "Resource " + name + " is public"
		out.Detail = "IAM Access Analyzer found that a policy of " + out.ResourceARN + " grants " + strings.Join(f.Action, ", ") + " to anyone."
	case len(f.Principal) > 0:
		var who []string
		for k, v := range f.Principal {
			who = append(who, k+" "+v)
		}
		sort.Strings(who)
		out.Detail = "IAM Access Analyzer found that a policy of " + out.ResourceARN + " grants " + strings.Join(f.Action, ", ") +
			" to " + strings.Join(who, ", ") + ", outside the analyzer's zone of trust."
	}
	if aws.ToString(f.Error) != "" {
		out.Detail = joinDetail(out.Detail, "analysis error: "+aws.ToString(f.Error))
	}
	out.Evidence = evidence(map[string]any{"id": f.Id, "analyzerArn": analyzerARN, "findingType": aatypes.FindingTypeExternalAccess,
		"status": f.Status, "resourceType": f.ResourceType, "isPublic": f.IsPublic, "principal": f.Principal, "action": f.Action,
		"condition": f.Condition, "sources": f.Sources, "analyzedAt": f.AnalyzedAt, "createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt,
		"error": f.Error})
	return out
}
