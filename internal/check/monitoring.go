package check

import (
	"fmt"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

type metricFilter struct {
	FilterName, LogGroupName, FilterPattern string
	MetricTransformations                   []struct{ MetricName, MetricNamespace string }
}

type metricAlarm struct {
	AlarmName, AlarmArn, MetricName, Namespace string
	AlarmActions                               []string
}

type snsTopic struct {
	TopicArn      string
	Subscriptions []struct{ SubscriptionArn, Protocol string }
}

// alarmSpec is one CIS section 4 control: the terms its metric filter pattern must contain.
type alarmSpec struct {
	id, cis, title string
	terms          []string
}

var alarmSpecs = []alarmSpec{
	{"unauthorized_api_calls", "4.1", "unauthorized API calls", []string{"$.errorCode", "UnauthorizedOperation", "AccessDenied"}},
	{"console_signin_without_mfa", "4.2", "management console sign-in without MFA", []string{"ConsoleLogin", "$.additionalEventData.MFAUsed"}},
	{"root_usage", "4.3", "usage of the root user", []string{"$.userIdentity.type", "Root", "$.userIdentity.invokedBy", "NOT EXISTS", "$.eventType", "AwsServiceEvent"}},
	{"iam_policy_changes", "4.4", "IAM policy changes", []string{"DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy"}},
	{"cloudtrail_changes", "4.5", "CloudTrail configuration changes", []string{"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"}},
	{"console_auth_failures", "4.6", "management console authentication failures", []string{"ConsoleLogin", "Failed authentication"}},
	{"cmk_disable_or_deletion", "4.7", "disabling or scheduled deletion of customer-managed keys", []string{"kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion"}},
	{"s3_bucket_policy_changes", "4.8", "S3 bucket policy changes", []string{"s3.amazonaws.com", "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication"}},
	{"config_changes", "4.9", "AWS Config configuration changes", []string{"config.amazonaws.com", "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"}},
	{"security_group_changes", "4.10", "security group changes", []string{"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup"}},
	{"nacl_changes", "4.11", "network ACL changes", []string{"CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"}},
	{"network_gateway_changes", "4.12", "network gateway changes", []string{"CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"}},
	{"route_table_changes", "4.13", "route table changes", []string{"CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"}},
	{"vpc_changes", "4.14", "VPC changes", []string{"CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"}},
	{"organizations_changes", "4.15", "AWS Organizations changes", []string{"organizations.amazonaws.com", "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit"}},
}

// hasTerm reports whether a filter pattern contains term as a whole word (so that CreatePolicy
// is not found inside CreatePolicyVersion), ignoring whitespace differences.
func hasTerm(pattern, term string) bool {
	p := strings.Join(strings.Fields(pattern), " ")
	t := strings.Join(strings.Fields(term), " ")
	word := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
	}
	for i := 0; ; {
		j := strings.Index(p[i:], t)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(t)
		if (j == 0 || !word(p[j-1]) || !word(t[0])) && (end == len(p) || !word(p[end]) || !word(t[len(t)-1])) {
			return true
		}
		i = j + 1
	}
}

// logGroupOf splits a log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]).
func logGroupOf(arn string) (account, region, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[5] != "log-group" {
		return "", "", "", false
	}
	return parts[4], parts[3], strings.TrimSuffix(parts[6], ":*"), true
}

// evalAlarm follows trail -> log group -> metric filter -> alarm -> SNS topic with a
// subscriber, as CIS section 4 asks.
func evalAlarm(spec alarmSpec) func(e *Env, u Unit) Result {
	return func(e *Env, u Unit) Result {
		good, problems := qualifyingTrails(e, u.Account)
		var progress []string
		for _, tr := range good {
			t, _ := trail(tr)
			if t.CloudWatchLogsLogGroupArn == nil {
				progress = append(progress, tr.Name+": no CloudWatch Logs group")
				continue
			}
			acct, reg, group, ok := logGroupOf(*t.CloudWatchLogsLogGroupArn)
			if !ok {
				problems = append(problems, "unparseable log group ARN "+*t.CloudWatchLogsLogGroupArn)
				continue
			}
			unreadable := false
			for _, typ := range []string{TypeMetricFilter, TypeAlarm, TypeTopic} {
				if p := e.InputProblem(typ, acct, reg); p != "" {
					problems = append(problems, p)
					unreadable = true
				}
			}
			if unreadable {
				continue
			}
			for _, fr := range e.List(TypeMetricFilter, acct, reg) {
				f, err := decode[metricFilter](fr)
				if err != nil || f.LogGroupName != group {
					continue
				}
				missing := ""
				for _, term := range spec.terms {
					if !hasTerm(f.FilterPattern, term) {
						missing = term
						break
					}
				}
				if missing != "" {
					progress = append(progress, fmt.Sprintf("filter %s lacks %q", f.FilterName, missing))
					continue
				}
				for _, mt := range f.MetricTransformations {
					for _, ar := range e.List(TypeAlarm, acct, reg) {
						a, err := decode[metricAlarm](ar)
						if err != nil || a.MetricName != mt.MetricName || a.Namespace != mt.MetricNamespace {
							continue
						}
						for _, action := range a.AlarmActions {
							top := e.Get(action)
							if top == nil {
								progress = append(progress, "alarm "+a.AlarmName+" notifies "+action+", which is not in the inventory")
								continue
							}
							if _, reason := top.ErrorOf("Subscriptions"); reason != "" {
								problems = append(problems, "subscriptions of "+action+" unreadable: "+reason)
								continue
							}
							s, err := decode[snsTopic](top)
							if err != nil {
								continue
							}
							for _, sub := range s.Subscriptions {
								if sub.SubscriptionArn != "" && sub.SubscriptionArn != "PendingConfirmation" {
									return Pass(fmt.Sprintf("filter %s -> alarm %s -> topic %s (%s subscriber)", f.FilterName, a.AlarmName, action, sub.Protocol),
										map[string]string{"trail": tr.ARN, "metric_filter": fr.ARN, "alarm": ar.ARN, "topic": action})
								}
							}
							progress = append(progress, "topic "+action+" has no confirmed subscription")
						}
						if len(a.AlarmActions) == 0 {
							progress = append(progress, "alarm "+a.AlarmName+" has no action")
						}
					}
				}
				progress = append(progress, "filter "+f.FilterName+" matches but no alarm notifies a subscribed topic")
			}
		}
		if len(good) == 0 {
			if p := accountTrailsProblem(e, u.Account, problems); p != "" {
				return Errorf("cannot tell: %s", p)
			}
			return Fail("no multi-region trail logging management events, so no metric filter can watch for "+spec.title, nil)
		}
		if len(problems) > 0 {
			return Errorf("no complete filter/alarm chain among the data read; unreadable: %s", strings.Join(problems, "; "))
		}
		detail := "no metric filter and alarm for " + spec.title
		if len(progress) > 0 {
			detail += " (" + strings.Join(progress, "; ") + ")"
		}
		return Fail(detail, map[string]any{"required_terms": spec.terms, "found": progress})
	}
}

func init() {
	for _, s := range alarmSpecs {
		Register(&Check{ID: "cloudwatch.alarm_" + s.id, Title: "A log metric filter and alarm should exist for " + s.title,
			Severity: finding.Low, ResourceType: TypeTrail, Scope: PerAccount,
			Inputs:   []string{TypeTrail, TypeMetricFilter, TypeAlarm, TypeTopic},
			Controls: []string{"cis-aws-3.0:" + s.cis},
			Risk:     "Nobody is alerted when " + s.title + " happen.",
			Remediation: Remediation{
				CLI:     "aws logs put-metric-filter --log-group-name TRAIL_GROUP --filter-name NAME --metric-transformations metricName=NAME,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern PATTERN && aws cloudwatch put-metric-alarm --alarm-name NAME --metric-name NAME --namespace CISBenchmark --statistic Sum --period 300 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --evaluation-periods 1 --alarm-actions SNS_TOPIC_ARN",
				Console: "CloudWatch > Log groups > trail group > Metric filters > Create; then create an alarm on the metric that notifies a subscribed SNS topic",
				Doc:     "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"},
			EvalScope: evalAlarm(s)})
	}
	Register(&Check{ID: "securityhub.enabled", Subject: "arn:{partition}:securityhub:{region}:{account}:hub/default", Title: "AWS Security Hub should be enabled",
		Severity: finding.Medium, ResourceType: TypeSecurityHub, Scope: PerRegion, Inputs: []string{TypeSecurityHub},
		Controls: []string{"cis-aws-3.0:4.16"}, Risk: "Security findings of this region are not aggregated or checked against standards.",
		Remediation: Remediation{CLI: "aws securityhub enable-security-hub --region REGION", Console: "Security Hub > Enable Security Hub", Doc: "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-enable.html"},
		EvalScope:   enabledStatus(TypeSecurityHub, "Enabled", "Security Hub enabled")})
	Register(&Check{ID: "guardduty.enabled", Subject: "arn:{partition}:guardduty:{region}:{account}:account-status", Title: "GuardDuty should be enabled",
		Severity: finding.High, ResourceType: TypeGuardDutyStatus, Scope: PerRegion, Inputs: []string{TypeGuardDutyStatus},
		Controls: []string{"fsbp:GuardDuty.1"}, Risk: "Threats in this region (credential misuse, crypto-mining, recon) go undetected.",
		Remediation: Remediation{CLI: "aws guardduty create-detector --enable --region REGION", Console: "GuardDuty > Get started > Enable GuardDuty", Doc: "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"},
		EvalScope:   enabledStatus(TypeGuardDutyStatus, "Enabled", "enabled GuardDuty detector")})
	// gdFeature checks that a detector feature is on and, when addon is set, that one of its
	// additional configurations is on too (EKS Runtime Monitoring is Runtime Monitoring with the
	// EKS agent managed by GuardDuty).
	gdFeature := func(id, ctl, feature, addon, title string) {
		cli := "aws guardduty update-detector --detector-id ID --features Name=" + feature + ",Status=ENABLED"
		if addon != "" {
			cli += ",AdditionalConfiguration=[{Name=" + addon + ",Status=ENABLED}]"
		}
		Register(&Check{ID: id, Title: title, Severity: finding.Medium, ResourceType: TypeGuardDutyDetector, Controls: []string{ctl}, Needs: []string{"Detector"},
			Risk:        "GuardDuty does not watch this data source.",
			Remediation: Remediation{CLI: cli, Console: "GuardDuty > Protection plans", Doc: "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty-features-activation-model.html"},
			Eval: func(e *Env, r *Res) Result {
				d, err := decode[struct {
					Status   string
					Features []struct {
						Name, Status            string
						AdditionalConfiguration []struct{ Name, Status string }
					}
				}](r)
				if err != nil {
					return Errorf("%v", err)
				}
				if d.Status != "ENABLED" {
					return NA()
				}
				for _, f := range d.Features {
					if f.Name != feature {
						continue
					}
					if f.Status != "ENABLED" {
						return Fail(feature+" is "+f.Status, nil)
					}
					if addon == "" {
						return Pass(feature+" enabled", nil)
					}
					for _, a := range f.AdditionalConfiguration {
						if a.Name == addon && a.Status == "ENABLED" {
							return Pass(feature+" with "+addon+" enabled", nil)
						}
					}
					return Fail(feature+" is on but "+addon+" is off", nil)
				}
				return Fail(feature+" not enabled", nil)
			}})
	}
	gdFeature("guardduty.s3_protection", "fsbp:GuardDuty.10", "S3_DATA_EVENTS", "", "GuardDuty S3 Protection should be enabled")
	gdFeature("guardduty.eks_audit_logs", "fsbp:GuardDuty.5", "EKS_AUDIT_LOGS", "", "GuardDuty EKS Audit Log Monitoring should be enabled")
	gdFeature("guardduty.rds_protection", "fsbp:GuardDuty.9", "RDS_LOGIN_EVENTS", "", "GuardDuty RDS Protection should be enabled")
	gdFeature("guardduty.lambda_protection", "fsbp:GuardDuty.6", "LAMBDA_NETWORK_LOGS", "", "GuardDuty Lambda Protection should be enabled")
	gdFeature("guardduty.runtime_monitoring", "fsbp:GuardDuty.11", "RUNTIME_MONITORING", "", "GuardDuty Runtime Monitoring should be enabled")
	gdFeature("guardduty.eks_runtime_monitoring", "fsbp:GuardDuty.7", "RUNTIME_MONITORING", "EKS_ADDON_MANAGEMENT", "GuardDuty EKS Runtime Monitoring should be enabled")
	gdFeature("guardduty.malware_protection", "fsbp:GuardDuty.8", "EBS_MALWARE_PROTECTION", "", "GuardDuty Malware Protection for EC2 should be enabled")

	insp := func(id, ctl, field, what string) {
		Register(&Check{ID: id, Title: "Amazon Inspector " + what + " scanning should be enabled", Subject: "arn:{partition}:inspector2:{region}:{account}:account-status",
			Severity: finding.High, ResourceType: TypeInspectorStatus, Scope: PerRegion, Inputs: []string{TypeInspectorStatus},
			Controls: []string{ctl}, Risk: "Vulnerabilities in " + what + " workloads are not found.",
			Remediation: Remediation{CLI: "aws inspector2 enable --resource-types " + strings.ToUpper(field) + " --account-ids ACCOUNT", Console: "Inspector > Account management > Activate", Doc: "https://docs.aws.amazon.com/inspector/latest/user/getting_started_tutorial.html"},
			EvalScope: func(e *Env, u Unit) Result {
				r := e.One(TypeInspectorStatus, u.Account, u.Region)
				if r == nil {
					return Errorf("Inspector status not in the inventory")
				}
				if _, reason := r.ErrorOf("Enabled"); reason != "" {
					return accountResult(Errorf("Inspector status unreadable: %s", reason), r)
				}
				var m map[string]any
				_ = jsonUnmarshal(r.Config, &m)
				if s, _ := m[field].(string); s == "ENABLED" {
					return accountResult(Pass(what+" scanning enabled", nil), r)
				}
				return accountResult(Fail(fmt.Sprintf("%s scanning is %v", what, m[field]), nil), r)
			}})
	}
	insp("inspector.ec2_scanning", "fsbp:Inspector.1", "Ec2", "EC2")
	insp("inspector.ecr_scanning", "fsbp:Inspector.2", "Ecr", "ECR")
	insp("inspector.lambda_scanning", "fsbp:Inspector.4", "Lambda", "Lambda")
	insp("inspector.lambda_code_scanning", "fsbp:Inspector.3", "LambdaCode", "Lambda code")
}
