package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/trail"
)

func init() { subcommands = append(subcommands, newTrailCmd) }

// trailFlags select an archive and a window of it; every trail subcommand shares them.
type trailFlags struct {
	bucket, prefix, orgID string
	accounts, regions     []string
	since, until          string
	dirs                  []string
	workers               int
}

func (f *trailFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.bucket, "bucket", "", "log archive bucket (default: the organization trail's, from CloudTrail DescribeTrails)")
	fl.StringVar(&f.prefix, "prefix", "", "key prefix before AWSLogs/")
	fl.StringVar(&f.orgID, "org-id", "", "organization id (o-...) in the key layout; discovered when omitted")
	fl.StringSliceVar(&f.accounts, "accounts", nil, "account ids to read (default: all found); also the known accounts for detections")
	fl.StringSliceVar(&f.regions, "regions", nil, "regions to read (default: all found)")
	fl.StringVar(&f.since, "since", "24h", "start of the window: RFC 3339 time, date (2006-01-02), or age (90m, 24h, 7d)")
	fl.StringVar(&f.until, "until", "", "end of the window (default now), same forms as --since")
	fl.StringSliceVar(&f.dirs, "dir", nil, "read a local copy (directory with the AWSLogs/ layout, or log files) instead of S3")
	fl.IntVar(&f.workers, "workers", 0, "files decoded in parallel (default: one per CPU)")
}

// parseWhen accepts an RFC 3339 time, a date, or an age before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: use 2026-01-02T15:04:05Z, 2026-01-02 or an age like 24h or 7d", s)
}

func (f *trailFlags) window() (trail.Window, error) {
	now := time.Now().UTC()
	since, err := parseWhen(f.since, now)
	if err != nil {
		return trail.Window{}, err
	}
	until, err := parseWhen(f.until, now)
	if err != nil {
		return trail.Window{}, err
	}
	if !until.IsZero() && since.After(until) {
		return trail.Window{}, errors.New("--since is after --until")
	}
	return trail.Window{Prefix: f.prefix, OrgID: f.orgID, Accounts: splitList(f.accounts), Regions: splitList(f.regions), Since: since, Until: until}, nil
}

// s3Client builds the S3 client and resolves the bucket (from the org trail when not given).
func (f *trailFlags) s3Client(ctx context.Context) (aws.Config, *s3.Client, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return cfg, nil, err
	}
	if f.bucket == "" {
		loc, err := trail.FindOrgTrail(ctx, cfg)
		if err != nil {
			return cfg, nil, err
		}
		f.bucket = loc.Bucket
		if f.prefix == "" {
			f.prefix = loc.Prefix
		}
	}
	client := s3.NewFromConfig(cfg, awsx.S3Options(cfg), trail.QuietS3)
	// The archive bucket often lives in another region than the caller's home region; talk to
	// it there rather than through redirects.
	if loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &f.bucket}); err == nil {
		region := string(loc.LocationConstraint)
		switch region {
		case "":
			region = "us-east-1"
		case "EU":
			region = "eu-west-1"
		}
		if region != cfg.Region {
			client = s3.NewFromConfig(cfg, awsx.S3Options(cfg), trail.QuietS3, func(o *s3.Options) { o.Region = region })
		}
	}
	return cfg, client, nil
}

func (f *trailFlags) reader(ctx context.Context) (*trail.Reader, error) {
	w, err := f.window()
	if err != nil {
		return nil, err
	}
	r := &trail.Reader{Window: w, Workers: f.workers}
	if len(f.dirs) > 0 {
		r.Source = &trail.DirSource{Roots: f.dirs}
		return r, nil
	}
	_, client, err := f.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	r.Window.Prefix = f.prefix
	r.Source = &trail.S3Source{Client: client, Bucket: f.bucket}
	return r, nil
}

// reportBad lists unreadable objects on stderr; they never stop a run.
func reportBad(st *trail.Stats) {
	if st == nil {
		return
	}
	for _, b := range st.Bad {
		fmt.Fprintf(os.Stderr, "yagura: skipped %s: %s\n", report.TerminalSafe(b.Key), report.TerminalSafe(b.Err))
	}
	if !global.quiet {
		fmt.Fprintf(os.Stderr, "read %d objects, %d records, %.1f MB of JSON; %d unreadable\n", st.Objects, st.Records, float64(st.Bytes)/1e6, len(st.Bad))
	}
}

func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt)
}

func newTrailCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trail",
		Short: "Read the organization's CloudTrail archive: verify it, hunt in it, search it",
	}
	cmd.AddCommand(newTrailVerifyCmd(), newTrailHuntCmd(), newTrailSearchCmd(), newTrailAthenaCmd())
	return cmd
}

func newTrailVerifyCmd() *cobra.Command {
	var f trailFlags
	var format string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove the archive complete and unaltered with CloudTrail's digest chain",
		Long: `verify checks every digest file in the window as CloudTrail defines it (and as
"aws cloudtrail validate-logs" does): the RSA signature over the digest, the chain of previous
digests, and the SHA-256 of every log file listed. It also reports what validate-logs cannot
see: log files that were moved, log files no digest lists, and gaps where validation was off.
Exit status 1 when anything is not valid.`,
		Example: "  yagura trail verify --bucket org-trail-logs --since 7d\n  yagura trail verify --accounts 111111111111 --regions us-east-1 --format json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			if len(f.dirs) > 0 {
				return errors.New("verify needs the bucket: digest signatures live in S3 object metadata, which local copies lose")
			}
			w, err := f.window()
			if err != nil {
				return err
			}
			cfg, client, err := f.s3Client(ctx)
			if err != nil {
				return err
			}
			w.Prefix = f.prefix
			v := &trail.Verifier{S3: client, Bucket: f.bucket, Window: w, Keys: &trail.CloudTrailKeys{Config: cfg}, Workers: f.workers}
			rep, err := v.Run(ctx)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				if err := report.JSON(os.Stdout, rep); err != nil {
					return err
				}
			} else {
				printVerify(os.Stdout, rep)
			}
			if !rep.OK() {
				return &exitError{code: 1, msg: "the archive has files that could not be validated"}
			}
			return nil
		},
	}
	f.add(cmd)
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

func printVerify(w io.Writer, rep *trail.VerifyReport) {
	header := []string{"ACCOUNT", "REGION", "TRAIL", "DIGESTS OK", "DIGESTS BAD", "LOGS OK", "MODIFIED", "DELETED", "MOVED", "UNCOVERED", "PENDING", "GAPS"}
	var rows [][]string
	for _, c := range rep.Chains {
		n := func(k string) string { return strconv.Itoa(c.Counts[k]) }
		bad := c.Counts["digest modified"] + c.Counts["digest missing"] + c.Counts["digest moved"] + c.Counts["digest invalid"]
		rows = append(rows, []string{c.Account, c.Region, c.Trail, n("digest valid"), strconv.Itoa(bad), n("log valid"),
			strconv.Itoa(c.Counts["log modified"] + c.Counts["log invalid"]), n("log missing"), n("log moved"), n("log uncovered"), n("log pending"), strconv.Itoa(len(c.Gaps))})
	}
	report.Table(w, header, rows)
	var probs [][]string
	for _, c := range rep.Chains {
		for _, r := range c.Digests {
			if r.Verdict != trail.Valid {
				probs = append(probs, []string{"digest", r.Verdict, r.Location, r.Detail})
			}
		}
		for _, r := range c.Logs {
			if r.Verdict != trail.Valid {
				probs = append(probs, []string{"log", r.Verdict, r.Location, r.Detail})
			}
		}
		for _, g := range c.Gaps {
			probs = append(probs, []string{"gap", "no digests", c.Account + " " + c.Region, g.From.Format(time.RFC3339) + " to " + g.To.Format(time.RFC3339)})
		}
	}
	if len(probs) > 0 {
		fmt.Fprintln(w)
		report.Table(w, []string{"FILE", "VERDICT", "LOCATION", "DETAIL"}, probs)
	}
}

func newTrailHuntCmd() *cobra.Command {
	var f trailFlags
	var format, rulesDir string
	var known []string
	var noBuiltin, save bool
	cmd := &cobra.Command{
		Use:   "hunt",
		Short: "Run Sigma detections over the archive and print alerts",
		Long: `hunt runs yagura's built-in Sigma rules (and any in --rules DIR) over every event in the
window. Rules must have logsource product aws, service cloudtrail. Supported: field paths into the
JSON (arrays are searched element-wise), modifiers contains, startswith, endswith, re (i, m, s),
all, cidr, exists, cased, expand, fieldref, lt/lte/gt/gte, null values, wildcards * and ?,
conditions with and/or/not/parentheses, "1 of X*", "all of X*", "1 of them", "all of them", and
the aggregation "| count([field]) [by field] > N" with timeframe. Rules that cannot be evaluated
are listed with the reason. The placeholder %org_accounts% is filled from --known-accounts and
--accounts; without either, the rule "role assumed from an unknown account" is not evaluated.`,
		Example: "  yagura trail hunt --since 7d\n  yagura trail hunt --dir ./archive --rules ./my-rules --format json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			ph := trail.Placeholders{}
			if acc := splitList(append(known, f.accounts...)); len(acc) > 0 {
				ph["org_accounts"] = acc
			}
			var rules []*trail.Rule
			var bad []trail.RuleError
			if !noBuiltin {
				rs, bs, err := trail.BuiltinRules(ph)
				if err != nil {
					return err
				}
				rules, bad = append(rules, rs...), append(bad, bs...)
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
			if len(rules) == 0 {
				return errors.New("no rules to run")
			}
			r, err := f.reader(ctx)
			if err != nil {
				return err
			}
			h := trail.NewHunter(rules)
			st, err := r.Run(ctx, func(e *trail.Event) error { h.Observe(e); return nil })
			reportBad(st)
			if err != nil {
				return err
			}
			alerts := h.Alerts()
			if save {
				scanID, err := saveAlerts(ctx, alerts)
				if err != nil {
					return err
				}
				if !global.quiet {
					fmt.Fprintf(os.Stderr, "saved %d alerts as findings (source cloudtrail) with scan %d in %s\n", len(alerts), scanID, global.db)
				}
			}
			switch format {
			case report.FormatJSON:
				if alerts == nil {
					alerts = []*trail.Alert{}
				}
				return report.JSON(os.Stdout, map[string]any{"alerts": alerts, "rules_not_evaluated": bad, "stats": st})
			case report.FormatJSONL:
				return report.JSONLines(os.Stdout, alerts)
			}
			var rows [][]string
			for _, a := range alerts {
				who := a.Principal
				if a.Group != "" && a.Group != a.Principal {
					who += " (" + a.Group + ")"
				}
				rows = append(rows, []string{a.Level, a.Rule, a.Title, a.Account, a.Region, who, strconv.Itoa(a.Count), a.First, a.Last})
			}
			return report.Table(os.Stdout, []string{"SEVERITY", "RULE", "TITLE", "ACCOUNT", "REGION", "PRINCIPAL", "EVENTS", "FIRST", "LAST"}, rows)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&rulesDir, "rules", "", "also load the Sigma rules (*.yml, *.yaml) under this directory")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "run only the rules from --rules")
	cmd.Flags().StringSliceVar(&known, "known-accounts", nil, "the organization's accounts, for %org_accounts% (role assumed from an unknown account), without limiting what is read as --accounts does")
	cmd.Flags().BoolVar(&save, "save", false, "store the alerts as findings (source cloudtrail) in --db, attached to the newest finished scan")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON, report.FormatJSONL)
	return cmd
}

func newTrailSearchCmd() *cobra.Command {
	var f trailFlags
	var flt trail.Filter
	var format, countBy string
	var limit int
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Stream the events that match filters, or count them by a field",
		Long: `search prints the events matching every given filter (values of one flag are alternatives;
strings compare case-insensitively and accept the wildcards * and ?). --principal matches the
caller's ARN, user name, principal id or the role behind a session; --source-ip takes addresses
or CIDRs. --count-by FIELD (a JSON path such as eventName or userIdentity.arn) prints counts per
value instead of events.`,
		Example: "  yagura trail search --event-name ConsoleLogin --since 7d\n  yagura trail search --source-ip 203.0.113.0/24 --format jsonl\n  yagura trail search --error-code AccessDenied --count-by userIdentity.arn",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			for _, l := range []*[]string{&flt.EventNames, &flt.EventSources, &flt.Principals, &flt.AccessKeys, &flt.Accounts, &flt.Regions, &flt.ErrorCodes, &flt.SourceIPs} {
				*l = splitList(*l)
			}
			if err := flt.Compile(); err != nil {
				return err
			}
			r, err := f.reader(ctx)
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(os.Stdout, 256<<10)
			defer out.Flush()
			var mu sync.Mutex
			var n int
			var counter *trail.Counter
			if countBy != "" {
				counter = &trail.Counter{Field: countBy}
			}
			var rows [][]string
			errLimit := errors.New("limit reached")
			if format == report.FormatJSON && counter == nil {
				out.WriteString("[")
			}
			st, err := r.Run(ctx, func(e *trail.Event) error {
				if !flt.Match(e) {
					return nil
				}
				if counter != nil {
					counter.Add(e)
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				if limit > 0 && n >= limit {
					return errLimit
				}
				n++
				switch format {
				case report.FormatJSONL:
					out.Write(e.Raw)
					out.WriteByte('\n')
				case report.FormatJSON:
					if n > 1 {
						out.WriteString(",\n")
					}
					out.Write(e.Raw)
				default:
					rows = append(rows, []string{e.EventTime, e.Account, e.Region, e.EventSource, e.EventName, e.Principal(), e.SourceIP, e.ErrorCode})
					for i := range rows[len(rows)-1] {
						rows[len(rows)-1][i] = strings.Clone(rows[len(rows)-1][i])
					}
				}
				return nil
			})
			if format == report.FormatJSON && counter == nil {
				out.WriteString("]\n")
			}
			reportBad(st)
			if err != nil && !errors.Is(err, errLimit) {
				return err
			}
			if counter != nil {
				res := counter.Result()
				switch format {
				case report.FormatJSON:
					return report.JSON(out, res)
				case report.FormatJSONL:
					return report.JSONLines(out, res)
				}
				var crow [][]string
				for _, c := range res {
					crow = append(crow, []string{c.Value, strconv.Itoa(c.Count)})
				}
				return report.Table(out, []string{strings.ToUpper(countBy), "EVENTS"}, crow)
			}
			if format == report.FormatTable {
				sortRows(rows)
				return report.Table(out, []string{"TIME", "ACCOUNT", "REGION", "SOURCE", "EVENT", "PRINCIPAL", "SOURCE IP", "ERROR"}, rows)
			}
			return nil
		},
	}
	f.add(cmd)
	addSearchFlags(cmd, &flt)
	cmd.Flags().StringVar(&countBy, "count-by", "", "count matching events per value of this field instead of printing them")
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after this many events (0: no limit)")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON, report.FormatJSONL)
	return cmd
}

func addSearchFlags(cmd *cobra.Command, flt *trail.Filter) {
	fl := cmd.Flags()
	fl.StringSliceVar(&flt.EventNames, "event-name", nil, "eventName (e.g. ConsoleLogin)")
	fl.StringSliceVar(&flt.EventSources, "event-source", nil, "eventSource (e.g. iam.amazonaws.com)")
	fl.StringSliceVar(&flt.Principals, "principal", nil, "caller ARN, user name, principal id or session issuer")
	fl.StringSliceVar(&flt.AccessKeys, "access-key", nil, "access key id used")
	fl.StringSliceVar(&flt.SourceIPs, "source-ip", nil, "source address or CIDR")
	fl.StringSliceVar(&flt.Accounts, "account", nil, "recipient account id")
	fl.StringSliceVar(&flt.Regions, "event-region", nil, "awsRegion of the event (--regions limits what is read; --region is the API home region)")
	fl.StringSliceVar(&flt.ErrorCodes, "error-code", nil, "errorCode (e.g. AccessDenied)")
}

// sortRows orders table rows by time: parallel readers deliver events out of order.
func sortRows(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
}
