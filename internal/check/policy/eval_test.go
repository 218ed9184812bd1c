package policy

import (
	"strings"
	"testing"
)

func named(t *testing.T, name, doc string) Named { return Named{Name: name, Doc: mustParse(t, doc)} }

func TestEvaluateDenyBoundaryAndLayers(t *testing.T) {
	admin := named(t, "AdministratorAccess", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	id := Layer{Kind: "identity policy", Policies: []Named{admin}}
	obj := "arn:aws:s3:::conf/*"
	cases := []struct {
		name      string
		action, r string
		layers    []Layer
		allowed   bool
		removedBy string
	}{
		{"admin alone", "s3:GetObject", obj, []Layer{id}, true, ""},
		{"nothing granted", "s3:GetObject", obj, []Layer{{Kind: "identity policy", Policies: []Named{named(t, "logs", `{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`)}}}, false, ""},
		{"identity deny with NotResource", "s3:GetObject", obj, []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "guard", `{"Statement":{"Sid":"OnlyLogs","Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::logs/*"}}`)}}},
			false, "explicit deny in identity policy guard (statement OnlyLogs)"},
		{"NotResource deny sparing the bucket", "s3:GetObject", "arn:aws:s3:::logs/*", []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "guard", `{"Statement":{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::logs/*"}}`)}}}, true, ""},
		{"NotAction deny", "s3:GetObject", obj, []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "only-iam", `{"Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`)}}}, false, "explicit deny in identity policy only-iam"},
		{"deny of part of the objects", "s3:GetObject", obj, []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "part", `{"Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::conf/secret/*"}}`)}}}, true, ""},
		{"conditional deny not applied", "s3:GetObject", obj, []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "mfa", `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}}`)}}}, true, ""},
		{"boundary intersection", "iam:*", "*", []Layer{id, {Kind: "permissions boundary", Policies: []Named{named(t, "logs-only", `{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`)}}},
			false, "permissions boundary logs-only does not allow iam:*"},
		{"SCP deny at an OU", "s3:GetObject", obj, []Layer{id,
			{Kind: "SCP", Where: "attached to the root", Policies: []Named{named(t, "FullAWSAccess", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}},
			{Kind: "SCP", Where: "attached to OU Prod", Policies: []Named{named(t, "FullAWSAccess", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`), named(t, "deny-s3", `{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}`)}}},
			false, "explicit deny in SCP deny-s3 attached to OU Prod"},
		{"SCP level without allow", "s3:GetObject", obj, []Layer{id,
			{Kind: "SCP", Where: "attached to account 1", Policies: []Named{named(t, "ec2-only", `{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)}}},
			false, "SCP ec2-only attached to account 1 does not allow s3:GetObject"},
		{"deny of part of iam keeps the rest", "iam:*", "*", []Layer{{Kind: "identity policy", Policies: []Named{admin,
			named(t, "no-keys", `{"Statement":{"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}}`)}}}, true, ""},
		{"some resource: a specific grant counts", "iam:PassRole", "*", []Layer{{Kind: "identity policy", Policies: []Named{
			named(t, "pass", `{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/x"}}`)}}}, true, ""},
	}
	for _, c := range cases {
		d := Evaluate(c.action, c.r, c.layers...)
		if d.Allowed != c.allowed || !strings.HasPrefix(d.RemovedBy, c.removedBy) || (c.removedBy == "" && d.RemovedBy != "") {
			t.Errorf("%s: %+v, want allowed %v removed by %q", c.name, d, c.allowed, c.removedBy)
		}
	}
}

func TestResourceMatching(t *testing.T) {
	s := Statement{Resource: []string{"arn:aws:s3:::conf-*"}}
	if !s.MayApply("arn:aws:s3:::conf-data/*") || !s.AppliesToAll("arn:aws:s3:::conf-data/*") {
		t.Error("conf-* should cover conf-data's objects")
	}
	s = Statement{Resource: []string{"arn:aws:s3:::conf-data/reports/*"}}
	if !s.MayApply("arn:aws:s3:::conf-data/*") || s.AppliesToAll("arn:aws:s3:::conf-data/*") {
		t.Error("a prefix grants some objects and denies only some")
	}
	s = Statement{Resource: []string{"arn:aws:s3:::conf-data"}}
	if s.MayApply("arn:aws:s3:::conf-data/*") {
		t.Error("the bucket ARN does not name its objects")
	}
	if MatchResource("arn:aws:s3:::Conf/*", "arn:aws:s3:::conf/x") {
		t.Error("resource ARNs are case-sensitive")
	}
}
