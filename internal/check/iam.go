package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/finding"
)

// credentialReport is the parsed IAM credential report (rows keyed by the CSV header).
type credentialReport struct {
	Rows []map[string]string
}

// userRow finds a user's row by ARN; root is the "<root_account>" row.
func (c *credentialReport) row(arn string) map[string]string {
	for _, r := range c.Rows {
		if r["arn"] == arn {
			return r
		}
	}
	return nil
}

func (c *credentialReport) root() map[string]string {
	for _, r := range c.Rows {
		if r["user"] == "<root_account>" {
			return r
		}
	}
	return nil
}

// credReport returns an account's credential report, or why it cannot be used.
func credReport(e *Env, account string) (*credentialReport, *Res, string) {
	if p := e.InputProblem(TypeCredentialReport, account, "global"); p != "" {
		return nil, nil, p
	}
	r := e.One(TypeCredentialReport, account, "global")
	if r == nil {
		return nil, nil, "credential report not in the inventory"
	}
	if _, reason := r.ErrorOf("Rows"); reason != "" {
		return nil, nil, "credential report unreadable: " + reason
	}
	c, err := decode[credentialReport](r)
	if err != nil {
		return nil, nil, err.Error()
	}
	return c, r, ""
}

type passwordPolicy struct {
	PasswordPolicy *struct {
		MinimumPasswordLength                                  *int32
		RequireUppercaseCharacters, RequireLowercaseCharacters bool
		RequireSymbols, RequireNumbers, ExpirePasswords        bool
		PasswordReusePrevention, MaxPasswordAge                *int32
		AllowUsersToChangePassword, HardExpiry                 *bool
	}
}

type iamUser struct {
	UserName, Arn           string
	AttachedManagedPolicies []struct{ PolicyName, PolicyArn string }
	UserPolicyList          []struct {
		PolicyName     string
		PolicyDocument json.RawMessage
	}
	GroupList  []string
	MFADevices []struct{ SerialNumber string }
	AccessKeys []struct {
		AccessKeyId  string
		Status       string
		CreateDate   string
		LastUsedDate *string
	}
	LoginProfile *struct{ CreateDate string }
}

type managedPolicy struct {
	PolicyName, Arn        string
	AttachmentCount        *int32
	DefaultVersionDocument json.RawMessage
}

func isAWSManaged(arn string) bool {
	return strings.HasPrefix(arn, "arn:aws:iam::aws:") || strings.Contains(arn, ":iam::aws:policy/")
}

func iamRem(console, cli, d string) Remediation {
	return Remediation{Console: console, CLI: cli, Doc: d}
}

func accountResult(res Result, r *Res) Result {
	if r != nil {
		res.ARN, res.Type = r.ARN, r.Type
	}
	return res
}

func init() {
	rootCheck := func(id, title string, ctl []string, sev finding.Severity, inputs []string, risk string, rem Remediation, f func(e *Env, u Unit, row map[string]string) Result) {
		Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: "AWS::IAM::Root", Scope: PerAccount,
			Subject: "arn:{partition}:iam::{account}:root", Inputs: inputs, Controls: ctl, Risk: risk, Remediation: rem,
			EvalScope: func(e *Env, u Unit) Result {
				c, r, p := credReport(e, u.Account)
				if p != "" {
					return Errorf("%s", p)
				}
				row := c.root()
				if row == nil {
					return accountResult(Errorf("credential report has no root row"), r)
				}
				return accountResult(f(e, u, row), r)
			}})
	}
	rootCheck("iam.root_no_access_keys", "IAM root user access key should not exist", []string{"fsbp:IAM.4", "cis-aws-3.0:1.4"}, finding.Critical,
		[]string{TypeCredentialReport}, "A leaked root key gives unrestricted, unrevocable-by-policy control of the account.",
		iamRem("Sign in as root > Security credentials > Access keys > Delete", "", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html"),
		func(e *Env, u Unit, row map[string]string) Result {
			if row["access_key_1_active"] == "true" || row["access_key_2_active"] == "true" {
				return Fail("root user has an active access key", map[string]string{"access_key_1_active": row["access_key_1_active"], "access_key_2_active": row["access_key_2_active"]})
			}
			return Pass("root user has no active access key", nil)
		})
	rootCheck("iam.root_mfa", "MFA should be enabled for the root user", []string{"fsbp:IAM.9", "cis-aws-3.0:1.5"}, finding.Critical,
		[]string{TypeCredentialReport}, "The root password alone protects unrestricted access.",
		iamRem("Sign in as root > Security credentials > Multi-factor authentication > Assign MFA device", "", "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html"),
		func(e *Env, u Unit, row map[string]string) Result {
			if row["mfa_active"] == "true" {
				return Pass("root MFA active", nil)
			}
			return Fail("root user has no MFA", map[string]string{"mfa_active": row["mfa_active"]})
		})
	rootCheck("iam.root_hardware_mfa", "Hardware MFA should be enabled for the root user", []string{"fsbp:IAM.6", "cis-aws-3.0:1.6"}, finding.Critical,
		[]string{TypeCredentialReport, TypeVirtualMFADevice}, "A virtual MFA on a phone is easier to lose or clone than a hardware key.",
		iamRem("Sign in as root > Security credentials > replace the virtual MFA with a hardware key", "", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_physical.html"),
		func(e *Env, u Unit, row map[string]string) Result {
			if row["mfa_active"] != "true" {
				return Fail("root user has no MFA", nil)
			}
			for _, v := range e.List(TypeVirtualMFADevice, u.Account, "") {
				d, err := decode[struct {
					SerialNumber string
					User         *struct{ Arn string }
				}](v)
				if err != nil {
					continue
				}
				if strings.HasSuffix(d.SerialNumber, "/root-account-mfa-device") || d.User != nil && strings.HasSuffix(d.User.Arn, ":root") {
					return Fail("root MFA is a virtual device", map[string]string{"SerialNumber": d.SerialNumber})
				}
			}
			return Pass("root MFA is not a virtual device", nil)
		})

	ppCheck := func(id, title string, ctl []string, sev finding.Severity, want string, ok func(p *passwordPolicy) bool) {
		Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: TypePasswordPolicy, Scope: PerAccount,
			Subject: "arn:{partition}:iam::{account}:password-policy",
			Inputs:  []string{TypePasswordPolicy}, Controls: ctl, Risk: "Weak passwords make console accounts easy to guess or reuse.",
			Remediation: iamRem("IAM > Account settings > Password policy > Edit", "aws iam update-account-password-policy --minimum-password-length 14 --require-symbols --require-numbers --require-uppercase-characters --require-lowercase-characters --password-reuse-prevention 24 --max-password-age 90", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"),
			EvalScope: func(e *Env, u Unit) Result {
				r := e.One(TypePasswordPolicy, u.Account, "global")
				if r == nil {
					return Errorf("password policy not in the inventory")
				}
				p, err := decode[passwordPolicy](r)
				if err != nil {
					return Errorf("%v", err)
				}
				if p.PasswordPolicy == nil {
					return accountResult(Fail("no custom password policy is set ("+want+" required)", nil), r)
				}
				if ok(p) {
					return accountResult(Pass("password policy: "+want, p.PasswordPolicy), r)
				}
				return accountResult(Fail("password policy does not require "+want, p.PasswordPolicy), r)
			}})
	}
	i32 := func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	}
	ppCheck("iam.password_policy_strong", "Password policies for IAM users should have strong configurations", []string{"fsbp:IAM.7"}, finding.Medium,
		"upper, lower, numbers, symbols and length >= 8", func(p *passwordPolicy) bool {
			x := p.PasswordPolicy
			return x.RequireUppercaseCharacters && x.RequireLowercaseCharacters && x.RequireNumbers && x.RequireSymbols && i32(x.MinimumPasswordLength) >= 8
		})
	ppCheck("iam.password_policy_uppercase", "Password policy should require at least one uppercase letter", []string{"fsbp:IAM.11"}, finding.Medium, "an uppercase letter",
		func(p *passwordPolicy) bool { return p.PasswordPolicy.RequireUppercaseCharacters })
	ppCheck("iam.password_policy_lowercase", "Password policy should require at least one lowercase letter", []string{"fsbp:IAM.12"}, finding.Medium, "a lowercase letter",
		func(p *passwordPolicy) bool { return p.PasswordPolicy.RequireLowercaseCharacters })
	ppCheck("iam.password_policy_symbol", "Password policy should require at least one symbol", []string{"fsbp:IAM.13"}, finding.Medium, "a symbol",
		func(p *passwordPolicy) bool { return p.PasswordPolicy.RequireSymbols })
	ppCheck("iam.password_policy_number", "Password policy should require at least one number", []string{"fsbp:IAM.14"}, finding.Medium, "a number",
		func(p *passwordPolicy) bool { return p.PasswordPolicy.RequireNumbers })
	ppCheck("iam.password_policy_min_length_14", "IAM password policy should require a minimum length of 14 or greater", []string{"fsbp:IAM.15", "cis-aws-3.0:1.8"}, finding.Medium, "length >= 14",
		func(p *passwordPolicy) bool { return i32(p.PasswordPolicy.MinimumPasswordLength) >= 14 })
	ppCheck("iam.password_policy_reuse_24", "IAM password policy should prevent password reuse (24 passwords)", []string{"fsbp:IAM.16", "cis-aws-3.0:1.9"}, finding.Low, "reuse prevention >= 24",
		func(p *passwordPolicy) bool { return i32(p.PasswordPolicy.PasswordReusePrevention) >= 24 })
	ppCheck("iam.password_policy_max_age_90", "Password policy should expire passwords within 90 days", []string{"fsbp:IAM.17"}, finding.Low, "expiry within 90 days",
		func(p *passwordPolicy) bool {
			return p.PasswordPolicy.ExpirePasswords && i32(p.PasswordPolicy.MaxPasswordAge) > 0 && i32(p.PasswordPolicy.MaxPasswordAge) <= 90
		})

	userCheck := func(c *Check, f func(e *Env, r *Res, u *iamUser) Result) {
		c.ResourceType = TypeUser
		c.Eval = func(e *Env, r *Res) Result {
			u, err := decode[iamUser](r)
			if err != nil {
				return Errorf("%v", err)
			}
			return f(e, r, u)
		}
		Register(c)
	}
	userCheck(&Check{ID: "iam.user_console_mfa", Title: "MFA should be enabled for all IAM users that have a console password",
		Severity: finding.High, Controls: []string{"fsbp:IAM.5", "cis-aws-3.0:1.10"}, Needs: []string{"LoginProfile", "MFADevices"},
		Risk:        "A phished or guessed password is enough to sign in.",
		Remediation: iamRem("IAM > Users > user > Security credentials > Assign MFA device", "aws iam enable-mfa-device --user-name USER --serial-number ARN --authentication-code1 C1 --authentication-code2 C2", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html")},
		func(e *Env, r *Res, u *iamUser) Result {
			if u.LoginProfile == nil {
				return Pass("no console password", nil)
			}
			if len(u.MFADevices) == 0 {
				return Fail("console user "+u.UserName+" has no MFA device", nil)
			}
			return Pass("console user has MFA", nil)
		})
	userCheck(&Check{ID: "iam.user_mfa", Title: "MFA should be enabled for all IAM users",
		Severity: finding.Medium, Controls: []string{"fsbp:IAM.19"}, Needs: []string{"MFADevices"},
		Risk:        "The user's credentials are single-factor.",
		Remediation: iamRem("IAM > Users > user > Security credentials > Assign MFA device", "", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html")},
		func(e *Env, r *Res, u *iamUser) Result {
			if len(u.MFADevices) == 0 {
				return Fail(u.UserName+" has no MFA device", nil)
			}
			return Pass("MFA device assigned", nil)
		})
	userCheck(&Check{ID: "iam.user_no_direct_policies", Title: "IAM users should not have IAM policies attached (permissions through groups only)",
		Severity: finding.Low, Controls: []string{"fsbp:IAM.2", "cis-aws-3.0:1.15"},
		Risk:        "Per-user permissions drift and are hard to review.",
		Remediation: iamRem("Move the user's policies to a group and add the user to it", "aws iam detach-user-policy --user-name USER --policy-arn ARN", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups_manage_attach-policy.html")},
		func(e *Env, r *Res, u *iamUser) Result {
			if n := len(u.AttachedManagedPolicies) + len(u.UserPolicyList); n > 0 {
				var names []string
				for _, p := range u.AttachedManagedPolicies {
					names = append(names, p.PolicyArn)
				}
				for _, p := range u.UserPolicyList {
					names = append(names, "inline:"+p.PolicyName)
				}
				return Fail(fmt.Sprintf("%d policies attached directly", n), map[string]any{"policies": names})
			}
			return Pass("no policies attached directly", nil)
		})
	userCheck(&Check{ID: "iam.user_access_keys_rotated", Title: "IAM users' access keys should be rotated every 90 days or less",
		Severity: finding.Medium, Controls: []string{"fsbp:IAM.3", "cis-aws-3.0:1.14"}, Needs: []string{"AccessKeys"},
		Risk:        "Old keys have had more time to leak.",
		Remediation: iamRem("IAM > Users > user > Security credentials > Create access key, switch, then deactivate the old one", "aws iam create-access-key --user-name USER; aws iam update-access-key --access-key-id OLD --status Inactive --user-name USER", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#Using_RotateAccessKey")},
		func(e *Env, r *Res, u *iamUser) Result {
			var old []string
			for _, k := range u.AccessKeys {
				if k.Status != "Active" {
					continue
				}
				if t, ok := awsTime(k.CreateDate); ok && daysBetween(t, e.Now) > 90 {
					old = append(old, fmt.Sprintf("%s (%d days)", k.AccessKeyId, daysBetween(t, e.Now)))
				}
			}
			if len(old) > 0 {
				return Fail("active access keys older than 90 days: "+strings.Join(old, ", "), map[string]any{"keys": old})
			}
			return Pass("no active key older than 90 days", nil)
		})
	userCheck(&Check{ID: "iam.user_one_active_key", Title: "There should be only one active access key per IAM user",
		Severity: finding.Low, Controls: []string{"cis-aws-3.0:1.13"}, Needs: []string{"AccessKeys"},
		Risk:        "A second active key is often a forgotten one.",
		Remediation: iamRem("IAM > Users > user > Security credentials > deactivate the unused key", "aws iam update-access-key --access-key-id ID --status Inactive --user-name USER", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html")},
		func(e *Env, r *Res, u *iamUser) Result {
			n := 0
			for _, k := range u.AccessKeys {
				if k.Status == "Active" {
					n++
				}
			}
			if n > 1 {
				return Fail(fmt.Sprintf("%d active access keys", n), nil)
			}
			return Pass(fmt.Sprintf("%d active access keys", n), nil)
		})
	unused := func(id string, days int, ctl []string) {
		userCheck(&Check{ID: id, Title: fmt.Sprintf("IAM user credentials unused for %d days should be disabled", days),
			Severity: finding.Medium, Controls: ctl, Inputs: []string{TypeCredentialReport},
			Risk:        "Dormant passwords and keys are attack surface nobody watches.",
			Remediation: iamRem("IAM > Users > user > Security credentials: remove the console password, deactivate unused keys", "aws iam delete-login-profile --user-name USER; aws iam update-access-key --status Inactive ...", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html")},
			func(e *Env, r *Res, u *iamUser) Result {
				c, _, p := credReport(e, r.AccountID)
				if p != "" {
					return Errorf("%s", p)
				}
				row := c.row(u.Arn)
				if row == nil {
					return Errorf("user %s missing from the credential report (created after it?)", u.UserName)
				}
				var stale []string
				since := func(used, fallback string) (int, bool) {
					if t, ok := awsTime(used); ok {
						return daysBetween(t, e.Now), true
					}
					if t, ok := awsTime(fallback); ok {
						return daysBetween(t, e.Now), true
					}
					return 0, false
				}
				if row["password_enabled"] == "true" {
					if d, ok := since(row["password_last_used"], row["password_last_changed"]); ok && d > days {
						stale = append(stale, fmt.Sprintf("password unused for %d days", d))
					}
				}
				for _, n := range []string{"1", "2"} {
					if row["access_key_"+n+"_active"] != "true" {
						continue
					}
					if d, ok := since(row["access_key_"+n+"_last_used_date"], row["access_key_"+n+"_last_rotated"]); ok && d > days {
						stale = append(stale, fmt.Sprintf("access key %s unused for %d days", n, d))
					}
				}
				if len(stale) > 0 {
					return Fail(strings.Join(stale, "; "), row)
				}
				return Pass(fmt.Sprintf("all enabled credentials used within %d days", days), nil)
			})
	}
	unused("iam.user_unused_credentials_45", 45, []string{"fsbp:IAM.22", "cis-aws-3.0:1.12"})
	unused("iam.user_unused_credentials_90", 90, []string{"fsbp:IAM.8"})
	userCheck(&Check{ID: "iam.user_no_keys_at_setup", Title: "Access keys should not be created during initial setup of console users",
		Severity: finding.Low, Controls: []string{"cis-aws-3.0:1.11"}, Inputs: []string{TypeCredentialReport},
		Risk:        "Keys created by default for console users are rarely needed and rarely watched.",
		Remediation: iamRem("Delete access keys that were never used", "aws iam delete-access-key --access-key-id ID --user-name USER", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html")},
		func(e *Env, r *Res, u *iamUser) Result {
			c, _, p := credReport(e, r.AccountID)
			if p != "" {
				return Errorf("%s", p)
			}
			row := c.row(u.Arn)
			if row == nil {
				return Errorf("user %s missing from the credential report", u.UserName)
			}
			if row["password_enabled"] != "true" {
				return Pass("no console password", nil)
			}
			for _, n := range []string{"1", "2"} {
				if row["access_key_"+n+"_active"] == "true" && row["access_key_"+n+"_last_used_date"] == "N/A" {
					return Fail("console user has an active access key "+n+" that was never used", nil)
				}
			}
			return Pass("no never-used active key", nil)
		})

	policyCheck := func(c *Check, f func(e *Env, r *Res, p *managedPolicy, d *policy.Document) Result) {
		c.ResourceType = TypeManagedPolicy
		c.Eval = func(e *Env, r *Res) Result {
			for k, v := range r.Errors {
				if strings.HasPrefix(k, "PolicyVersionList") || k == "DefaultVersionDocument" {
					return Errorf("policy document unreadable: %s", v)
				}
			}
			p, err := decode[managedPolicy](r)
			if err != nil {
				return Errorf("%v", err)
			}
			d, err := parsePolicyValue(p.DefaultVersionDocument)
			if err != nil {
				return Errorf("%v", err)
			}
			if d == nil {
				return Errorf("default policy version document missing")
			}
			return f(e, r, p, d)
		}
		Register(c)
	}
	adminEvidence := func(sts []policy.Statement) any {
		var out []map[string]any
		for _, s := range sts {
			m := map[string]any{"Effect": s.Effect, "Resource": s.Resource}
			if len(s.NotAction) > 0 {
				m["NotAction"] = s.NotAction
			} else {
				m["Action"] = s.Action
			}
			if s.Sid != "" {
				m["Sid"] = s.Sid
			}
			out = append(out, m)
		}
		return map[string]any{"statements": out}
	}
	policyCheck(&Check{ID: "iam.policy_no_full_admin", Title: "IAM customer managed policies should not allow full \"*\" administrative privileges",
		Severity: finding.High, Controls: []string{"fsbp:IAM.1"},
		Risk:        "Whoever gets this policy can do anything in the account.",
		Remediation: iamRem("IAM > Policies > policy > Edit: replace \"*\" with the actions needed", "aws iam create-policy-version --policy-arn ARN --policy-document file://least-privilege.json --set-as-default", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege")},
		func(e *Env, r *Res, p *managedPolicy, d *policy.Document) Result {
			if isAWSManaged(p.Arn) {
				return NA()
			}
			if sts := d.GrantsFullAdmin(); len(sts) > 0 {
				return Fail("policy allows all actions on all resources", adminEvidence(sts))
			}
			return Pass("no statement grants *:*", nil)
		})
	policyCheck(&Check{ID: "iam.attached_policy_no_full_admin", Title: "No attached IAM policy should allow full \"*:*\" administrative privileges",
		Severity: finding.High, Controls: []string{"cis-aws-3.0:1.16"},
		Risk:        "An identity holding this policy can do anything in the account.",
		Remediation: iamRem("IAM > Policies > policy > Entities attached > Detach", "aws iam detach-role-policy / detach-user-policy / detach-group-policy --policy-arn ARN", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege")},
		func(e *Env, r *Res, p *managedPolicy, d *policy.Document) Result {
			if p.AttachmentCount == nil || *p.AttachmentCount == 0 {
				return NA()
			}
			if sts := d.GrantsFullAdmin(); len(sts) > 0 {
				return Fail(fmt.Sprintf("policy grants *:* and is attached to %d identities", *p.AttachmentCount), adminEvidence(sts))
			}
			return Pass("no statement grants *:*", nil)
		})
	policyCheck(&Check{ID: "iam.policy_no_service_wildcard", Title: "IAM customer managed policies should not allow wildcard actions for services",
		Severity: finding.Low, Controls: []string{"fsbp:IAM.21"},
		Risk:        "service:* grants every current and future action of that service.",
		Remediation: iamRem("IAM > Policies > policy > Edit: list the actions needed", "", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege")},
		func(e *Env, r *Res, p *managedPolicy, d *policy.Document) Result {
			if isAWSManaged(p.Arn) {
				return NA()
			}
			var bad []string
			for _, s := range d.Statement {
				if s.Effect != "Allow" {
					continue
				}
				for _, a := range s.Action {
					if a == "*" || strings.HasSuffix(a, ":*") {
						bad = append(bad, a)
					}
				}
				if len(s.NotAction) > 0 {
					bad = append(bad, "NotAction:"+strings.Join(s.NotAction, ","))
				}
			}
			if len(bad) > 0 {
				return Fail("wildcard service actions: "+strings.Join(bad, ", "), map[string]any{"actions": bad})
			}
			return Pass("no service-wide wildcard", nil)
		})
	// Inline policies of users, groups and roles count for CIS 1.16 as well.
	for _, it := range []struct{ typ, list string }{{TypeUser, "UserPolicyList"}, {TypeGroup, "GroupPolicyList"}, {TypeRole, "RolePolicyList"}} {
		it := it
		Register(&Check{ID: "iam.inline_policy_no_full_admin_" + strings.ToLower(strings.TrimPrefix(it.typ, "AWS::IAM::")),
			Title:    "Inline policies of IAM " + strings.ToLower(strings.TrimPrefix(it.typ, "AWS::IAM::")) + "s should not allow full \"*:*\" administrative privileges",
			Severity: finding.High, ResourceType: it.typ, Controls: []string{"cis-aws-3.0:1.16"}, Needs: []string{it.list},
			Risk:        "The identity can do anything in the account.",
			Remediation: iamRem("IAM > identity > Permissions > remove or narrow the inline policy", "aws iam delete-user-policy / delete-role-policy / delete-group-policy ...", "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-edit.html"),
			Eval: func(e *Env, r *Res) Result {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(r.Config, &m); err != nil {
					return Errorf("%v", err)
				}
				var list []struct {
					PolicyName     string
					PolicyDocument json.RawMessage
				}
				_ = json.Unmarshal(m[it.list], &list)
				for _, p := range list {
					d, err := parsePolicyValue(p.PolicyDocument)
					if err != nil {
						return Errorf("inline policy %s: %v", p.PolicyName, err)
					}
					if d == nil {
						continue
					}
					if sts := d.GrantsFullAdmin(); len(sts) > 0 {
						ev := adminEvidence(sts).(map[string]any)
						ev["policy"] = p.PolicyName
						return Fail("inline policy "+p.PolicyName+" grants *:*", ev)
					}
				}
				return Pass(fmt.Sprintf("%d inline policies, none grants *:*", len(list)), nil)
			}})
	}
	Register(&Check{ID: "iam.support_role", Title: "A support role should exist to manage incidents with AWS Support",
		Severity: finding.Low, ResourceType: TypeRole, Scope: PerAccount, Inputs: []string{TypeRole},
		Controls: []string{"fsbp:IAM.18", "cis-aws-3.0:1.17"}, Risk: "Nobody may be able to open support cases during an incident.",
		Remediation: iamRem("IAM > Roles > Create role with the AWSSupportAccess policy", "aws iam attach-role-policy --role-name ROLE --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess", "https://docs.aws.amazon.com/awssupport/latest/user/accessing-support.html"),
		EvalScope: func(e *Env, u Unit) Result {
			for _, r := range e.List(TypeRole, u.Account, "") {
				role, err := decode[struct {
					AttachedManagedPolicies []struct{ PolicyArn string }
				}](r)
				if err != nil {
					continue
				}
				for _, p := range role.AttachedManagedPolicies {
					if strings.HasSuffix(p.PolicyArn, ":policy/AWSSupportAccess") {
						return Pass("role "+r.Name+" has AWSSupportAccess", map[string]string{"role": r.ARN})
					}
				}
			}
			return Fail("no role has the AWSSupportAccess policy attached", nil)
		}})
	Register(&Check{ID: "iam.cloudshell_full_access_restricted", Title: "IAM identities should not have the AWSCloudShellFullAccess policy attached",
		Severity: finding.Medium, ResourceType: TypeManagedPolicy, Scope: PerAccount, Inputs: []string{TypeManagedPolicy},
		Controls: []string{"fsbp:IAM.27", "cis-aws-3.0:1.22"}, Risk: "CloudShell with full access allows file upload/download and exfiltration outside network controls.",
		Remediation: iamRem("IAM > Policies > AWSCloudShellFullAccess > Entities attached > Detach", "", "https://docs.aws.amazon.com/cloudshell/latest/userguide/sec-auth-with-identities.html"),
		EvalScope: func(e *Env, u Unit) Result {
			for _, r := range e.List(TypeManagedPolicy, u.Account, "") {
				if strings.HasSuffix(r.ARN, ":policy/AWSCloudShellFullAccess") {
					p, err := decode[managedPolicy](r)
					if err == nil && p.AttachmentCount != nil && *p.AttachmentCount > 0 {
						return Fail(fmt.Sprintf("AWSCloudShellFullAccess is attached to %d identities", *p.AttachmentCount), nil)
					}
				}
			}
			return Pass("AWSCloudShellFullAccess is not attached", nil)
		}})
	Register(&Check{ID: "iam.no_expired_server_certificates", Title: "Expired SSL/TLS certificates stored in IAM should be removed",
		Severity: finding.Medium, ResourceType: TypeServerCertificate, Controls: []string{"fsbp:IAM.26", "cis-aws-3.0:1.19"},
		Risk:        "An expired certificate can be deployed by mistake and break or weaken TLS.",
		Remediation: iamRem("", "aws iam delete-server-certificate --server-certificate-name NAME", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html"),
		Eval: func(e *Env, r *Res) Result {
			c, err := decode[struct {
				Expiration                string
				ServerCertificateMetadata *struct{ Expiration string }
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			exp := c.Expiration
			if c.ServerCertificateMetadata != nil {
				exp = c.ServerCertificateMetadata.Expiration
			}
			t, ok := awsTime(exp)
			if !ok {
				return Errorf("certificate expiration unknown")
			}
			if t.Before(e.Now) {
				return Fail("certificate expired on "+t.Format(time.DateOnly), nil)
			}
			return Pass("certificate valid until "+t.Format(time.DateOnly), nil)
		}})
	Register(&Check{ID: "iam.access_analyzer_enabled", Subject: "arn:{partition}:access-analyzer:{region}:{account}:analyzer-status", Title: "IAM Access Analyzer should be enabled in every region",
		Severity: finding.Medium, ResourceType: TypeAccessAnalyzerStatus, Scope: PerRegion, Inputs: []string{TypeAccessAnalyzerStatus},
		Controls: []string{"cis-aws-3.0:1.20"}, Risk: "Public and cross-account access to resources goes unnoticed.",
		Remediation: iamRem("IAM > Access analyzer > Create analyzer (in every region)", "aws accessanalyzer create-analyzer --analyzer-name default --type ACCOUNT --region REGION", "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html"),
		EvalScope:   enabledStatus(TypeAccessAnalyzerStatus, "Enabled", "an active external-access analyzer"),
	})
}

// enabledStatus evaluates a per-region status resource whose boolean field says a service is on.
func enabledStatus(typ, field, what string) func(e *Env, u Unit) Result {
	return func(e *Env, u Unit) Result {
		r := e.One(typ, u.Account, u.Region)
		if r == nil {
			return Errorf("%s status not in the inventory", typ)
		}
		if _, reason := r.ErrorOf(field); reason != "" {
			return accountResult(Errorf("status unreadable: %s", reason), r)
		}
		var m map[string]any
		if err := json.Unmarshal(r.Config, &m); err != nil {
			return Errorf("%v", err)
		}
		if on, _ := m[field].(bool); on {
			return accountResult(Pass(what+" in "+u.Region, nil), r)
		}
		return accountResult(Fail("no "+what+" in "+u.Region, m), r)
	}
}
