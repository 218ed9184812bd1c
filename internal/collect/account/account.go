// Package account collects the alternate contacts of each account (security, billing,
// operations) through the Account Management API, so that checks can tell whether AWS can reach
// the people responsible for security (FSBP Account.1, CIS 1.2).
package account

import (
	"context"
	"time"

	awsaccount "github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/account/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeAlternateContacts is the account-level resource holding the alternate contacts; its
// synthetic ARN is arn:PARTITION:account::ACCOUNT:alternate-contacts.
const TypeAlternateContacts = "AWS::Account::AlternateContacts"

func init() {
	collect.Register(&collect.Collector{Name: "account.alternate-contacts", Service: "account", Global: true,
		Actions: []string{"account:GetAlternateContact"}, ResourceTypes: []string{TypeAlternateContacts}, Run: runAlternateContacts})
}

// ARN is the synthetic ARN of an account's alternate contacts.
func ARN(partition, account string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":account::" + account + ":alternate-contacts"
}

// runAlternateContacts writes one resource whose Config has a key per contact type (SECURITY,
// BILLING, OPERATIONS): the GetAlternateContact AlternateContact, or null when none is set. The
// security contact is the reason the collector exists, so failing to read it fails the task;
// failing to read the others is recorded in Errors under their type.
func runAlternateContacts(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsaccount.NewFromConfig(t.Config)
	cfg := map[string]*types.AlternateContact{}
	errs := map[string]string{}
	for _, typ := range []types.AlternateContactType{types.AlternateContactTypeSecurity, types.AlternateContactTypeBilling, types.AlternateContactTypeOperations} {
		out, err := client.GetAlternateContact(ctx, &awsaccount.GetAlternateContactInput{AlternateContactType: typ})
		switch {
		case err == nil:
			cfg[string(typ)] = out.AlternateContact
		case awsx.ErrorCode(err) == "ResourceNotFoundException":
			cfg[string(typ)] = nil // no contact of this type: not configured, not an error
		case typ == types.AlternateContactTypeSecurity:
			return err
		default:
			cfg[string(typ)] = nil
			_, errs[string(typ)] = awsx.Classify(err)
		}
	}
	r := &inventory.Resource{ARN: ARN(t.Partition, t.AccountID), Type: TypeAlternateContacts, AccountID: t.AccountID, Region: "global",
		Name: "alternate-contacts", Config: inventory.MarshalConfig(cfg), CollectedAt: time.Now().UTC()}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return sink.PutResource(r)
}
