package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Mute accepts the risk of one finding, set from the dashboard (the YAML mutelist of
// internal/mutelist is the file-based equivalent).
type Mute struct {
	FindingID string     `json:"finding_id"`
	Reason    string     `json:"reason"`
	Expires   *time.Time `json:"expires,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// Active says whether the mute still applies at t.
func (m Mute) Active(t time.Time) bool { return m.Expires == nil || t.Before(*m.Expires) }

// ErrNoFinding is returned when a mute names a finding the database does not hold.
var ErrNoFinding = errors.New("no such finding")

// PutMute sets (or replaces) the mute of a finding and records a "muted" event in its history.
func (db *DB) PutMute(ctx context.Context, m Mute) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The event goes under the finding's last scan, so FindingEvents orders it with the rest.
	detail := m.Reason
	expires := ""
	if m.Expires != nil {
		expires = FormatTime(*m.Expires)
		detail += " (until " + m.Expires.UTC().Format("2006-01-02") + ")"
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO finding_events (finding_id, scan_id, at, event, detail)
		SELECT id, last_scan_id, ?, 'muted', ? FROM findings WHERE id = ?`, FormatTime(m.CreatedAt), detail, m.FindingID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoFinding
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO web_mutes (finding_id, reason, expires, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (finding_id) DO UPDATE SET reason = excluded.reason, expires = excluded.expires, created_at = excluded.created_at`,
		m.FindingID, m.Reason, expires, FormatTime(m.CreatedAt)); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteMute removes the mute of a finding (no error when there is none) and records an
// "unmuted" event.
func (db *DB) DeleteMute(ctx context.Context, findingID string, at time.Time) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM web_mutes WHERE finding_id = ?`, findingID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_events (finding_id, scan_id, at, event, detail)
			SELECT id, last_scan_id, ?, 'unmuted', '' FROM findings WHERE id = ?`, FormatTime(at), findingID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// MuteOf returns the mute of a finding, nil when there is none (expired mutes included: the
// caller decides with Active).
func (db *DB) MuteOf(ctx context.Context, findingID string) (*Mute, error) {
	var m Mute
	var expires, created string
	err := db.SQL.QueryRowContext(ctx, `SELECT finding_id, reason, expires, created_at FROM web_mutes WHERE finding_id = ?`, findingID).
		Scan(&m.FindingID, &m.Reason, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = ParseTime(created)
	if expires != "" {
		t := ParseTime(expires)
		m.Expires = &t
	}
	return &m, nil
}

// ApplyMutes marks the findings that have an active dashboard mute at t (Muted, MuteReason),
// one query for the whole page of findings.
func (db *DB) ApplyMutes(ctx context.Context, fs []*finding.Finding, t time.Time) error {
	if len(fs) == 0 {
		return nil
	}
	byID := make(map[string]*finding.Finding, len(fs))
	args := make([]any, 0, len(fs))
	for _, f := range fs {
		byID[f.ID] = f
		args = append(args, f.ID)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT finding_id, reason, expires FROM web_mutes WHERE finding_id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, reason, expires string
		if err := rows.Scan(&id, &reason, &expires); err != nil {
			return err
		}
		if expires != "" && !t.Before(ParseTime(expires)) {
			continue
		}
		if f := byID[id]; f != nil {
			f.Muted, f.MuteReason = true, reason
		}
	}
	return rows.Err()
}
