package check

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FSBP controls read from attributes the EC2, RDS and GuardDuty collectors already record.

var ec2Doc = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"

// stoppedSince reads the time AWS put into an instance's StateTransitionReason when it stopped,
// e.g. "User initiated (2024-01-02 03:04:05 GMT)".
var stoppedSince = regexp.MustCompile(`\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT\)`)

// stoppedMaxAge is Security Hub's default allowedDays for EC2.4.
const stoppedMaxAge = 30 * 24 * time.Hour

func init() {
	Register(&Check{ID: "ec2.stopped_instance_removed", Title: "Stopped EC2 instances should be removed after a specified time period",
		Severity: finding.Medium, ResourceType: TypeInstance, Controls: []string{"fsbp:EC2.4"},
		Risk:        "A long-stopped instance keeps old software and credentials that start again unpatched when someone boots it.",
		Remediation: Remediation{CLI: "aws ec2 terminate-instances --instance-ids ID", Console: "EC2 > Instances > instance > Instance state > Terminate", Doc: ec2Doc},
		Eval: func(e *Env, r *Res) Result {
			i, err := decode[instanceConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if i.State == nil || i.State.Name != "stopped" {
				return NA()
			}
			m := stoppedSince.FindStringSubmatch(i.StateTransitionReason)
			if m == nil {
				return Errorf("stop time unknown (StateTransitionReason %q)", i.StateTransitionReason)
			}
			at, err := time.Parse(time.DateTime, m[1])
			if err != nil {
				return Errorf("stop time: %v", err)
			}
			if days := int(e.Now.Sub(at).Hours() / 24); e.Now.Sub(at) > stoppedMaxAge {
				return Fail("stopped "+strconv.Itoa(days)+" days ago (more than 30)", map[string]string{"StateTransitionReason": i.StateTransitionReason})
			}
			return Pass("stopped since "+at.Format(time.DateOnly), nil)
		}})

	Register(&Check{ID: "ec2.instance_not_paravirtual", Title: "Amazon EC2 paravirtual instance types should not be used",
		Severity: finding.Medium, ResourceType: TypeInstance, Controls: []string{"fsbp:EC2.24"},
		Risk:        "Paravirtual instances miss the hardware virtualization extensions and current security updates of HVM.",
		Remediation: Remediation{Console: "Relaunch the workload from an HVM AMI on a current instance type", Doc: ec2Doc},
		Eval: func(e *Env, r *Res) Result {
			i, err := decode[instanceConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			switch i.VirtualizationType {
			case "":
				return NA()
			case "paravirtual":
				return Fail("virtualization type paravirtual", nil)
			}
			return Pass("virtualization type "+i.VirtualizationType, nil)
		}})

	fieldCheck("ec2.transit_gateway_no_auto_accept", "Amazon EC2 Transit Gateways should not automatically accept VPC attachment requests", TypeTransitGateway, []string{"fsbp:EC2.23"}, finding.High, nil,
		"Any account the gateway is shared with can attach a VPC and route into the network without review.",
		Remediation{CLI: "aws ec2 modify-transit-gateway --transit-gateway-id TGW --options AutoAcceptSharedAttachments=disable", Console: "VPC > Transit gateways > gateway > Modify > clear Auto accept shared attachments", Doc: ec2Doc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var o *struct{ AutoAcceptSharedAttachments string }
			_ = json.Unmarshal(m["Options"], &o)
			if o != nil && o.AutoAcceptSharedAttachments == "enable" {
				return false, false, "AutoAcceptSharedAttachments enable"
			}
			return true, false, "shared attachments need acceptance"
		})

	fieldCheck("ec2.launch_template_no_public_ip", "Amazon EC2 launch templates should not assign public IPs to network interfaces", TypeLaunchTemplate, []string{"fsbp:EC2.25"}, finding.High, []string{"DefaultVersion"},
		"Every instance launched from the template is reachable from the internet.",
		Remediation{CLI: "aws ec2 create-launch-template-version --launch-template-id LT --source-version N --launch-template-data '{\"NetworkInterfaces\":[{\"DeviceIndex\":0,\"AssociatePublicIpAddress\":false}]}' && aws ec2 modify-launch-template --launch-template-id LT --default-version NEW", Console: "EC2 > Launch templates > template > Modify template (create new version)", Doc: ec2Doc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var v *struct {
				LaunchTemplateData *struct {
					NetworkInterfaces []struct {
						DeviceIndex              *int
						AssociatePublicIpAddress *bool
					}
				}
			}
			_ = json.Unmarshal(m["DefaultVersion"], &v)
			if v == nil || v.LaunchTemplateData == nil {
				return false, false, "default version not collected"
			}
			for _, ni := range v.LaunchTemplateData.NetworkInterfaces {
				if boolp(ni.AssociatePublicIpAddress) {
					return false, false, "the default version assigns a public IP to a network interface"
				}
			}
			return true, false, "no public IP assignment in the default version"
		})

	clu := TypeDBCluster
	fieldCheck("rds.cluster_custom_admin", "RDS Database clusters should use a custom administrator username", clu, []string{"fsbp:RDS.24"}, finding.Medium, nil,
		"Default admin names halve the work of password guessing.", rdsRem("Create a new cluster with a custom master username and migrate"),
		customAdmin)
	fieldCheck("rds.cluster_backtracking", "Amazon Aurora clusters should have backtracking enabled", clu, []string{"fsbp:RDS.14"}, finding.Medium, nil,
		"A bad write or drop can only be undone by a full restore.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --backtrack-window 86400"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			// Backtracking exists only for Aurora MySQL.
			if jstr(m, "Engine") != "aurora-mysql" {
				return false, true, ""
			}
			var w int64
			_ = json.Unmarshal(m["BacktrackWindow"], &w)
			if w > 0 {
				return true, false, "backtrack window " + strconv.FormatInt(w, 10) + " s"
			}
			return false, false, "backtracking disabled"
		})
	fieldCheck("rds.cluster_audit_logs", "Aurora MySQL DB clusters should publish audit logs to CloudWatch Logs", clu, []string{"fsbp:RDS.34"}, finding.Medium, nil,
		"Database logins and queries leave no audit trail outside the cluster.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --cloudwatch-logs-export-configuration EnableLogTypes=audit"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if jstr(m, "Engine") != "aurora-mysql" {
				return false, true, ""
			}
			var exports []string
			_ = json.Unmarshal(m["EnabledCloudwatchLogsExports"], &exports)
			if contains(exports, "audit") {
				return true, false, "audit log exported"
			}
			return false, false, "audit log not exported (exports: " + strings.Join(exports, ", ") + ")"
		})
}
