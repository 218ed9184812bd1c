package native

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Product of an ASFF finding, from the product part of its ProductArn
// (arn:aws:securityhub:REGION::product/COMPANY/PRODUCT).
func asffProduct(productARN string) string {
	if i := strings.Index(productARN, ":product/"); i >= 0 {
		return productARN[i+len(":product/"):]
	}
	return productARN
}

// SecurityControlID returns the Security Hub control id (EC2.13) of a control finding, or "".
// Consolidated control findings carry it in Compliance.SecurityControlId and in the generator id
// "security-control/EC2.13"; findings of the older per-standard view only in the generator id
// ("aws-foundational-security-best-practices/v/1.0.0/EC2.13").
func SecurityControlID(f *shtypes.AwsSecurityFinding) string {
	if f.Compliance != nil && aws.ToString(f.Compliance.SecurityControlId) != "" {
		return aws.ToString(f.Compliance.SecurityControlId)
	}
	gen := aws.ToString(f.GeneratorId)
	if id, ok := strings.CutPrefix(gen, "security-control/"); ok {
		return id
	}
	if strings.HasPrefix(gen, "aws-foundational-security-best-practices/") {
		return gen[strings.LastIndex(gen, "/")+1:]
	}
	return ""
}

// nativeFromASFF returns the source and source id a Security Hub finding relayed from another
// AWS service has when read directly, so that a finding read from both places merges. GuardDuty
// and Inspector use their own finding ARN as the ASFF Id; Access Analyzer's copy is identified
// as its direct findings are (AccessAnalyzerKey), and also gives the finding type (checkID) and
// the analyzer (origin).
func nativeFromASFF(f *shtypes.AwsSecurityFinding) (source, nativeID, checkID, origin string) {
	id := aws.ToString(f.Id)
	switch product := asffProduct(aws.ToString(f.ProductArn)); {
	case product == "aws/guardduty" && strings.HasPrefix(id, "arn:") && strings.Contains(id, ":guardduty:"):
		return SourceGuardDuty, id, "", ""
	case product == "aws/inspector" && strings.Contains(id, ":inspector2:"):
		return SourceInspector, id, "", ""
	case product == "aws/access-analyzer":
		if key, ftype, analyzer := accessAnalyzerFromASFF(f); key != "" {
			return SourceAccessAnalyzer, key, ftype, analyzer
		}
	}
	return "", "", "", ""
}

// FromASFF normalizes one Security Hub finding. Control findings (Security Hub CSPM controls)
// get the control as `fsbp:<ID>` and PASS/FAIL/ERROR from their compliance status; findings
// that Security Hub imported from GuardDuty or Inspector take the id those services' own
// collectors give them, so the two copies merge (Sources lists both). Findings suppressed in
// Security Hub keep their status and are muted, as the user decided there.
func FromASFF(f *shtypes.AwsSecurityFinding) *finding.Finding {
	id := aws.ToString(f.Id)
	out := &finding.Finding{
		Source:    SourceSecurityHub,
		Sources:   []string{SourceSecurityHub},
		SourceID:  id,
		ID:        finding.StableID(SourceSecurityHub, id),
		Status:    finding.Fail,
		AccountID: aws.ToString(f.AwsAccountId),
		Region:    aws.ToString(f.Region),
		Title:     aws.ToString(f.Title),
		Detail:    aws.ToString(f.Description),
	}
	if f.Severity != nil {
		out.Severity = labelSeverity(string(f.Severity.Label))
	}
	src, nativeID, nativeCheck, origin := nativeFromASFF(f)
	if src != "" {
		out.Source, out.SourceID = src, nativeID
		out.ID = finding.StableID(src, nativeID)
		out.Sources = []string{src, SourceSecurityHub}
		if owner := f.ProductFields["ResourceOwnerAccount"]; src == SourceAccessAnalyzer && owner != "" {
			// An organization analyzer's copy is filed under the analyzer's account; the
			// direct copy (and the inventory) under the account that owns the resource.
			out.AccountID = owner
		}
	}
	control := SecurityControlID(f)
	switch {
	case control != "":
		out.CheckID = control
		out.Controls = []string{FSBP + ":" + control}
	case nativeCheck != "":
		out.CheckID = nativeCheck // as the direct copy names it, whichever copy is stored last
	case len(f.Types) > 0:
		out.CheckID = f.Types[0]
	}
	if f.Compliance != nil {
		switch f.Compliance.Status {
		case shtypes.ComplianceStatusPassed:
			out.Status = finding.Pass
		case shtypes.ComplianceStatusNotAvailable:
			out.Status = finding.Error
			out.Detail = joinDetail(out.Detail, statusReasons(f.Compliance))
		}
	}
	workflow := ""
	if f.Workflow != nil {
		workflow = string(f.Workflow.Status)
	}
	if workflow == "" {
		workflow = string(f.WorkflowState)
	}
	switch workflow {
	case string(shtypes.WorkflowStatusSuppressed):
		out.Muted, out.MuteReason = true, "suppressed in Security Hub"
	case string(shtypes.WorkflowStatusResolved):
		// Someone (or Security Hub, for a control that passes again) closed it there.
		if out.Status == finding.Fail {
			out.Status = finding.Pass
		}
	}
	unmatched := ""
	if len(f.Resources) > 0 {
		r := f.Resources[0]
		out.ResourceType = ResourceTypeFromASFF(aws.ToString(r.Type))
		rid := aws.ToString(r.Id)
		part := partitionOf(aws.ToString(f.ProductArn))
		if out.ResourceType == "AWS::::Account" {
			// ASFF names accounts "AWS::::Account:123456789012"; keep that, it is not an ARN.
			out.ResourceARN = rid
		} else if a := idARN(part, firstNonEmpty(aws.ToString(r.Region), out.Region), out.AccountID, rid); a != "" {
			out.ResourceARN = a
		} else if arn, typ, why := accessKeyPrincipal(part, out.AccountID, r); arn != "" {
			// GuardDuty's copies of credential findings name the access key; the inventory
			// holds its user or role, named here without the path (resolved by the collector).
			out.ResourceARN, out.ResourceType, unmatched = arn, typ, why
		} else {
			out.ResourceARN = rid
			unmatched = "Security Hub names this " + firstNonEmpty(out.ResourceType, "resource") + " " + rid + ", which is not an inventory ARN"
		}
	}
	if f.Remediation != nil && f.Remediation.Recommendation != nil {
		out.Remediation = strings.TrimSpace(aws.ToString(f.Remediation.Recommendation.Text) + " " + aws.ToString(f.Remediation.Recommendation.Url))
	}
	ev := map[string]any{
		"Id": id, "ProductArn": f.ProductArn, "ProductName": f.ProductName, "CompanyName": f.CompanyName,
		"GeneratorId": f.GeneratorId, "Types": f.Types, "WorkflowStatus": workflow, "RecordState": f.RecordState,
		"FirstObservedAt": f.FirstObservedAt, "LastObservedAt": f.LastObservedAt, "UpdatedAt": f.UpdatedAt,
	}
	if f.Compliance != nil {
		ev["Compliance"] = f.Compliance
	}
	if len(f.Vulnerabilities) > 0 {
		ev["Vulnerabilities"] = f.Vulnerabilities
	}
	if len(f.ProductFields) > 0 {
		ev["ProductFields"] = f.ProductFields
	}
	if origin != "" {
		ev[EvidenceOrigins] = []string{origin}
	}
	if len(f.Resources) > 1 {
		ids := make([]string, 0, len(f.Resources))
		for _, r := range f.Resources {
			ids = append(ids, aws.ToString(r.Id))
		}
		ev["Resources"] = ids
	}
	out.Evidence = evidence(ev)
	if unmatched != "" {
		MarkUnmatched(out, "", unmatched)
	}
	return out
}

// accessKeyPrincipal maps an ASFF AwsIamAccessKey resource onto the principal that used the key:
// its user or role ARN without the path (and why that is not yet the inventory's ARN), or the
// account's root.
func accessKeyPrincipal(partition, account string, r shtypes.Resource) (arn, typ, unmatched string) {
	if aws.ToString(r.Type) != "AwsIamAccessKey" || r.Details == nil || r.Details.AwsIamAccessKey == nil {
		return "", "", ""
	}
	k := r.Details.AwsIamAccessKey
	account = firstNonEmpty(aws.ToString(k.AccountId), account)
	name := firstNonEmpty(aws.ToString(k.PrincipalName), aws.ToString(k.UserName))
	switch aws.ToString(k.PrincipalType) {
	case "Root":
		return "arn:" + partition + ":iam::" + account + ":root", "AWS::::Account", ""
	case "IAMUser":
		if name != "" {
			return "arn:" + partition + ":iam::" + account + ":user/" + name, "AWS::IAM::User", "Security Hub names the IAM user " + name + " without its path"
		}
	case "AssumedRole", "Role":
		if name != "" {
			return "arn:" + partition + ":iam::" + account + ":role/" + name, "AWS::IAM::Role", "Security Hub names the IAM role " + name + " without its path"
		}
	}
	return "", "", ""
}

func statusReasons(c *shtypes.Compliance) string {
	var rs []string
	for _, r := range c.StatusReasons {
		rs = append(rs, aws.ToString(r.ReasonCode)+": "+aws.ToString(r.Description))
	}
	return strings.Join(rs, "; ")
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " (" + b + ")"
}
