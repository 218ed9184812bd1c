package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/auditrole"
	"github.com/yagura-dev/yagura/internal/report"
)

func init() { subcommands = append(subcommands, newRolePolicyCmd) }

func newRolePolicyCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "role-policy",
		Short: "Print the read-only permissions of the yagura-audit role (IAM policy or CloudFormation template)",
		Example: "  yagura role-policy --format json > policy.json\n" +
			"  yagura role-policy --format cloudformation > deploy/yagura-audit-role.yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "cloudformation":
				_, err := fmt.Fprint(os.Stdout, auditrole.CloudFormation())
				return err
			case report.FormatTable:
				for _, a := range auditrole.Actions() {
					fmt.Println(a)
				}
				return nil
			default:
				doc, err := auditrole.PolicyDocument()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(os.Stdout, string(doc))
				return err
			}
		},
	}
	cmd.Flags().StringVar(&format, "format", report.FormatJSON, "json (IAM policy document), cloudformation (StackSet template) or table (one action a line)")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		return report.CheckFormat(format, report.FormatJSON, "cloudformation", report.FormatTable)
	}
	return cmd
}
