package check

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
)

func TestMoreFSBPChecks(t *testing.T) {
	cov := okCoverage()
	one := func(id, typ, cfg string, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov), res(typ, "arn:aws:svc:us-east-1:111122223333:thing/x", cfg, errs))
		}
	}
	// testNow is 2026-11-28 12:00 UTC.
	runCases(t, []tcase{
		{"stopped long ago", finding.Fail, "days ago", one("ec2.stopped_instance_removed", TypeInstance, `{"State":{"Name":"stopped"},"StateTransitionReason":"User initiated (2026-09-01 10:00:00 GMT)"}`, nil)},
		{"stopped recently", finding.Pass, "2026-11-20", one("ec2.stopped_instance_removed", TypeInstance, `{"State":{"Name":"stopped"},"StateTransitionReason":"User initiated (2026-11-20 10:00:00 GMT)"}`, nil)},
		{"running n/a", "", "", one("ec2.stopped_instance_removed", TypeInstance, `{"State":{"Name":"running"}}`, nil)},
		{"stopped time unknown", finding.Error, "unknown", one("ec2.stopped_instance_removed", TypeInstance, `{"State":{"Name":"stopped"},"StateTransitionReason":""}`, nil)},
		{"paravirtual", finding.Fail, "", one("ec2.instance_not_paravirtual", TypeInstance, `{"VirtualizationType":"paravirtual"}`, nil)},
		{"hvm", finding.Pass, "", one("ec2.instance_not_paravirtual", TypeInstance, `{"VirtualizationType":"hvm"}`, nil)},
		{"instance garbage", finding.Error, "", one("ec2.instance_not_paravirtual", TypeInstance, `[]`, nil)},
		{"tgw auto accept", finding.Fail, "enable", one("ec2.transit_gateway_no_auto_accept", TypeTransitGateway, `{"Options":{"AutoAcceptSharedAttachments":"enable"}}`, nil)},
		{"tgw manual accept", finding.Pass, "", one("ec2.transit_gateway_no_auto_accept", TypeTransitGateway, `{"Options":{"AutoAcceptSharedAttachments":"disable"}}`, nil)},
		{"tgw garbage", finding.Error, "", one("ec2.transit_gateway_no_auto_accept", TypeTransitGateway, `"x"`, nil)},
		{"lt public ip", finding.Fail, "public IP", one("ec2.launch_template_no_public_ip", TypeLaunchTemplate, `{"DefaultVersion":{"LaunchTemplateData":{"NetworkInterfaces":[{"DeviceIndex":0,"AssociatePublicIpAddress":true}]}}}`, nil)},
		{"lt private", finding.Pass, "", one("ec2.launch_template_no_public_ip", TypeLaunchTemplate, `{"DefaultVersion":{"LaunchTemplateData":{"NetworkInterfaces":[{"DeviceIndex":0,"AssociatePublicIpAddress":false}]}}}`, nil)},
		{"lt version denied", finding.Error, "DefaultVersion", one("ec2.launch_template_no_public_ip", TypeLaunchTemplate, `{"DefaultVersion":null}`, map[string]string{"DefaultVersion": "access denied"})},
		{"cluster admin default", finding.Fail, "admin", one("rds.cluster_custom_admin", TypeDBCluster, `{"MasterUsername":"admin"}`, nil)},
		{"cluster admin custom", finding.Pass, "", one("rds.cluster_custom_admin", TypeDBCluster, `{"MasterUsername":"dbowner"}`, nil)},
		{"cluster garbage", finding.Error, "", one("rds.cluster_custom_admin", TypeDBCluster, `1`, nil)},
		{"backtrack on", finding.Pass, "", one("rds.cluster_backtracking", TypeDBCluster, `{"Engine":"aurora-mysql","BacktrackWindow":86400}`, nil)},
		{"backtrack off", finding.Fail, "", one("rds.cluster_backtracking", TypeDBCluster, `{"Engine":"aurora-mysql","BacktrackWindow":0}`, nil)},
		{"backtrack postgres n/a", "", "", one("rds.cluster_backtracking", TypeDBCluster, `{"Engine":"aurora-postgresql"}`, nil)},
		{"backtrack garbage", finding.Error, "", one("rds.cluster_backtracking", TypeDBCluster, `"x"`, nil)},
		{"audit exported", finding.Pass, "", one("rds.cluster_audit_logs", TypeDBCluster, `{"Engine":"aurora-mysql","EnabledCloudwatchLogsExports":["audit","error"]}`, nil)},
		{"audit missing", finding.Fail, "error", one("rds.cluster_audit_logs", TypeDBCluster, `{"Engine":"aurora-mysql","EnabledCloudwatchLogsExports":["error"]}`, nil)},
		{"audit garbage", finding.Error, "", one("rds.cluster_audit_logs", TypeDBCluster, `[1]`, nil)},
		{"eks runtime addon", finding.Pass, "", one("guardduty.eks_runtime_monitoring", TypeGuardDutyDetector, `{"Status":"ENABLED","Features":[{"Name":"RUNTIME_MONITORING","Status":"ENABLED","AdditionalConfiguration":[{"Name":"EKS_ADDON_MANAGEMENT","Status":"ENABLED"}]}]}`, nil)},
		{"eks runtime no addon", finding.Fail, "EKS_ADDON_MANAGEMENT is off", one("guardduty.eks_runtime_monitoring", TypeGuardDutyDetector, `{"Status":"ENABLED","Features":[{"Name":"RUNTIME_MONITORING","Status":"ENABLED","AdditionalConfiguration":[{"Name":"EKS_ADDON_MANAGEMENT","Status":"DISABLED"}]}]}`, nil)},
		{"eks runtime off", finding.Fail, "", one("guardduty.eks_runtime_monitoring", TypeGuardDutyDetector, `{"Status":"ENABLED","Features":[]}`, nil)},
		{"detector denied", finding.Error, "", one("guardduty.eks_runtime_monitoring", TypeGuardDutyDetector, `{}`, map[string]string{"Detector": "access denied"})},
	})
}
