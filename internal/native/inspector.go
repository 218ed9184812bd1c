package native

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"

	"github.com/yagura-dev/yagura/internal/finding"
)

// inspectorTypes maps Inspector's resource types to the inventory's.
var inspectorTypes = map[i2types.ResourceType]string{
	i2types.ResourceTypeAwsEc2Instance:       "AWS::EC2::Instance",
	i2types.ResourceTypeAwsEcrContainerImage: "AWS::ECR::Repository",
	i2types.ResourceTypeAwsEcrRepository:     "AWS::ECR::Repository",
	i2types.ResourceTypeAwsLambdaFunction:    "AWS::Lambda::Function",
}

// FromInspector normalizes one Inspector finding (package vulnerability, code vulnerability or
// network reachability). Its id is the finding ARN, which Security Hub also uses as the ASFF Id,
// so the copy imported there merges with this one. Images map onto their ECR repository, the
// resource yagura inventories; the image digest stays in the evidence.
func FromInspector(f *i2types.Finding) *finding.Finding {
	arn := aws.ToString(f.FindingArn)
	out := &finding.Finding{
		ID:        finding.StableID(SourceInspector, arn),
		Source:    SourceInspector,
		Sources:   []string{SourceInspector},
		SourceID:  arn,
		CheckID:   string(f.Type),
		Status:    finding.Fail,
		Severity:  labelSeverity(string(f.Severity)),
		AccountID: aws.ToString(f.AwsAccountId),
		Title:     aws.ToString(f.Title),
		Detail:    aws.ToString(f.Description),
	}
	if f.Status == i2types.FindingStatusClosed {
		out.Status = finding.Pass
	}
	ev := map[string]any{"findingArn": arn, "type": f.Type, "status": f.Status, "severity": f.Severity,
		"inspectorScore": f.InspectorScore, "exploitAvailable": f.ExploitAvailable, "fixAvailable": f.FixAvailable}
	if f.Epss != nil {
		ev["epss"] = f.Epss.Score
	}
	if f.ExploitabilityDetails != nil {
		ev["lastKnownExploitAt"] = f.ExploitabilityDetails.LastKnownExploitAt
	}
	if v := f.PackageVulnerabilityDetails; v != nil {
		ev["vulnerabilityId"] = v.VulnerabilityId
		if id := aws.ToString(v.VulnerabilityId); strings.HasPrefix(id, "CVE-") {
			ev["cves"] = append([]string{id}, cvesOf(v.RelatedVulnerabilities)...)
		}
		ev["cvss"] = v.Cvss
		ev["vendorSeverity"] = v.VendorSeverity
		ev["sourceUrl"] = v.SourceUrl
		var pkgs []map[string]any
		var fixes []string
		for _, p := range v.VulnerablePackages {
			pkgs = append(pkgs, map[string]any{"name": p.Name, "version": p.Version, "fixedInVersion": p.FixedInVersion,
				"packageManager": p.PackageManager, "filePath": p.FilePath})
			if fv := aws.ToString(p.FixedInVersion); fv != "" && fv != "NotAvailable" {
				fixes = append(fixes, fmt.Sprintf("%s %s", aws.ToString(p.Name), fv))
			}
		}
		ev["packages"] = pkgs
		if len(fixes) > 0 {
			out.Remediation = "Upgrade to " + strings.Join(fixes, ", ")
		}
	}
	if c := f.CodeVulnerabilityDetails; c != nil {
		ev["code"] = map[string]any{"cwes": c.Cwes, "detectorId": c.DetectorId, "detectorName": c.DetectorName,
			"filePath": c.FilePath, "ruleId": c.RuleId}
	}
	if n := f.NetworkReachabilityDetails; n != nil {
		ev["networkReachability"] = map[string]any{"openPortRange": n.OpenPortRange, "protocol": n.Protocol, "networkPath": n.NetworkPath}
	}
	if f.Remediation != nil && f.Remediation.Recommendation != nil && out.Remediation == "" {
		out.Remediation = strings.TrimSpace(aws.ToString(f.Remediation.Recommendation.Text) + " " + aws.ToString(f.Remediation.Recommendation.Url))
	}
	if len(f.Resources) > 0 {
		r := f.Resources[0]
		out.Region = aws.ToString(r.Region)
		out.ResourceType = inspectorTypes[r.Type]
		if out.ResourceType == "" {
			out.ResourceType = string(r.Type)
		}
		out.ResourceARN = idARN(firstNonEmpty(aws.ToString(r.Partition), partitionOf(arn)), out.Region, out.AccountID, aws.ToString(r.Id))
		if out.ResourceARN == "" {
			out.ResourceARN = aws.ToString(r.Id)
		}
		if r.Details != nil && r.Details.AwsEcrContainerImage != nil {
			img := r.Details.AwsEcrContainerImage
			ev["image"] = map[string]any{"repositoryName": img.RepositoryName, "imageHash": img.ImageHash, "imageTags": img.ImageTags, "registry": img.Registry}
			if !strings.HasPrefix(aws.ToString(r.Id), "arn:") && aws.ToString(img.RepositoryName) != "" {
				out.ResourceARN = "arn:" + partitionOf(arn) + ":ecr:" + out.Region + ":" + firstNonEmpty(aws.ToString(img.Registry), out.AccountID) + ":repository/" + aws.ToString(img.RepositoryName)
			}
		}
		ev["resourceId"] = r.Id
	}
	if out.Region == "" {
		// arn:aws:inspector2:REGION:ACCOUNT:finding/ID
		if p := strings.Split(arn, ":"); len(p) > 4 {
			out.Region = p[3]
		}
	}
	out.Evidence = evidence(ev)
	if !strings.HasPrefix(out.ResourceARN, "arn:") {
		// Code repositories (CODE_REPOSITORY, scanned from GitHub or GitLab) and anything new
		// Inspector scans have no resource in yagura's inventory.
		MarkUnmatched(out, out.ResourceARN, "Inspector names this "+firstNonEmpty(out.ResourceType, "resource")+" "+out.ResourceARN+", which is not an inventory ARN")
	}
	return out
}

func cvesOf(ids []string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") {
			out = append(out, id)
		}
	}
	return out
}
