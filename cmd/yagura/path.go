package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/risk"
)

func init() { subcommands = append(subcommands, newPathCmd) }

func newPathCmd() *cobra.Command {
	var scanID int64
	var format string
	cmd := &cobra.Command{
		Use:   "path RESOURCE",
		Short: "Show how a resource is reached from the internet and what it can reach",
		Long: `RESOURCE is an ARN, or an id or name that ends one (i-0abc…, a bucket or role name).
Prints the internet paths to the resource hop by hop with the rule that lets traffic through
each hop, where paths stop (and which rule stops them), its exploitable weaknesses, the roles it
runs as and what they reach, and the attack paths through it.`,
		Example: "  yagura path i-0123456789abcdef0\n  yagura path arn:aws:s3:::prod-customer-data --format json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := risk.PathReport(ctx, db, sc.ID, args[0])
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				return report.JSON(os.Stdout, rep)
			}
			return printPath(os.Stdout, rep)
		},
	}
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest finished scan)")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func printPath(w io.Writer, r risk.Report) error {
	ts := report.TerminalSafe
	fmt.Fprintf(w, "%s (%s, %s %s)\n", ts(r.Resource), r.Type, r.Account, r.Region)
	if r.Exposed {
		fmt.Fprintln(w, "internet-exposed:")
		for _, e := range r.Exposures {
			fmt.Fprintf(w, "  %s via %s\n", e.Ports(), e.Through)
			for _, h := range e.Hops {
				fmt.Fprintf(w, "    → %s", ts(h.ARN))
				if h.Via != "" {
					fmt.Fprintf(w, "  [%s]", ts(h.Via))
				}
				fmt.Fprintln(w)
			}
		}
	} else {
		fmt.Fprintln(w, "not reachable from the internet")
	}
	for _, b := range r.Blocked {
		fmt.Fprintf(w, "  stopped: %s\n", ts(b.Reason))
	}
	if len(r.Weaknesses) > 0 {
		fmt.Fprintln(w, "weaknesses:")
		for _, wk := range r.Weaknesses {
			fmt.Fprintf(w, "  - %s\n", ts(wk.What))
		}
	}
	for _, ro := range r.Roles {
		kind := "role"
		if strings.Contains(ro.ARN, ":user/") {
			kind = "user"
		}
		fmt.Fprintf(w, "%s %s\n", kind, ts(ro.ARN))
		if ro.Admin != "" {
			fmt.Fprintf(w, "  administrator via %s\n", ts(ro.Admin))
		}
		if ro.Admin != "" && len(ro.Privesc) > 1 {
			// An administrator can do them all: one line says so (JSON keeps the list).
			fmt.Fprintf(w, "  privilege escalation: all %d known actions\n", len(ro.Privesc))
		} else {
			for _, p := range ro.Privesc {
				fmt.Fprintf(w, "  privilege escalation: %s\n", ts(p))
			}
		}
		if ro.TrustAnyone {
			fmt.Fprintln(w, "  trusted by anyone")
		}
		if len(ro.TrustAccounts) > 0 {
			fmt.Fprintf(w, "  trusted by accounts %s\n", strings.Join(ro.TrustAccounts, ", "))
		}
		for _, re := range ro.Reaches {
			s := ""
			if re.Sensitivity != "" {
				s = " [" + re.Sensitivity + "]"
			}
			fmt.Fprintf(w, "  reaches %s %s (%s via %s)%s\n", re.Kind, ts(re.Name), re.Access, ts(re.Via), s)
		}
		for _, rm := range ro.Removed {
			fmt.Fprintf(w, "  cannot %s: %s\n", ts(rm.What), ts(rm.By))
		}
	}
	for _, p := range r.AttackPaths {
		fmt.Fprintf(w, "attack path: %s\n", ts(p))
	}
	return nil
}
