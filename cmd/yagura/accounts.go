package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newAccountsCmd, newCoverageCmd) }

// accountRow is what `yagura accounts` prints for each account.
type accountRow struct {
	store.Account
	Coverage map[string]int `json:"coverage"` // task outcome -> count in the scan
}

func newAccountsCmd() *cobra.Command {
	var format string
	var scanID int64
	cmd := &cobra.Command{
		Use:     "accounts",
		Short:   "List the organization's accounts with OU path, tags and the last scan's coverage",
		Example: "  yagura accounts\n  yagura accounts --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			accts, err := db.Accounts(ctx, sc.ID)
			if err != nil {
				return err
			}
			cov, err := db.CoverageOf(ctx, sc.ID)
			if err != nil {
				return err
			}
			byAcct := map[string]map[string]int{}
			for _, c := range cov {
				if byAcct[c.AccountID] == nil {
					byAcct[c.AccountID] = map[string]int{}
				}
				byAcct[c.AccountID][c.Status]++
			}
			rows := make([]accountRow, 0, len(accts))
			for _, a := range accts {
				c := byAcct[a.ID]
				if c == nil {
					c = map[string]int{}
				}
				rows = append(rows, accountRow{Account: a, Coverage: c})
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, rows)
			}
			var table [][]string
			for _, r := range rows {
				table = append(table, []string{r.ID, r.Name, r.Email, r.OUPath, fmtTags(r.Tags), r.Status, r.Access, fmtCounts(r.Coverage)})
			}
			return report.Table(os.Stdout, []string{"ACCOUNT", "NAME", "EMAIL", "OU PATH", "TAGS", "STATUS", "ACCESS", "COVERAGE"}, table)
		},
	}
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest finished scan)")
	return cmd
}

func newCoverageCmd() *cobra.Command {
	var format string
	var scanID int64
	var all bool
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Show what a scan could not see, by account × region × service",
		Long: "Every scan task (account × region × collector) records ok, denied, throttled, error or skipped with the reason.\n" +
			"The table shows the gaps (everything but ok) unless --all is given; json always lists every task.",
		Example: "  yagura coverage\n  yagura coverage --scan 3 --format json\n  yagura coverage --all",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			cov, err := db.CoverageOf(ctx, sc.ID)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, struct {
					Scan     store.Scan       `json:"scan"`
					Coverage []store.Coverage `json:"coverage"`
				}{sc, nonNil(cov)})
			}
			counts := map[string]int{}
			var table [][]string
			for _, c := range cov {
				counts[c.Status]++
				if c.Status == store.CoverageOK && !all {
					continue
				}
				table = append(table, []string{c.AccountID, c.Region, c.Service, c.Collector, c.Status, c.Reason})
			}
			fmt.Fprintf(os.Stdout, "scan %d (%s, %s): %s\n", sc.ID, sc.Status, sc.StartedAt.Format("2006-01-02 15:04"), fmtCounts(counts))
			if len(table) == 0 {
				fmt.Fprintln(os.Stdout, "no gaps: every task collected successfully")
				return nil
			}
			return report.Table(os.Stdout, []string{"ACCOUNT", "REGION", "SERVICE", "COLLECTOR", "STATUS", "REASON"}, table)
		},
	}
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest finished scan)")
	cmd.Flags().BoolVar(&all, "all", false, "list successful tasks too")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func fmtTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
