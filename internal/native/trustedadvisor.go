package native

import (
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/collect/ec2"
	"github.com/yagura-dev/yagura/internal/finding"
)

// The AWS Go SDK's Support client is not available to this module, so the Trusted Advisor
// records are declared here in the Support API's wire shape (AWS JSON 1.1, camelCase members).

// TACheck is one entry of DescribeTrustedAdvisorChecks.
type TACheck struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Metadata    []string `json:"metadata"`
}

// TAFlaggedResource is one resource a check flagged.
type TAFlaggedResource struct {
	Status       string   `json:"status"`
	Region       string   `json:"region,omitempty"`
	ResourceID   string   `json:"resourceId"`
	IsSuppressed bool     `json:"isSuppressed,omitempty"`
	Metadata     []string `json:"metadata"`
}

// TACheckResult is the result of DescribeTrustedAdvisorCheckResult.
type TACheckResult struct {
	CheckID          string              `json:"checkId"`
	Timestamp        string              `json:"timestamp"`
	Status           string              `json:"status"`
	FlaggedResources []TAFlaggedResource `json:"flaggedResources"`
}

// FromTrustedAdvisor normalizes one flagged resource of a Trusted Advisor check in account of
// partition.
// Red ("error") is high, yellow ("warning") medium; "ok" rows PASS. Trusted Advisor names
// resources by an opaque hash, not an ARN: the check's metadata columns (which usually hold the
// resource's name, region and the reason) go into the evidence, and an ARN is kept only when a
// column holds one.
func FromTrustedAdvisor(partition, account string, c *TACheck, r *TAFlaggedResource) *finding.Finding {
	sourceID := account + "/" + c.ID + "/" + r.ResourceID
	out := &finding.Finding{
		ID:        finding.StableID(SourceTrustedAdvisor, sourceID),
		Source:    SourceTrustedAdvisor,
		Sources:   []string{SourceTrustedAdvisor},
		SourceID:  sourceID,
		CheckID:   c.ID,
		Status:    finding.Fail,
		Severity:  finding.Medium,
		AccountID: account,
		Region:    firstNonEmpty(r.Region, "global"),
		Title:     "Trusted Advisor: " + c.Name,
		Detail:    stripHTML(c.Description),
	}
	switch strings.ToLower(r.Status) {
	case "error":
		out.Severity = finding.High
	case "ok":
		out.Status = finding.Pass
		out.Severity = finding.Informational
	}
	if r.IsSuppressed {
		out.Muted, out.MuteReason = true, "excluded in Trusted Advisor"
	}
	cols := map[string]string{}
	for i, v := range r.Metadata {
		name := "column" + strconv.Itoa(i)
		if i < len(c.Metadata) {
			name = c.Metadata[i]
		}
		cols[name] = v
		if strings.HasPrefix(v, "arn:") && out.ResourceARN == "" {
			out.ResourceARN = InventoryARN(v)
		}
	}
	if out.ResourceARN == "" {
		out.ResourceARN, out.ResourceType = taResource(firstNonEmpty(partition, "aws"), account, firstNonEmpty(r.Region, cols["Region"]), c.Name, cols)
	}
	out.Evidence = evidence(map[string]any{"checkId": c.ID, "checkName": c.Name, "category": c.Category,
		"status": r.Status, "resourceId": r.ResourceID, "metadata": cols})
	switch {
	case out.ResourceARN == "":
		MarkUnmatched(out, r.ResourceID, "Trusted Advisor names this resource by a hash, and its metadata names no resource yagura inventories")
	case out.ResourceType == "AWS::IAM::User":
		MarkUnmatched(out, out.ResourceARN, "Trusted Advisor names the IAM user without its path")
	}
	return out
}

// taColumns are the metadata columns of Trusted Advisor's security checks that name the flagged
// resource, most specific first: the EBS and RDS public snapshot checks also name the volume or
// instance, the CloudTrail check the trail's bucket, and the finding is about the snapshot or the
// trail.
var taColumns = []struct {
	column, rtype string
	arn           func(partition, region, account, value string) string
}{
	{"Snapshot ID", "", nil}, // EC2 (snap-…) or RDS, see taResource
	{"Security Group ID", ec2.TypeSecurityGroup, nil},
	{"Instance ID", ec2.TypeInstance, nil},
	{"Volume ID", ec2.TypeVolume, nil},
	{"Trail Name", "AWS::CloudTrail::Trail", func(p, r, a, v string) string { return "arn:" + p + ":cloudtrail:" + r + ":" + a + ":trail/" + v }},
	{"Load Balancer Name", "AWS::ElasticLoadBalancing::LoadBalancer", func(p, r, a, v string) string {
		return "arn:" + p + ":elasticloadbalancing:" + r + ":" + a + ":loadbalancer/" + v
	}},
	{"Bucket Name", "AWS::S3::Bucket", func(p, r, a, v string) string { return "arn:" + p + ":s3:::" + v }},
	{"IAM User", "AWS::IAM::User", func(p, r, a, v string) string { return "arn:" + p + ":iam::" + a + ":user/" + v }},
}

// taResource builds the inventory ARN and type of a flagged resource from the check's metadata
// columns, or "" when none names one.
func taResource(partition, account, region, checkName string, cols map[string]string) (arn, rtype string) {
	for _, c := range taColumns {
		v := strings.TrimSpace(cols[c.column])
		if v == "" || strings.EqualFold(v, "n/a") {
			continue
		}
		switch {
		case c.arn != nil:
			return c.arn(partition, region, account, v), c.rtype
		case idARN(partition, region, account, v) != "":
			a := idARN(partition, region, account, v)
			return a, firstNonEmpty(c.rtype, ec2TypeOf(a))
		case c.column == "Snapshot ID" && strings.Contains(checkName, "RDS"):
			return "arn:" + partition + ":rds:" + region + ":" + account + ":snapshot:" + v, "AWS::RDS::DBSnapshot"
		}
	}
	return "", ""
}

// ec2TypeOf names the inventory type of an EC2 ARN built by idARN.
func ec2TypeOf(arn string) string {
	switch {
	case strings.Contains(arn, ":snapshot/"):
		return "AWS::EC2::Snapshot"
	case strings.Contains(arn, ":image/"):
		return "AWS::EC2::Image"
	case strings.Contains(arn, ":volume/"):
		return ec2.TypeVolume
	case strings.Contains(arn, ":instance/"):
		return ec2.TypeInstance
	case strings.Contains(arn, ":security-group/"):
		return ec2.TypeSecurityGroup
	}
	return ""
}

// stripHTML removes the tags Trusted Advisor puts in check descriptions.
func stripHTML(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ') // <br> separates words
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
