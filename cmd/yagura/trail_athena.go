package main

import "github.com/spf13/cobra"

func newTrailAthenaCmd() *cobra.Command {
	return &cobra.Command{Use: "athena", Short: "Print the Athena table and queries for the archive"}
}
