package iam

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// runAuthorizationDetails streams users, groups, roles and managed policies from
// GetAccountAuthorizationDetails, page by page, with the per-user reads checks need.
func runAuthorizationDetails(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsiam.NewFromConfig(t.Config)
	p := awsiam.NewGetAccountAuthorizationDetailsPaginator(client, &awsiam.GetAccountAuthorizationDetailsInput{
		Filter: []types.EntityType{types.EntityTypeUser, types.EntityTypeGroup, types.EntityTypeRole,
			types.EntityTypeLocalManagedPolicy, types.EntityTypeAWSManagedPolicy},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, u := range page.UserDetailList {
			if err := putUser(ctx, t, sink, client, u); err != nil {
				return err
			}
		}
		for _, g := range page.GroupDetailList {
			errs := map[string]string{}
			m := toMap(g)
			decodeList(m, "GroupPolicyList", "PolicyDocument", errs)
			if err := put(t, sink, aws.ToString(g.Arn), TypeGroup, aws.ToString(g.GroupName), nil, m, errs); err != nil {
				return err
			}
		}
		for _, r := range page.RoleDetailList {
			errs := map[string]string{}
			m := toMap(r)
			decodeIn(m, "AssumeRolePolicyDocument", errs, "AssumeRolePolicyDocument")
			decodeList(m, "RolePolicyList", "PolicyDocument", errs)
			decodeProfiles(m, errs)
			if err := put(t, sink, aws.ToString(r.Arn), TypeRole, aws.ToString(r.RoleName), r.Tags, m, errs); err != nil {
				return err
			}
		}
		for _, pol := range page.Policies {
			// AWS-managed policies are listed whether used or not (over a thousand); only those
			// attached to something, or used as a permissions boundary, matter to the checks
			// (AdministratorAccess on a role…).
			if IsAWSManaged(aws.ToString(pol.Arn)) && aws.ToInt32(pol.AttachmentCount) == 0 && aws.ToInt32(pol.PermissionsBoundaryUsageCount) == 0 {
				continue
			}
			errs := map[string]string{}
			m := toMap(pol)
			m["DefaultVersionDocument"] = nil
			versions, _ := m["PolicyVersionList"].([]any)
			for _, v := range versions {
				o, ok := v.(map[string]any)
				if !ok {
					continue
				}
				id, _ := o["VersionId"].(string)
				decodeIn(o, "Document", errs, "PolicyVersionList["+id+"]")
				if o["IsDefaultVersion"] == true {
					m["DefaultVersionDocument"] = o["Document"]
				}
			}
			if err := put(t, sink, aws.ToString(pol.Arn), TypeManagedPolicy, aws.ToString(pol.PolicyName), nil, m, errs); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsAWSManaged reports whether a policy ARN names an AWS-managed policy (account "aws").
func IsAWSManaged(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[4] == "aws"
}

func decodeProfiles(m map[string]any, errs map[string]string) {
	profiles, _ := m["InstanceProfileList"].([]any)
	for _, p := range profiles {
		po, _ := p.(map[string]any)
		roles, _ := po["Roles"].([]any)
		for _, r := range roles {
			if ro, ok := r.(map[string]any); ok {
				decodeIn(ro, "AssumeRolePolicyDocument", errs, "InstanceProfileList")
			}
		}
	}
}

// AccessKey is one access key of a user with its last use.
type AccessKey struct {
	AccessKeyId     *string
	Status          types.StatusType
	CreateDate      any
	LastUsedDate    any
	LastUsedService *string
}

func putUser(ctx context.Context, t *collect.Target, sink collect.Sink, client *awsiam.Client, u types.UserDetail) error {
	errs := map[string]string{}
	m := toMap(u)
	decodeList(m, "UserPolicyList", "PolicyDocument", errs)
	name := u.UserName
	fail := func(key string, err error) {
		_, reason := awsx.Classify(err)
		errs[key] = reason
		m[key] = nil
	}

	mfa := []types.MFADevice{}
	mp := awsiam.NewListMFADevicesPaginator(client, &awsiam.ListMFADevicesInput{UserName: name})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			fail("MFADevices", err)
			mfa = nil
			break
		}
		mfa = append(mfa, page.MFADevices...)
	}
	if mfa != nil {
		m["MFADevices"] = mfa
	}

	keys := []AccessKey{}
	kp := awsiam.NewListAccessKeysPaginator(client, &awsiam.ListAccessKeysInput{UserName: name})
keyPages:
	for kp.HasMorePages() {
		page, err := kp.NextPage(ctx)
		if err != nil {
			fail("AccessKeys", err)
			keys = nil
			break
		}
		for _, k := range page.AccessKeyMetadata {
			ak := AccessKey{AccessKeyId: k.AccessKeyId, Status: k.Status, CreateDate: k.CreateDate}
			lu, err := client.GetAccessKeyLastUsed(ctx, &awsiam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
			if err != nil {
				fail("AccessKeys", err)
				keys = nil
				break keyPages
			}
			if lu.AccessKeyLastUsed != nil {
				ak.LastUsedDate = lu.AccessKeyLastUsed.LastUsedDate
				ak.LastUsedService = lu.AccessKeyLastUsed.ServiceName
			}
			keys = append(keys, ak)
		}
	}
	if keys != nil {
		m["AccessKeys"] = keys
	}

	lp, err := client.GetLoginProfile(ctx, &awsiam.GetLoginProfileInput{UserName: name})
	switch {
	case err == nil:
		m["LoginProfile"] = lp.LoginProfile
	case awsx.ErrorCode(err) == "NoSuchEntity":
		m["LoginProfile"] = nil // no console password
	default:
		fail("LoginProfile", err)
	}
	return put(t, sink, aws.ToString(u.Arn), TypeUser, aws.ToString(name), u.Tags, m, errs)
}

// runInstanceProfiles lists instance profiles, including those whose role is gone, with an
// edge to each role they hand out.
func runInstanceProfiles(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := awsiam.NewListInstanceProfilesPaginator(awsiam.NewFromConfig(t.Config), &awsiam.ListInstanceProfilesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, ip := range page.InstanceProfiles {
			errs := map[string]string{}
			m := toMap(ip)
			roles, _ := m["Roles"].([]any)
			for _, r := range roles {
				if ro, ok := r.(map[string]any); ok {
					decodeIn(ro, "AssumeRolePolicyDocument", errs, "Roles")
				}
			}
			arn := aws.ToString(ip.Arn)
			if err := put(t, sink, arn, TypeInstanceProfile, aws.ToString(ip.InstanceProfileName), ip.Tags, m, errs); err != nil {
				return err
			}
			for _, r := range ip.Roles {
				if err := sink.PutRelationship(inventory.Relationship{From: arn, To: aws.ToString(r.Arn), Kind: inventory.RelAssumesRole}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func runVirtualMFADevices(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := awsiam.NewListVirtualMFADevicesPaginator(awsiam.NewFromConfig(t.Config), &awsiam.ListVirtualMFADevicesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, d := range page.VirtualMFADevices {
			// The seed and QR code are secrets; IAM returns them only at creation, but never
			// store them should an API or emulator hand them back.
			d.Base32StringSeed, d.QRCodePNG = nil, nil
			m := toMap(d)
			serial := aws.ToString(d.SerialNumber)
			name := serial[strings.LastIndex(serial, "/")+1:]
			if err := put(t, sink, serial, TypeVirtualMFADevice, name, d.Tags, m, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// runIdentityProviders lists SAML and OIDC providers; neither list call is paginated.
func runIdentityProviders(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsiam.NewFromConfig(t.Config)
	saml, err := client.ListSAMLProviders(ctx, &awsiam.ListSAMLProvidersInput{})
	if err != nil {
		return err
	}
	for _, sp := range saml.SAMLProviderList {
		arn := aws.ToString(sp.Arn)
		if err := put(t, sink, arn, TypeSAMLProvider, arn[strings.LastIndex(arn, "/")+1:], nil, sp, nil); err != nil {
			return err
		}
	}
	oidc, err := client.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return err
	}
	for _, op := range oidc.OpenIDConnectProviderList {
		arn := aws.ToString(op.Arn)
		m := map[string]any{"Arn": arn}
		errs := map[string]string{}
		var tags []types.Tag
		out, err := client.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: op.Arn})
		if err != nil {
			_, reason := awsx.Classify(err)
			errs["Url"] = reason
		} else {
			m["Url"], m["ClientIDList"], m["ThumbprintList"], m["CreateDate"] = out.Url, out.ClientIDList, out.ThumbprintList, out.CreateDate
			tags = out.Tags
		}
		if err := put(t, sink, arn, TypeOIDCProvider, arn[strings.LastIndex(arn, "/")+1:], tags, m, errs); err != nil {
			return err
		}
	}
	return nil
}
