package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/trail"
)

// athenaFlags say where the table lives and how to run queries.
type athenaFlags struct {
	table, database, workgroup, output string
	run                                bool
	format                             string
}

func (a *athenaFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&a.table, "table", "cloudtrail_logs", "Athena table name (optionally database.table)")
	fl.StringVar(&a.database, "database", "default", "Athena database for --run")
	fl.StringVar(&a.workgroup, "workgroup", "", "Athena workgroup for --run (default: the account's primary)")
	fl.StringVar(&a.output, "output", "", "S3 location for query results (s3://bucket/prefix/), unless the workgroup sets one")
	fl.BoolVar(&a.run, "run", false, "execute the SQL through the Athena API and print the results")
	addFormatFlag(cmd, &a.format, report.FormatTable, report.FormatJSON)
}

// execute prints sql, or runs it with --run.
func (a *athenaFlags) execute(cmd *cobra.Command, sql string) error {
	if !a.run {
		if a.format == report.FormatJSON {
			return report.JSON(os.Stdout, map[string]string{"sql": sql})
		}
		fmt.Println(sql)
		return nil
	}
	ctx, cancel := signalContext(cmd)
	defer cancel()
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	res, err := trail.RunQuery(ctx, athena.NewFromConfig(cfg), sql, a.workgroup, a.output, a.database, time.Second)
	if err != nil {
		return err
	}
	if a.format == report.FormatJSON {
		return report.JSON(os.Stdout, res)
	}
	header := res.Columns
	if len(header) == 0 && len(res.Rows) > 0 {
		header = make([]string, len(res.Rows[0]))
	}
	for i := range header {
		header[i] = strings.ToUpper(header[i])
	}
	return report.Table(os.Stdout, header, res.Rows)
}

func newTrailAthenaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "athena",
		Short: "Query the archive with Athena: the table, search filters and detections as SQL",
		Long: `athena writes the CREATE TABLE for the archive, with partition projection over the key
layout (account, region, day) so a query reads only the prefixes it names, and translates search
filters and the built-in detections into Athena SQL. With --run it executes the statement through
the Athena API, waits for it and prints the result.`,
	}
	cmd.AddCommand(newAthenaTableCmd(), newAthenaSearchCmd(), newAthenaDetectionsCmd())
	return cmd
}

func newAthenaTableCmd() *cobra.Command {
	var f trailFlags
	var a athenaFlags
	var from string
	cmd := &cobra.Command{
		Use:     "table",
		Short:   "Print (or --run) the CREATE TABLE statement for the archive",
		Example: "  yagura trail athena table --bucket org-trail-logs --org-id o-abc123 --accounts 111111111111,222222222222",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.bucket == "" || f.orgID == "" && len(f.dirs) == 0 {
				// Find the bucket from the organization trail, and the o-id from the bucket.
				ctx, cancel := signalContext(cmd)
				defer cancel()
				_, client, err := f.s3Client(ctx)
				if err != nil {
					return err
				}
				if f.orgID == "" {
					ids, err := (&trail.S3Source{Client: client, Bucket: f.bucket}).OrgIDs(ctx, f.prefix)
					if err != nil {
						return err
					}
					if len(ids) > 1 {
						return fmt.Errorf("the bucket holds several organizations (%s): pass --org-id", strings.Join(ids, ", "))
					}
					if len(ids) == 1 {
						f.orgID = ids[0]
					}
				}
			}
			t := trail.AthenaTable{Name: a.table, Bucket: f.bucket, Prefix: f.prefix, OrgID: f.orgID, Accounts: splitList(f.accounts), Regions: splitList(f.regions)}
			if from != "" {
				d, err := time.Parse("2006-01-02", from)
				if err != nil {
					return errors.New("--from takes a date, 2006-01-02")
				}
				t.From = d
			}
			ddl, err := t.DDL()
			if err != nil {
				return err
			}
			return a.execute(cmd, ddl)
		},
	}
	f.add(cmd)
	a.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "first day of the date projection (default: one year ago)")
	return cmd
}

func newAthenaSearchCmd() *cobra.Command {
	var f trailFlags
	var a athenaFlags
	var flt trail.Filter
	var countBy string
	var limit int
	cmd := &cobra.Command{
		Use:     "search",
		Short:   "Translate `yagura trail search` filters to Athena SQL",
		Example: "  yagura trail athena search --event-name ConsoleLogin --since 7d\n  yagura trail athena search --error-code AccessDenied --count-by userIdentity.arn --run --output s3://athena-results/",
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, l := range []*[]string{&flt.EventNames, &flt.EventSources, &flt.Principals, &flt.AccessKeys, &flt.Accounts, &flt.Regions, &flt.ErrorCodes, &flt.SourceIPs} {
				*l = splitList(*l)
			}
			w, err := f.window()
			if err != nil {
				return err
			}
			var sql string
			if countBy != "" {
				sql, err = trail.CountSQL(a.table, &flt, w, countBy)
			} else {
				sql, err = trail.SearchSQL(a.table, &flt, w, limit)
			}
			if err != nil {
				return err
			}
			return a.execute(cmd, sql)
		},
	}
	f.add(cmd)
	a.add(cmd)
	addSearchFlags(cmd, &flt)
	cmd.Flags().StringVar(&countBy, "count-by", "", "count matching events per value of this field")
	cmd.Flags().IntVar(&limit, "limit", 1000, "LIMIT of the query (0: none)")
	return cmd
}

func newAthenaDetectionsCmd() *cobra.Command {
	var f trailFlags
	var a athenaFlags
	var rulesDir string
	cmd := &cobra.Command{
		Use:   "detections",
		Short: "Translate the built-in detections (and --rules) to Athena SQL where expressible",
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := f.window()
			if err != nil {
				return err
			}
			ph := trail.Placeholders{}
			if acc := splitList(f.accounts); len(acc) > 0 {
				ph["org_accounts"] = acc
			}
			w.Accounts = nil // the account list feeds the placeholder, not the scan
			rules, bad, err := trail.BuiltinRules(ph)
			if err != nil {
				return err
			}
			if rulesDir != "" {
				rs, bs, err := trail.LoadRules(os.DirFS(rulesDir), ".", ph)
				if err != nil {
					return err
				}
				rules, bad = append(rules, rs...), append(bad, bs...)
			}
			for _, b := range bad {
				fmt.Fprintf(os.Stderr, "yagura: rule not evaluated: %s\n", report.TerminalSafe(b.Error()))
			}
			var sqls []string
			for _, r := range rules {
				sql, err := trail.RuleSQL(a.table, r, w)
				if err != nil {
					fmt.Fprintf(os.Stderr, "yagura: %s not expressible in Athena SQL: %s\n", r.Name, report.TerminalSafe(err.Error()))
					continue
				}
				sqls = append(sqls, sql)
			}
			if !a.run {
				if a.format == report.FormatJSON {
					return report.JSON(os.Stdout, sqls)
				}
				fmt.Println(strings.Join(sqls, "\n\n"))
				return nil
			}
			for _, sql := range sqls {
				fmt.Println(strings.SplitN(sql, "\n", 2)[0])
				if err := a.execute(cmd, sql); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.add(cmd)
	a.add(cmd)
	cmd.Flags().StringVar(&rulesDir, "rules", "", "also translate the Sigma rules under this directory")
	return cmd
}
