package demo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// seedIdentity plants an IAM user with a console password, no MFA and an access key, and a
// customer managed policy that is administrator-equivalent through a wildcard action.
func (o *Org) seedIdentity(ctx context.Context, base aws.Config) error {
	ic := iam.NewFromConfig(o.Config(base, "dev", Regions[0]))
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		return err
	}
	if _, err := ic.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Demo-only-password-1!")}); err != nil {
		return err
	}
	// The emulator dates keys now; in a real account this key would be years old.
	if _, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}); err != nil {
		return err
	}
	o.Planted["user-console-no-mfa"] = "alice"
	doc := mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": []string{"s3:*", "*"}, "Resource": "*"}}})
	pol, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("DevFullAccess"), PolicyDocument: aws.String(doc)})
	if err != nil {
		return err
	}
	if _, err := ic.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: pol.Policy.Arn}); err != nil {
		return err
	}
	o.Planted["policy-admin-equivalent"] = aws.ToString(pol.Policy.Arn)
	if _, err := ic.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(8)}); err != nil {
		return err
	}
	// A role in staging trusted by an account outside the organization.
	sc := iam.NewFromConfig(o.Config(base, "staging", Regions[0]))
	trust := mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}}})
	if _, err := sc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("vendor-support"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		return err
	}
	o.Planted["role-external-trust"] = "vendor-support"
	return nil
}
