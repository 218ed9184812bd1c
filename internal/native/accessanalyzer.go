package native

import (
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FromAccessAnalyzer normalizes one IAM Access Analyzer finding of analyzer analyzerARN, in the
// region the analyzer lives in. External access findings (a resource shared outside the zone of
// trust) are high; unused access findings (roles, keys, passwords, permissions nobody uses) are
// low. Access Analyzer already names resources by ARN and types them in CloudFormation naming.
// The source id is AccessAnalyzerKey's, not the analyzer's finding id (see there).
func FromAccessAnalyzer(analyzerARN, region string, f *aatypes.FindingSummaryV2) *finding.Finding {
	id := aws.ToString(f.Id)
	ftype := string(f.FindingType)
	if ftype == "" {
		ftype = string(aatypes.FindingTypeExternalAccess)
	}
	sourceID := AccessAnalyzerKey(ftype, aws.ToString(f.Resource), nil, nil)
	if sourceID == "" {
		// Internal access findings are per principal and resource, and ListFindingsV2's
		// summary names no principal: only the analyzer's own finding id identifies them.
		sourceID = analyzerARN + "/finding/" + id
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
		"resourceType": f.ResourceType, "analyzedAt": f.AnalyzedAt, "createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt, "error": f.Error,
		EvidenceOrigins: []string{analyzerARN}})
	return out
}

// EvidenceOrigins is the evidence key listing where a finding was reported from (for Access
// Analyzer: the analyzers' ARNs). When two copies of a finding merge in one scan, the store
// unites their origins, so the merged finding names every analyzer that reported it.
const EvidenceOrigins = "origins"

// AccessAnalyzerKey is the source id of an Access Analyzer finding: what the finding is about,
// without the analyzer that reported it. An organization analyzer (in the management or
// delegated administrator account) and an account analyzer in the member both report a bucket
// shared with an account outside the organization, each under its own finding id; and Security
// Hub relays each analyzer's finding under yet another id. They are one problem, so they take one
// source id, hence one yagura finding whose origins list both analyzers.
//
// External access is identified by the resource, the principal and the condition: Access
// Analyzer makes one finding per distinct principal and condition of a resource's policy, and
// updates that finding in place when the granted actions change or when it becomes public or
// not (the action list and isPublic are therefore attributes, not identity: a policy that adds an
// action must not resolve one finding and open another). The resource type is implied by the ARN
// and the owner account by the ARN or, for S3, by the globally unique bucket name. Unused access
// is identified by the finding type and the resource (one finding per role, user or key set).
// Other types (internal access) return "": their summaries do not name the principal.
func AccessAnalyzerKey(findingType, resourceARN string, principal, condition map[string]string) string {
	switch {
	case resourceARN == "":
		return ""
	case findingType == string(aatypes.FindingTypeExternalAccess):
		return findingType + "|" + resourceARN + "|principal=" + canonicalPairs(principal, canonicalPrincipal) +
			"|condition=" + canonicalPairs(condition, strings.TrimSpace)
	case strings.HasPrefix(findingType, "Unused"):
		return findingType + "|" + resourceARN
	}
	return ""
}

// canonicalPairs writes a string map as sorted "key=value" pairs joined by "&".
func canonicalPairs(m map[string]string, value func(string) string) string {
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		if v = value(v); k != "" && v != "" {
			pairs = append(pairs, strings.TrimSpace(k)+"="+v)
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalPrincipal names an account the same way whether it is given by id or by its root ARN
// (arn:aws:iam::444455556666:root), so that the copies of one finding agree.
func canonicalPrincipal(p string) string {
	p = strings.TrimSpace(p)
	if rest, ok := strings.CutSuffix(p, ":root"); ok && strings.HasPrefix(rest, "arn:") {
		if i := strings.LastIndex(rest, ":"); i >= 0 {
			return rest[i+1:]
		}
	}
	return p
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
	if key := AccessAnalyzerKey(string(aatypes.FindingTypeExternalAccess), aws.ToString(f.Resource), f.Principal, f.Condition); key != "" {
		out.SourceID, out.ID = key, finding.StableID(SourceAccessAnalyzer, key)
	}
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
		// One finding per principal: the title tells the findings of one resource apart.
		out.Title = "Resource " + name + " is shared with " + strings.Join(who, ", ")
		out.Detail = "IAM Access Analyzer found that a policy of " + out.ResourceARN + " grants " + strings.Join(f.Action, ", ") +
			" to " + strings.Join(who, ", ") + ", outside the analyzer's zone of trust."
	}
	if aws.ToString(f.Error) != "" {
		out.Detail = joinDetail(out.Detail, "analysis error: "+aws.ToString(f.Error))
	}
	out.Evidence = evidence(map[string]any{"id": f.Id, "analyzerArn": analyzerARN, "findingType": aatypes.FindingTypeExternalAccess,
		"status": f.Status, "resourceType": f.ResourceType, "isPublic": f.IsPublic, "principal": f.Principal, "action": f.Action,
		"condition": f.Condition, "sources": f.Sources, "analyzedAt": f.AnalyzedAt, "createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt,
		"error": f.Error, EvidenceOrigins: []string{analyzerARN}})
	return out
}

// accessAnalyzerFromASFF reads the copy of an Access Analyzer finding that Security Hub relays
// (ProductArn …/product/aws/access-analyzer) and returns its AccessAnalyzerKey, its finding type
// and the analyzer that reported it; key is "" when the record is not in the expected shape.
// Access Analyzer sends Security Hub one finding per analyzer and resource, with the Id
// ANALYZER_ARN/RESOURCE_ARN for external access and ANALYZER_ARN/RESOURCE_ARN/TYPE for unused
// access, and the external principal, its type and the condition in Resources[0].Details.Other
// ("External Principal Type": "AWS", "External Principal": "444455556666", "Condition": "none").
// When a resource grants access to several principals the relayed copy carries what Access
// Analyzer put there; its key then matches the direct finding of that principal only.
func accessAnalyzerFromASFF(f *shtypes.AwsSecurityFinding) (key, ftype, analyzer string) {
	if len(f.Resources) == 0 {
		return "", "", ""
	}
	r := f.Resources[0]
	res, id := aws.ToString(r.Id), aws.ToString(f.Id)
	i := strings.Index(id, "/"+res)
	if res == "" || i <= 0 {
		return "", "", ""
	}
	analyzer = id[:i]
	ftype = strings.TrimPrefix(id[i+1+len(res):], "/")
	if ftype != "" {
		return AccessAnalyzerKey(ftype, res, nil, nil), ftype, analyzer
	}
	ftype = string(aatypes.FindingTypeExternalAccess)
	var principal, condition map[string]string
	if r.Details != nil {
		other := r.Details.Other
		if p := other["External Principal"]; p != "" {
			principal = map[string]string{firstNonEmpty(other["External Principal Type"], "AWS"): p}
		}
		if c := other["Condition"]; c != "" && !strings.EqualFold(c, "none") {
			condition = map[string]string{"condition": c}
			if k, v, ok := strings.Cut(c, "="); ok {
				condition = map[string]string{k: v}
			}
		}
	}
	return AccessAnalyzerKey(ftype, res, principal, condition), ftype, analyzer
}
