package check

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const trailARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"

func trailRes(cfg string, errs map[string]string) *inventory.Resource {
	return res(TypeTrail, trailARN, cfg, errs)
}

const goodTrail = `{"Name":"main","TrailARN":"` + trailARN + `","HomeRegion":"us-east-1","S3BucketName":"trail-logs","IsMultiRegionTrail":true,
"LogFileValidationEnabled":true,"KmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/k","CloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111122223333:log-group:ct:*",
"Status":{"IsLogging":true},"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]}`

func TestCloudTrail(t *testing.T) {
	cov := okCoverage()
	acctCheck := func(id string, c []store.Coverage, rs ...*inventory.Resource) func(t *testing.T) Result {
		return func(t *testing.T) Result { return evalUnit(t, id, newTestEnv(c, rs...), "global") }
	}
	one := func(id, cfg string, rs ...*inventory.Resource) func(t *testing.T) Result {
		return func(t *testing.T) Result { return evalOne(t, id, newTestEnv(cov, rs...), trailRes(cfg, nil)) }
	}
	readOnly := `{"Name":"ro","IsMultiRegionTrail":true,"Status":{"IsLogging":true},"EventSelectors":[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true}]}`
	single := `{"Name":"one","IsMultiRegionTrail":false,"Status":{"IsLogging":true},"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true}]}`
	stopped := `{"Name":"off","IsMultiRegionTrail":true,"Status":{"IsLogging":false},"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true}]}`
	advanced := `{"Name":"adv","IsMultiRegionTrail":true,"Status":{"IsLogging":true},"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]},{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"readOnly","Equals":["false"]}]}]}`
	bucketWithLogging := res(TypeBucket, "arn:aws:s3:::trail-logs", `{"Name":"trail-logs","Logging":{"TargetBucket":"access-logs"}}`, nil)
	bucketNoLogging := res(TypeBucket, "arn:aws:s3:::trail-logs", `{"Name":"trail-logs","Logging":null}`, nil)
	runCases(t, []tcase{
		{"good trail", finding.Pass, "", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(goodTrail, nil))},
		{"read-only selectors", finding.Fail, "", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(readOnly, nil))},
		{"single region", finding.Fail, "", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(single, nil))},
		{"not logging", finding.Fail, "", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(stopped, nil))},
		{"advanced selectors", finding.Pass, "", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(advanced, nil))},
		{"no trails", finding.Fail, "", acctCheck("cloudtrail.multi_region_trail", cov)},
		{"status unreadable", finding.Error, "Status", acctCheck("cloudtrail.multi_region_trail", cov, trailRes(single, map[string]string{"Status": "access denied"}))},
		{"org trail of the management account", finding.Pass, "", func(t *testing.T) Result {
			c := append(okCoverage(), store.Coverage{AccountID: "999988887777", Region: region, Collector: colName(TypeTrail), Status: store.CoverageOK})
			org := res(TypeTrail, "arn:aws:cloudtrail:us-east-1:999988887777:trail/org", `{"Name":"org","IsOrganizationTrail":true,"IsMultiRegionTrail":true,"Status":{"IsLogging":true},"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true}]}`, nil)
			org.AccountID = "999988887777"
			return evalUnit(t, "cloudtrail.multi_region_trail", newTestEnv(c, org), "global")
		}},
		{"listing denied", finding.Error, "denied", acctCheck("cloudtrail.multi_region_trail", withCoverage(cov, TypeTrail, store.CoverageDenied, "AccessDenied"))},
		{"kms", finding.Pass, "", one("cloudtrail.kms_encryption", goodTrail)},
		{"no kms", finding.Fail, "", one("cloudtrail.kms_encryption", single)},
		{"validation", finding.Pass, "", one("cloudtrail.log_file_validation", goodTrail)},
		{"no validation", finding.Fail, "", one("cloudtrail.log_file_validation", single)},
		{"bucket logging", finding.Pass, "", one("cloudtrail.bucket_access_logging", goodTrail, bucketWithLogging)},
		{"bucket no logging", finding.Fail, "", one("cloudtrail.bucket_access_logging", goodTrail, bucketNoLogging)},
		{"bucket elsewhere", finding.Error, "not in this scan", one("cloudtrail.bucket_access_logging", goodTrail)},
		{"s3 write events", finding.Pass, "", acctCheck("cloudtrail.s3_object_write_events", cov, trailRes(goodTrail, nil))},
		{"s3 write events advanced", finding.Pass, "", acctCheck("cloudtrail.s3_object_write_events", cov, trailRes(advanced, nil))},
		{"s3 read events advanced write-only", finding.Fail, "", acctCheck("cloudtrail.s3_object_read_events", cov, trailRes(advanced, nil))},
	})
}

func TestConfigAndKMS(t *testing.T) {
	cov := okCoverage()
	rec := func(cfg string, errs map[string]string, c []store.Coverage) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			var rs []*inventory.Resource
			if cfg != "" {
				rs = append(rs, res(TypeRecorderStatus, "arn:aws:config:us-east-1:111122223333:recorder-status", cfg, errs))
			}
			return evalUnit(t, "config.recorder_all_resources", newTestEnv(c, rs...), region)
		}
	}
	key := func(id, cfg string, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov), res(TypeKMSKey, "arn:aws:kms:us-east-1:111122223333:key/k", cfg, errs))
		}
	}
	cmk := `"KeyManager":"CUSTOMER","KeyState":"Enabled","KeySpec":"SYMMETRIC_DEFAULT","Origin":"AWS_KMS"`
	runCases(t, []tcase{
		{"recording all", finding.Pass, "", rec(`{"Recorders":["default"],"AnyRecording":true,"AllResourcesRecording":true}`, nil, cov)},
		{"recording some", finding.Fail, "not all", rec(`{"Recorders":["default"],"AnyRecording":true,"AllResourcesRecording":false}`, nil, cov)},
		{"not enabled", finding.Fail, "not enabled", rec(`{"Recorders":[],"AnyRecording":false,"AllResourcesRecording":false}`, nil, cov)},
		{"status unreadable", finding.Error, "", rec(`{"Recorders":["default"]}`, map[string]string{"AllResourcesRecording": "access denied"}, cov)},
		{"region opted out", finding.Error, "skipped", rec("", nil, withCoverage(cov, TypeRecorderStatus, store.CoverageSkipped, "region not enabled"))},
		{"rotation on", finding.Pass, "", key("kms.key_rotation", `{`+cmk+`,"KeyRotationEnabled":true}`, nil)},
		{"rotation off", finding.Fail, "", key("kms.key_rotation", `{`+cmk+`,"KeyRotationEnabled":false}`, nil)},
		{"aws managed key skipped", "", "", key("kms.key_rotation", `{"KeyManager":"AWS","KeyState":"Enabled","KeySpec":"SYMMETRIC_DEFAULT","KeyRotationEnabled":false}`, nil)},
		{"asymmetric skipped", "", "", key("kms.key_rotation", `{"KeyManager":"CUSTOMER","KeyState":"Enabled","KeySpec":"RSA_2048","KeyRotationEnabled":false}`, nil)},
		{"disabled key skipped", "", "", key("kms.key_rotation", `{"KeyManager":"CUSTOMER","KeyState":"Disabled","KeySpec":"SYMMETRIC_DEFAULT","KeyRotationEnabled":false}`, nil)},
		{"imported material skipped", "", "", key("kms.key_rotation", `{"KeyManager":"CUSTOMER","KeyState":"Enabled","KeySpec":"SYMMETRIC_DEFAULT","Origin":"EXTERNAL","KeyRotationEnabled":false}`, nil)},
		{"rotation unreadable", finding.Error, "", key("kms.key_rotation", `{`+cmk+`,"KeyRotationEnabled":null}`, map[string]string{"KeyRotationEnabled": "access denied"})},
		{"pending deletion", finding.Fail, "", key("kms.key_not_pending_deletion", `{"KeyManager":"CUSTOMER","KeyState":"PendingDeletion"}`, nil)},
		{"public key policy", finding.Fail, "", key("kms.key_policy_not_public", `{`+cmk+`,"Policy":`+stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}`)+`}`, nil)},
		{"account key policy", finding.Pass, "", key("kms.key_policy_not_public", `{`+cmk+`,"Policy":`+stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}`)+`}`, nil)},
		{"key policy denied", finding.Error, "", key("kms.key_policy_not_public", `{`+cmk+`,"Policy":null}`, map[string]string{"Policy": "access denied"})},
	})
}

func TestCISAlarms(t *testing.T) {
	cov := okCoverage()
	filter := func(pattern string) *inventory.Resource {
		return res(TypeMetricFilter, "arn:aws:logs:us-east-1:111122223333:log-group:ct:metric-filter:f1",
			`{"FilterName":"f1","LogGroupName":"ct","FilterPattern":`+jsonQuote(pattern)+`,"MetricTransformations":[{"MetricName":"M1","MetricNamespace":"CIS"}]}`, nil)
	}
	alarm := res(TypeAlarm, "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a1", `{"AlarmName":"a1","MetricName":"M1","Namespace":"CIS","AlarmActions":["arn:aws:sns:us-east-1:111122223333:sec"]}`, nil)
	topic := func(subs string) *inventory.Resource {
		return res(TypeTopic, "arn:aws:sns:us-east-1:111122223333:sec", `{"TopicArn":"arn:aws:sns:us-east-1:111122223333:sec","Subscriptions":`+subs+`}`, nil)
	}
	confirmed := `[{"SubscriptionArn":"arn:aws:sns:us-east-1:111122223333:sec:1","Protocol":"email"}]`
	unauth := `{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`
	root := `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`
	run := func(id string, c []store.Coverage, rs ...*inventory.Resource) func(t *testing.T) Result {
		return func(t *testing.T) Result { return evalUnit(t, id, newTestEnv(c, rs...), "global") }
	}
	runCases(t, []tcase{
		{"full chain", finding.Pass, "", run("cloudwatch.alarm_unauthorized_api_calls", cov, trailRes(goodTrail, nil), filter(unauth), alarm, topic(confirmed))},
		{"root chain", finding.Pass, "", run("cloudwatch.alarm_root_usage", cov, trailRes(goodTrail, nil), filter(root), alarm, topic(confirmed))},
		{"wrong pattern", finding.Fail, "lacks", run("cloudwatch.alarm_root_usage", cov, trailRes(goodTrail, nil), filter(unauth), alarm, topic(confirmed))},
		{"pending subscription", finding.Fail, "no confirmed", run("cloudwatch.alarm_unauthorized_api_calls", cov, trailRes(goodTrail, nil), filter(unauth), alarm, topic(`[{"SubscriptionArn":"PendingConfirmation"}]`))},
		{"no alarm", finding.Fail, "", run("cloudwatch.alarm_unauthorized_api_calls", cov, trailRes(goodTrail, nil), filter(unauth), topic(confirmed))},
		{"no trail", finding.Fail, "no multi-region trail", run("cloudwatch.alarm_unauthorized_api_calls", cov)},
		{"filters denied", finding.Error, "", run("cloudwatch.alarm_unauthorized_api_calls", withCoverage(cov, TypeMetricFilter, store.CoverageDenied, "AccessDenied"), trailRes(goodTrail, nil))},
		{"create policy is not create policy version", finding.Fail, "", run("cloudwatch.alarm_iam_policy_changes", cov, trailRes(goodTrail, nil),
			filter(`{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicy)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`), alarm, topic(confirmed))},
	})
}

func TestServicesEnabled(t *testing.T) {
	cov := okCoverage()
	unit := func(id, typ, cfg string, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalUnit(t, id, newTestEnv(cov, res(typ, "arn:aws:x:us-east-1:111122223333:status", cfg, errs)), region)
		}
	}
	runCases(t, []tcase{
		{"guardduty on", finding.Pass, "", unit("guardduty.enabled", TypeGuardDutyStatus, `{"Enabled":true,"DetectorIds":["d"]}`, nil)},
		{"guardduty off", finding.Fail, "", unit("guardduty.enabled", TypeGuardDutyStatus, `{"Enabled":false,"DetectorIds":[]}`, nil)},
		{"guardduty unknown", finding.Error, "", unit("guardduty.enabled", TypeGuardDutyStatus, `{"Enabled":false,"DetectorIds":["d"]}`, map[string]string{"Enabled": "access denied"})},
		{"guardduty denied", finding.Error, "denied", func(t *testing.T) Result {
			return evalUnit(t, "guardduty.enabled", newTestEnv(withCoverage(cov, TypeGuardDutyStatus, store.CoverageDenied, "AccessDenied")), region)
		}},
		{"securityhub on", finding.Pass, "", unit("securityhub.enabled", TypeSecurityHub, `{"Enabled":true}`, nil)},
		{"securityhub off", finding.Fail, "", unit("securityhub.enabled", TypeSecurityHub, `{"Enabled":false}`, nil)},
		{"inspector ec2 on", finding.Pass, "", unit("inspector.ec2_scanning", TypeInspectorStatus, `{"Enabled":true,"Ec2":"ENABLED"}`, nil)},
		{"inspector ec2 off", finding.Fail, "", unit("inspector.ec2_scanning", TypeInspectorStatus, `{"Enabled":true,"Ec2":"DISABLED"}`, nil)},
		{"inspector unknown", finding.Error, "", unit("inspector.ecr_scanning", TypeInspectorStatus, `{"Enabled":false}`, map[string]string{"Enabled": "ACCESS_DENIED: no"})},
	})
}

func jsonQuote(s string) string { return `"` + jsonEscape(s) + `"` }
