package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mutelist"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newFindingsCmd) }

// findingQuery is the filter flags shared by `findings` and `export securityhub`.
type findingQuery struct {
	statuses, accounts, regions, checks, sources, lifecycles []string
	severity, control, resource, mutelistFile                string
	mutedOnly                                                bool
}

// addFlags adds the filter flags; accountFlag and regionFlag name the account and region
// filters ("account"/"region" for findings, other names where those mean the export target).
func (q *findingQuery) addFlags(cmd *cobra.Command, accountFlag, regionFlag string) {
	f := cmd.Flags()
	f.StringSliceVar(&q.statuses, "status", nil, "PASS, FAIL and/or ERROR (repeat or comma-separate)")
	f.StringVar(&q.severity, "severity", "", "severity, e.g. high (exactly) or high+ (high and above)")
	f.StringSliceVar(&q.accounts, accountFlag, nil, "account ids")
	f.StringSliceVar(&q.regions, regionFlag, nil, "regions (\"global\" for account-wide findings)")
	f.StringVar(&q.control, "control", "", "control id, e.g. fsbp:EC2.13 or cis-aws-3.0:5.2")
	f.StringSliceVar(&q.checks, "check", nil, "check ids")
	f.StringVar(&q.resource, "resource", "", "resource ARN or glob (* and ?)")
	f.StringSliceVar(&q.sources, "source", nil, "sources: yagura, securityhub, guardduty, inspector2, config, accessanalyzer, trustedadvisor, ssm")
	f.StringSliceVar(&q.lifecycles, "lifecycle", nil, "new, open and/or resolved")
	f.BoolVar(&q.mutedOnly, "muted", false, "only muted findings (mutelist or dashboard)")
	f.StringVar(&q.mutelistFile, "mutelist", os.Getenv("YAGURA_MUTELIST"), "mutelist YAML file (env YAGURA_MUTELIST); default: the list stored with `yagura mutelist import`")
}

// load runs the query, applies the mutelist and returns the findings plus warnings about
// expired mutes.
func (q *findingQuery) load(ctx context.Context, db *store.DB) ([]*finding.Finding, []string, error) {
	filter := store.FindingFilter{
		Accounts: splitList(q.accounts), Regions: splitList(q.regions), Control: q.control,
		CheckIDs: splitList(q.checks), Sources: splitList(q.sources), ResourceGlob: q.resource,
		Lifecycles: splitList(q.lifecycles),
	}
	for _, s := range splitList(q.statuses) {
		s = strings.ToUpper(s)
		if s != string(finding.Pass) && s != string(finding.Fail) && s != string(finding.Error) {
			return nil, nil, fmt.Errorf("--status %q: want PASS, FAIL or ERROR", s)
		}
		filter.Statuses = append(filter.Statuses, s)
	}
	if q.severity != "" {
		if err := filter.AddSeverity(q.severity); err != nil {
			return nil, nil, fmt.Errorf("--severity: %w", err)
		}
	}
	ml, mlName, err := q.mutelist(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC()
	var out []*finding.Finding
	err = db.EachFinding(ctx, filter, func(f *finding.Finding) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// One function decides mutes for the CLI, exports and the dashboard: the YAML rules and the
	// mutes set on findings in the dashboard.
	if err := db.ApplyMutesWith(ctx, out, ml, now); err != nil {
		return nil, nil, err
	}
	if q.mutedOnly {
		kept := out[:0]
		for _, f := range out {
			if f.Muted {
				kept = append(kept, f)
			}
		}
		out = kept
	}
	var warnings []string
	if ml != nil {
		for _, e := range ml.Expired(now) {
			warnings = append(warnings, fmt.Sprintf("%s: mute %q expired on %s and no longer mutes anything", mlName, e.Reason, e.Expires))
		}
	}
	return out, warnings, nil
}

// mutelist returns the YAML mutelist to apply: --mutelist (or YAGURA_MUTELIST) when given,
// otherwise the one stored with `yagura mutelist import` (nil when neither), and its name for
// warnings.
func (q *findingQuery) mutelist(ctx context.Context, db *store.DB) (*mutelist.List, string, error) {
	if q.mutelistFile != "" {
		l, err := mutelist.Load(q.mutelistFile)
		return l, q.mutelistFile, err
	}
	stored, err := db.Mutelist(ctx)
	if err != nil || stored == nil {
		return nil, "", err
	}
	return stored.List, "stored mutelist", nil
}

func newFindingsCmd() *cobra.Command {
	var q findingQuery
	var format, output, failOn, asffAccount, asffRegion string
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List findings (yagura checks and native AWS services) with filters, exports and CI gating",
		Long: `List the current findings. Filters combine; --format picks the output, --output writes it to a
file, and --fail-on SEVERITY exits with status 3 when a non-muted FAIL at or above that severity
is among the listed findings (for CI).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var gate *finding.Severity
			if failOn != "" {
				s, err := finding.ParseSeverity(strings.TrimSuffix(failOn, "+"))
				if err != nil {
					return fmt.Errorf("--fail-on: %w", err)
				}
				gate = &s
			}
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			fs, warnings, err := q.load(ctx, db)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "warning:", w)
			}
			var w io.Writer = os.Stdout
			if output != "" {
				file, err := os.Create(output)
				if err != nil {
					return err
				}
				defer file.Close()
				w = file
			}
			if err := writeFindings(w, format, fs, asffAccount, asffRegion); err != nil {
				return err
			}
			if gate != nil {
				n := 0
				for _, f := range fs {
					if f.Status == finding.Fail && !f.Muted && f.Severity >= *gate {
						n++
					}
				}
				if n > 0 {
					return &exitError{code: 3, msg: fmt.Sprintf("%d non-muted FAIL findings at severity %s or above", n, gate.String())}
				}
			}
			return nil
		},
	}
	q.addFlags(cmd, "account", "region")
	formats := []string{report.FormatTable, report.FormatJSON, report.FormatJSONL, report.FormatCSV, report.FormatOCSF, report.FormatASFF, report.FormatSARIF}
	addFormatFlag(cmd, &format, formats...)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 3 when a non-muted FAIL at this severity or above exists (e.g. high)")
	cmd.Flags().StringVar(&asffAccount, "asff-account", "", "asff: account whose Security Hub will import the findings (default: each finding's own)")
	cmd.Flags().StringVar(&asffRegion, "asff-region", "", "asff: region of that Security Hub (default: each finding's own, us-east-1 for global)")
	return cmd
}

func writeFindings(w io.Writer, format string, fs []*finding.Finding, asffAccount, asffRegion string) error {
	switch format {
	case report.FormatJSON:
		if fs == nil {
			fs = []*finding.Finding{}
		}
		return report.JSON(w, fs)
	case report.FormatJSONL:
		return report.JSONLines(w, fs)
	case report.FormatOCSF:
		return report.OCSF(w, fs)
	case report.FormatSARIF:
		return report.SARIF(w, fs, "dev")
	case report.FormatASFF:
		out := make([]map[string]any, 0, len(fs))
		for _, f := range fs {
			t := report.ASFFTarget{Account: asffAccount, Region: asffRegion}
			if t.Account == "" {
				t.Account = f.AccountID
			}
			if t.Region == "" {
				t.Region = f.Region
				if t.Region == "" || t.Region == "global" {
					t.Region = "us-east-1"
				}
			}
			out = append(out, report.ASFFFinding(f, t))
		}
		return report.JSON(w, out)
	}
	header := []string{"ID", "STATUS", "SEVERITY", "MUTED", "LIFECYCLE", "ACCOUNT", "REGION", "CHECK", "CONTROLS", "RESOURCE", "TITLE", "DETAIL"}
	rows := make([][]string, 0, len(fs))
	for _, f := range fs {
		muted := ""
		if f.Muted {
			muted = "muted: " + f.MuteReason
		} else if f.MuteReason != "" {
			muted = f.MuteReason
		}
		id := f.ID
		if format == report.FormatTable && len(id) > 12 {
			id = id[:12]
		}
		rows = append(rows, []string{id, string(f.Status), f.Severity.String(), muted, f.Lifecycle, f.AccountID, f.Region,
			f.CheckID, strings.Join(f.Controls, " "), f.ResourceARN, f.Title, f.Detail})
	}
	if format == report.FormatCSV {
		return report.CSV(w, header, rows)
	}
	return report.Table(w, header, rows)
}
