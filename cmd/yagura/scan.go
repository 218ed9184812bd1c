package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/pipeline"
	"github.com/yagura-dev/yagura/internal/scan"
)

func init() { subcommands = append(subcommands, newScanCmd) }

type scanFlags struct {
	accounts, exclude, ous, regions, services, rateLimits []string
	roleName, externalID                                  string
	concurrency                                           int
}

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan every account and region of the organization into the database",
		Example: `  yagura scan                                   # whole organization, every enabled region
  yagura scan --regions us-east-1,eu-west-1 --services ec2,s3,iam
  yagura scan --accounts 111111111111 --role-name OrganizationAccountAccessRole
  yagura scan --endpoint-url http://127.0.0.1:5000  # against moto`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts, err := f.options()
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			res, err := runScan(ctx, opts)
			if err != nil {
				return err
			}
			printScanSummary(res)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.accounts, "accounts", nil, "scan only these account ids")
	fl.StringSliceVar(&f.exclude, "exclude-accounts", nil, "skip these account ids")
	fl.StringSliceVar(&f.ous, "ous", nil, "scan only accounts under these OUs (id or name)")
	fl.StringVar(&f.roleName, "role-name", awsx.DefaultRoleName, "role assumed in every member account")
	fl.StringVar(&f.externalID, "external-id", "", "external id the role's trust policy requires")
	fl.StringSliceVar(&f.regions, "regions", nil, "regions to scan (default: every region enabled in each account)")
	fl.StringSliceVar(&f.services, "services", nil, "services to collect (default: all)")
	fl.IntVar(&f.concurrency, "concurrency", 64, "tasks calling AWS at once across the organization (a task asleep on a rate limit lends its turn; up to 4× as many are under way)")
	fl.StringSliceVar(&f.rateLimits, "rate-limit", nil, "override an API class's bucket, CLASS=RATE/BURST (e.g. securityhub:GetFindings=3/6)")
	fl.Var(newScanRiskWeights(), "risk-weights", weightsUsage+" (default: $"+riskWeightsEnv+")")
	return cmd
}

func (f scanFlags) options() (scan.Options, error) {
	o := scan.Options{
		Accounts: splitList(f.accounts), ExcludeAccounts: splitList(f.exclude), OUs: splitList(f.ous),
		RoleName: f.roleName, ExternalID: f.externalID, Regions: splitList(f.regions),
		Services: splitList(f.services), Concurrency: f.concurrency, RateLimits: map[string]awsx.Limit{},
	}
	for _, s := range splitList(f.rateLimits) {
		class, lim, err := awsx.ParseLimit(s)
		if err != nil {
			return o, err
		}
		o.RateLimits[class] = lim
	}
	return o, nil
}

// runScan wires a scan with progress display and the post-collection pipeline.
func runScan(ctx context.Context, opts scan.Options) (*scan.Result, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	stats := &scan.Stats{}
	live := isTerminal(os.Stderr) && !global.quiet && global.logFormat != "json"
	prog := newProgress(os.Stderr, live, stats)
	log := newLogger(prog)
	prog.log = log
	weights, err := scanWeights()
	if err != nil {
		return nil, err
	}
	s := &scan.Scanner{DB: db, Base: cfg, Log: log, Stats: stats}
	pipeline.Install(s, pipeline.Options{Weights: &weights})
	if !global.quiet {
		prog.start()
		defer prog.finish()
	}
	return s.Run(ctx, opts)
}

func printScanSummary(res *scan.Result) {
	if global.quiet {
		return
	}
	fmt.Fprintf(os.Stderr, "scan %d %s: %d accounts, %d tasks (ok %d, skipped %d, denied %d, throttled %d, error %d), %d API calls, %d throttled, %s\n",
		res.ScanID, res.Status, res.Accounts, res.Tasks, res.ByOutcome["ok"], res.ByOutcome["skipped"], res.ByOutcome["denied"],
		res.ByOutcome["throttled"], res.ByOutcome["error"], res.Calls, res.Throttles, res.Duration.Round(1e6))
	if res.Reason != "" {
		fmt.Fprintf(os.Stderr, "  %s\n", res.Reason)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
}
