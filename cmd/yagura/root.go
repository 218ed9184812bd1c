package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// globalFlags are shared by every command: where the database lives and how to reach AWS.
type globalFlags struct {
	db          string
	profile     string
	region      string
	endpointURL string
	quiet       bool
	logFormat   string
}

var global globalFlags

// subcommands is filled by each command file's init so that adding a command touches one file.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "yagura",
		Short:         "Security tooling account in one binary: scan an AWS Organization, rank its risks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&global.db, "db", defaultDBPath(), "SQLite database file (env YAGURA_DB)")
	pf.StringVar(&global.profile, "profile", os.Getenv("AWS_PROFILE"), "AWS shared config profile")
	pf.StringVar(&global.region, "region", "", "home region for API calls (default: AWS_REGION or us-east-1)")
	pf.StringVar(&global.endpointURL, "endpoint-url", os.Getenv("AWS_ENDPOINT_URL"), "send every AWS call to this endpoint (emulators such as moto)")
	pf.BoolVarP(&global.quiet, "quiet", "q", false, "print only results and errors")
	pf.StringVar(&global.logFormat, "log-format", "text", "log line format: text or json")
	for _, mk := range subcommands {
		root.AddCommand(mk())
	}
	return root
}

// defaultDBPath follows the XDG base directory convention.
func defaultDBPath() string {
	if p := os.Getenv("YAGURA_DB"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "yagura.db"
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "yagura", "yagura.db")
}
