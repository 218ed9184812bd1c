package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/store"
	"github.com/yagura-dev/yagura/internal/web"
)

func init() {
	subcommands = append(subcommands, newServeCmd)
	demoServe = func(ctx context.Context, dbPath string) error {
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			return err
		}
		defer db.Close()
		return web.Serve(ctx, db, "127.0.0.1:0", web.Options{Logger: newLogger(os.Stderr)}, func(url string) {
			fmt.Fprintf(os.Stderr, "\nDashboard: %s   (press Ctrl-C to stop it and the emulator)\n", url)
		})
	}
}

func newServeCmd() *cobra.Command {
	var addr, token, tokenFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web dashboard and JSON API over the database",
		Long: `serve shows the organization's security state in a browser: overview, accounts, findings with
the same filters as "yagura findings", finding and resource details, scans and coverage, and the
same data as JSON under /api/v1/ (see docs/api.md).

It listens on 127.0.0.1 by default. Binding to any other address requires a token: browsers log in
with it once (an HttpOnly session cookie), API clients send "Authorization: Bearer TOKEN".`,
		Example: "  yagura serve\n  yagura serve --addr 0.0.0.0:8443 --token-file /run/secrets/yagura-token",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token != "" && tokenFile != "" {
				return errors.New("--token and --token-file are exclusive")
			}
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return err
				}
				if token = strings.TrimSpace(string(b)); token == "" {
					return fmt.Errorf("--token-file %s is empty", tokenFile)
				}
			}
			if token == "" {
				token = os.Getenv("YAGURA_TOKEN")
			}
			// Refuse before opening anything: the mistake should cost nothing.
			if err := web.CheckBind(addr, token); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			return web.Serve(ctx, db, addr, web.Options{Token: token, Logger: newLogger(os.Stderr)}, func(url string) {
				fmt.Fprintf(os.Stderr, "serving %s on %s\n", global.db, url)
			})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address; anything but loopback requires a token")
	cmd.Flags().StringVar(&token, "token", "", "require this token (env YAGURA_TOKEN); prefer --token-file, a flag shows in ps")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file")
	return cmd
}
