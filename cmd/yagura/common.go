package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/report"
	"github.com/yagura-dev/yagura/internal/store"
)

// openDB opens the database named by --db.
func openDB(ctx context.Context) (*store.DB, error) {
	return store.Open(ctx, global.db)
}

// openScan opens the database and picks a scan (0: the newest finished one), as every command
// that reads one scan does. The caller closes the database.
func openScan(ctx context.Context, scanID int64) (*store.DB, store.Scan, error) {
	db, err := openDB(ctx)
	if err != nil {
		return nil, store.Scan{}, err
	}
	sc, err := db.GetScan(ctx, scanID)
	if err != nil {
		db.Close()
		return nil, store.Scan{}, err
	}
	return db, sc, nil
}

// loadAWS builds the caller's SDK configuration from the global flags.
func loadAWS(ctx context.Context) (aws.Config, error) {
	return awsx.Load(ctx, awsx.Options{Profile: global.profile, Region: global.region, EndpointURL: global.endpointURL})
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// addFormatFlag adds --format with the DESIGN.md default: table on a terminal, json otherwise.
func addFormatFlag(cmd *cobra.Command, target *string, allowed ...string) {
	def := report.FormatJSON
	if isTerminal(os.Stdout) {
		def = report.FormatTable
	}
	cmd.Flags().StringVar(target, "format", def, "output format: "+strings.Join(allowed, ", ")+" (default table on a terminal, json otherwise)")
	cmd.PreRunE = chainPreRun(cmd.PreRunE, func(*cobra.Command, []string) error {
		return report.CheckFormat(*target, allowed...)
	})
}

func chainPreRun(prev, next func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, a []string) error {
		if prev != nil {
			if err := prev(c, a); err != nil {
				return err
			}
		}
		return next(c, a)
	}
}

// newLogger writes log lines to stderr as text or JSON; --quiet keeps only warnings and errors.
func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if global.quiet {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	if global.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// splitList turns repeated or comma-separated flag values into one clean list.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
