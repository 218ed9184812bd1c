// Package inspector2 collects whether Amazon Inspector scans each account and region, and for
// which resource kinds (EC2, ECR, Lambda). Inspector's findings are collected elsewhere.
package inspector2

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/inspector2"
	"github.com/aws/aws-sdk-go-v2/service/inspector2/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeAccountStatus is the resource type produced here.
const TypeAccountStatus = "AWS::Inspector2::AccountStatus"

func init() {
	collect.Register(&collect.Collector{
		Name:          "inspector2.account-status",
		Service:       "inspector2",
		Actions:       []string{"inspector2:BatchGetAccountStatus"},
		ResourceTypes: []string{TypeAccountStatus},
		Run:           collectStatus,
	})
}

// AccountStatusARN is the synthetic ARN of Inspector's status in an account-region.
func AccountStatusARN(t *collect.Target) string {
	return t.ARN("inspector2", t.Region, "account-status")
}

type statusConfig struct {
	*types.AccountState
	// Enabled is true when Inspector's account state is ENABLED (some scan type is on).
	Enabled bool
	// Ec2, Ecr and Lambda repeat ResourceState's per-kind status ("ENABLED", "DISABLED", …)
	// so checks need not walk nested pointers.
	Ec2, Ecr, Lambda, LambdaCode string
}

func status(s *types.State) string {
	if s == nil {
		return ""
	}
	return string(s.Status)
}

func collectStatus(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	// The target is the caller's own account; naming it (rather than relying on the default)
	// also makes emulators answer.
	out, err := inspector2.NewFromConfig(t.Config).BatchGetAccountStatus(ctx, &inspector2.BatchGetAccountStatusInput{AccountIds: []string{t.AccountID}})
	if err != nil {
		return err
	}
	r := &inventory.Resource{
		ARN:       AccountStatusARN(t),
		Type:      TypeAccountStatus,
		AccountID: t.AccountID,
		Region:    t.Region,
		Name:      "inspector2",
	}
	var state *types.AccountState
	for i := range out.Accounts {
		if aws.ToString(out.Accounts[i].AccountId) == t.AccountID || len(out.Accounts) == 1 {
			state = &out.Accounts[i]
		}
	}
	cfg := statusConfig{AccountState: state}
	if state != nil {
		cfg.Enabled = status(state.State) == string(types.StatusEnabled)
		if rs := state.ResourceState; rs != nil {
			cfg.Ec2, cfg.Ecr, cfg.Lambda, cfg.LambdaCode = status(rs.Ec2), status(rs.Ecr), status(rs.Lambda), status(rs.LambdaCode)
		}
	} else {
		reason := "BatchGetAccountStatus returned no status for the account"
		for _, f := range out.FailedAccounts {
			reason = string(f.ErrorCode) + ": " + aws.ToString(f.ErrorMessage)
		}
		r.Errors = map[string]string{"Enabled": reason}
	}
	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	return sink.PutResource(r)
}
