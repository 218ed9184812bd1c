package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/report"
)

func init() { subcommands = append(subcommands, newExportCmd) }

// securityHubBatch is BatchImportFindings' limit of findings per call.
const securityHubBatch = 100

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Push yagura's findings into other tools",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newExportSecurityHubCmd())
	return cmd
}

func newExportSecurityHubCmd() *cobra.Command {
	var q findingQuery
	var account, region, roleName, format string
	var includePass bool
	cmd := &cobra.Command{
		Use:   "securityhub",
		Short: "Import yagura's own findings into a Security Hub (BatchImportFindings, batches of 100)",
		Long: `Import yagura's own check findings (source yagura) into the Security Hub of --account in
--region, as ASFF findings of that account's default product. PASS results are sent only with
--include-pass (they resolve earlier imports). Use --role-name to assume a role in --account when
the caller is elsewhere.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if account == "" || region == "" {
				return errors.New("--account and --region are required")
			}
			q.sources = []string{"yagura"}
			if len(q.statuses) == 0 {
				q.statuses = []string{"FAIL", "ERROR"}
				if includePass {
					q.statuses = append(q.statuses, "PASS")
				}
			}
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			fs, warnings, err := q.load(ctx, db)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "warning:", w)
			}
			cfg, err := loadAWS(ctx)
			if err != nil {
				return err
			}
			cfg.Region = region
			if roleName != "" {
				id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					return err
				}
				cfg = awsx.AssumeConfig(cfg, aws.ToString(id.Account), account, awsx.RoleOptions{RoleName: roleName})
			}
			res, err := importFindings(ctx, securityhub.NewFromConfig(cfg), fs, report.ASFFTarget{Account: account, Region: region})
			if err != nil {
				return err
			}
			if format == report.FormatJSON {
				if err := report.JSON(os.Stdout, res); err != nil {
					return err
				}
			} else if err := report.Table(os.Stdout, []string{"ACCOUNT", "REGION", "SENT", "IMPORTED", "FAILED", "BATCHES"},
				[][]string{{account, region, fmt.Sprint(res.Sent), fmt.Sprint(res.Imported), fmt.Sprint(res.Failed), fmt.Sprint(res.Batches)}}); err != nil {
				return err
			}
			if res.Failed > 0 {
				return fmt.Errorf("%d findings were rejected by Security Hub (first: %s)", res.Failed, res.FirstError)
			}
			return nil
		},
	}
	// --account and --region name the receiving Security Hub; --finding-account and
	// --finding-region filter the findings sent.
	q.addFlags(cmd, "finding-account", "finding-region")
	cmd.Flags().StringVar(&account, "account", "", "account whose Security Hub imports the findings")
	cmd.Flags().StringVar(&region, "region", "", "region of that Security Hub")
	cmd.Flags().StringVar(&roleName, "role-name", "", "assume this role in --account (default: use the caller's credentials)")
	cmd.Flags().BoolVar(&includePass, "include-pass", false, "also send PASS results (their Compliance status is PASSED)")
	addFormatFlag(cmd, &format, report.FormatTable, report.FormatJSON)
	return cmd
}

// importResult summarizes an import.
type importResult struct {
	Sent       int    `json:"sent"`
	Imported   int    `json:"imported"`
	Failed     int    `json:"failed"`
	Batches    int    `json:"batches"`
	FirstError string `json:"first_error,omitempty"`
}

// importFindings sends findings through BatchImportFindings in batches within the API's limit.
func importFindings(ctx context.Context, client *securityhub.Client, fs []*finding.Finding, t report.ASFFTarget) (importResult, error) {
	var res importResult
	for start := 0; start < len(fs); start += securityHubBatch {
		end := min(start+securityHubBatch, len(fs))
		batch := make([]shtypes.AwsSecurityFinding, 0, end-start)
		for _, f := range fs[start:end] {
			// ASFF member names are the SDK's field names, so the JSON form decodes directly.
			b, err := json.Marshal(report.ASFFFinding(f, t))
			if err != nil {
				return res, err
			}
			var x shtypes.AwsSecurityFinding
			if err := json.Unmarshal(b, &x); err != nil {
				return res, fmt.Errorf("finding %s: %w", f.ID, err)
			}
			batch = append(batch, x)
		}
		out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
		if err != nil {
			return res, err
		}
		res.Batches++
		res.Sent += len(batch)
		res.Imported += int(aws.ToInt32(out.SuccessCount))
		res.Failed += int(aws.ToInt32(out.FailedCount))
		if res.FirstError == "" && len(out.FailedFindings) > 0 {
			ff := out.FailedFindings[0]
			res.FirstError = aws.ToString(ff.Id) + ": " + aws.ToString(ff.ErrorCode) + " " + aws.ToString(ff.ErrorMessage)
		}
	}
	return res, nil
}
