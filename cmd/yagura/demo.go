package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/scan"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

// demoServe is set by the dashboard (when compiled in) to serve the demo's database until ctx ends.
var demoServe func(ctx context.Context, dbPath string) error

func newDemoCmd() *cobra.Command {
	var exit bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seed a demo organization into a local AWS emulator (moto), scan it, and keep it running",
		Long: `demo starts moto_server on a free loopback port, creates an AWS Organization with management,
security tooling and log archive accounts and prod, staging and dev workload accounts in OUs and two
regions, plants weaknesses in every area yagura covers, scans it into a fresh database and prints a
summary. No AWS account is needed. The emulator and the database stay until you press Ctrl-C, so
every other command can be tried on them.`,
		Example: "  yagura demo\n  yagura demo --exit          # stop after the summary (scripts, CI)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if !cmd.Flags().Changed("db") && os.Getenv("YAGURA_DB") == "" {
				global.db = filepath.Join(filepath.Dir(defaultDBPath()), "demo.db")
			}
			// A demo always starts from a fresh database: the emulator's state is new too.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(global.db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			logPath := filepath.Join(filepath.Dir(global.db), "demo-moto.log")
			if err := os.MkdirAll(filepath.Dir(global.db), 0o700); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "starting the AWS emulator (moto)…")
			srv, err := mototest.Start(ctx, logPath)
			if err != nil {
				return err
			}
			defer srv.Stop()
			// moto lacks a few reads the collectors make; a loopback proxy in front of it answers
			// them as AWS does for fresh accounts, so the demo scan is complete.
			gaps, err := faultproxy.Start(srv.URL)
			if err != nil {
				return err
			}
			defer gaps.Close()
			var filled []string
			for _, g := range demo.EmulatorGaps() {
				gaps.AddFault(g.Fault)
				filled = append(filled, g.Name)
			}
			fmt.Fprintf(os.Stderr, "answering what moto lacks as a fresh AWS account would: %s\n", strings.Join(filled, ", "))
			// The demo never touches real AWS: fixed fake credentials, emulator endpoint.
			for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": demo.Regions[0]} {
				os.Setenv(k, v)
			}
			for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE"} {
				os.Unsetenv(k)
			}
			global.endpointURL, global.profile, global.region = gaps.URL, "", demo.Regions[0]
			cfg, err := awsx.Load(ctx, awsx.Options{Region: demo.Regions[0], EndpointURL: gaps.URL})
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "seeding the demo organization…")
			began := time.Now()
			org, err := demo.Seed(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "seeded %d accounts in %s\n", len(org.Accounts), time.Since(began).Round(time.Millisecond))
			// An emulator has no AWS rate limits: lift the buckets so the demo is quick.
			limits := map[string]awsx.Limit{}
			for class := range awsx.DefaultLimits {
				limits[class] = awsx.Limit{Rate: 1000, Burst: 1000}
			}
			res, err := runScan(ctx, scan.Options{RoleName: demo.RoleName, Regions: demo.Regions, RateLimits: limits})
			if err != nil {
				return err
			}
			printScanSummary(res)
			if n := res.ByOutcome["error"]; n > 0 {
				// moto does not implement every API the collectors call; say so,
				// rather than let a partial demo scan look like a fault of the scan.
				fmt.Fprintf(os.Stderr, "%d collections failed, most likely because the emulator lacks their API; `yagura coverage` lists them. On AWS they run.\n", n)
			}
			printDemoNext(gaps.URL)
			if exit {
				return nil
			}
			if demoServe != nil {
				return demoServe(ctx, global.db)
			}
			fmt.Fprintln(os.Stderr, "\nThe emulator keeps running; press Ctrl-C to stop it.")
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "stop the emulator and exit after the summary")
	return cmd
}

func printDemoNext(endpoint string) {
	fmt.Fprintf(os.Stderr, `
Try it (in another terminal):
  export YAGURA_DB=%s
  yagura accounts
  yagura coverage
  yagura scan --endpoint-url %s --role-name %s --regions %s,%s   # scan again
`, global.db, endpoint, demo.RoleName, demo.Regions[0], demo.Regions[1])
}
