package check

import (
	"encoding/json"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const userARN = "arn:aws:iam::111122223333:user/alice"

func credRes(rows ...map[string]string) *inventory.Resource {
	b, _ := json.Marshal(map[string]any{"Rows": rows})
	return res(TypeCredentialReport, "arn:aws:iam::111122223333:credential-report", string(b), nil)
}

func rootRow(kv ...string) map[string]string {
	m := map[string]string{"user": "<root_account>", "arn": "arn:aws:iam::111122223333:root", "mfa_active": "true",
		"access_key_1_active": "false", "access_key_2_active": "false"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func userRow(kv ...string) map[string]string {
	m := map[string]string{"user": "alice", "arn": userARN, "password_enabled": "true", "password_last_used": "2026-11-20T10:00:00+00:00",
		"password_last_changed": "2025-01-01T00:00:00+00:00", "access_key_1_active": "false", "access_key_2_active": "false"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestIAMRoot(t *testing.T) {
	cov := okCoverage()
	unit := func(id string, c []store.Coverage, rs ...*inventory.Resource) func(t *testing.T) Result {
		return func(t *testing.T) Result { return evalUnit(t, id, newTestEnv(c, rs...), "global") }
	}
	virt := res(TypeVirtualMFADevice, "arn:aws:iam::111122223333:mfa/root-account-mfa-device", `{"SerialNumber":"arn:aws:iam::111122223333:mfa/root-account-mfa-device"}`, nil)
	runCases(t, []tcase{
		{"root key active", finding.Fail, "", unit("iam.root_no_access_keys", cov, credRes(rootRow("access_key_2_active", "true")))},
		{"root no key", finding.Pass, "", unit("iam.root_no_access_keys", cov, credRes(rootRow()))},
		{"root report denied", finding.Error, "denied", unit("iam.root_no_access_keys", withCoverage(cov, TypeCredentialReport, store.CoverageDenied, "AccessDenied"))},
		{"root mfa", finding.Pass, "", unit("iam.root_mfa", cov, credRes(rootRow()))},
		{"root no mfa", finding.Fail, "", unit("iam.root_mfa", cov, credRes(rootRow("mfa_active", "false")))},
		{"root hw mfa", finding.Pass, "", unit("iam.root_hardware_mfa", cov, credRes(rootRow()))},
		{"root virtual mfa", finding.Fail, "virtual", unit("iam.root_hardware_mfa", cov, credRes(rootRow()), virt)},
		{"root mfa devices denied", finding.Error, "", unit("iam.root_hardware_mfa", withCoverage(cov, TypeVirtualMFADevice, store.CoverageDenied, "x"), credRes(rootRow()))},
	})
}

func TestPasswordPolicy(t *testing.T) {
	cov := okCoverage()
	pp := func(id, cfg string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			var rs []*inventory.Resource
			if cfg != "" {
				rs = append(rs, res(TypePasswordPolicy, "arn:aws:iam::111122223333:password-policy", cfg, nil))
			}
			c := cov
			if cfg == "" {
				c = withCoverage(cov, TypePasswordPolicy, store.CoverageThrottled, "Throttling: rate exceeded")
			}
			return evalUnit(t, id, newTestEnv(c, rs...), "global")
		}
	}
	strong := `{"PasswordPolicy":{"MinimumPasswordLength":14,"RequireUppercaseCharacters":true,"RequireLowercaseCharacters":true,"RequireSymbols":true,"RequireNumbers":true,"PasswordReusePrevention":24,"ExpirePasswords":true,"MaxPasswordAge":90}}`
	weak := `{"PasswordPolicy":{"MinimumPasswordLength":8,"RequireUppercaseCharacters":false,"PasswordReusePrevention":5}}`
	runCases(t, []tcase{
		{"len 14", finding.Pass, "", pp("iam.password_policy_min_length_14", strong)},
		{"len 8", finding.Fail, "", pp("iam.password_policy_min_length_14", weak)},
		{"no policy", finding.Fail, "no custom password policy", pp("iam.password_policy_min_length_14", `{"PasswordPolicy":null}`)},
		{"throttled", finding.Error, "throttled", pp("iam.password_policy_min_length_14", "")},
		{"reuse 24", finding.Pass, "", pp("iam.password_policy_reuse_24", strong)},
		{"reuse 5", finding.Fail, "", pp("iam.password_policy_reuse_24", weak)},
		{"strong", finding.Pass, "", pp("iam.password_policy_strong", strong)},
		{"uppercase missing", finding.Fail, "", pp("iam.password_policy_uppercase", weak)},
		{"max age", finding.Pass, "", pp("iam.password_policy_max_age_90", strong)},
		{"no expiry", finding.Fail, "", pp("iam.password_policy_max_age_90", weak)},
	})
}

func TestIAMUsers(t *testing.T) {
	cov := okCoverage()
	user := func(id, cfg string, errs map[string]string, rows ...map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			e := newTestEnv(cov, credRes(append([]map[string]string{rootRow()}, rows...)...))
			return evalOne(t, id, e, res(TypeUser, userARN, cfg, errs))
		}
	}
	console := `{"UserName":"alice","Arn":"` + userARN + `","LoginProfile":{"CreateDate":"2025-01-01T00:00:00Z"},"MFADevices":[],"AccessKeys":[]}`
	withMFA := `{"UserName":"alice","Arn":"` + userARN + `","LoginProfile":{"CreateDate":"2025-01-01T00:00:00Z"},"MFADevices":[{"SerialNumber":"arn:aws:iam::1:mfa/alice"}],"AccessKeys":[]}`
	keys := func(k ...string) string {
		s := `{"UserName":"alice","Arn":"` + userARN + `","AccessKeys":[`
		for i, x := range k {
			if i > 0 {
				s += ","
			}
			s += x
		}
		return s + `]}`
	}
	runCases(t, []tcase{
		{"console no mfa", finding.Fail, "no MFA", user("iam.user_console_mfa", console, nil)},
		{"console with mfa", finding.Pass, "", user("iam.user_console_mfa", withMFA, nil)},
		{"api-only user", finding.Pass, "no console", user("iam.user_console_mfa", keys(), nil)},
		{"login profile denied", finding.Error, "LoginProfile", user("iam.user_console_mfa", console, map[string]string{"LoginProfile": "access denied"})},
		{"old key", finding.Fail, "older than 90", user("iam.user_access_keys_rotated", keys(`{"AccessKeyId":"AKIA1","Status":"Active","CreateDate":"2026-01-01T00:00:00Z"}`), nil)},
		{"old inactive key", finding.Pass, "", user("iam.user_access_keys_rotated", keys(`{"AccessKeyId":"AKIA1","Status":"Inactive","CreateDate":"2026-01-01T00:00:00Z"}`), nil)},
		{"fresh key", finding.Pass, "", user("iam.user_access_keys_rotated", keys(`{"AccessKeyId":"AKIA1","Status":"Active","CreateDate":"2026-11-01T00:00:00Z"}`), nil)},
		{"keys denied", finding.Error, "", user("iam.user_access_keys_rotated", `{"UserName":"alice","AccessKeys":null}`, map[string]string{"AccessKeys": "access denied"})},
		{"two active keys", finding.Fail, "", user("iam.user_one_active_key", keys(`{"Status":"Active"}`, `{"Status":"Active"}`), nil)},
		{"one active key", finding.Pass, "", user("iam.user_one_active_key", keys(`{"Status":"Active"}`, `{"Status":"Inactive"}`), nil)},
		{"password used recently", finding.Pass, "", user("iam.user_unused_credentials_45", console, nil, userRow())},
		{"password unused 60 days", finding.Fail, "password unused", user("iam.user_unused_credentials_45", console, nil, userRow("password_last_used", "2026-09-01T00:00:00+00:00"))},
		{"60 days ok at 90", finding.Pass, "", user("iam.user_unused_credentials_90", console, nil, userRow("password_last_used", "2026-09-01T00:00:00+00:00"))},
		{"key never used, old", finding.Fail, "access key 1", user("iam.user_unused_credentials_45", console, nil, userRow("access_key_1_active", "true", "access_key_1_last_used_date", "N/A", "access_key_1_last_rotated", "2026-01-01T00:00:00+00:00"))},
		{"user not in report", finding.Error, "missing", user("iam.user_unused_credentials_45", console, nil)},
		{"key at setup never used", finding.Fail, "", user("iam.user_no_keys_at_setup", console, nil, userRow("access_key_1_active", "true", "access_key_1_last_used_date", "N/A"))},
		{"key at setup used", finding.Pass, "", user("iam.user_no_keys_at_setup", console, nil, userRow("access_key_1_active", "true", "access_key_1_last_used_date", "2026-11-01T00:00:00+00:00"))},
		{"direct policy", finding.Fail, "", user("iam.user_no_direct_policies", `{"UserName":"alice","AttachedManagedPolicies":[{"PolicyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}]}`, nil)},
		{"groups only", finding.Pass, "", user("iam.user_no_direct_policies", `{"UserName":"alice","GroupList":["devs"]}`, nil)},
	})
}

func TestIAMPolicies(t *testing.T) {
	cov := okCoverage()
	pol := func(id, arn, document string, attached int, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			b, _ := json.Marshal(map[string]any{"Arn": arn, "PolicyName": "p", "AttachmentCount": attached, "DefaultVersionDocument": json.RawMessage(document)})
			return evalOne(t, id, newTestEnv(cov), res(TypeManagedPolicy, arn, string(b), errs))
		}
	}
	const own = "arn:aws:iam::111122223333:policy/p"
	runCases(t, []tcase{
		{"star star", finding.Fail, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":"*:*","Resource":"*"}`), 1, nil)},
		{"star", finding.Fail, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":["*"],"Resource":["*"]}`), 0, nil)},
		{"wildcard pattern *:*action", finding.Fail, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":"*:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`), 1, nil)},
		{"NotAction allow", finding.Fail, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`), 1, nil)},
		{"service wildcard not admin", finding.Pass, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), 1, nil)},
		{"star on one resource", finding.Pass, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}`), 1, nil)},
		{"deny star", finding.Pass, "", pol("iam.policy_no_full_admin", own, stmt(`{"Effect":"Deny","Action":"*","Resource":"*"}`), 1, nil)},
		{"aws managed skipped", "", "", pol("iam.policy_no_full_admin", "arn:aws:iam::aws:policy/AdministratorAccess", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), 1, nil)},
		{"aws managed attached fails cis", finding.Fail, "attached", pol("iam.attached_policy_no_full_admin", "arn:aws:iam::aws:policy/AdministratorAccess", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), 2, nil)},
		{"unattached skipped for cis", "", "", pol("iam.attached_policy_no_full_admin", own, stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), 0, nil)},
		{"malformed version", finding.Error, "", pol("iam.policy_no_full_admin", own, `"%7B"`, 1, map[string]string{"PolicyVersionList[v1]": "malformed policy document"})},
		{"service wildcard", finding.Fail, "s3:*", pol("iam.policy_no_service_wildcard", own, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), 1, nil)},
		{"specific actions", finding.Pass, "", pol("iam.policy_no_service_wildcard", own, stmt(`{"Effect":"Allow","Action":["s3:GetObject","s3:List*"],"Resource":"*"}`), 1, nil)},
		{"inline admin on role", finding.Fail, "", func(t *testing.T) Result {
			return evalOne(t, "iam.inline_policy_no_full_admin_role", newTestEnv(cov), res(TypeRole, "arn:aws:iam::111122223333:role/r",
				`{"RolePolicyList":[{"PolicyName":"all","PolicyDocument":`+stmt(`{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}`)+`}]}`, nil))
		}},
		{"inline fine", finding.Pass, "", func(t *testing.T) Result {
			return evalOne(t, "iam.inline_policy_no_full_admin_user", newTestEnv(cov), res(TypeUser, userARN,
				`{"UserPolicyList":[{"PolicyName":"ro","PolicyDocument":`+stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)+`}]}`, nil))
		}},
		{"support role exists", finding.Pass, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.support_role", newTestEnv(cov, res(TypeRole, "arn:aws:iam::111122223333:role/support",
				`{"AttachedManagedPolicies":[{"PolicyArn":"arn:aws:iam::aws:policy/AWSSupportAccess"}]}`, nil)), "global")
		}},
		{"no support role", finding.Fail, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.support_role", newTestEnv(cov), "global")
		}},
		{"roles denied", finding.Error, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.support_role", newTestEnv(withCoverage(cov, TypeRole, store.CoverageDenied, "AccessDenied")), "global")
		}},
		{"cloudshell attached", finding.Fail, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.cloudshell_full_access_restricted", newTestEnv(cov, res(TypeManagedPolicy, "arn:aws:iam::aws:policy/AWSCloudShellFullAccess", `{"AttachmentCount":1}`, nil)), "global")
		}},
		{"cloudshell not attached", finding.Pass, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.cloudshell_full_access_restricted", newTestEnv(cov), "global")
		}},
		{"cert expired", finding.Fail, "", func(t *testing.T) Result {
			return evalOne(t, "iam.no_expired_server_certificates", newTestEnv(cov), res(TypeServerCertificate, "arn:aws:iam::111122223333:server-certificate/c", `{"Expiration":"2025-01-01T00:00:00Z"}`, nil))
		}},
		{"cert valid", finding.Pass, "", func(t *testing.T) Result {
			return evalOne(t, "iam.no_expired_server_certificates", newTestEnv(cov), res(TypeServerCertificate, "arn:aws:iam::111122223333:server-certificate/c", `{"Expiration":"2027-01-01T00:00:00Z"}`, nil))
		}},
		{"cert unknown", finding.Error, "", func(t *testing.T) Result {
			return evalOne(t, "iam.no_expired_server_certificates", newTestEnv(cov), res(TypeServerCertificate, "arn:aws:iam::111122223333:server-certificate/c", `{}`, nil))
		}},
		{"analyzer on", finding.Pass, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.access_analyzer_enabled", newTestEnv(cov, res(TypeAccessAnalyzerStatus, "arn:aws:access-analyzer:us-east-1:111122223333:analyzer-status", `{"Enabled":true}`, nil)), region)
		}},
		{"analyzer off", finding.Fail, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.access_analyzer_enabled", newTestEnv(cov, res(TypeAccessAnalyzerStatus, "arn:aws:access-analyzer:us-east-1:111122223333:analyzer-status", `{"Enabled":false,"AnalyzerArns":[]}`, nil)), region)
		}},
		{"analyzer denied", finding.Error, "", func(t *testing.T) Result {
			return evalUnit(t, "iam.access_analyzer_enabled", newTestEnv(withCoverage(cov, TypeAccessAnalyzerStatus, store.CoverageDenied, "AccessDenied")), region)
		}},
	})
}
