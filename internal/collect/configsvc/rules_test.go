package configsvc_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/configsvc"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// evaluation is one EvaluationResults entry in Config's JSON 1.1 wire shape.
func evaluation(rule, rtype, id, annotation string) string {
	return fmt.Sprintf(`{"Annotation":%q,"ComplianceType":"NON_COMPLIANT","ConfigRuleInvokedTime":1.7646e9,"ResultRecordedTime":1.7646e9,
	"EvaluationResultIdentifier":{"EvaluationResultQualifier":{"ConfigRuleName":%q,"ResourceId":%q,"ResourceType":%q},"OrderingTimestamp":1.7646e9}}`,
		annotation, rule, id, rtype)
}

func TestRuleCompliancePaginated(t *testing.T) {
	const account = "111122223333"
	_, cfg := nativetest.Serve(t, "eu-west-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch r.Target {
		case "DescribeComplianceByConfigRule":
			if fmt.Sprint(r.Body["ComplianceTypes"]) != "[NON_COMPLIANT]" {
				t.Errorf("rules asked without the NON_COMPLIANT filter: %v", r.Body)
			}
			if r.Body["NextToken"] == "r2" {
				nativetest.JSON(w, `{"ComplianceByConfigRules":[{"ConfigRuleName":"s3-bucket-versioning-enabled","Compliance":{"ComplianceType":"NON_COMPLIANT","ComplianceContributorCount":{"CapExceeded":false,"CappedCount":1}}}]}`)
				return
			}
			nativetest.JSON(w, `{"ComplianceByConfigRules":[{"ConfigRuleName":"restricted-ssh","Compliance":{"ComplianceType":"NON_COMPLIANT","ComplianceContributorCount":{"CapExceeded":false,"CappedCount":2}}}],"NextToken":"r2"}`)
		case "GetComplianceDetailsByConfigRule":
			switch {
			case r.Body["ConfigRuleName"] == "restricted-ssh" && r.Body["NextToken"] == nil:
				nativetest.JSON(w, `{"EvaluationResults":[`+evaluation("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0", "Port 22 open to 0.0.0.0/0")+`],"NextToken":"e2"}`)
			case r.Body["ConfigRuleName"] == "restricted-ssh":
				nativetest.JSON(w, `{"EvaluationResults":[`+evaluation("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0fedcba9876543210", "Port 22 open to ::/0")+`]}`)
			default:
				nativetest.JSON(w, `{"EvaluationResults":[`+evaluation("s3-bucket-versioning-enabled", "AWS::S3::Bucket", "example-logs", "")+`]}`)
			}
		default:
			nativetest.Error(w, 400, "InvalidAction", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "config.rule-compliance", cfg, account, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 3 {
		t.Fatalf("%d findings, want 3", len(sink.Findings))
	}
	want := map[string]string{
		"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0123456789abcdef0": "restricted-ssh",
		"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0fedcba9876543210": "restricted-ssh",
		"arn:aws:s3:::example-logs": "s3-bucket-versioning-enabled",
	}
	for _, f := range sink.Findings {
		if want[f.ResourceARN] != f.CheckID || f.Source != "config" || f.Status != finding.Fail || f.Region != "eu-west-1" || f.AccountID != account {
			t.Errorf("finding %+v", f)
		}
	}
}

func TestRuleComplianceDenied(t *testing.T) {
	_, cfg := nativetest.Serve(t, "eu-west-1", func(w http.ResponseWriter, r nativetest.Request) {
		nativetest.Error(w, 400, "AccessDeniedException", "not authorized to perform: config:DescribeComplianceByConfigRule")
	})
	_, err := collecttest.Run(t, "config.rule-compliance", cfg, "111122223333", "eu-west-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
		t.Fatalf("outcome %s (%v), want denied", outcome, err)
	}
}

// Through an aggregator, findings of other accounts and regions come with their own account and
// region, and the same ids as when read in those accounts directly.
func TestAggregateRuleCompliance(t *testing.T) {
	const admin, member = "111122223333", "444455556666"
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch r.Target {
		case "DescribeConfigurationAggregators":
			nativetest.JSON(w, `{"ConfigurationAggregators":[{"ConfigurationAggregatorName":"org","ConfigurationAggregatorArn":"arn:aws:config:us-east-1:111122223333:config-aggregator/config-aggregator-abc",
				"OrganizationAggregationSource":{"RoleArn":"arn:aws:iam::111122223333:role/aggregator","AllAwsRegions":true}}]}`)
		case "DescribeAggregateComplianceByConfigRules":
			if r.Body["ConfigurationAggregatorName"] != "org" {
				t.Errorf("aggregator name %v", r.Body["ConfigurationAggregatorName"])
			}
			nativetest.JSON(w, `{"AggregateComplianceByConfigRules":[{"AccountId":"444455556666","AwsRegion":"eu-west-1","ConfigRuleName":"restricted-ssh","Compliance":{"ComplianceType":"NON_COMPLIANT"}}]}`)
		case "GetAggregateComplianceDetailsByConfigRule":
			if r.Body["AccountId"] != member || r.Body["AwsRegion"] != "eu-west-1" || r.Body["ComplianceType"] != "NON_COMPLIANT" {
				t.Errorf("details asked with %v", r.Body)
			}
			nativetest.JSON(w, `{"AggregateEvaluationResults":[{"AccountId":"444455556666","AwsRegion":"eu-west-1","Annotation":"Port 22 open","ComplianceType":"NON_COMPLIANT",
				"EvaluationResultIdentifier":{"EvaluationResultQualifier":{"ConfigRuleName":"restricted-ssh","ResourceId":"sg-0123456789abcdef0","ResourceType":"AWS::EC2::SecurityGroup"}}}]}`)
		default:
			nativetest.Error(w, 400, "InvalidAction", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "config.aggregate-compliance", cfg, admin, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 1 {
		t.Fatalf("%d findings", len(sink.Findings))
	}
	f := sink.Findings[0]
	if f.AccountID != member || f.Region != "eu-west-1" || f.ResourceARN != "arn:aws:ec2:eu-west-1:444455556666:security-group/sg-0123456789abcdef0" ||
		f.ID != finding.StableID("config", member+"/eu-west-1/restricted-ssh/AWS::EC2::SecurityGroup/sg-0123456789abcdef0") {
		t.Errorf("aggregated finding %+v", f)
	}
}
