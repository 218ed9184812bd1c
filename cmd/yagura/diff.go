package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newDiffCmd) }

// Finding changes between two scans (store.FindingChanges).
const (
	changeNew      = store.ChangeNew
	changeResolved = store.ChangeResolved
	changeReopened = store.ChangeReopened
	changeStale    = store.ChangeStale
)

// findingChange is one finding that changed between the two scans, with its current state.
type findingChange = store.FindingChange

// diffResult is the JSON of `yagura diff`.
type diffResult struct {
	From      int64                  `json:"from"`
	To        int64                  `json:"to"`
	Findings  []findingChange        `json:"findings"`
	Resources []store.ResourceChange `json:"resources"`
}

func newDiffCmd() *cobra.Command {
	var from, to int64
	var format string
	var noResources bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what changed between two scans: new, resolved, reopened and stale findings, changed resources",
		Long: `Compares two scans (default: the latest finished scan and the one before it).

Findings: new (first reported, failing), resolved (fixed, or no longer reported by a source that
did succeed in the later scan), reopened (failing again after being resolved), stale (still
open, but the collector or check that reports it failed in the later scan, so nothing is known).
Resources: added, removed, changed (configuration, tags, read errors or name), and unseen
(absent from the later scan because the collector that reads it failed there: not known to be
removed).`,
		Example: "  yagura diff\n  yagura diff --from 12 --to 15 --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := computeDiff(ctx, db, from, to, !noResources)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, res)
			}
			return printDiff(os.Stdout, res)
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "earlier scan id (default: the finished scan before --to)")
	cmd.Flags().Int64Var(&to, "to", 0, "later scan id (default: the latest finished scan)")
	cmd.Flags().BoolVar(&noResources, "no-resources", false, "compare findings only")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

// resolveScans picks the two scans to compare (store.ScanPair), with the CLI's exit code for
// a reversed pair.
func resolveScans(ctx context.Context, db *store.DB, from, to int64) (int64, int64, error) {
	from, to, err := db.ScanPair(ctx, from, to)
	var order *store.ScanOrderError
	if errors.As(err, &order) {
		return 0, 0, &exitError{code: 1, msg: err.Error()}
	}
	return from, to, err
}

// computeDiff reduces the finding events between the two scans to each finding's net change
// (store.FindingChanges), then lists the resources that differ.
func computeDiff(ctx context.Context, db *store.DB, from, to int64, resources bool) (*diffResult, error) {
	from, to, err := resolveScans(ctx, db, from, to)
	if err != nil {
		return nil, err
	}
	changes, err := db.FindingChanges(ctx, from, to)
	if err != nil {
		return nil, err
	}
	res := &diffResult{From: from, To: to, Findings: changes, Resources: []store.ResourceChange{}}
	if resources {
		unseen, err := unseenIn(ctx, db, to)
		if err != nil {
			return nil, err
		}
		err = db.EachResourceChange(ctx, from, to, func(c store.ResourceChange) error {
			if c.Change == store.ResourceRemoved {
				if reason := unseen(c.Type, c.AccountID, c.Region); reason != "" {
					c.Change, c.Fields = resourceUnseen, []string{reason}
				}
			}
			res.Resources = append(res.Resources, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// resourceUnseen replaces "removed" for a resource whose collector did not succeed in the later
// scan: it may well still exist.
const resourceUnseen = "unseen"

// unseenIn returns a function that says why resources of a type in an account and region were
// not collected by scan (the coverage of the collectors that produce the type), or "" when they
// were.
func unseenIn(ctx context.Context, db *store.DB, scanID int64) (func(typ, account, region string) string, error) {
	cov, err := db.CoverageOf(ctx, scanID)
	if err != nil {
		return nil, err
	}
	byTask := map[string]store.Coverage{}
	for _, c := range cov {
		byTask[c.Collector+"|"+c.AccountID+"|"+c.Region] = c
	}
	producers := map[string][]*collect.Collector{}
	for _, c := range collect.All() {
		for _, t := range c.ResourceTypes {
			producers[t] = append(producers[t], c)
		}
	}
	return func(typ, account, region string) string {
		for _, c := range producers[typ] {
			reg := region
			if c.Global {
				reg = "global"
			}
			cv, ok := byTask[c.Name+"|"+account+"|"+reg]
			switch {
			case !ok:
				return c.Name + " did not run"
			case cv.Status != store.CoverageOK:
				return c.Name + " " + cv.Status + ": " + cv.Reason
			}
		}
		return ""
	}, nil
}

func printDiff(w io.Writer, res *diffResult) error {
	counts := map[string]int{}
	var rows [][]string
	for _, c := range res.Findings {
		counts[c.Change]++
		srcs := strings.Join(c.Sources, ",")
		if srcs == "" {
			srcs = c.Source
		}
		title := c.Title
		if c.Reason != "" && c.Change == changeStale {
			title += " (" + c.Reason + ")"
		}
		rows = append(rows, []string{c.Change, c.Severity.String(), string(c.Status), srcs, c.AccountID, c.Region,
			report.TerminalSafe(c.ResourceARN), report.TerminalSafe(title)})
	}
	fmt.Fprintf(w, "scan %d → %d: %d new, %d reopened, %d resolved, %d stale findings; %d resource changes\n\n",
		res.From, res.To, counts[changeNew], counts[changeReopened], counts[changeResolved], counts[changeStale], len(res.Resources))
	if len(rows) > 0 {
		if err := report.Table(w, []string{"CHANGE", "SEVERITY", "STATUS", "SOURCES", "ACCOUNT", "REGION", "RESOURCE", "TITLE"}, rows); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(res.Resources) > 0 {
		var rrows [][]string
		for _, r := range res.Resources {
			rrows = append(rrows, []string{r.Change, r.Type, r.AccountID, r.Region, report.TerminalSafe(r.ARN), strings.Join(r.Fields, ",")})
		}
		return report.Table(w, []string{"CHANGE", "TYPE", "ACCOUNT", "REGION", "ARN", "FIELDS"}, rrows)
	}
	return nil
}
