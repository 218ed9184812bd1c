// Package iamname gives the IAM users and roles that native security services name by name alone
// (GuardDuty's access keys, Trusted Advisor's IAM checks) the inventory's ARN, which carries the
// path (arn:aws:iam::ACCOUNT:user/PATH/NAME), with one IAM read per distinct name and task.
package iamname

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

// Actions are the IAM actions a collector using a Resolver calls.
var Actions = []string{"iam:GetUser", "iam:GetRole"}

// Resolver resolves names for one scan task; it is not safe for concurrent use.
type Resolver struct {
	client *iam.Client
	arns   map[string]string // kind/name → ARN
	errs   map[string]string // kind/name → why it could not be read
}

// New returns a resolver reading IAM with cfg (IAM is global: any region of the partition).
func New(cfg aws.Config) *Resolver {
	return &Resolver{client: iam.NewFromConfig(cfg), arns: map[string]string{}, errs: map[string]string{}}
}

// Resolve gives f its principal's inventory ARN when f is marked unmatched for want of the path
// (native.IAMPrincipal). A principal IAM cannot tell about (deleted since, permission denied)
// keeps the path-less ARN and the mark, with IAM's reason added.
func (r *Resolver) Resolve(ctx context.Context, f *finding.Finding) {
	kind, name := native.IAMPrincipal(f)
	if kind == "" || name == "" {
		return
	}
	key := kind + "/" + name
	if _, done := r.arns[key]; !done && r.errs[key] == "" {
		arn, err := r.read(ctx, kind, name)
		switch {
		case err != nil:
			_, r.errs[key] = awsx.Classify(err)
		case arn == "":
			r.errs[key] = "IAM returned no ARN"
		default:
			r.arns[key] = arn
		}
	}
	if arn := r.arns[key]; arn != "" {
		native.Matched(f, arn)
		return
	}
	native.MarkUnmatched(f, "", native.Unmatched(f)+"; IAM could not resolve it: "+r.errs[key])
}

func (r *Resolver) read(ctx context.Context, kind, name string) (string, error) {
	if kind == "user" {
		out, err := r.client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
		if err != nil || out.User == nil {
			return "", err
		}
		return aws.ToString(out.User.Arn), nil
	}
	out, err := r.client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil || out.Role == nil {
		return "", err
	}
	return aws.ToString(out.Role.Arn), nil
}
