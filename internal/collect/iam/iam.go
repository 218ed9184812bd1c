// Package iam collects IAM identities and account settings: users (with keys, MFA and console
// access), groups, roles, managed policies, instance profiles, MFA devices, identity providers,
// the account summary, the password policy and the credential report. IAM is global: every
// resource has Region "global" and is collected once per account.
package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types.
const (
	TypeAccountSummary   = "AWS::IAM::AccountSummary"
	TypePasswordPolicy   = "AWS::IAM::PasswordPolicy"
	TypeCredentialReport = "AWS::IAM::CredentialReport"
	TypeUser             = "AWS::IAM::User"
	TypeGroup            = "AWS::IAM::Group"
	TypeRole             = "AWS::IAM::Role"
	TypeManagedPolicy    = "AWS::IAM::ManagedPolicy"
	TypeInstanceProfile  = "AWS::IAM::InstanceProfile"
	TypeVirtualMFADevice = "AWS::IAM::VirtualMFADevice"
	TypeSAMLProvider     = "AWS::IAM::SAMLProvider"
	TypeOIDCProvider     = "AWS::IAM::OIDCProvider"
)

// Region is the region of every IAM resource.
const Region = "global"

func init() {
	for _, c := range []*collect.Collector{
		{Name: "iam.account-summary", Actions: []string{"iam:GetAccountSummary"},
			ResourceTypes: []string{TypeAccountSummary}, Run: runAccountSummary},
		{Name: "iam.password-policy", Actions: []string{"iam:GetAccountPasswordPolicy"},
			ResourceTypes: []string{TypePasswordPolicy}, Run: runPasswordPolicy},
		{Name: "iam.credential-report", Actions: []string{"iam:GenerateCredentialReport", "iam:GetCredentialReport"},
			ResourceTypes: []string{TypeCredentialReport}, Run: runCredentialReport},
		{Name: "iam.authorization-details",
			Actions: []string{"iam:GetAccountAuthorizationDetails", "iam:ListMFADevices", "iam:ListAccessKeys",
				"iam:GetAccessKeyLastUsed", "iam:GetLoginProfile"},
			ResourceTypes: []string{TypeUser, TypeGroup, TypeRole, TypeManagedPolicy}, Run: runAuthorizationDetails},
		{Name: "iam.instance-profiles", Actions: []string{"iam:ListInstanceProfiles"},
			ResourceTypes: []string{TypeInstanceProfile}, Run: runInstanceProfiles},
		{Name: "iam.virtual-mfa-devices", Actions: []string{"iam:ListVirtualMFADevices"},
			ResourceTypes: []string{TypeVirtualMFADevice}, Run: runVirtualMFADevices},
		{Name: "iam.identity-providers",
			Actions:       []string{"iam:ListSAMLProviders", "iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider"},
			ResourceTypes: []string{TypeSAMLProvider, TypeOIDCProvider}, Run: runIdentityProviders},
	} {
		c.Service = "iam"
		c.Global = true
		collect.Register(c)
	}
}

// AccountARN is the synthetic ARN of an account-level IAM setting, e.g. "password-policy".
func AccountARN(partition, account, what string) string {
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:iam::%s:%s", partition, account, what)
}

func put(t *collect.Target, sink collect.Sink, arn, typ, name string, tags []types.Tag, cfg any, errs map[string]string) error {
	r := &inventory.Resource{
		ARN: arn, Type: typ, AccountID: t.AccountID, Region: Region, Name: name,
		Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC(),
	}
	if len(tags) > 0 {
		r.Tags = map[string]string{}
		for _, tag := range tags {
			r.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return sink.PutResource(r)
}

func runAccountSummary(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	out, err := awsiam.NewFromConfig(t.Config).GetAccountSummary(ctx, &awsiam.GetAccountSummaryInput{})
	if err != nil {
		return err
	}
	return put(t, sink, AccountARN(t.Partition, t.AccountID, "account-summary"), TypeAccountSummary,
		"account-summary", nil, map[string]any{"SummaryMap": out.SummaryMap}, nil)
}

func runPasswordPolicy(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	out, err := awsiam.NewFromConfig(t.Config).GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{})
	cfg := map[string]any{"PasswordPolicy": nil}
	switch {
	case err == nil:
		cfg["PasswordPolicy"] = out.PasswordPolicy
	case awsx.ErrorCode(err) == "NoSuchEntity":
		// no custom policy: AWS's default applies, which checks judge as "not configured"
	default:
		return err
	}
	return put(t, sink, AccountARN(t.Partition, t.AccountID, "password-policy"), TypePasswordPolicy,
		"password-policy", nil, cfg, nil)
}

// DecodeDocument turns a URL-encoded policy document, as IAM returns it, into a JSON value. A
// document that does not decode is returned as the raw string with an error.
func DecodeDocument(s string) (any, error) {
	dec, err := url.PathUnescape(s)
	if err != nil {
		// Not URL-encoded after all (some emulators return plain JSON): try it as is.
		dec = s
	}
	var v any
	if err := json.Unmarshal([]byte(dec), &v); err != nil {
		return s, fmt.Errorf("malformed policy document: %v", err)
	}
	return v, nil
}

// toMap turns an SDK struct into its JSON object, so documents can be replaced in place.
func toMap(v any) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(inventory.MarshalConfig(v), &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// decodeIn replaces the URL-encoded document at m[key] by its JSON value; a failure is recorded
// in errs under errKey.
func decodeIn(m map[string]any, key string, errs map[string]string, errKey string) {
	s, ok := m[key].(string)
	if !ok {
		return
	}
	v, err := DecodeDocument(s)
	if err != nil {
		errs[errKey] = err.Error()
	}
	m[key] = v
}

// decodeList decodes the document key of every object in the list m[listKey].
func decodeList(m map[string]any, listKey, docKey string, errs map[string]string) {
	list, _ := m[listKey].([]any)
	for i, e := range list {
		if o, ok := e.(map[string]any); ok {
			decodeIn(o, docKey, errs, fmt.Sprintf("%s[%d]", listKey, i))
		}
	}
}
