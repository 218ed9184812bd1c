package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/yagura-dev/yagura/internal/finding"
)

// ResourceChange is one resource that differs between two scans.
type ResourceChange struct {
	Change    string `json:"change"` // added | removed | changed
	ARN       string `json:"arn"`
	Type      string `json:"type"`
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	Name      string `json:"name,omitempty"`
	// Fields lists what changed: config, tags, errors, name.
	Fields []string `json:"fields,omitempty"`
}

// Resource change kinds.
const (
	ResourceAdded   = "added"
	ResourceRemoved = "removed"
	ResourceChanged = "changed"
)

// EachResourceChange streams the resources added, removed or changed from scan `from` to scan
// `to`, in (change, type, arn) order. A resource is compared by its stored JSON, which the
// collectors write deterministically (SDK structs marshalled field by field).
func (db *DB) EachResourceChange(ctx context.Context, from, to int64, fn func(ResourceChange) error) error {
	queries := []struct {
		change string
		sql    string
		args   []any
	}{
		{ResourceAdded, `SELECT b.arn, b.type, b.account_id, b.region, b.name, '' FROM resources b
			WHERE b.scan_id = ? AND NOT EXISTS (SELECT 1 FROM resources a WHERE a.scan_id = ? AND a.arn = b.arn) ORDER BY b.type, b.arn`, []any{to, from}},
		{ResourceRemoved, `SELECT a.arn, a.type, a.account_id, a.region, a.name, '' FROM resources a
			WHERE a.scan_id = ? AND NOT EXISTS (SELECT 1 FROM resources b WHERE b.scan_id = ? AND b.arn = a.arn) ORDER BY a.type, a.arn`, []any{from, to}},
		{ResourceChanged, `SELECT b.arn, b.type, b.account_id, b.region, b.name,
			(CASE WHEN a.config != b.config THEN 'config ' ELSE '' END) || (CASE WHEN a.tags != b.tags THEN 'tags ' ELSE '' END) ||
			(CASE WHEN a.errors != b.errors THEN 'errors ' ELSE '' END) || (CASE WHEN a.name != b.name THEN 'name ' ELSE '' END)
			FROM resources b JOIN resources a ON a.scan_id = ? AND a.arn = b.arn
			WHERE b.scan_id = ? AND (a.config != b.config OR a.tags != b.tags OR a.errors != b.errors OR a.name != b.name) ORDER BY b.type, b.arn`, []any{from, to}},
	}
	for _, q := range queries {
		if err := db.eachChange(ctx, q.change, q.sql, q.args, fn); err != nil {
			return fmt.Errorf("%s resources: %w", q.change, err)
		}
	}
	return nil
}

func (db *DB) eachChange(ctx context.Context, change, q string, args []any, fn func(ResourceChange) error) error {
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c := ResourceChange{Change: change}
		var fields string
		if err := rows.Scan(&c.ARN, &c.Type, &c.AccountID, &c.Region, &c.Name, &fields); err != nil {
			return err
		}
		for _, f := range splitFields(fields) {
			c.Fields = append(c.Fields, f)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func splitFields(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// Finding changes between two scans.
const (
	ChangeNew      = "new"
	ChangeResolved = "resolved"
	ChangeReopened = "reopened"
	ChangeStale    = "stale" // still open, but its source could not look again
)

// FindingChange is one finding that changed between two scans, with its current state.
type FindingChange struct {
	Change string `json:"change"`
	Reason string `json:"reason,omitempty"`
	*finding.Finding
}

// ScanPairError says which scan of a pair could not be used.
type ScanPairError struct {
	Which string // "from" or "to"
	Err   error
}

func (e *ScanPairError) Error() string { return "scan --" + e.Which + ": " + e.Err.Error() }
func (e *ScanPairError) Unwrap() error { return e.Err }

// ScanOrderError is returned when the earlier scan of a pair is not older than the later one.
type ScanOrderError struct{ From, To int64 }

func (e *ScanOrderError) Error() string {
	return fmt.Sprintf("--from (%d) must be older than --to (%d)", e.From, e.To)
}

// NoEarlierScanError is returned when no finished scan precedes the later scan of a pair.
type NoEarlierScanError struct{ To int64 }

func (e *NoEarlierScanError) Error() string {
	return fmt.Sprintf("no finished scan before scan %d to compare with", e.To)
}

// ScanPair picks the two scans to compare: to 0 is the latest finished scan, from 0 the
// finished scan before it.
func (db *DB) ScanPair(ctx context.Context, from, to int64) (int64, int64, error) {
	toScan, err := db.GetScan(ctx, to)
	if err != nil {
		return 0, 0, &ScanPairError{"to", err}
	}
	if from == 0 {
		scans, err := db.Scans(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, s := range scans { // newest first
			if s.ID < toScan.ID && (s.Status == ScanComplete || s.Status == ScanPartial) {
				from = s.ID
				break
			}
		}
		if from == 0 {
			return 0, 0, &NoEarlierScanError{toScan.ID}
		}
	} else if _, err := db.GetScan(ctx, from); err != nil {
		return 0, 0, &ScanPairError{"from", err}
	}
	if from >= toScan.ID {
		return 0, 0, &ScanOrderError{from, toScan.ID}
	}
	return from, toScan.ID, nil
}

// FindingChanges reads the finding events recorded by the scans after `from` up to `to` and
// reduces each finding's events to its net change (new, reopened, resolved, stale), with the
// finding's current state; new first, then reopened, resolved and stale, most severe first.
func (db *DB) FindingChanges(ctx context.Context, from, to int64) ([]FindingChange, error) {
	events, err := db.FindingEvents(ctx, "", from+1, to)
	if err != nil {
		return nil, err
	}
	type net struct{ change, reason string }
	byID := map[string]*net{}
	var order []string
	for _, e := range events { // in scan order
		n := byID[e.FindingID]
		if n == nil {
			n = &net{}
			byID[e.FindingID] = n
			order = append(order, e.FindingID)
		}
		switch e.Event {
		case "new":
			if e.Detail == string(finding.Fail) {
				n.change, n.reason = ChangeNew, ""
			}
		case "reopened":
			if n.change != ChangeNew {
				n.change = ChangeReopened
			}
			n.reason = ""
		case "resolved":
			if n.change == ChangeNew {
				n.change = "" // appeared and went away between the two scans
			} else {
				n.change, n.reason = ChangeResolved, e.Detail
			}
		case "stale":
			if n.change == "" {
				n.change, n.reason = ChangeStale, e.Detail
			}
		}
	}
	var ids []string
	for _, id := range order {
		if byID[id].change != "" {
			ids = append(ids, id)
		}
	}
	current := map[string]*finding.Finding{}
	for chunk := range slices.Chunk(ids, 500) {
		fs, err := db.Findings(ctx, FindingFilter{IDs: chunk})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			current[f.ID] = f
		}
	}
	out := []FindingChange{}
	for _, id := range ids {
		f, n := current[id], byID[id]
		if f == nil {
			continue
		}
		// A stale finding that is not failing (a passing check that could not be re-run) is no news.
		if n.change == ChangeStale && (f.Status != finding.Fail || f.Lifecycle == finding.LifecycleResolved) {
			continue
		}
		out = append(out, FindingChange{Change: n.change, Reason: n.reason, Finding: f})
	}
	rank := map[string]int{ChangeNew: 0, ChangeReopened: 1, ChangeResolved: 2, ChangeStale: 3}
	slices.SortStableFunc(out, func(a, b FindingChange) int {
		if d := rank[a.Change] - rank[b.Change]; d != 0 {
			return d
		}
		return int(b.Severity) - int(a.Severity)
	})
	return out, nil
}
