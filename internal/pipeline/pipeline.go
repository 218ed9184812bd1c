// Package pipeline is what every scan runs around collection, in one place for the CLI, the
// demo and tests: before it, the check catalog's control index (so Security Hub control findings
// merge with yagura's own); after it, in this order, the check catalog, the address index that
// `find` reads, and risk scoring, which needs both checks and native findings stored.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/risk"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"
)

// Options are the pipeline's settings.
type Options struct {
	// Weights scores risks; nil means risk.DefaultWeights.
	Weights *risk.Weights
}

// Install adds the pipeline to a scanner.
func Install(s *scan.Scanner, o Options) {
	native.UseControlIndex(ControlIndex())
	w := risk.DefaultWeights
	if o.Weights != nil {
		w = *o.Weights
	}
	s.AfterCollect = append(s.AfterCollect,
		func(ctx context.Context, db *store.DB, scanID int64) error {
			st, err := EvaluateChecks(ctx, db, scanID)
			if err == nil {
				logTo(s.Log).Info("checks evaluated", "scan", scanID, "results", st.Evaluations, "pass", st.Pass, "fail", st.Fail, "error", st.Error, "duration", st.Duration.Round(1e6))
			}
			return err
		},
		netsearch.IndexScan,
		func(ctx context.Context, db *store.DB, scanID int64) error {
			res, err := risk.Run(ctx, db, scanID, w)
			if err != nil {
				return fmt.Errorf("risk analysis: %w", err)
			}
			logTo(s.Log).Info("risk analyzed", "scan", scanID, "exposed", res.Exposed, "attack_paths", res.AttackPaths, "scored", res.Scored)
			return nil
		})
}

func logTo(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// EvaluateChecks runs the whole catalog over a stored scan and stores the findings.
func EvaluateChecks(ctx context.Context, db *store.DB, scanID int64) (check.Stats, error) {
	w := db.NewFindingWriter(scanID)
	st, err := check.Evaluate(ctx, check.StoreSource{DB: db, ScanID: scanID}, w, check.Options{})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("evaluating checks: %w", err)
	}
	return st, nil
}

// ControlIndex maps every control of the check catalog to the checks implementing it, so that
// the Security Hub collector gives a control finding the id of yagura's finding for the same
// control and resource and the finding writer merges the two (internal/native/merge.go).
func ControlIndex() native.ControlIndex {
	ix := native.ControlIndex{}
	for _, c := range check.All() {
		cc := native.ControlCheck{CheckID: c.ID, ResourceType: c.ResourceType}
		// Account- and region-level checks report on their subject ARN (check.SubjectARN).
		subject := func(partition, account, region string) string {
			return check.SubjectARN(c, check.Unit{Partition: partition, Account: account, Region: region})
		}
		switch c.Scope {
		case check.PerAccount:
			cc.Scope, cc.UnitARN = "account", subject
		case check.PerRegion:
			cc.Scope, cc.UnitARN = "region", subject
		}
		ix.AddCheck(cc, c.Controls)
	}
	return ix
}
