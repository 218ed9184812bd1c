package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// trailConfig is what the checks read of an AWS::CloudTrail::Trail (docs/resource-types/cloudtrail.md).
type trailConfig struct {
	Name, TrailARN, HomeRegion, S3BucketName     string
	IsMultiRegionTrail, LogFileValidationEnabled bool
	IsOrganizationTrail                          bool
	KmsKeyId, CloudWatchLogsLogGroupArn          *string
	Status                                       *struct{ IsLogging bool }
	EventSelectors                               []struct {
		ReadWriteType           string
		IncludeManagementEvents *bool
		DataResources           []struct {
			Type   string
			Values []string
		}
	}
	AdvancedEventSelectors []struct {
		Name           string
		FieldSelectors []struct {
			Field                     string
			Equals, NotEquals         []string
			StartsWith, NotStartsWith []string
		}
	}
}

// mgmtReadWrite reports whether the trail records management events, both read and write.
func (t *trailConfig) mgmtReadWrite() bool {
	for _, s := range t.EventSelectors {
		if (s.IncludeManagementEvents == nil || *s.IncludeManagementEvents) && (s.ReadWriteType == "" || s.ReadWriteType == "All") {
			return true
		}
	}
	for _, a := range t.AdvancedEventSelectors {
		mgmt, readOnlyFilter := false, false
		for _, f := range a.FieldSelectors {
			switch f.Field {
			case "eventCategory":
				for _, v := range f.Equals {
					if v == "Management" {
						mgmt = true
					}
				}
			case "readOnly":
				readOnlyFilter = true
			}
		}
		if mgmt && !readOnlyFilter {
			return true
		}
	}
	return false
}

// s3DataEvents reports whether the trail logs S3 object-level events of every bucket for the
// given direction ("WriteOnly" or "ReadOnly").
func (t *trailConfig) s3DataEvents(dir string) bool {
	for _, s := range t.EventSelectors {
		if s.ReadWriteType != "All" && s.ReadWriteType != dir {
			continue
		}
		for _, d := range s.DataResources {
			if d.Type != "AWS::S3::Object" {
				continue
			}
			for _, v := range d.Values {
				if v == "arn:aws:s3" || v == "arn:aws:s3:::" || v == "arn:aws-us-gov:s3" || v == "arn:aws-cn:s3" {
					return true
				}
			}
		}
	}
	wantRO := "true"
	if dir == "WriteOnly" {
		wantRO = "false"
	}
	for _, a := range t.AdvancedEventSelectors {
		data, ok, narrowed := false, true, false
		for _, f := range a.FieldSelectors {
			switch f.Field {
			case "eventCategory":
				data = contains(f.Equals, "Data")
			case "resources.type":
				ok = ok && contains(f.Equals, "AWS::S3::Object")
			case "readOnly":
				ok = ok && contains(f.Equals, wantRO)
			case "resources.ARN":
				narrowed = len(f.Equals) > 0 || len(f.StartsWith) > 0
			}
		}
		if data && ok && !narrowed {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func trail(r *Res) (*trailConfig, error) { return decode[trailConfig](r) }

// qualifyingTrails lists the account's trails that are multi-region, logging and record
// management read and write events; problems lists trails that could not be judged.
//
// An organization trail is written only by the scan of the management account that owns it,
// yet it logs every member account: the organization trails of other scanned accounts count.
func qualifyingTrails(e *Env, account string) (good []*Res, problems []string) {
	candidates := append([]*Res(nil), e.List(TypeTrail, account, "")...)
	for _, a := range e.Accounts() {
		if a == account {
			continue
		}
		for _, r := range e.List(TypeTrail, a, "") {
			if t, err := trail(r); err == nil && t.IsOrganizationTrail {
				candidates = append(candidates, r)
			}
		}
	}
	for _, r := range candidates {
		if attr, reason := r.ErrorOf("Status", "EventSelectors", "Trail"); attr != "" {
			problems = append(problems, fmt.Sprintf("%s: %s unreadable: %s", r.Name, attr, reason))
			continue
		}
		t, err := trail(r)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if t.IsMultiRegionTrail && t.Status != nil && t.Status.IsLogging && t.mgmtReadWrite() {
			good = append(good, r)
		}
	}
	return good, problems
}

// accountTrailsProblem explains why "no trail found" cannot be trusted: regions whose trails
// could not be listed (a trail's home may be there) or trails that could not be judged.
func accountTrailsProblem(e *Env, account string, problems []string) string {
	failed := e.FailedRegions(TypeTrail, account)
	for reg, why := range failed {
		problems = append(problems, "trails of "+reg+" not listed: "+why)
	}
	sort.Strings(problems)
	return strings.Join(problems, "; ")
}

func init() {
	ctDoc := "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-a-trail.html"
	Register(&Check{ID: "cloudtrail.multi_region_trail", Title: "CloudTrail should be enabled with at least one multi-region trail that includes read and write management events",
		Severity: finding.High, ResourceType: TypeTrail, Scope: PerAccount, Inputs: []string{TypeTrail},
		Controls: []string{"fsbp:CloudTrail.1", "cis-aws-3.0:3.1"}, Risk: "API activity in some regions or of some kinds is not recorded.",
		Remediation: Remediation{CLI: "aws cloudtrail create-trail --name org-trail --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --name org-trail", Console: "CloudTrail > Trails > Create trail (multi-region, management events Read and Write)", Doc: ctDoc},
		EvalScope: func(e *Env, u Unit) Result {
			good, problems := qualifyingTrails(e, u.Account)
			if len(good) > 0 {
				return Pass("multi-region trail "+good[0].Name+" is logging read and write management events", map[string]string{"trail": good[0].ARN})
			}
			if p := accountTrailsProblem(e, u.Account, problems); p != "" {
				return Errorf("no qualifying trail among those read, and some could not be read: %s", p)
			}
			return Fail("no multi-region trail that is logging read and write management events", nil)
		}})
	trailCheck := func(id, title string, ctl []string, sev finding.Severity, needs []string, inputs []string, risk string, rem Remediation, f func(e *Env, r *Res, t *trailConfig) Result) {
		Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: TypeTrail, Controls: ctl, Needs: needs, Inputs: inputs, Risk: risk, Remediation: rem,
			Eval: func(e *Env, r *Res) Result {
				t, err := trail(r)
				if err != nil {
					return Errorf("%v", err)
				}
				return f(e, r, t)
			}})
	}
	trailCheck("cloudtrail.kms_encryption", "CloudTrail should have encryption at rest enabled (SSE-KMS)", []string{"fsbp:CloudTrail.2", "cis-aws-3.0:3.5"}, finding.Medium, nil, nil,
		"Log files are readable by anyone who can read the bucket.",
		Remediation{CLI: "aws cloudtrail update-trail --name TRAIL --kms-key-id KEY_ARN", Console: "CloudTrail > trail > General details > Edit > Log file SSE-KMS encryption", Doc: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html"},
		func(e *Env, r *Res, t *trailConfig) Result {
			if t.KmsKeyId != nil && *t.KmsKeyId != "" {
				return Pass("encrypted with "+*t.KmsKeyId, nil)
			}
			return Fail("trail logs are not encrypted with a KMS key", nil)
		})
	trailCheck("cloudtrail.log_file_validation", "CloudTrail log file validation should be enabled", []string{"fsbp:CloudTrail.4", "cis-aws-3.0:3.2"}, finding.Low, nil, nil,
		"Altered or deleted log files cannot be detected.",
		Remediation{CLI: "aws cloudtrail update-trail --name TRAIL --enable-log-file-validation", Console: "CloudTrail > trail > Edit > Log file validation: Enabled", Doc: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-enabling.html"},
		func(e *Env, r *Res, t *trailConfig) Result {
			if t.LogFileValidationEnabled {
				return Pass("log file validation enabled", nil)
			}
			return Fail("log file validation disabled", nil)
		})
	trailCheck("cloudtrail.cloudwatch_logs", "CloudTrail trails should be integrated with Amazon CloudWatch Logs", []string{"fsbp:CloudTrail.5"}, finding.Low, nil, nil,
		"No real-time alerting on API activity is possible.",
		Remediation{CLI: "aws cloudtrail update-trail --name TRAIL --cloud-watch-logs-log-group-arn ARN --cloud-watch-logs-role-arn ROLE", Console: "CloudTrail > trail > CloudWatch Logs > Edit", Doc: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html"},
		func(e *Env, r *Res, t *trailConfig) Result {
			if t.CloudWatchLogsLogGroupArn != nil && *t.CloudWatchLogsLogGroupArn != "" {
				return Pass("delivers to "+*t.CloudWatchLogsLogGroupArn, nil)
			}
			return Fail("trail does not deliver to CloudWatch Logs", nil)
		})
	trailCheck("cloudtrail.bucket_access_logging", "S3 bucket access logging should be enabled on the CloudTrail S3 bucket", []string{"fsbp:CloudTrail.7", "cis-aws-3.0:3.4"}, finding.Low, nil, []string{TypeBucket},
		"Access to the log archive itself is not recorded.",
		Remediation{CLI: "aws s3api put-bucket-logging --bucket TRAIL_BUCKET --bucket-logging-status file://logging.json", Console: "S3 > trail bucket > Properties > Server access logging", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"},
		func(e *Env, r *Res, t *trailConfig) Result {
			b := e.Get("arn:aws:s3:::" + t.S3BucketName)
			if b == nil {
				if p := e.InputProblem(TypeBucket, r.AccountID, "global"); p != "" {
					return Errorf("trail bucket unknown: %s", p)
				}
				return Errorf("trail bucket %s is not in this scan's inventory (another account?)", t.S3BucketName)
			}
			if _, reason := b.ErrorOf("Logging"); reason != "" {
				return Errorf("logging of bucket %s unreadable: %s", t.S3BucketName, reason)
			}
			bc, err := decode[s3Bucket](b)
			if err != nil {
				return Errorf("%v", err)
			}
			if bc.Logging != nil && bc.Logging.TargetBucket != nil {
				return Pass("trail bucket logs to "+*bc.Logging.TargetBucket, nil)
			}
			return Fail("trail bucket "+t.S3BucketName+" has no server access logging", map[string]string{"bucket": b.ARN})
		})
	dataEvents := func(id, dir, title string, ctl []string) {
		Register(&Check{ID: id, Title: title, Severity: finding.Medium, ResourceType: TypeTrail, Scope: PerAccount, Inputs: []string{TypeTrail},
			Controls: ctl, Risk: "Object-level access to S3 data leaves no trace.",
			Remediation: Remediation{CLI: "aws cloudtrail put-event-selectors --trail-name TRAIL --event-selectors '[{\"ReadWriteType\":\"All\",\"DataResources\":[{\"Type\":\"AWS::S3::Object\",\"Values\":[\"arn:aws:s3\"]}]}]'", Console: "CloudTrail > trail > Data events > Edit > S3, all buckets", Doc: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html"},
			EvalScope: func(e *Env, u Unit) Result {
				var problems []string
				for _, r := range e.List(TypeTrail, u.Account, "") {
					if attr, reason := r.ErrorOf("Status", "EventSelectors"); attr != "" {
						problems = append(problems, r.Name+": "+reason)
						continue
					}
					t, err := trail(r)
					if err != nil {
						continue
					}
					if t.IsMultiRegionTrail && t.Status != nil && t.Status.IsLogging && t.s3DataEvents(dir) {
						return Pass("trail "+r.Name+" logs S3 object-level events of all buckets", map[string]string{"trail": r.ARN})
					}
				}
				if p := accountTrailsProblem(e, u.Account, problems); p != "" {
					return Errorf("no qualifying trail among those read: %s", p)
				}
				return Fail("no multi-region trail logs S3 object-level "+strings.TrimSuffix(strings.ToLower(dir), "only")+" events for all buckets", nil)
			}})
	}
	dataEvents("cloudtrail.s3_object_write_events", "WriteOnly", "Object-level logging for write events should be enabled for S3 buckets", []string{"fsbp:S3.22", "cis-aws-3.0:3.8"})
	dataEvents("cloudtrail.s3_object_read_events", "ReadOnly", "Object-level logging for read events should be enabled for S3 buckets", []string{"fsbp:S3.23", "cis-aws-3.0:3.9"})

	Register(&Check{ID: "config.recorder_all_resources", Subject: "arn:{partition}:config:{region}:{account}:recorder-status", Title: "AWS Config should be enabled and record all resources in every region",
		Severity: finding.Medium, ResourceType: TypeRecorderStatus, Scope: PerRegion, Inputs: []string{TypeRecorderStatus},
		Controls: []string{"fsbp:Config.1", "cis-aws-3.0:3.3"}, Risk: "Configuration changes in this region are not recorded.",
		Remediation: Remediation{CLI: "aws configservice put-configuration-recorder --configuration-recorder name=default,roleARN=ROLE --recording-group allSupported=true,includeGlobalResourceTypes=true && aws configservice start-configuration-recorder --configuration-recorder-name default", Console: "AWS Config > Settings > Record all resource types", Doc: "https://docs.aws.amazon.com/config/latest/developerguide/stop-start-recorder.html"},
		EvalScope: func(e *Env, u Unit) Result {
			r := e.One(TypeRecorderStatus, u.Account, u.Region)
			if r == nil {
				return Errorf("Config recorder status not in the inventory")
			}
			if attr, reason := r.ErrorOf("AllResourcesRecording", "AnyRecording"); attr != "" {
				return accountResult(Errorf("recorder status unreadable: %s", reason), r)
			}
			s, err := decode[struct {
				Recorders             []string
				AnyRecording          bool
				AllResourcesRecording bool
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			switch {
			case s.AllResourcesRecording:
				return accountResult(Pass("a recorder is recording all resource types", s), r)
			case s.AnyRecording:
				return accountResult(Fail("recording, but not all resource types", s), r)
			case len(s.Recorders) > 0:
				return accountResult(Fail("a recorder exists but is not recording", s), r)
			}
			return accountResult(Fail("AWS Config is not enabled in "+u.Region, s), r)
		}})

	Register(&Check{ID: "kms.key_rotation", Title: "Rotation should be enabled for customer-managed symmetric KMS keys",
		Severity: finding.Medium, ResourceType: TypeKMSKey, Controls: []string{"fsbp:KMS.4", "cis-aws-3.0:3.6"}, Needs: []string{"KeyMetadata"},
		Risk:        "A long-lived key material widens the impact of a compromise.",
		Remediation: Remediation{CLI: "aws kms enable-key-rotation --key-id KEY", Console: "KMS > Customer managed keys > key > Key rotation > Automatically rotate", Doc: "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"},
		Eval: func(e *Env, r *Res) Result {
			k, err := decode[kmsKey](r)
			if err != nil {
				return Errorf("%v", err)
			}
			m := k
			if m.KeyManager == "" {
				return Errorf("key metadata missing")
			}
			// Only enabled symmetric customer-managed keys with AWS-generated material can rotate.
			if m.KeyManager != "CUSTOMER" || m.KeyState != "Enabled" || (m.KeySpec != "" && m.KeySpec != "SYMMETRIC_DEFAULT") || (m.Origin != "" && m.Origin != "AWS_KMS") {
				return NA()
			}
			if _, reason := r.ErrorOf("KeyRotationEnabled"); reason != "" {
				return Errorf("could not read KeyRotationEnabled: %s", reason)
			}
			if k.KeyRotationEnabled == nil {
				return Errorf("rotation status missing")
			}
			if *k.KeyRotationEnabled {
				return Pass("automatic rotation enabled", nil)
			}
			return Fail("automatic rotation disabled", map[string]any{"KeySpec": m.KeySpec, "KeyManager": m.KeyManager})
		}})
	Register(&Check{ID: "kms.key_not_pending_deletion", Title: "AWS KMS keys should not be deleted unintentionally",
		Severity: finding.Critical, ResourceType: TypeKMSKey, Controls: []string{"fsbp:KMS.3"}, Needs: []string{"KeyMetadata"},
		Risk:        "Data encrypted with the key becomes unrecoverable once it is deleted.",
		Remediation: Remediation{CLI: "aws kms cancel-key-deletion --key-id KEY", Console: "KMS > key > Key actions > Cancel key deletion", Doc: "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html"},
		Eval: func(e *Env, r *Res) Result {
			k, err := decode[kmsKey](r)
			if err != nil || k.KeyManager == "" {
				return Errorf("key metadata missing")
			}
			if k.KeyManager != "CUSTOMER" {
				return NA()
			}
			if k.KeyState == "PendingDeletion" {
				return Fail("key is scheduled for deletion", nil)
			}
			return Pass("key is not scheduled for deletion", nil)
		}})
	Register(&Check{ID: "kms.key_policy_not_public", Title: "KMS key policies should not allow access to everyone",
		Severity: finding.Critical, ResourceType: TypeKMSKey, Controls: []string{"fsbp:KMS.5"}, Needs: []string{"Policy"},
		Risk:        "Anyone can use or manage the key.",
		Remediation: Remediation{CLI: "aws kms put-key-policy --key-id KEY --policy-name default --policy file://policy.json", Console: "KMS > key > Key policy > Edit", Doc: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"},
		Eval: func(e *Env, r *Res) Result {
			k, err := decode[kmsKey](r)
			if err != nil {
				return Errorf("%v", err)
			}
			d, err := parsePolicyValue(k.Policy)
			if err != nil {
				return Errorf("%v", err)
			}
			if d == nil {
				return Errorf("key policy missing")
			}
			if idx := d.PublicGrant(); len(idx) > 0 {
				return Fail(fmt.Sprintf("statement %d allows any principal without a restricting condition", idx[0]), map[string]any{"statements": idx})
			}
			return Pass("no statement admits everyone", nil)
		}})
}
