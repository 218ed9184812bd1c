package check

import (
	"github.com/yagura-dev/yagura/internal/finding"
)

// Account checks read the account collector's alternate contacts
// (docs/resource-types/account.md).

func init() {
	Register(&Check{
		ID: "account.security_contact", Subject: "arn:{partition}:account::{account}:alternate-contacts",
		Title:       "Security contact information should be provided for an AWS account",
		Description: "The account has an alternate contact of type SECURITY, which AWS notifies about security issues.",
		Severity:    finding.Medium, ResourceType: TypeAlternateContacts, Scope: PerAccount, Inputs: []string{TypeAlternateContacts},
		Controls:    []string{"fsbp:Account.1"},
		Risk:        "AWS's notices about abuse or compromise of the account reach only the root email address, which may be nobody's inbox.",
		Remediation: Remediation{CLI: "aws account put-alternate-contact --alternate-contact-type SECURITY --email-address EMAIL --name NAME --phone-number PHONE --title TITLE", Console: "Account > Alternate contacts > Security > Edit", Doc: "https://docs.aws.amazon.com/securityhub/latest/userguide/account-controls.html"},
		EvalScope: func(e *Env, u Unit) Result {
			r := e.One(TypeAlternateContacts, u.Account, "global")
			if r == nil {
				return Errorf("alternate contacts not in the inventory")
			}
			c, err := decode[struct {
				SECURITY *struct{ EmailAddress, Name string }
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			var res Result
			if c.SECURITY == nil || c.SECURITY.EmailAddress == "" {
				res = Fail("no security contact", map[string]any{"SECURITY": nil})
			} else {
				res = Pass("security contact "+c.SECURITY.Name+" <"+c.SECURITY.EmailAddress+">", nil)
			}
			res.ARN, res.Type = r.ARN, r.Type
			return res
		},
	})
}
