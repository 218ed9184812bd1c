package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/report"
)

func init() {
	subcommands = append(subcommands, newFindCmd)
}

type findFlags struct {
	port      int
	protocol  string
	direction string
	format    string
	scanID    int64
	overlaps  bool
	within    bool
}

// findResult is the JSON of `yagura find`.
type findResult struct {
	ScanID  int64             `json:"scan_id"`
	Query   string            `json:"query"`
	Mode    string            `json:"mode"`
	Matches []netsearch.Match `json:"matches"`
}

func newFindCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "find",
		Short: "Find the security group rules, network ACL entries and bucket policies that concern an address or CIDR",
		Long: `Searches every account and region of a scan for rules whose address ranges concern an
address or CIDR: security group rules (IPv4 and IPv6, managed prefix lists resolved to their
entries), network ACL entries (evaluated in rule-number order: the ACL's effective decision is
shown, later entries it overrides are listed as shadowed) and S3 bucket policy statements with
aws:SourceIp conditions (IpAddress grants or denies from the address; NotIpAddress applies to
addresses outside its CIDRs). See docs/find.md.`,
	}
	cmd.AddCommand(newFindSub("ip ADDRESS", "Rules whose ranges contain an address", false), newFindSub("cidr CIDR", "Rules whose ranges contain (or, with --within/--overlaps, lie inside or overlap) a CIDR", true))
	return cmd
}

func newFindSub(use, short string, isCIDR bool) *cobra.Command {
	var f findFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(args[0], isCIDR)
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			ctx := cmd.Context()
			db, sc, err := openScan(ctx, f.scanID)
			if err != nil {
				return err
			}
			defer db.Close()
			ms, err := netsearch.Find(ctx, db, sc.ID, q)
			if err != nil {
				return err
			}
			if ms == nil {
				ms = []netsearch.Match{}
			}
			w := bufio.NewWriter(os.Stdout)
			defer w.Flush()
			if f.format == report.FormatJSON {
				return report.JSON(w, findResult{ScanID: sc.ID, Query: q.Range.String(), Mode: q.Mode, Matches: ms})
			}
			return printMatches(w, ms)
		},
	}
	if isCIDR {
		cmd.Example = "  yagura find cidr 203.0.113.0/24\n  yagura find cidr 10.0.0.0/8 --within --direction ingress\n  yagura find cidr 198.51.100.0/22 --overlaps --format json"
		cmd.Flags().BoolVar(&f.overlaps, "overlaps", false, "rules whose ranges overlap the CIDR (contain it or lie inside it)")
		cmd.Flags().BoolVar(&f.within, "within", false, "rules whose ranges lie inside the CIDR")
	} else {
		cmd.Example = "  yagura find ip 203.0.113.7\n  yagura find ip 203.0.113.7 --port 22 --protocol tcp --direction ingress\n  yagura find ip 2001:db8::7 --format json"
	}
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", -1, "only rules that admit this TCP/UDP port")
	fl.StringVar(&f.protocol, "protocol", "all", "only rules for this protocol: tcp, udp, icmp, all")
	fl.StringVar(&f.direction, "direction", "", "only ingress or egress rules (default both)")
	fl.Int64Var(&f.scanID, "scan", 0, "scan id (default: the latest finished scan)")
	addFormatFlag(cmd, &f.format, report.FormatTable, report.FormatJSON)
	return cmd
}

func (f findFlags) query(arg string, isCIDR bool) (netsearch.Query, error) {
	return netsearch.ParseQuery(arg, isCIDR, netsearch.QueryOptions{Port: f.port, Protocol: f.protocol, Direction: f.direction,
		Overlaps: f.overlaps, Within: f.within})
}

func printMatches(w io.Writer, ms []netsearch.Match) error {
	if len(ms) == 0 {
		fmt.Fprintln(os.Stderr, "no rule concerns this address")
		return nil
	}
	header := []string{"ACCOUNT", "REGION", "KIND", "RESOURCE", "NAME", "DIR", "PROTO", "PORTS", "RULE", "ACTION", "MATCHED", "NOTE"}
	rows := make([][]string, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, []string{m.AccountID, m.Region, m.Kind, m.ResourceARN, m.ResourceName, m.Direction, m.Protocol, m.Ports,
			m.RuleLabel(), m.Decision(), m.MatchDetail, strings.Join(m.Notes(), "; ")})
	}
	return report.Table(w, header, rows)
}
