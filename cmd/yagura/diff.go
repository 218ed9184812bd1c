package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newDiffCmd) }

// Finding changes between two scans.
const (
	changeNew      = "new"
	changeResolved = "resolved"
	changeReopened = "reopened"
	changeStale    = "stale" // still open, but its source could not look again
)

// findingChange is one finding that changed between the two scans, with its current state.
type findingChange struct {
	Change string `json:"change"`
	Reason string `json:"reason,omitempty"`
	*finding.Finding
}

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

// resolveScans picks the two scans to compare.
func resolveScans(ctx context.Context, db *store.DB, from, to int64) (int64, int64, error) {
	toScan, err := db.GetScan(ctx, to)
	if err != nil {
		return 0, 0, fmt.Errorf("scan --to: %w", err)
	}
	if from == 0 {
		scans, err := db.Scans(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, s := range scans { // newest first
			if s.ID < toScan.ID && (s.Status == store.ScanComplete || s.Status == store.ScanPartial) {
				from = s.ID
				break
			}
		}
		if from == 0 {
			return 0, 0, fmt.Errorf("no finished scan before scan %d to compare with", toScan.ID)
		}
	} else if _, err := db.GetScan(ctx, from); err != nil {
		return 0, 0, fmt.Errorf("scan --from: %w", err)
	}
	if from >= toScan.ID {
		return 0, 0, &exitError{code: 1, msg: fmt.Sprintf("--from (%d) must be older than --to (%d)", from, toScan.ID)}
	}
	return from, toScan.ID, nil
}

// computeDiff reads the finding events recorded by the scans after `from` up to `to` and
// reduces each finding's events to its net change, then lists the resources that differ.
func computeDiff(ctx context.Context, db *store.DB, from, to int64, resources bool) (*diffResult, error) {
	from, to, err := resolveScans(ctx, db, from, to)
	if err != nil {
		return nil, err
	}
	res := &diffResult{From: from, To: to, Findings: []findingChange{}, Resources: []store.ResourceChange{}}
	events, err := db.FindingEvents(ctx, "", from+1, to)
	if err != nil {
		return nil, err
	}
	type net struct{ change, reason string }
	byID := map[string]*net{}
	var order []string
	for _, e := range events { // in scan order
		n := byID[e.FindingID]
		if n == nil {
			n = &net{}
			byID[e.FindingID] = n
			order = append(order, e.FindingID)
		}
		switch e.Event {
		case "new":
			if e.Detail == string(finding.Fail) {
				n.change, n.reason = changeNew, ""
			}
		case "reopened":
			if n.change != changeNew {
				n.change = changeReopened
			}
			n.reason = ""
		case "resolved":
			if n.change == changeNew {
				n.change = "" // appeared and went away between the two scans
			} else {
				n.change, n.reason = changeResolved, e.Detail
			}
		case "stale":
			if n.change == "" {
				n.change, n.reason = changeStale, e.Detail
			}
		}
	}
	var ids []string
	for _, id := range order {
		if byID[id].change != "" {
			ids = append(ids, id)
		}
	}
	current := map[string]*finding.Finding{}
	for chunk := range slices.Chunk(ids, 500) {
		fs, err := db.Findings(ctx, store.FindingFilter{IDs: chunk})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			current[f.ID] = f
		}
	}
	for _, id := range ids {
		f, n := current[id], byID[id]
		if f == nil {
			continue
		}
		// A stale finding that is not failing (a passing check that could not be re-run) is no news.
		if n.change == changeStale && (f.Status != finding.Fail || f.Lifecycle == finding.LifecycleResolved) {
			continue
		}
		res.Findings = append(res.Findings, findingChange{Change: n.change, Reason: n.reason, Finding: f})
	}
	rank := map[string]int{changeNew: 0, changeReopened: 1, changeResolved: 2, changeStale: 3}
	slices.SortStableFunc(res.Findings, func(a, b findingChange) int {
		if d := rank[a.Change] - rank[b.Change]; d != 0 {
			return d
		}
		return int(b.Severity) - int(a.Severity)
	})
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
