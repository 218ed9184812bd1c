package configsvc_test

import (
	"net/http"
	"testing"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// Config names IAM users by unique id and RDS instances by resource id; their configuration
// items carry the ARNs the inventory uses. One lookup per page resolves them; what Config does
// not know keeps its id, marked unmatched.
func TestRuleComplianceResolvesResourceIDsToARNs(t *testing.T) {
	const account = "111122223333"
	for _, deny := range []bool{false, true} {
		lookups := 0
		_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
			switch r.Target {
			case "DescribeComplianceByConfigRule":
				nativetest.JSON(w, `{"ComplianceByConfigRules":[{"ConfigRuleName":"r","Compliance":{"ComplianceType":"NON_COMPLIANT"}}]}`)
			case "GetComplianceDetailsByConfigRule":
				nativetest.JSON(w, `{"EvaluationResults":[`+evaluation("r", "AWS::IAM::User", "AIDAEXAMPLEUSER", "")+`,`+
					evaluation("r", "AWS::RDS::DBInstance", "db-ABCDEFGHIJKL", "")+`,`+evaluation("r", "AWS::IAM::User", "AIDAEXAMPLEUSER", "")+`,`+
					evaluation("r", "AWS::SQS::Queue", "https://sqs.us-east-1.amazonaws.com/111122223333/q", "")+`,`+
					evaluation("r", "AWS::S3::Bucket", "logs", "")+`]}`)
			case "BatchGetResourceConfig":
				lookups++
				if keys, _ := r.Body["resourceKeys"].([]any); len(keys) != 3 {
					t.Errorf("lookup of %v, want the 3 distinct unresolved resources", r.Body["resourceKeys"])
				}
				if deny {
					nativetest.Error(w, 400, "AccessDeniedException", "not authorized to perform: config:BatchGetResourceConfig")
					return
				}
				nativetest.JSON(w, `{"baseConfigurationItems":[
				  {"accountId":"111122223333","awsRegion":"us-east-1","resourceType":"AWS::IAM::User","resourceId":"AIDAEXAMPLEUSER","resourceName":"alice",
				   "arn":"arn:aws:iam::111122223333:user/staff/alice"},
				  {"accountId":"111122223333","awsRegion":"us-east-1","resourceType":"AWS::RDS::DBInstance","resourceId":"db-ABCDEFGHIJKL","resourceName":"orders",
				   "arn":"arn:aws:rds:us-east-1:111122223333:db:orders"}],"unprocessedResourceKeys":[]}`)
			default:
				nativetest.Error(w, 400, "InvalidAction", r.Target)
			}
		})
		sink, err := collecttest.Run(t, "config.rule-compliance", cfg, account, "us-east-1")
		if err != nil {
			t.Fatalf("deny=%v: %v", deny, err)
		}
		if lookups != 1 || len(sink.Findings) != 5 {
			t.Fatalf("deny=%v: %d lookups, %d findings", deny, lookups, len(sink.Findings))
		}
		got := map[string]*finding.Finding{}
		for _, f := range sink.Findings {
			got[f.ResourceARN] = f
		}
		if f := got["arn:aws:s3:::logs"]; f == nil || native.Unmatched(f) != "" {
			t.Errorf("deny=%v: bucket built from its name: %+v", deny, f)
		}
		if f := got["https://sqs.us-east-1.amazonaws.com/111122223333/q"]; f == nil || native.Unmatched(f) == "" {
			t.Errorf("deny=%v: queue unknown to Config keeps its id, marked: %+v", deny, f)
		}
		if deny {
			if f := got["AIDAEXAMPLEUSER"]; f == nil || native.Unmatched(f) == "" {
				t.Errorf("lookup denied: user keeps its id, marked: %+v", f)
			}
			continue
		}
		if f := got["arn:aws:iam::111122223333:user/staff/alice"]; f == nil || native.Unmatched(f) != "" || f.ResourceType != "AWS::IAM::User" {
			t.Errorf("user resolved to its ARN with path: %+v", f)
		}
		if f := got["arn:aws:rds:us-east-1:111122223333:db:orders"]; f == nil || native.Unmatched(f) != "" {
			t.Errorf("RDS instance resolved from its resource id: %+v", f)
		}
	}
}

// Through an aggregator the lookup names each resource's account and region.
func TestAggregateComplianceResolvesResourceIDs(t *testing.T) {
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch r.Target {
		case "DescribeConfigurationAggregators":
			nativetest.JSON(w, `{"ConfigurationAggregators":[{"ConfigurationAggregatorName":"org"}]}`)
		case "DescribeAggregateComplianceByConfigRules":
			nativetest.JSON(w, `{"AggregateComplianceByConfigRules":[{"AccountId":"444455556666","AwsRegion":"eu-west-1","ConfigRuleName":"r","Compliance":{"ComplianceType":"NON_COMPLIANT"}}]}`)
		case "GetAggregateComplianceDetailsByConfigRule":
			nativetest.JSON(w, `{"AggregateEvaluationResults":[{"AccountId":"444455556666","AwsRegion":"eu-west-1","ComplianceType":"NON_COMPLIANT",
				"EvaluationResultIdentifier":{"EvaluationResultQualifier":{"ConfigRuleName":"r","ResourceId":"AROAEXAMPLEROLE","ResourceType":"AWS::IAM::Role"}}}]}`)
		case "BatchGetAggregateResourceConfig":
			ids, _ := r.Body["ResourceIdentifiers"].([]any)
			id, _ := ids[0].(map[string]any)
			if r.Body["ConfigurationAggregatorName"] != "org" || len(ids) != 1 || id["SourceAccountId"] != "444455556666" || id["SourceRegion"] != "eu-west-1" {
				t.Errorf("aggregate lookup %v", r.Body)
			}
			nativetest.JSON(w, `{"BaseConfigurationItems":[{"accountId":"444455556666","awsRegion":"eu-west-1","resourceType":"AWS::IAM::Role",
				"resourceId":"AROAEXAMPLEROLE","arn":"arn:aws:iam::444455556666:role/service/deployer"}],"UnprocessedResourceIdentifiers":[]}`)
		default:
			nativetest.Error(w, 400, "InvalidAction", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "config.aggregate-compliance", cfg, "111122223333", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 1 || sink.Findings[0].ResourceARN != "arn:aws:iam::444455556666:role/service/deployer" || native.Unmatched(sink.Findings[0]) != "" {
		t.Fatalf("findings %+v", sink.Findings)
	}
}
