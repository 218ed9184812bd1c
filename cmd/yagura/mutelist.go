package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/mutelist"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

func init() { subcommands = append(subcommands, newMutelistCmd) }

func newMutelistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mutelist",
		Short: "Keep the YAML mutelist in the database (applied by findings, exports and the dashboard)",
		Long: `The mutelist stored in the database applies wherever findings are listed: yagura findings (unless
--mutelist names a file), export securityhub and the dashboard. Mutes set on single findings in
the dashboard apply too and stay when the list is replaced or cleared.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Validate a mutelist YAML file (- for stdin) and replace the stored list with it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var doc []byte
			var err error
			if args[0] == "-" {
				doc, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
			} else {
				doc, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			var l *mutelist.List
			if err := withDB(cmd, func(db *store.DB) (err error) {
				l, err = db.ImportMutelist(cmd.Context(), doc, args[0], now)
				return err
			}); err != nil {
				return fmt.Errorf("%s: %w (the stored mutelist is unchanged)", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored %d mutes from %s\n", len(l.Mutes), args[0])
			for _, e := range l.Expired(now) {
				fmt.Fprintf(os.Stderr, "warning: mute %q expired on %s and mutes nothing\n", e.Reason, e.Expires)
			}
			return nil
		},
	})
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the stored mutelist: the YAML document (--format yaml) or its entries and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var m *store.StoredMutelist
			if err := withDB(cmd, func(db *store.DB) (err error) {
				m, err = db.Mutelist(cmd.Context())
				return err
			}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if m == nil {
				if format == report.FormatJSON {
					_, err := fmt.Fprintln(w, "null")
					return err
				}
				fmt.Fprintln(os.Stderr, "no mutelist stored (yagura mutelist import FILE)")
				return nil
			}
			now := time.Now().UTC()
			switch format {
			case "yaml":
				_, err := io.WriteString(w, m.Document)
				return err
			case report.FormatJSON:
				type entry struct {
					Reason  string `json:"reason"`
					Expires string `json:"expires,omitempty"`
					Expired bool   `json:"expired"`
				}
				out := struct {
					Source     string    `json:"source"`
					ImportedAt time.Time `json:"imported_at"`
					Document   string    `json:"document"`
					Mutes      []entry   `json:"mutes"`
				}{Source: m.Source, ImportedAt: m.ImportedAt, Document: m.Document, Mutes: []entry{}}
				for _, e := range m.List.Mutes {
					out.Mutes = append(out.Mutes, entry{e.Reason, e.Expires, e.ExpiredAt(now)})
				}
				return report.JSON(w, out)
			}
			fmt.Fprintf(w, "imported from %s at %s\n", m.Source, m.ImportedAt.Format(time.RFC3339))
			rows := make([][]string, 0, len(m.List.Mutes))
			for i, e := range m.List.Mutes {
				state := "active"
				if e.ExpiredAt(now) {
					state = "expired"
				}
				rows = append(rows, []string{fmt.Sprint(i + 1), state, e.Expires, e.Reason})
			}
			return report.Table(w, []string{"#", "STATE", "EXPIRES", "REASON"}, rows)
		},
	}
	show.Flags().StringVar(&format, "format", "yaml", "output format: yaml, table, json")
	show.PreRunE = func(*cobra.Command, []string) error {
		if format != "yaml" {
			return report.CheckFormat(format, report.FormatTable, report.FormatJSON)
		}
		return nil
	}
	cmd.AddCommand(show)
	cmd.AddCommand(&cobra.Command{
		Use:   "clear",
		Short: "Delete the stored mutelist (mutes set in the dashboard stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var had bool
			if err := withDB(cmd, func(db *store.DB) (err error) {
				had, err = db.ClearMutelist(cmd.Context())
				return err
			}); err != nil {
				return err
			}
			if had {
				fmt.Fprintln(cmd.OutOrStdout(), "stored mutelist deleted")
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "no mutelist was stored")
			}
			return nil
		},
	})
	return cmd
}

// withDB runs fn with the database named by --db open.
func withDB(cmd *cobra.Command, fn func(*store.DB) error) error {
	db, err := openDB(cmd.Context())
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}
