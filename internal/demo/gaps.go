package demo

import (
	"strings"

	"github.com/yagura-dev/yagura/internal/collect/ssm"
	"github.com/yagura-dev/yagura/internal/faultproxy"
)

// Gap is a read moto does not implement, answered in the service's own wire format as AWS
// answers it for the demo's accounts.
type Gap struct {
	Name  string // service and action, for the demo's message
	Fault faultproxy.Fault
}

// EmulatorGaps are the reads yagura's collectors make that moto does not implement. The demo
// serves them from a loopback proxy in front of moto, so the demo scan is complete instead of
// failing those tasks; each answer is what a fresh AWS account gives: the AWS-managed default EBS
// key, no Security Hub finding aggregator, no SSM-managed instances, and SSM documents' public
// sharing at its default (allowed), no Config rule results, no Access Analyzer analyzer, no
// GuardDuty findings, and Trusted Advisor refused to an account on the Basic support plan.
func EmulatorGaps() []Gap {
	const awsJSON = "application/x-amz-json-1.1"
	action := func(service, name string) func(*faultproxy.Call) bool {
		return func(c *faultproxy.Call) bool { return c.Service == service && c.Action == name }
	}
	return []Gap{
		{"EC2 GetEbsDefaultKmsKeyId", faultproxy.Fault{Match: action("ec2", "GetEbsDefaultKmsKeyId"), Status: 200,
			Body: `<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>demo</requestId><kmsKeyId>alias/aws/ebs</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>`}},
		{"Security Hub ListFindingAggregators", faultproxy.Fault{Match: action("securityhub", "GET /findingAggregator/list"), Status: 200,
			ContentType: "application/json", Body: `{"FindingAggregators":[]}`}},
		{"SSM DescribeInstanceInformation", faultproxy.Fault{Match: action("ssm", "DescribeInstanceInformation"), Status: 200,
			ContentType: awsJSON, Body: `{"InstanceInformationList":[]}`}},
		{"Config DescribeComplianceByConfigRule", faultproxy.Fault{Match: action("config", "DescribeComplianceByConfigRule"), Status: 200,
			ContentType: awsJSON, Body: `{"ComplianceByConfigRules":[]}`}},
		{"IAM Access Analyzer ListAnalyzers", faultproxy.Fault{Match: action("access-analyzer", "GET /analyzer"), Status: 200,
			ContentType: "application/json", Body: `{"analyzers":[]}`}},
		{"GuardDuty ListFindings", faultproxy.Fault{Match: func(c *faultproxy.Call) bool {
			return c.Service == "guardduty" && strings.HasPrefix(c.Action, "POST /detector/") && strings.HasSuffix(c.Action, "/findings")
		}, Status: 200, ContentType: "application/json", Body: `{"findingIds":[]}`}},
		// Accounts on the Basic support plan (as these are) cannot use Trusted Advisor's API.
		{"Support DescribeTrustedAdvisorChecks", faultproxy.Fault{Match: action("support", "DescribeTrustedAdvisorChecks"), Status: 400,
			ContentType: awsJSON, Body: `{"__type":"SubscriptionRequiredException","message":"AWS Premium Support Subscription is required to use this service."}`}},
		// No ARN: the collector names the setting per account and region.
		{"SSM GetServiceSetting", faultproxy.Fault{Match: action("ssm", "GetServiceSetting"), Status: 200,
			ContentType: awsJSON, Body: `{"ServiceSetting":{"SettingId":"` + ssm.PublicSharingSetting + `","SettingValue":"Enable","Status":"Default"}}`}},
	}
}
