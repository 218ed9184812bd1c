package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newInventoryCmd) }

type inventoryFlags struct {
	types   []string
	account string
	region  string
	tags    []string
	format  string
	scanID  int64
	counts  bool
}

func newInventoryCmd() *cobra.Command {
	var f inventoryFlags
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "List the resources of a scan, or count them by type and account",
		Long: `Lists the resources of the latest finished scan (or --scan ID), filtered by type, account,
region (the global --region flag) and tags. JSON output is an array of resource records with their configuration in the AWS
API's own shape; it is written as it is read, so it stays cheap for large organizations.`,
		Example: `  yagura inventory --type AWS::EC2::SecurityGroup --region eu-west-1
  yagura inventory --account 111111111111 --tag env=prod --format csv > prod.csv
  yagura inventory --counts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --region is the global flag (the home region of API calls); this command makes no
			// API call and reads it as the region filter.
			f.region = global.region
			filter, err := f.filter()
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, f.scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			w := bufio.NewWriter(os.Stdout)
			defer w.Flush()
			if f.counts {
				return printCounts(ctx, w, db, sc.ID, f.format)
			}
			return printInventory(ctx, w, db, sc.ID, filter, f.format)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.types, "type", nil, "resource types, e.g. AWS::EC2::SecurityGroup (repeat or comma-separate)")
	fl.StringVar(&f.account, "account", "", "only this account id")
	fl.StringArrayVar(&f.tags, "tag", nil, "only resources with this tag, KEY=VALUE (repeat: all must match)")
	fl.Int64Var(&f.scanID, "scan", 0, "scan id (default: the latest finished scan)")
	fl.BoolVar(&f.counts, "counts", false, "count resources by type and account instead of listing them")
	addFormatFlag(cmd, &f.format, report.FormatTable, report.FormatJSON, report.FormatJSONL, report.FormatCSV)
	return cmd
}

func (f inventoryFlags) filter() (store.ResourceFilter, error) {
	rf := store.ResourceFilter{Types: splitList(f.types), AccountID: f.account, Region: f.region}
	for _, t := range f.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return rf, fmt.Errorf("--tag %q: want KEY=VALUE", t)
		}
		if rf.Tags == nil {
			rf.Tags = map[string]string{}
		}
		rf.Tags[k] = v
	}
	return rf, nil
}

var inventoryHeader = []string{"TYPE", "ACCOUNT", "REGION", "NAME", "ARN"}

func inventoryRow(r *inventory.Resource) []string {
	return []string{r.Type, r.AccountID, r.Region, r.Name, r.ARN}
}

// printInventory writes resources as they come from the database. Tables need every row to
// align columns, so they hold the five short cells per resource, never the configurations.
func printInventory(ctx context.Context, w io.Writer, db *store.DB, scanID int64, filter store.ResourceFilter, format string) error {
	switch format {
	case report.FormatJSON, report.FormatJSONL:
		n := 0
		if format == report.FormatJSON {
			io.WriteString(w, "[")
		}
		err := db.EachResource(ctx, scanID, filter, func(r *inventory.Resource) error {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				if n > 0 {
					io.WriteString(w, ",")
				}
				io.WriteString(w, "\n")
			}
			n++
			w.Write(b)
			if format == report.FormatJSONL {
				io.WriteString(w, "\n")
			}
			return nil
		})
		if err != nil {
			return err
		}
		if format == report.FormatJSON {
			io.WriteString(w, "\n]\n")
		}
		return nil
	case report.FormatCSV:
		// Streamed with the same neutralization report.CSV applies (report.CSVSafe on every cell),
		// since report.CSV takes all rows at once.
		cw := csv.NewWriter(w)
		cw.Write([]string{"type", "account_id", "region", "name", "arn", "tags"})
		err := db.EachResource(ctx, scanID, filter, func(r *inventory.Resource) error {
			row := append(inventoryRow(r), tagText(r.Tags))
			for i := range row {
				row[i] = report.CSVSafe(row[i])
			}
			return cw.Write(row)
		})
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	default:
		var rows [][]string
		err := db.EachResource(ctx, scanID, filter, func(r *inventory.Resource) error {
			rows = append(rows, inventoryRow(r))
			return nil
		})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			fmt.Fprintln(os.Stderr, "no resources match")
			return nil
		}
		return report.Table(w, inventoryHeader, rows)
	}
}

func tagText(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ";")
}

// printCounts shows resource counts: JSON as a list of cells, a table as types × accounts.
func printCounts(ctx context.Context, w io.Writer, db *store.DB, scanID int64, format string) error {
	counts, err := db.ResourceCounts(ctx, scanID)
	if err != nil {
		return err
	}
	switch format {
	case report.FormatJSON:
		if counts == nil {
			counts = []store.ResourceCount{}
		}
		return report.JSON(w, counts)
	case report.FormatJSONL:
		return report.JSONLines(w, counts)
	}
	var accounts, types []string
	seenA, seenT := map[string]bool{}, map[string]bool{}
	cell := map[[2]string]int64{}
	for _, c := range counts {
		if !seenA[c.AccountID] {
			seenA[c.AccountID] = true
			accounts = append(accounts, c.AccountID)
		}
		if !seenT[c.Type] {
			seenT[c.Type] = true
			types = append(types, c.Type)
		}
		cell[[2]string{c.Type, c.AccountID}] = c.Count
	}
	sort.Strings(accounts)
	sort.Strings(types)
	header := append(append([]string{"TYPE"}, accounts...), "TOTAL")
	var rows [][]string
	colTotal := make([]int64, len(accounts))
	var all int64
	for _, t := range types {
		row := []string{t}
		var total int64
		for i, a := range accounts {
			n := cell[[2]string{t, a}]
			row = append(row, strconv.FormatInt(n, 10))
			total += n
			colTotal[i] += n
		}
		all += total
		rows = append(rows, append(row, strconv.FormatInt(total, 10)))
	}
	totals := []string{"TOTAL"}
	for _, n := range colTotal {
		totals = append(totals, strconv.FormatInt(n, 10))
	}
	rows = append(rows, append(totals, strconv.FormatInt(all, 10)))
	if format == report.FormatCSV {
		return report.CSV(w, header, rows)
	}
	return report.Table(w, header, rows)
}
