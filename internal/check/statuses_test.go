package check

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// TestEveryCheckErrorsOnUnreadableInput: whatever the check, an unreadable input is ERROR —
// a config that does not decode (or a needed attribute in Errors) for per-resource checks, a
// failed collector for account/region checks.
func TestEveryCheckErrorsOnUnreadableInput(t *testing.T) {
	for _, c := range All() {
		t.Run(c.ID, func(t *testing.T) {
			var got Result
			if c.Scope == PerResource {
				errs := map[string]string{}
				for _, n := range c.Needs {
					errs[n] = "access denied"
				}
				got = evalOne(t, c.ID, newTestEnv(okCoverage()), res(c.ResourceType, "arn:aws:x:us-east-1:111122223333:thing/1", `"garbage"`, errs))
			} else {
				reg := region
				if c.Scope == PerAccount {
					reg = "global"
				}
				got = evalUnit(t, c.ID, newTestEnv(withCoverage(okCoverage(), c.Inputs[0], store.CoverageDenied, "AccessDenied")), reg)
			}
			if got.Status != finding.Error {
				t.Fatalf("status %q (%s), want ERROR", got.Status, got.Detail)
			}
		})
	}
}

// simpleCases are PASS and FAIL configs for per-resource checks whose logic is one attribute.
var simpleCases = map[string][2]string{
	"ec2.volume_encrypted":                  {`{"Encrypted":true,"Attachments":[{"InstanceId":"i-1"}]}`, `{"Encrypted":false,"Attachments":[{"InstanceId":"i-1"}]}`},
	"ec2.subnet_no_auto_public_ip":          {`{"MapPublicIpOnLaunch":false}`, `{"MapPublicIpOnLaunch":true}`},
	"ec2.nacl_unused":                       {`{"Associations":[{"SubnetId":"s"}]}`, `{"Associations":[]}`},
	"ec2.instance_single_eni":               {`{"NetworkInterfaces":[{}]}`, `{"NetworkInterfaces":[{},{}]}`},
	"ec2.ami_not_public":                    {`{"Public":false,"OwnerId":"111122223333"}`, `{"Public":true,"OwnerId":"111122223333"}`},
	"ec2.sg_ingress_rdp_world":              {`{"IpPermissions":[]}`, `{"IpPermissions":[{"IpProtocol":"tcp","FromPort":3389,"ToPort":3389,"Ipv6Ranges":[{"CidrIpv6":"::/0"}]}]}`},
	"ec2.sg_ingress_high_risk_ports":        {`{"IpPermissions":[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`, `{"IpPermissions":[{"IpProtocol":"tcp","FromPort":3306,"ToPort":3306,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`},
	"ec2.sg_ingress_admin_ports_ipv6":       {`{"IpPermissions":[]}`, `{"IpPermissions":[{"IpProtocol":"-1","Ipv6Ranges":[{"CidrIpv6":"::/0"}]}]}`},
	"ec2.sg_ingress_admin_ports_ipv4":       {`{"IpPermissions":[]}`, `{"IpPermissions":[{"IpProtocol":"tcp","FromPort":3389,"ToPort":3389,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`},
	"ec2.sg_ingress_only_authorized_ports":  {`{"IpPermissions":[{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`, `{"IpPermissions":[{"IpProtocol":"tcp","FromPort":8080,"ToPort":8080,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`},
	"ec2.instance_single_eni_dummy":         {},
	"ecr.kms_encryption":                    {`{"EncryptionConfiguration":{"EncryptionType":"KMS","KmsKey":"arn:aws:kms:us-east-1:111122223333:key/k"}}`, `{"EncryptionConfiguration":{"EncryptionType":"AES256"}}`},
	"ecr.tag_immutability":                  {`{"ImageTagMutability":"IMMUTABLE"}`, `{"ImageTagMutability":"MUTABLE"}`},
	"ecr.lifecycle_policy":                  {`{"LifecyclePolicy":{"rules":[]}}`, `{"LifecyclePolicy":null}`},
	"eks.secrets_encrypted":                 {`{"EncryptionConfig":[{"Resources":["secrets"]}]}`, `{"EncryptionConfig":[]}`},
	"eks.audit_logging":                     {`{"Logging":{"ClusterLogging":[{"Enabled":true,"Types":["audit"]}]}}`, `{"Logging":{"ClusterLogging":[{"Enabled":false,"Types":["audit"]}]}}`},
	"eks.endpoint_not_public":               {`{"ResourcesVpcConfig":{"EndpointPublicAccess":false}}`, `{"ResourcesVpcConfig":{"EndpointPublicAccess":true}}`},
	"eks.supported_version":                 {`{"Version":"1.32"}`, `{"Version":"1.24"}`},
	"efs.encrypted":                         {`{"Encrypted":true}`, `{"Encrypted":false}`},
	"elb.multi_az":                          {`{"AvailabilityZones":[{},{}]}`, `{"AvailabilityZones":[{}]}`},
	"elb.access_logging":                    {`{"Type":"application","Attributes":{"access_logs.s3.enabled":"true"}}`, `{"Type":"application","Attributes":{"access_logs.s3.enabled":"false"}}`},
	"elb.deletion_protection":               {`{"Type":"network","Attributes":{"deletion_protection.enabled":"true"}}`, `{"Type":"network","Attributes":{}}`},
	"elb.desync_mitigation":                 {`{"Type":"application","Attributes":{"routing.http.desync_mitigation_mode":"strictest"}}`, `{"Type":"application","Attributes":{"routing.http.desync_mitigation_mode":"monitor"}}`},
	"elb.drop_invalid_headers":              {`{"Type":"application","Attributes":{"routing.http.drop_invalid_header_fields.enabled":"true"}}`, `{"Type":"application","Attributes":{"routing.http.drop_invalid_header_fields.enabled":"false"}}`},
	"cloudtrail.cloudwatch_logs":            {`{"CloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111122223333:log-group:ct:*"}`, `{}`},
	"cloudtrail.kms_encryption":             {`{"KmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/k"}`, `{}`},
	"cloudtrail.log_file_validation":        {`{"LogFileValidationEnabled":true}`, `{"LogFileValidationEnabled":false}`},
	"ec2.default_sg_no_traffic":             {`{"GroupName":"default","IpPermissions":[],"IpPermissionsEgress":[]}`, `{"GroupName":"default","IpPermissions":[{"IpProtocol":"-1"}]}`},
	"ec2.instance_no_public_ip":             {`{"InstanceId":"i-1"}`, `{"InstanceId":"i-1","PublicIpAddress":"192.0.2.1"}`},
	"ec2.nacl_admin_ports_world":            {`{"Entries":[]}`, `{"Entries":[{"RuleNumber":1,"Protocol":"-1","RuleAction":"allow","CidrBlock":"0.0.0.0/0"}]}`},
	"iam.inline_policy_no_full_admin_group": {`{"GroupPolicyList":[]}`, `{"GroupPolicyList":[{"PolicyName":"a","PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}]}`},
	"iam.inline_policy_no_full_admin_user":  {`{"UserPolicyList":[]}`, `{"UserPolicyList":[{"PolicyName":"a","PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"*:*","Resource":"*"}]}}]}`},
	"iam.inline_policy_no_full_admin_role":  {`{"RolePolicyList":[]}`, `{"RolePolicyList":[{"PolicyName":"a","PolicyDocument":{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}}]}`},
	"iam.attached_policy_no_full_admin":     {`{"Arn":"arn:aws:iam::111122223333:policy/p","AttachmentCount":1,"DefaultVersionDocument":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}}`, `{"Arn":"arn:aws:iam::111122223333:policy/p","AttachmentCount":1,"DefaultVersionDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`},
}

func init() {
	for _, g := range []struct{ id, feature string }{{"guardduty.s3_protection", "S3_DATA_EVENTS"}, {"guardduty.eks_audit_logs", "EKS_AUDIT_LOGS"},
		{"guardduty.rds_protection", "RDS_LOGIN_EVENTS"}, {"guardduty.lambda_protection", "LAMBDA_NETWORK_LOGS"},
		{"guardduty.runtime_monitoring", "RUNTIME_MONITORING"}, {"guardduty.malware_protection", "EBS_MALWARE_PROTECTION"}} {
		simpleCases[g.id] = [2]string{`{"Status":"ENABLED","Features":[{"Name":"` + g.feature + `","Status":"ENABLED"}]}`,
			`{"Status":"ENABLED","Features":[{"Name":"` + g.feature + `","Status":"DISABLED"}]}`}
	}
	for id, c := range rdsCases {
		simpleCases[id] = c
	}
	delete(simpleCases, "ec2.instance_single_eni_dummy")
}

var rdsCases = map[string][2]string{
	"rds.instance_multi_az":            {`{"MultiAZ":true}`, `{"MultiAZ":false}`},
	"rds.instance_enhanced_monitoring": {`{"MonitoringInterval":60}`, `{"MonitoringInterval":0}`},
	"rds.instance_deletion_protection": {`{"DeletionProtection":true}`, `{}`},
	"rds.instance_logs_exported":       {`{"EnabledCloudwatchLogsExports":["postgresql"]}`, `{}`},
	"rds.instance_iam_auth":            {`{"Engine":"postgres","IAMDatabaseAuthenticationEnabled":true}`, `{"Engine":"mysql"}`},
	"rds.instance_backups":             {`{"BackupRetentionPeriod":7}`, `{"BackupRetentionPeriod":0}`},
	"rds.instance_copy_tags":           {`{"CopyTagsToSnapshot":true}`, `{}`},
	"rds.instance_custom_admin":        {`{"MasterUsername":"dbowner"}`, `{"MasterUsername":"admin"}`},
	"rds.instance_auto_minor_upgrade":  {`{"AutoMinorVersionUpgrade":true}`, `{"AutoMinorVersionUpgrade":false}`},
	"rds.cluster_deletion_protection":  {`{"DeletionProtection":true}`, `{}`},
	"rds.cluster_iam_auth":             {`{"IAMDatabaseAuthenticationEnabled":true}`, `{}`},
	"rds.cluster_multi_az":             {`{"MultiAZ":true}`, `{}`},
	"rds.cluster_copy_tags":            {`{"CopyTagsToSnapshot":true}`, `{}`},
	"rds.cluster_encrypted":            {`{"StorageEncrypted":true}`, `{}`},
	"rds.cluster_auto_minor_upgrade":   {`{"AutoMinorVersionUpgrade":true}`, `{}`},
	"rds.snapshot_encrypted":           {`{"Encrypted":true}`, `{"Encrypted":false}`},
	"rds.snapshot_not_public":          {`{"Public":false}`, `{"Public":true}`},
	"rds.cluster_snapshot_not_public":  {`{"Public":false}`, `{"Public":true}`},
	"rds.cluster_snapshot_encrypted":   {`{"StorageEncrypted":true}`, `{"StorageEncrypted":false}`},
	"rds.instance_encrypted":           {`{"StorageEncrypted":true}`, `{"StorageEncrypted":false}`},
	"rds.instance_not_public":          {`{"PubliclyAccessible":false}`, `{"PubliclyAccessible":true}`},
	"rds.instance_custom_port":         {`{"Engine":"mysql","Endpoint":{"Port":3307}}`, `{"Engine":"mysql","Endpoint":{"Port":3306}}`},
	"lambda.in_vpc":                    {`{"VpcConfig":{"VpcId":"vpc-1"}}`, `{}`},
	"lambda.vpc_multi_az":              {`{"VpcConfig":{"VpcId":"vpc-1","SubnetIds":["a","b"]}}`, `{"VpcConfig":{"VpcId":"vpc-1","SubnetIds":["a"]}}`},
	"lambda.url_auth":                  {`{"FunctionUrlConfigs":[{"AuthType":"AWS_IAM"}]}`, `{"FunctionUrlConfigs":[{"AuthType":"NONE"}]}`},
	"lambda.supported_runtime":         {`{"Runtime":"nodejs22.x"}`, `{"Runtime":"go1.x"}`},
	"kms.key_not_pending_deletion":     {`{"KeyManager":"CUSTOMER","KeyState":"Enabled"}`, `{"KeyManager":"CUSTOMER","KeyState":"PendingDeletion"}`},
	"iam.user_mfa":                     {`{"MFADevices":[{"SerialNumber":"s"}]}`, `{"MFADevices":[]}`},
	"elb.http_redirects_to_https":      {`{"ListenerArn":"arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/1/2","Protocol":"HTTP","DefaultActions":[{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS"}}]}`, `{"ListenerArn":"arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/1/2","Protocol":"HTTP","DefaultActions":[{"Type":"forward"}]}`},
}

// TestSimpleChecks runs the PASS and FAIL configs of simpleCases.
func TestSimpleChecks(t *testing.T) {
	for id, c := range simpleCases {
		ck := ByID(id)
		if ck == nil {
			t.Errorf("no check %s", id)
			continue
		}
		for i, want := range []finding.Status{finding.Pass, finding.Fail} {
			t.Run(id+"/"+string(want), func(t *testing.T) {
				got := evalOne(t, id, newTestEnv(okCoverage()), res(ck.ResourceType, "arn:aws:x:us-east-1:111122223333:thing/1", c[i], nil))
				if got.Status != want {
					t.Fatalf("%s: %q (%s), want %s", c[i], got.Status, got.Detail, want)
				}
			})
		}
	}
}

// TestAccountLevelPassFail covers the account/region checks not in their service's test.
func TestAccountLevelPassFail(t *testing.T) {
	cov := okCoverage()
	strong := `{"PasswordPolicy":{"MinimumPasswordLength":14,"RequireUppercaseCharacters":true,"RequireLowercaseCharacters":true,"RequireSymbols":true,"RequireNumbers":true,"PasswordReusePrevention":24,"ExpirePasswords":true,"MaxPasswordAge":90}}`
	for _, c := range All() {
		if !strings.HasPrefix(c.ID, "iam.password_policy_") {
			continue
		}
		for cfg, want := range map[string]finding.Status{strong: finding.Pass, `{"PasswordPolicy":{}}`: finding.Fail} {
			got := evalUnit(t, c.ID, newTestEnv(cov, res(TypePasswordPolicy, "arn:aws:iam::111122223333:password-policy", cfg, nil)), "global")
			if got.Status != want {
				t.Errorf("%s %s: %s", c.ID, cfg, got.Status)
			}
		}
	}
	for _, f := range []string{"Ec2", "Ecr", "Lambda", "LambdaCode"} {
		for st, want := range map[string]finding.Status{"ENABLED": finding.Pass, "DISABLED": finding.Fail} {
			id := map[string]string{"Ec2": "inspector.ec2_scanning", "Ecr": "inspector.ecr_scanning", "Lambda": "inspector.lambda_scanning", "LambdaCode": "inspector.lambda_code_scanning"}[f]
			got := evalUnit(t, id, newTestEnv(cov, res(TypeInspectorStatus, "arn:aws:inspector2:us-east-1:111122223333:account-status", `{"Enabled":true,"`+f+`":"`+st+`"}`, nil)), region)
			if got.Status != want {
				t.Errorf("%s %s: %s", id, st, got.Status)
			}
		}
	}
	ssm := func(v string) *inventory.Resource {
		return res("AWS::SSM::ServiceSetting", "arn:aws:ssm:us-east-1:111122223333:servicesetting/x", `{"SettingValue":"`+v+`"}`, nil)
	}
	if got := evalUnit(t, "ssm.documents_block_public_sharing", newTestEnv(cov, ssm("Disable")), region); got.Status != finding.Pass {
		t.Errorf("ssm disable: %s", got.Status)
	}
	if got := evalUnit(t, "ssm.documents_block_public_sharing", newTestEnv(cov, ssm("Enable")), region); got.Status != finding.Fail {
		t.Errorf("ssm enable: %s", got.Status)
	}
	// Every CIS section 4 alarm: a filter with all its terms passes, one missing a term fails.
	for _, s := range alarmSpecs {
		id := "cloudwatch.alarm_" + s.id
		for _, tc := range []struct {
			terms []string
			want  finding.Status
		}{{s.terms, finding.Pass}, {s.terms[:len(s.terms)-1], finding.Fail}} {
			pattern := "{ " + strings.Join(quoteTerms(tc.terms), " || ") + " }"
			b, _ := json.Marshal(map[string]any{"FilterName": "f", "LogGroupName": "ct", "FilterPattern": pattern,
				"MetricTransformations": []any{map[string]string{"MetricName": "M", "MetricNamespace": "CIS"}}})
			e := newTestEnv(cov, trailRes(goodTrail, nil),
				res(TypeMetricFilter, "arn:aws:logs:us-east-1:111122223333:log-group:ct:metric-filter:f", string(b), nil),
				res(TypeAlarm, "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a", `{"AlarmName":"a","MetricName":"M","Namespace":"CIS","AlarmActions":["arn:aws:sns:us-east-1:111122223333:t"]}`, nil),
				res(TypeTopic, "arn:aws:sns:us-east-1:111122223333:t", `{"Subscriptions":[{"SubscriptionArn":"arn:aws:sns:us-east-1:111122223333:t:1","Protocol":"email"}]}`, nil))
			if got := evalUnit(t, id, e, "global"); got.Status != tc.want {
				t.Errorf("%s with %d terms: %s (%s)", id, len(tc.terms), got.Status, got.Detail)
			}
		}
	}
	// S3 object-level events: a trail logging write-only data events passes write, fails read.
	wo := `{"Name":"d","IsMultiRegionTrail":true,"Status":{"IsLogging":true},"EventSelectors":[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]}`
	if got := evalUnit(t, "cloudtrail.s3_object_write_events", newTestEnv(cov, trailRes(wo, nil)), "global"); got.Status != finding.Pass {
		t.Errorf("write events: %s", got.Status)
	}
	if got := evalUnit(t, "cloudtrail.s3_object_read_events", newTestEnv(cov, trailRes(wo, nil)), "global"); got.Status != finding.Fail {
		t.Errorf("read events: %s", got.Status)
	}
	ro := strings.ReplaceAll(wo, "WriteOnly", "ReadOnly")
	if got := evalUnit(t, "cloudtrail.s3_object_read_events", newTestEnv(cov, trailRes(ro, nil)), "global"); got.Status != finding.Pass {
		t.Errorf("read events: %s", got.Status)
	}
	if got := evalUnit(t, "cloudtrail.s3_object_write_events", newTestEnv(cov, trailRes(ro, nil)), "global"); got.Status != finding.Fail {
		t.Errorf("write events with a read-only trail: %s", got.Status)
	}
	// 120 days unused fails the 90-day check too.
	u := res(TypeUser, userARN, `{"UserName":"alice","Arn":"`+userARN+`","LoginProfile":{}}`, nil)
	e := newTestEnv(cov, credRes(rootRow(), userRow("password_last_used", "2026-07-01T00:00:00+00:00")))
	if got := evalOne(t, "iam.user_unused_credentials_90", e, u); got.Status != finding.Fail {
		t.Errorf("unused 150 days at 90: %s", got.Status)
	}
}

// quoteTerms turns spec terms into filter-pattern fragments; terms that are selectors stay as is.
func quoteTerms(terms []string) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		if strings.HasPrefix(t, "$.") {
			out[i] = "(" + t + " = \"x\")"
		} else {
			out[i] = "($.eventName = \"" + t + "\")"
		}
	}
	return out
}
