package iam

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/yagura-dev/yagura/internal/collect"
)

// reportWait bounds how long the collector waits for IAM to finish a credential report; IAM
// usually needs a few seconds, large accounts longer.
var reportWait = 2 * time.Minute

// runCredentialReport asks IAM for a fresh credential report and parses its CSV. Generating the
// report changes nothing in the account; it is the only way to read root and password ages.
func runCredentialReport(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsiam.NewFromConfig(t.Config)
	deadline := time.Now().Add(reportWait)
	delay := 500 * time.Millisecond
	for {
		gen, err := client.GenerateCredentialReport(ctx, &awsiam.GenerateCredentialReportInput{})
		if err != nil {
			return err
		}
		if gen.State == types.ReportStateTypeComplete {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("credential report still %s after %s", gen.State, reportWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
	out, err := client.GetCredentialReport(ctx, &awsiam.GetCredentialReportInput{})
	if err != nil {
		return err
	}
	rows, err := ParseCredentialReport(out.Content)
	if err != nil {
		return err
	}
	cfg := map[string]any{"GeneratedTime": out.GeneratedTime, "ReportFormat": out.ReportFormat, "Rows": rows}
	var errs map[string]string
	if out.ReportFormat != "" && out.ReportFormat != types.ReportFormatTypeTextCsv {
		errs = map[string]string{"Rows": "unexpected report format " + string(out.ReportFormat)}
	}
	return put(t, sink, AccountARN(t.Partition, t.AccountID, "credential-report"), TypeCredentialReport,
		"credential-report", nil, cfg, errs)
}

// ParseCredentialReport turns the report's CSV into one object per row keyed by the header's
// column names, values kept as IAM writes them ("true", "N/A", "no_information", timestamps).
func ParseCredentialReport(content []byte) ([]map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("credential report: %w", err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("credential report: %w", err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	if rows == nil {
		rows = []map[string]string{}
	}
	return rows, nil
}
