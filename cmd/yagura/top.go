package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/risk"
	"github.com/yagura-dev/yagura/internal/store"
)

// riskWeightsEnv names weights (a YAML file or name=value pairs) for the scoring done by every
// scan when `yagura scan --risk-weights` does not name them.
const riskWeightsEnv = "YAGURA_RISK_WEIGHTS"

// weightsFlag is a --risk-weights value, parsed when the flag is read so that a typo fails
// before a scan starts rather than after it collected everything.
type weightsFlag struct {
	spec string
	w    *risk.Weights
}

func (f *weightsFlag) String() string { return f.spec }
func (f *weightsFlag) Type() string   { return "FILE|name=value,..." }
func (f *weightsFlag) Set(s string) error {
	w, err := risk.ParseWeights(s)
	if err != nil {
		return err
	}
	f.spec, f.w = s, &w
	return nil
}

const weightsUsage = "risk score weights: a YAML file or name=value pairs (severity, exploitability, exposure, blast_radius, environment, data)"

// scanRiskWeights is `yagura scan --risk-weights`; newScanRiskWeights resets it for each new
// scan command (tests run many in one process).
var scanRiskWeights weightsFlag

func newScanRiskWeights() *weightsFlag {
	scanRiskWeights = weightsFlag{}
	return &scanRiskWeights
}

// scanWeights are the weights a scan scores with: its --risk-weights, else $YAGURA_RISK_WEIGHTS,
// else the defaults.
func scanWeights() (risk.Weights, error) {
	if scanRiskWeights.w != nil {
		return *scanRiskWeights.w, nil
	}
	w, err := risk.ParseWeights(os.Getenv(riskWeightsEnv))
	if err != nil {
		return w, fmt.Errorf("$%s: %w", riskWeightsEnv, err)
	}
	return w, nil
}

func init() {
	subcommands = append(subcommands, newTopCmd)
}

// topItem is one entry of the ranked queue.
type topItem = store.RankedFinding

func newTopCmd() *cobra.Command {
	var n int
	var accounts []string
	var format string
	var weights weightsFlag
	cmd := &cobra.Command{
		Use:   "top",
		Short: "The ranked risk queue: failed findings worst first, each with its score, reason and path",
		Long: `Lists the failed findings of the latest scan ranked by risk score (docs/risk.md): severity,
exploitability, internet exposure, the blast radius of the attached identity, the account's
environment and data sensitivity. Attack paths (check risk.attack_path) are findings of their own.

--risk-weights (or its older name --weights) re-scores the latest scan with other weights (a YAML
file or name=value pairs, e.g. exposure=40,environment=0) before listing; scans take the same
from their own --risk-weights, else $` + riskWeightsEnv + `.`,
		Example: "  yagura top\n  yagura top -n 50 --account 111111111111 --format json\n  yagura top --risk-weights exposure=40,data=20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if weights.w != nil {
				sc, err := db.GetScan(ctx, 0)
				if err != nil {
					return err
				}
				if _, err := risk.Run(ctx, db, sc.ID, *weights.w); err != nil {
					return err
				}
			}
			items, err := db.RiskQueue(ctx, splitList(accounts), n, 0)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, items)
			}
			return printTop(os.Stdout, items)
		},
	}
	cmd.Flags().IntVarP(&n, "limit", "n", 20, "how many items")
	cmd.Flags().StringSliceVar(&accounts, "account", nil, "only these accounts (repeat or comma-separate)")
	cmd.Flags().Var(&weights, "risk-weights", "re-score the latest scan with these "+weightsUsage)
	cmd.Flags().Var(&weights, "weights", "the older name of --risk-weights")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func printTop(w io.Writer, items []topItem) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "no failed findings")
		return err
	}
	for _, it := range items {
		score, reason, path := 0.0, "not scored yet", ""
		if r := it.Risk; r != nil {
			score, reason = r.Score, r.Reason
			var short []string
			for _, p := range r.Path {
				short = append(short, risk.ShortRef(p))
			}
			path = strings.Join(short, " → ")
		}
		fmt.Fprintf(w, "%3d. [%5.1f] %-8s %s\n", it.Rank, score, it.Severity, report.TerminalSafe(it.Title))
		fmt.Fprintf(w, "      %s  %s  %s\n", it.AccountID, it.Region, report.TerminalSafe(it.ResourceARN))
		if reason != "" {
			fmt.Fprintf(w, "      why:  %s\n", report.TerminalSafe(reason))
		}
		if path != "" {
			fmt.Fprintf(w, "      path: %s\n", report.TerminalSafe(path))
		}
	}
	return nil
}
