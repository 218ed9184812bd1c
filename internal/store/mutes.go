package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mutelist"
)

// Mute accepts the risk of one finding, set from the dashboard. The YAML mutelist of
// internal/mutelist (a file, or the document stored with ImportMutelist) mutes by rule; ApplyMutes
// applies both.
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

// StoredMutelist is the YAML mutelist kept in the database.
type StoredMutelist struct {
	Document   string         `json:"document"`
	Source     string         `json:"source"` // file it was imported from
	ImportedAt time.Time      `json:"imported_at"`
	List       *mutelist.List `json:"-"`
}

// ImportMutelist validates a YAML mutelist and replaces the stored one with it. A document that
// does not parse or validate is refused with mutelist.Parse's error and the stored list is left
// as it was.
func (db *DB) ImportMutelist(ctx context.Context, doc []byte, source string, at time.Time) (*mutelist.List, error) {
	l, err := mutelist.Parse(doc)
	if err != nil {
		return nil, err
	}
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO mutelist (id, document, source, imported_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET document = excluded.document, source = excluded.source, imported_at = excluded.imported_at`,
		string(doc), source, FormatTime(at)); err != nil {
		return nil, err
	}
	return l, nil
}

// Mutelist returns the stored YAML mutelist, nil when none was imported.
func (db *DB) Mutelist(ctx context.Context) (*StoredMutelist, error) {
	var m StoredMutelist
	var at string
	err := db.SQL.QueryRowContext(ctx, `SELECT document, source, imported_at FROM mutelist WHERE id = 1`).Scan(&m.Document, &m.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.ImportedAt = ParseTime(at)
	// It validated on import; a failure here means a newer yagura stored rules this one does not
	// know, and muting nothing silently would be worse than saying so.
	if m.List, err = mutelist.Parse([]byte(m.Document)); err != nil {
		return nil, fmt.Errorf("stored mutelist: %w", err)
	}
	return &m, nil
}

// ClearMutelist deletes the stored YAML mutelist (dashboard mutes stay) and reports whether
// there was one.
func (db *DB) ClearMutelist(ctx context.Context) (bool, error) {
	res, err := db.SQL.ExecContext(ctx, `DELETE FROM mutelist WHERE id = 1`)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ApplyMutes marks the findings muted at t by the stored YAML mutelist or by a dashboard mute
// (Muted, MuteReason). It is ApplyMutesWith with the stored list.
func (db *DB) ApplyMutes(ctx context.Context, fs []*finding.Finding, t time.Time) error {
	if len(fs) == 0 {
		return nil
	}
	stored, err := db.Mutelist(ctx)
	if err != nil {
		return err
	}
	var l *mutelist.List
	if stored != nil {
		l = stored.List
	}
	return db.ApplyMutesWith(ctx, fs, l, t)
}

// inChunk bounds the ids bound into one IN (…) query, well under SQLite's variable limit, so that
// a listing of any size can be muted.
const inChunk = 500

// ApplyMutesWith is the one place mutes are decided: it applies the YAML mutelist l (nil: none)
// and the dashboard mutes to fs at t. Either one mutes; a rule or dashboard mute past its expiry
// does not, and the finding's MuteReason says which mute expired. Resource tags for tag rules are
// read from the newest finished scan.
func (db *DB) ApplyMutesWith(ctx context.Context, fs []*finding.Finding, l *mutelist.List, t time.Time) error {
	if len(fs) == 0 {
		return nil
	}
	var tags map[string]map[string]string
	if l != nil && l.NeedsTags() {
		var err error
		if tags, err = db.tagsOf(ctx, fs); err != nil {
			return err
		}
	}
	for _, f := range fs {
		l.Apply(f, tags[f.ResourceARN], t)
	}
	byID := make(map[string][]*finding.Finding, len(fs))
	ids := make([]string, 0, len(fs))
	for _, f := range fs {
		if byID[f.ID] == nil {
			ids = append(ids, f.ID)
		}
		byID[f.ID] = append(byID[f.ID], f)
	}
	return eachChunk(ids, func(args []any) error {
		rows, err := db.SQL.QueryContext(ctx, `SELECT finding_id, reason, expires FROM web_mutes WHERE finding_id IN (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, reason, expires string
			if err := rows.Scan(&id, &reason, &expires); err != nil {
				return err
			}
			for _, f := range byID[id] {
				switch {
				case expires == "" || t.Before(ParseTime(expires)):
					f.Muted, f.MuteReason = true, reason
				case !f.Muted && f.MuteReason == "":
					f.MuteReason = "mute expired on " + ParseTime(expires).Format(time.DateOnly) + ": " + reason
				}
			}
		}
		return rows.Err()
	})
}

// tagsOf maps the findings' resources to their tags in the newest finished scan.
func (db *DB) tagsOf(ctx context.Context, fs []*finding.Finding) (map[string]map[string]string, error) {
	sc, err := db.GetScan(ctx, 0)
	if errors.Is(err, ErrNoScan) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var arns []string
	for _, f := range fs {
		if f.ResourceARN != "" && !seen[f.ResourceARN] {
			seen[f.ResourceARN] = true
			arns = append(arns, f.ResourceARN)
		}
	}
	out := map[string]map[string]string{}
	err = eachChunk(arns, func(args []any) error {
		rows, err := db.SQL.QueryContext(ctx, `SELECT arn, tags FROM resources WHERE scan_id = ? AND tags != '{}' AND arn IN (`+
			placeholders(len(args))+`)`, append([]any{sc.ID}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var arn, js string
			if err := rows.Scan(&arn, &js); err != nil {
				return err
			}
			var m map[string]string
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				return fmt.Errorf("tags of %s: %w", arn, err)
			}
			out[arn] = m
		}
		return rows.Err()
	})
	return out, err
}

func eachChunk(vals []string, fn func([]any) error) error {
	for len(vals) > 0 {
		n := min(len(vals), inChunk)
		args := make([]any, n)
		for i, v := range vals[:n] {
			args[i] = v
		}
		if err := fn(args); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
