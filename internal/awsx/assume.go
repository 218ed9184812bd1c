package awsx

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// RoleOptions say how to enter member accounts.
type RoleOptions struct {
	RoleName   string // default yagura-audit
	ExternalID string
	Partition  string // aws, aws-cn, aws-us-gov; default aws
	// Duration of each session. Role chaining caps it at one hour; sessions are refreshed
	// automatically before they expire, so scans may run longer.
	Duration time.Duration
	// RefreshBefore is how long before expiry a session is renewed.
	RefreshBefore time.Duration
}

// DefaultRoleName is the audit role the CloudFormation template creates.
const DefaultRoleName = "yagura-audit"

// RoleARN is the ARN of the audit role in account.
func (o RoleOptions) RoleARN(account string) string {
	p := o.Partition
	if p == "" {
		p = "aws"
	}
	name := o.RoleName
	if name == "" {
		name = DefaultRoleName
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", p, account, name)
}

// AssumeConfig returns a copy of base whose credentials are the audit role's in account, cached and
// refreshed before they expire. The caller's own account uses base unchanged.
func AssumeConfig(base aws.Config, callerAccount, account string, o RoleOptions) aws.Config {
	cfg := base.Copy()
	if account == callerAccount {
		return cfg
	}
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), o.RoleARN(account), func(ao *stscreds.AssumeRoleOptions) {
		ao.RoleSessionName = "yagura-scan"
		if o.ExternalID != "" {
			ao.ExternalID = aws.String(o.ExternalID)
		}
		ao.Duration = o.Duration
		if ao.Duration == 0 {
			ao.Duration = time.Hour
		}
	})
	refresh := o.RefreshBefore
	if refresh == 0 {
		refresh = 5 * time.Minute
	}
	cfg.Credentials = aws.NewCredentialsCache(provider, func(co *aws.CredentialsCacheOptions) {
		co.ExpiryWindow = refresh
		co.ExpiryWindowJitterFrac = 0.2
	})
	return cfg
}

// CheckCredentials retrieves credentials once so an unusable role is found before its tasks run.
func CheckCredentials(ctx context.Context, cfg aws.Config) error {
	_, err := cfg.Credentials.Retrieve(ctx)
	return err
}
