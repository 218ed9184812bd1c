package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// PruneResult says what PruneScans removed.
type PruneResult struct {
	Scans    []int64 `json:"scans"`
	Findings int64   `json:"findings"` // resolved findings last seen in a removed scan, with their history
}

// PruneScans deletes every scan but the keep newest (a running scan is never deleted) with its
// inventory, coverage and per-scan finding membership. The lifecycle of findings survives: a
// finding that is still open, or was seen in a kept scan, keeps its whole history
// (first_seen, events), even the events recorded by deleted scans. Only findings that are
// resolved and were last seen in a deleted scan go, with their history, since nothing left
// in the database refers to them.
func (db *DB) PruneScans(ctx context.Context, keep int) (PruneResult, error) {
	var res PruneResult
	if keep < 1 {
		return res, fmt.Errorf("keep must be at least 1, got %d", keep)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT id FROM scans WHERE status != ? ORDER BY id DESC LIMIT -1 OFFSET ?`, ScanRunning, keep)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, err
		}
		res.Scans = append(res.Scans, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(res.Scans) == 0 {
		return res, err
	}
	ids := make([]string, len(res.Scans))
	args := make([]any, len(res.Scans))
	for i, id := range res.Scans {
		ids[i], args[i] = "?", id
	}
	in := "(" + strings.Join(ids, ",") + ")"
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	// Findings whose whole life is inside the deleted scans and which are over.
	// A finding resolved by a kept scan (FinalizeFindings does not move last_scan_id) keeps its
	// history so that a diff between kept scans still shows it.
	gone := `SELECT id FROM findings WHERE lifecycle = ? AND last_scan_id IN ` + in +
		` AND NOT EXISTS (SELECT 1 FROM finding_events e WHERE e.finding_id = findings.id AND e.scan_id NOT IN ` + in + `)`
	goneArgs := append(append([]any{finding.LifecycleResolved}, args...), args...)
	if _, err := tx.ExecContext(ctx, `DELETE FROM finding_events WHERE finding_id IN (`+gone+`)`, goneArgs...); err != nil {
		return res, err
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE id IN (`+gone+`)`, goneArgs...)
	if err != nil {
		return res, err
	}
	res.Findings, _ = r.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM scan_findings WHERE scan_id IN `+in, args...); err != nil {
		return res, err
	}
	// Inventory, relationships, coverage and accounts go with their scan (ON DELETE CASCADE).
	if _, err := tx.ExecContext(ctx, `DELETE FROM scans WHERE id IN `+in, args...); err != nil {
		return res, err
	}
	return res, tx.Commit()
}
