package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	_ "github.com/yagura-dev/yagura/internal/collect/accessanalyzer" // native-findings collectors
	_ "github.com/yagura-dev/yagura/internal/collect/ssm"
	_ "github.com/yagura-dev/yagura/internal/collect/trustedadvisor"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() {
	subcommands = append(subcommands, newScansCmd)
}

func newScansCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scans",
		Short: "List scans and prune old ones",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newScansListCmd(), newScansPruneCmd())
	return cmd
}

// scanRow is what `yagura scans list` prints for a scan.
type scanRow struct {
	store.Scan
	DurationS float64 `json:"duration_s,omitempty"`
}

func newScansListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the scans in the database, newest first",
		Example: "  yagura scans list\n  yagura scans list --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			scans, err := db.Scans(ctx)
			if err != nil {
				return err
			}
			rows := make([]scanRow, 0, len(scans))
			for _, s := range scans {
				r := scanRow{Scan: s}
				if s.FinishedAt != nil {
					r.DurationS = s.FinishedAt.Sub(s.StartedAt).Seconds()
				}
				rows = append(rows, r)
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, rows)
			}
			var table [][]string
			for _, r := range rows {
				dur := ""
				if r.FinishedAt != nil {
					dur = time.Duration(r.DurationS * float64(time.Second)).Round(time.Second).String()
				}
				table = append(table, []string{strconv.FormatInt(r.ID, 10), r.StartedAt.UTC().Format(time.RFC3339), dur, r.Status,
					r.CallerAccount, report.TerminalSafe(r.StatusReason)})
			}
			return report.Table(os.Stdout, []string{"SCAN", "STARTED", "DURATION", "STATUS", "CALLER", "REASON"}, table)
		},
	}
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func newScansPruneCmd() *cobra.Command {
	var keep int
	var format string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete all but the newest scans, keeping the history of findings that are still open",
		Long: `Deletes every scan but the --keep newest, with their inventory and coverage. Findings keep
their lifecycle: a finding still open (or seen in a kept scan) keeps its first_seen and its whole
event history; only findings resolved and last seen in a deleted scan are removed.`,
		Example: "  yagura scans prune --keep 30",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keep < 1 {
				return &exitError{code: 1, msg: "--keep must be at least 1"}
			}
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := db.PruneScans(ctx, keep)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, res)
			}
			fmt.Fprintf(os.Stdout, "deleted %d scans %v and %d resolved findings\n", len(res.Scans), res.Scans, res.Findings)
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 0, "number of newest scans to keep (required)")
	_ = cmd.MarkFlagRequired("keep")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}
