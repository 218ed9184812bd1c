package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/pipeline"
	"github.com/yagura-dev/yagura/internal/report"
)

func init() {
	subcommands = append(subcommands, newChecksCmd)
}

func newChecksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "The posture-check catalog: list checks, show framework coverage, re-evaluate a scan",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newChecksListCmd(), newChecksCoverageCmd(), newChecksRunCmd())
	return cmd
}

func newChecksListCmd() *cobra.Command {
	var framework, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the checks of the catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := check.Catalog(framework)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, cs)
			}
			rows := make([][]string, 0, len(cs))
			for _, c := range cs {
				rows = append(rows, []string{c.ID, c.Severity.String(), c.Scope, c.ResourceType, strings.Join(c.Controls, " "), c.Title})
			}
			return report.Table(os.Stdout, []string{"ID", "SEVERITY", "SCOPE", "RESOURCE TYPE", "CONTROLS", "TITLE"}, rows)
		},
	}
	cmd.Flags().StringVar(&framework, "framework", "", "only checks mapped to this framework ("+strings.Join(check.Frameworks, ", ")+")")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func newChecksCoverageCmd() *cobra.Command {
	var framework, format string
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Show which controls of a framework the catalog implements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if framework == "" {
				return errors.New("--framework is required (" + strings.Join(check.Frameworks, ", ") + ")")
			}
			if err := check.ValidateFramework(framework); err != nil {
				return err
			}
			cov := check.Coverage(framework)
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, cov)
			}
			auto, impl, outside := 0, 0, 0
			rows := make([][]string, 0, len(cov))
			for _, c := range cov {
				kind := "manual"
				if c.Automated {
					kind = "automated"
					auto++
				}
				state := "not implemented"
				if c.Implemented {
					state = "implemented"
					if c.Automated {
						impl++
					}
				} else if !c.Automated {
					state = "manual (not assessable)"
				}
				if c.Outside != "" {
					// fsbp: follows Security Hub's control numbering, which spans its standards.
					state += "; not in the FSBP standard (" + c.Outside + ")"
					outside++
				}
				rows = append(rows, []string{c.ID, kind, state, strings.Join(c.Checks, " "), c.Title})
			}
			if err := report.Table(os.Stdout, []string{"CONTROL", "ASSESSMENT", "STATUS", "CHECKS", "TITLE"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "\n%d of %d automated controls implemented (%d controls listed", impl, auto, len(cov))
			if outside > 0 {
				fmt.Fprintf(os.Stdout, "; %d of them outside the FSBP standard", outside)
			}
			fmt.Fprintln(os.Stdout, ")")
			return nil
		},
	}
	cmd.Flags().StringVar(&framework, "framework", "", "framework: "+strings.Join(check.Frameworks, ", "))
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func newChecksRunCmd() *cobra.Command {
	var scanID int64
	var format string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Re-evaluate the catalog over a stored scan (default: the newest finished scan)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := pipeline.EvaluateChecks(ctx, db, sc.ID)
			if err != nil {
				return err
			}
			// Settle findings this evaluation no longer reports, as a scan does.
			if err := db.FinalizeFindings(ctx, sc.ID); err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, map[string]any{"scan": sc.ID, "stats": st})
			}
			return report.Table(os.Stdout, []string{"SCAN", "RESOURCES", "RESULTS", "PASS", "FAIL", "ERROR", "DURATION"},
				[][]string{{fmt.Sprint(sc.ID), fmt.Sprint(st.Resources), fmt.Sprint(st.Evaluations), fmt.Sprint(st.Pass), fmt.Sprint(st.Fail), fmt.Sprint(st.Error), st.Duration.Round(1e6).String()}})
		},
	}
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the newest finished scan)")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}
