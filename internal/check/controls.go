package check

import (
	"sort"
	"strings"
)

// Control is one recommendation of a framework.
type Control struct {
	ID        string `json:"id"` // framework:id
	Title     string `json:"title"`
	Automated bool   `json:"automated"` // assessable through APIs, as the benchmark marks it
}

// cisV3 lists the recommendations of the CIS AWS Foundations Benchmark v3.0.0 (titles are
// yagura's short paraphrases). The manual ones cannot be judged from configuration.
var cisV3 = []Control{
	{"1.1", "Maintain current contact details", false},
	{"1.2", "Security contact information is registered", false},
	{"1.3", "Security questions are registered", false},
	{"1.4", "No root user access key exists", true},
	{"1.5", "MFA is enabled for the root user", true},
	{"1.6", "Hardware MFA is enabled for the root user", true},
	{"1.7", "Eliminate use of the root user for daily tasks", false},
	{"1.8", "Password policy requires minimum length 14", true},
	{"1.9", "Password policy prevents password reuse", true},
	{"1.10", "MFA for all IAM users with a console password", true},
	{"1.11", "No access keys created during initial user setup", true},
	{"1.12", "Credentials unused for 45 days or more are disabled", true},
	{"1.13", "Only one active access key per IAM user", true},
	{"1.14", "Access keys are rotated every 90 days or less", true},
	{"1.15", "IAM users receive permissions only through groups", true},
	{"1.16", "No IAM policies with full *:* administrative privileges are attached", true},
	{"1.17", "A support role exists to manage incidents with AWS Support", true},
	{"1.18", "IAM instance roles are used for AWS resource access from instances", false},
	{"1.19", "Expired SSL/TLS certificates stored in IAM are removed", true},
	{"1.20", "IAM Access Analyzer is enabled for all regions", true},
	{"1.21", "IAM users are managed centrally via identity federation or AWS Organizations", false},
	{"1.22", "Access to AWSCloudShellFullAccess is restricted", true},
	{"2.1.1", "S3 bucket policy denies HTTP requests", true},
	{"2.1.2", "MFA Delete is enabled on S3 buckets", true},
	{"2.1.3", "All data in S3 is discovered, classified and secured", false},
	{"2.1.4", "S3 buckets are configured with Block Public Access", true},
	{"2.2.1", "EBS volume encryption is enabled in all regions", true},
	{"2.3.1", "Encryption at rest is enabled for RDS instances", true},
	{"2.3.2", "Auto minor version upgrade is enabled for RDS instances", true},
	{"2.3.3", "RDS instances are not publicly accessible", true},
	{"2.4.1", "Encryption is enabled for EFS file systems", true},
	{"3.1", "CloudTrail is enabled in all regions", true},
	{"3.2", "CloudTrail log file validation is enabled", true},
	{"3.3", "AWS Config is enabled in all regions", true},
	{"3.4", "S3 bucket access logging is enabled on the CloudTrail bucket", true},
	{"3.5", "CloudTrail logs are encrypted at rest using KMS keys", true},
	{"3.6", "Rotation for customer-created symmetric keys is enabled", true},
	{"3.7", "VPC flow logging is enabled in all VPCs", true},
	{"3.8", "Object-level logging for write events is enabled for S3 buckets", true},
	{"3.9", "Object-level logging for read events is enabled for S3 buckets", true},
	{"4.1", "Unauthorized API calls are monitored", true},
	{"4.2", "Console sign-in without MFA is monitored", true},
	{"4.3", "Usage of the root user is monitored", true},
	{"4.4", "IAM policy changes are monitored", true},
	{"4.5", "CloudTrail configuration changes are monitored", true},
	{"4.6", "Console authentication failures are monitored", true},
	{"4.7", "Disabling or scheduled deletion of customer-created keys is monitored", true},
	{"4.8", "S3 bucket policy changes are monitored", true},
	{"4.9", "AWS Config configuration changes are monitored", true},
	{"4.10", "Security group changes are monitored", true},
	{"4.11", "Network ACL changes are monitored", true},
	{"4.12", "Changes to network gateways are monitored", true},
	{"4.13", "Route table changes are monitored", true},
	{"4.14", "VPC changes are monitored", true},
	{"4.15", "AWS Organizations changes are monitored", true},
	{"4.16", "AWS Security Hub is enabled", true},
	{"5.1", "No network ACL allows ingress from 0.0.0.0/0 to remote administration ports", true},
	{"5.2", "No security group allows ingress from 0.0.0.0/0 to remote administration ports", true},
	{"5.3", "No security group allows ingress from ::/0 to remote administration ports", true},
	{"5.4", "The default security group of every VPC restricts all traffic", true},
	{"5.5", "Routing tables for VPC peering are least access", false},
	{"5.6", "EC2 Metadata Service only allows IMDSv2", true},
}

// Frameworks lists the framework prefixes the catalog maps to.
var Frameworks = []string{"cis-aws-3.0", "fsbp"}

// ControlCoverage is one control with the checks that implement it.
type ControlCoverage struct {
	Control
	Checks      []string `json:"checks"`
	Implemented bool     `json:"implemented"`
	// Outside names the Security Hub standards holding an fsbp: control that the FSBP standard
	// itself does not include (fsbp: follows Security Hub's control numbering).
	Outside string `json:"outside_fsbp_standard,omitempty"`
}

// Coverage lists a framework's controls with the checks that implement them. For CIS every
// recommendation of the benchmark is listed; for other frameworks, the controls the catalog maps.
func Coverage(framework string) []ControlCoverage {
	byCtl := map[string][]string{}
	for _, c := range All() {
		for _, ctl := range c.Controls {
			if strings.HasPrefix(ctl, framework+":") {
				byCtl[ctl] = append(byCtl[ctl], c.ID)
			}
		}
	}
	var out []ControlCoverage
	if framework == "cis-aws-3.0" {
		for _, c := range cisV3 {
			c.ID = framework + ":" + c.ID
			checks := byCtl[c.ID]
			out = append(out, ControlCoverage{Control: c, Checks: checks, Implemented: len(checks) > 0})
		}
		return out
	}
	for ctl, checks := range byCtl {
		cc := ControlCoverage{Control: Control{ID: ctl, Automated: true}, Checks: checks, Implemented: true}
		if framework == "fsbp" {
			v := fsbpControls[strings.TrimPrefix(ctl, "fsbp:")]
			cc.Title, cc.Outside = v.Title, v.Outside
		}
		out = append(out, cc)
	}
	sort.Slice(out, func(i, j int) bool { return controlLess(out[i].ID, out[j].ID) })
	return out
}

// controlLess orders IDs like "fsbp:EC2.2" < "fsbp:EC2.10" naturally.
func controlLess(a, b string) bool {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if pa != pb {
		return pa < pb
	}
	return na < nb
}

func splitNum(s string) (string, int) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, 0
	}
	n := 0
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return s, 0
		}
		n = n*10 + int(c-'0')
	}
	return s[:i], n
}
