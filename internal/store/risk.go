package store

import (
	"context"
	"encoding/json"

	"github.com/yagura-dev/yagura/internal/finding"
)

// SetRisk records the risk of one finding (internal/risk scores every failed finding of a scan).
func (db *DB) SetRisk(ctx context.Context, findingID string, r *finding.Risk) error {
	return db.SetRisks(ctx, map[string]*finding.Risk{findingID: r})
}

// SetRisks records the risk of many findings in one transaction per BatchSize findings. A nil
// risk clears the finding's score.
func (db *DB) SetRisks(ctx context.Context, risks map[string]*finding.Risk) error {
	ids := make([]string, 0, len(risks))
	for id := range risks {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += BatchSize {
		end := min(start+BatchSize, len(ids))
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE findings SET risk = ?, risk_score = ? WHERE id = ?`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for _, id := range ids[start:end] {
			r := risks[id]
			raw, _ := json.Marshal(r)
			score := 0.0
			if r != nil {
				score = r.Score
			}
			if _, err := stmt.ExecContext(ctx, string(raw), score, id); err != nil {
				stmt.Close()
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// RiskQueue is the ranked risk queue of `yagura top` and the dashboard: the failing findings
// that are still open (new or open), highest risk score first, optionally of some accounts.
func (db *DB) RiskQueue(ctx context.Context, accounts []string, limit, offset int) ([]RankedFinding, error) {
	fs, err := db.Findings(ctx, RiskQueueFilter(accounts, limit, offset))
	items := make([]RankedFinding, len(fs))
	for i, f := range fs {
		items[i] = RankedFinding{Rank: offset + i + 1, Finding: f}
	}
	return items, err
}

// RankedFinding is one entry of the risk queue: its rank (1 = worst) and the finding.
type RankedFinding struct {
	Rank int `json:"rank"`
	*finding.Finding
}

// RiskQueueFilter is the filter of the risk queue (for counting it with CountFindings).
func RiskQueueFilter(accounts []string, limit, offset int) FindingFilter {
	return FindingFilter{Statuses: []string{string(finding.Fail)}, Accounts: accounts,
		Lifecycles: []string{finding.LifecycleNew, finding.LifecycleOpen}, OrderByRisk: true, Limit: limit, Offset: offset}
}
