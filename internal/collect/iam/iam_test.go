package iam_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	iamc "github.com/yagura-dev/yagura/internal/collect/iam"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func decode(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	if r == nil {
		t.Fatalf("resource missing")
	}
	var m map[string]any
	must(t, json.Unmarshal(r.Config, &m), "config of "+r.ARN)
	return m
}

func memberAccount(t *testing.T, cfg aws.Config) (string, aws.Config) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	_, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	must(t, err, "CreateOrganization")
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member"), Email: aws.String("member@example.com")})
	must(t, err, "CreateAccount")
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	return id, awsx.AssumeConfig(cfg, mgmt, id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
}

const (
	adminPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	trustOther  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sts:AssumeRole"}]}`
	inlineRead  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}`
)

func TestIAM(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)
	c := awsiam.NewFromConfig(cfg)

	_, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice")})
	must(t, err, "CreateUser")
	_, err = c.CreateLoginProfile(ctx, &awsiam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Correct-Horse-9")})
	must(t, err, "CreateLoginProfile")
	key, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	must(t, err, "CreateAccessKey")
	_, err = c.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"), PolicyDocument: aws.String(inlineRead)})
	must(t, err, "PutUserPolicy")
	pol, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("star-star"), PolicyDocument: aws.String(adminPolicy)})
	must(t, err, "CreatePolicy")
	_, err = c.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: pol.Policy.Arn})
	must(t, err, "AttachUserPolicy")
	_, err = c.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("ops")})
	must(t, err, "CreateGroup")
	_, err = c.PutGroupPolicy(ctx, &awsiam.PutGroupPolicyInput{GroupName: aws.String("ops"), PolicyName: aws.String("read"), PolicyDocument: aws.String(inlineRead)})
	must(t, err, "PutGroupPolicy")
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("cross"), AssumeRolePolicyDocument: aws.String(trustOther)})
	must(t, err, "CreateRole")
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("cross"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	must(t, err, "AttachRolePolicy")
	_, err = c.CreateInstanceProfile(ctx, &awsiam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")})
	must(t, err, "CreateInstanceProfile")
	_, err = c.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("cross")})
	must(t, err, "AddRoleToInstanceProfile")
	_, err = c.CreateVirtualMFADevice(ctx, &awsiam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("spare")})
	must(t, err, "CreateVirtualMFADevice")
	_, err = c.UpdateAccountPasswordPolicy(ctx, &awsiam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24), RequireSymbols: true})
	must(t, err, "UpdateAccountPasswordPolicy")
	_, err = c.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com"),
		ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)}})
	must(t, err, "CreateOpenIDConnectProvider")
	_, err = awsiam.NewFromConfig(memberCfg).CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob")})
	must(t, err, "CreateUser member")

	run := func(name string, c aws.Config, account string) *collecttest.Sink {
		t.Helper()
		s, err := collecttest.Run(t, name, c, account, "us-east-1")
		must(t, err, name)
		for _, r := range s.Resources {
			if r.Region != "global" || r.AccountID != account {
				t.Errorf("%s: %s has region %q account %q", name, r.ARN, r.Region, r.AccountID)
			}
		}
		return s
	}

	t.Run("users", func(t *testing.T) {
		s := run("iam.authorization-details", cfg, mgmt)
		u := s.ByARN("arn:aws:iam::" + mgmt + ":user/alice")
		m := decode(t, u)
		if u.Type != iamc.TypeUser || u.Name != "alice" || len(u.Errors) != 0 {
			t.Errorf("user %+v", u)
		}
		if m["LoginProfile"] == nil {
			t.Errorf("LoginProfile missing: %s", u.Config)
		}
		if mfa, ok := m["MFADevices"].([]any); !ok || len(mfa) != 0 {
			t.Errorf("MFADevices = %#v, want empty list", m["MFADevices"])
		}
		keys, _ := m["AccessKeys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["AccessKeyId"] != aws.ToString(key.AccessKey.AccessKeyId) || keys[0].(map[string]any)["Status"] != "Active" {
			t.Errorf("AccessKeys = %#v", m["AccessKeys"])
		}
		inline := m["UserPolicyList"].([]any)[0].(map[string]any)["PolicyDocument"].(map[string]any)
		if inline["Statement"].([]any)[0].(map[string]any)["Action"] != "s3:GetObject" {
			t.Errorf("inline policy not decoded: %v", inline)
		}
		att, _ := json.Marshal(m["AttachedManagedPolicies"])
		if !strings.Contains(string(att), aws.ToString(pol.Policy.Arn)) {
			t.Errorf("attached policies %s", att)
		}

		// Cross-check the user list with the AWS CLI.
		if _, err := exec.LookPath("aws"); err != nil {
			t.Skip("aws CLI not installed")
		}
		out, err := exec.Command("aws", "--endpoint-url", srv.URL, "--output", "json", "iam", "list-users").Output()
		must(t, err, "aws iam list-users")
		var cli struct {
			Users []struct{ Arn, UserName, UserId string }
		}
		must(t, json.Unmarshal(out, &cli), "cli json")
		users := s.ByType(iamc.TypeUser)
		if len(cli.Users) != len(users) {
			t.Errorf("CLI lists %d users, collector %d", len(cli.Users), len(users))
		}
		for _, cu := range cli.Users {
			r := s.ByARN(cu.Arn)
			if r == nil || r.Name != cu.UserName || decode(t, r)["UserId"] != cu.UserId {
				t.Errorf("CLI user %+v not collected alike: %+v", cu, r)
			}
		}

		g := decode(t, s.ByARN("arn:aws:iam::"+mgmt+":group/ops"))
		if _, ok := g["GroupPolicyList"].([]any)[0].(map[string]any)["PolicyDocument"].(map[string]any); !ok {
			t.Errorf("group inline policy not decoded: %v", g)
		}
	})
	t.Run("roles and policies", func(t *testing.T) {
		s := run("iam.authorization-details", cfg, mgmt)
		r := decode(t, s.ByARN("arn:aws:iam::"+mgmt+":role/cross"))
		trust, ok := r["AssumeRolePolicyDocument"].(map[string]any)
		if !ok {
			t.Fatalf("trust policy not an object: %#v", r["AssumeRolePolicyDocument"])
		}
		principal := trust["Statement"].([]any)[0].(map[string]any)["Principal"].(map[string]any)["AWS"]
		if principal != "arn:aws:iam::210987654321:root" {
			t.Errorf("trust principal %v", principal)
		}
		p := s.ByARN(aws.ToString(pol.Policy.Arn))
		pm := decode(t, p)
		if p.Type != iamc.TypeManagedPolicy {
			t.Errorf("policy type %q", p.Type)
		}
		doc, _ := pm["DefaultVersionDocument"].(map[string]any)
		st, _ := doc["Statement"].([]any)
		if len(st) != 1 || st[0].(map[string]any)["Action"] != "*" || st[0].(map[string]any)["Resource"] != "*" {
			t.Errorf("DefaultVersionDocument %v", pm["DefaultVersionDocument"])
		}
		admin := s.ByARN("arn:aws:iam::aws:policy/AdministratorAccess")
		if admin == nil {
			t.Fatalf("attached AWS-managed AdministratorAccess not collected")
		}
		if doc, _ := decode(t, admin)["DefaultVersionDocument"].(map[string]any); doc == nil {
			t.Errorf("AdministratorAccess has no default document: %s", admin.Config)
		}
		// Unattached AWS-managed policies are left out.
		for _, r := range s.ByType(iamc.TypeManagedPolicy) {
			if iamc.IsAWSManaged(r.ARN) && r.ARN != "arn:aws:iam::aws:policy/AdministratorAccess" {
				t.Errorf("unattached AWS-managed policy collected: %s", r.ARN)
			}
		}
	})
	t.Run("instance profiles", func(t *testing.T) {
		s := run("iam.instance-profiles", cfg, mgmt)
		arn := "arn:aws:iam::" + mgmt + ":instance-profile/web"
		if r := s.ByARN(arn); r == nil || r.Type != iamc.TypeInstanceProfile {
			t.Fatalf("profile %+v", s.Resources)
		}
		if !s.HasRelationship(arn, inventory.RelAssumesRole, "arn:aws:iam::"+mgmt+":role/cross") {
			t.Errorf("relationships %v", s.Relationships)
		}
	})
	t.Run("virtual MFA devices", func(t *testing.T) {
		s := run("iam.virtual-mfa-devices", cfg, mgmt)
		r := s.ByARN("arn:aws:iam::" + mgmt + ":mfa/spare")
		if r == nil || r.Type != iamc.TypeVirtualMFADevice {
			t.Fatalf("devices %+v", s.Resources)
		}
		if m := decode(t, r); m["Base32StringSeed"] != nil || m["QRCodePNG"] != nil {
			t.Errorf("secret seed stored: %s", r.Config)
		}
	})
	t.Run("password policy", func(t *testing.T) {
		s := run("iam.password-policy", cfg, mgmt)
		pp := decode(t, s.ByARN("arn:aws:iam::"+mgmt+":password-policy"))["PasswordPolicy"].(map[string]any)
		if pp["MinimumPasswordLength"] != float64(14) || pp["PasswordReusePrevention"] != float64(24) || pp["RequireSymbols"] != true {
			t.Errorf("password policy %v", pp)
		}
		ms := run("iam.password-policy", memberCfg, memberID)
		r := ms.ByARN("arn:aws:iam::" + memberID + ":password-policy")
		if m := decode(t, r); m["PasswordPolicy"] != nil || len(r.Errors) != 0 {
			t.Errorf("member without policy: %s %v", r.Config, r.Errors)
		}
	})
	t.Run("account summary", func(t *testing.T) {
		s := run("iam.account-summary", cfg, mgmt)
		r := s.ByARN("arn:aws:iam::" + mgmt + ":account-summary")
		sm, _ := decode(t, r)["SummaryMap"].(map[string]any)
		if r.Type != iamc.TypeAccountSummary || sm["Users"] != float64(1) {
			t.Errorf("summary %s", r.Config)
		}
	})
	t.Run("credential report", func(t *testing.T) {
		s := run("iam.credential-report", cfg, mgmt)
		r := s.ByARN("arn:aws:iam::" + mgmt + ":credential-report")
		if r == nil || r.Type != iamc.TypeCredentialReport {
			t.Fatalf("report %+v", s.Resources)
		}
		var rep struct{ Rows []map[string]string }
		must(t, json.Unmarshal(r.Config, &rep), "rows")
		byUser := map[string]map[string]string{}
		for _, row := range rep.Rows {
			byUser[row["user"]] = row
		}
		// moto leaves out the <root_account> row that IAM always writes first; the
		// collector keeps every row it gets (TestCredentialReportWire covers the root row).
		if _, ok := byUser["<root_account>"]; !ok {
			t.Logf("moto's report has no <root_account> row")
		}
		a := byUser["alice"]
		if a["password_enabled"] != "true" || a["mfa_active"] != "false" || a["access_key_1_active"] != "true" || a["arn"] != "arn:aws:iam::"+mgmt+":user/alice" {
			t.Errorf("alice row %v", a)
		}
	})
	t.Run("identity providers", func(t *testing.T) {
		s := run("iam.identity-providers", cfg, mgmt)
		ps := s.ByType(iamc.TypeOIDCProvider)
		if len(ps) != 1 || !strings.Contains(string(ps[0].Config), "sts.amazonaws.com") {
			t.Errorf("OIDC providers %+v", ps)
		}
	})
	t.Run("member account", func(t *testing.T) {
		s := run("iam.authorization-details", memberCfg, memberID)
		if r := s.ByARN("arn:aws:iam::" + memberID + ":user/bob"); r == nil || r.AccountID != memberID {
			t.Errorf("member user missing: %d resources", len(s.Resources))
		}
		if s.ByARN("arn:aws:iam::"+mgmt+":user/alice") != nil {
			t.Errorf("management user seen from the member account")
		}
	})
}

func TestDecodeDocument(t *testing.T) {
	v, err := iamc.DecodeDocument(url.PathEscape(adminPolicy))
	if err != nil || v.(map[string]any)["Version"] != "2012-10-17" {
		t.Errorf("encoded: %v %v", v, err)
	}
	v, err = iamc.DecodeDocument(adminPolicy)
	if err != nil || v.(map[string]any)["Version"] != "2012-10-17" {
		t.Errorf("plain: %v %v", v, err)
	}
	if v, err := iamc.DecodeDocument("%7B%22broken"); err == nil || v != "%7B%22broken" {
		t.Errorf("malformed: %v %v", v, err)
	}
}

// TestCredentialReportWire runs the collector against IAM's real wire format, with a report that
// is still being generated on the first call and a root row, as IAM answers.
func TestCredentialReportWire(t *testing.T) {
	mototest.SetTestEnv(t)
	csv := "user,arn,user_creation_time,password_enabled,mfa_active,access_key_1_active\n" +
		"<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,true,false\n" +
		"carol,arn:aws:iam::111122223333:user/carol,2021-01-01T00:00:00+00:00,true,false,true\n"
	calls := 0
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		must(t, r.ParseForm(), "form")
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("Action") {
		case "GenerateCredentialReport":
			calls++
			state := "STARTED"
			if calls > 1 {
				state = "COMPLETE"
			}
			fmt.Fprintf(w, `<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GenerateCredentialReportResult><State>%s</State><Description>No report exists. Starting a new report generation task</Description></GenerateCredentialReportResult><ResponseMetadata><RequestId>29f47818-99f5-11e1-a4c3-27EXAMPLE804</RequestId></ResponseMetadata></GenerateCredentialReportResponse>`, state)
		case "GetCredentialReport":
			fmt.Fprintf(w, `<GetCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetCredentialReportResult><Content>%s</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-11-28T10:00:00Z</GeneratedTime></GetCredentialReportResult><ResponseMetadata><RequestId>1fb9a0e4-99f6-11e1-a4c3-27EXAMPLE804</RequestId></ResponseMetadata></GetCredentialReportResponse>`,
				base64.StdEncoding.EncodeToString([]byte(csv)))
		default:
			http.Error(w, "unexpected "+r.Form.Get("Action"), http.StatusBadRequest)
		}
	}))
	defer stub.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: stub.URL})
	must(t, err, "Load")
	s, err := collecttest.Run(t, "iam.credential-report", cfg, "111122223333", "us-east-1")
	must(t, err, "iam.credential-report")
	if calls != 2 {
		t.Errorf("GenerateCredentialReport called %d times, want 2 (STARTED, then COMPLETE)", calls)
	}
	r := s.ByARN("arn:aws:iam::111122223333:credential-report")
	var rep struct {
		GeneratedTime string
		Rows          []map[string]string
	}
	must(t, json.Unmarshal(r.Config, &rep), "rows")
	if len(rep.Rows) != 2 || rep.Rows[0]["user"] != "<root_account>" || rep.Rows[0]["mfa_active"] != "true" || rep.Rows[1]["access_key_1_active"] != "true" {
		t.Errorf("rows %v", rep.Rows)
	}
	if !strings.HasPrefix(rep.GeneratedTime, "2026-11-28T10:00:00") {
		t.Errorf("GeneratedTime %q", rep.GeneratedTime)
	}
}

func TestParseCredentialReport(t *testing.T) {
	rows, err := iamc.ParseCredentialReport([]byte("user,arn,mfa_active\n<root_account>,arn:aws:iam::1:root,true\nbob,arn:aws:iam::1:user/bob,false\n"))
	if err != nil || len(rows) != 2 || rows[0]["user"] != "<root_account>" || rows[1]["mfa_active"] != "false" {
		t.Errorf("rows %v %v", rows, err)
	}
	if _, err := iamc.ParseCredentialReport(nil); err == nil {
		t.Errorf("empty report must fail")
	}
}
