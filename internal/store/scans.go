package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Scan statuses.
const (
	ScanRunning     = "running"
	ScanComplete    = "complete"
	ScanPartial     = "partial"
	ScanInterrupted = "interrupted"
	ScanFailed      = "failed"
)

// Scan is one run of `yagura scan`.
type Scan struct {
	ID            int64           `json:"id"`
	StartedAt     time.Time       `json:"started_at"`
	FinishedAt    *time.Time      `json:"finished_at,omitempty"`
	Status        string          `json:"status"`
	StatusReason  string          `json:"status_reason,omitempty"`
	CallerARN     string          `json:"caller_arn"`
	CallerAccount string          `json:"caller_account"`
	OrgID         string          `json:"org_id,omitempty"`
	Options       json.RawMessage `json:"options"`
}

// ErrNoScan is returned when the database holds no (matching) scan.
var ErrNoScan = errors.New("no scan in the database yet: run `yagura scan` (or `yagura demo`) first")

// CreateScan records the start of a scan. Scans left "running" by a process that no longer exists
// (killed, machine lost) are marked interrupted first, so they never pass for complete.
func (db *DB) CreateScan(ctx context.Context, callerARN, callerAccount, orgID string, options any) (int64, error) {
	if err := db.markInterrupted(ctx); err != nil {
		return 0, err
	}
	opts, _ := json.Marshal(options)
	res, err := db.SQL.ExecContext(ctx, `INSERT INTO scans (started_at, status, caller_arn, caller_account, org_id, options, pid) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		FormatTime(time.Now()), ScanRunning, callerARN, callerAccount, orgID, string(opts), os.Getpid())
	if err != nil {
		return 0, fmt.Errorf("record scan: %w", err)
	}
	return res.LastInsertId()
}

func (db *DB) markInterrupted(ctx context.Context) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, pid FROM scans WHERE status = ?`, ScanRunning)
	if err != nil {
		return err
	}
	var dead []int64
	for rows.Next() {
		var id, pid int64
		if err := rows.Scan(&id, &pid); err != nil {
			rows.Close()
			return err
		}
		if !processAlive(int(pid)) {
			dead = append(dead, id)
		}
	}
	rows.Close()
	for _, id := range dead {
		if _, err := db.SQL.ExecContext(ctx, `UPDATE scans SET status = ?, status_reason = ? WHERE id = ?`,
			ScanInterrupted, "the scanning process ended before the scan finished", id); err != nil {
			return err
		}
	}
	return nil
}

// FinishScan records the end state of a scan.
func (db *DB) FinishScan(ctx context.Context, id int64, status, reason string) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE scans SET finished_at = ?, status = ?, status_reason = ? WHERE id = ?`,
		FormatTime(time.Now()), status, reason, id)
	return err
}

const scanColumns = `id, started_at, finished_at, status, status_reason, caller_arn, caller_account, org_id, options`

func scanScan(row interface{ Scan(...any) error }) (Scan, error) {
	var s Scan
	var started string
	var finished sql.NullString
	var opts string
	if err := row.Scan(&s.ID, &started, &finished, &s.Status, &s.StatusReason, &s.CallerARN, &s.CallerAccount, &s.OrgID, &opts); err != nil {
		return s, err
	}
	s.StartedAt = ParseTime(started)
	if finished.Valid {
		t := ParseTime(finished.String)
		s.FinishedAt = &t
	}
	s.Options = json.RawMessage(opts)
	return s, nil
}

// Scans lists scans, newest first.
func (db *DB) Scans(ctx context.Context) ([]Scan, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+scanColumns+` FROM scans ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Scan
	for rows.Next() {
		s, err := scanScan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// GetScan returns one scan; id 0 means the newest scan that finished (complete or partial).
func (db *DB) GetScan(ctx context.Context, id int64) (Scan, error) {
	var row *sql.Row
	if id == 0 {
		row = db.SQL.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM scans WHERE status IN (?, ?) ORDER BY id DESC LIMIT 1`, ScanComplete, ScanPartial)
	} else {
		row = db.SQL.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM scans WHERE id = ?`, id)
	}
	s, err := scanScan(row)
	if errors.Is(err, sql.ErrNoRows) {
		if id != 0 {
			return s, fmt.Errorf("scan %d not found", id)
		}
		return s, ErrNoScan
	}
	return s, err
}

// Account is one account of the organization as seen by a scan.
type Account struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Email        string            `json:"email"`
	OUPath       string            `json:"ou_path"`
	OUIDs        []string          `json:"ou_ids,omitempty"` // the same path as ids, root first
	Tags         map[string]string `json:"tags"`
	Status       string            `json:"status"`
	Access       string            `json:"access"`
	AccessReason string            `json:"access_reason,omitempty"`
	Regions      []string          `json:"regions"`
}

// PutAccount records (or updates) an account for a scan.
func (db *DB) PutAccount(ctx context.Context, scanID int64, a Account) error {
	tags, _ := json.Marshal(nonNilMap(a.Tags))
	regions, _ := json.Marshal(nonNilSlice(a.Regions))
	ouIDs, _ := json.Marshal(nonNilSlice(a.OUIDs))
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO accounts (scan_id, account_id, name, email, ou_path, ou_ids, tags, status, access, access_reason, regions)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scan_id, account_id) DO UPDATE SET name=excluded.name, email=excluded.email, ou_path=excluded.ou_path, ou_ids=excluded.ou_ids,
		tags=excluded.tags, status=excluded.status, access=excluded.access, access_reason=excluded.access_reason, regions=excluded.regions`,
		scanID, a.ID, a.Name, a.Email, a.OUPath, string(ouIDs), string(tags), a.Status, a.Access, a.AccessReason, string(regions))
	return err
}

// Accounts lists the accounts a scan saw, by id.
func (db *DB) Accounts(ctx context.Context, scanID int64) ([]Account, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT account_id, name, email, ou_path, ou_ids, tags, status, access, access_reason, regions FROM accounts WHERE scan_id = ? ORDER BY account_id`, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var tags, regions, ouIDs string
		if err := rows.Scan(&a.ID, &a.Name, &a.Email, &a.OUPath, &ouIDs, &tags, &a.Status, &a.Access, &a.AccessReason, &regions); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(ouIDs), &a.OUIDs)
		_ = json.Unmarshal([]byte(tags), &a.Tags)
		_ = json.Unmarshal([]byte(regions), &a.Regions)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Coverage statuses: what happened to one account × region × collector task.
const (
	CoverageOK        = "ok"
	CoverageDenied    = "denied"
	CoverageThrottled = "throttled"
	CoverageError     = "error"
	CoverageSkipped   = "skipped"
)

// Coverage is the record of one task.
type Coverage struct {
	AccountID  string `json:"account_id"`
	Region     string `json:"region"`
	Collector  string `json:"collector"`
	Service    string `json:"service"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Calls      int64  `json:"calls"`
	Throttles  int64  `json:"throttles"`
	Items      int64  `json:"items"`
	DurationMS int64  `json:"duration_ms"`
}

// PutCoverage records one task's outcome.
func (db *DB) PutCoverage(ctx context.Context, scanID int64, c Coverage) error {
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO coverage (scan_id, account_id, region, collector, service, status, reason, calls, throttles, items, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scan_id, account_id, region, collector) DO UPDATE SET status=excluded.status, reason=excluded.reason,
		calls=excluded.calls, throttles=excluded.throttles, items=excluded.items, duration_ms=excluded.duration_ms`,
		scanID, c.AccountID, c.Region, c.Collector, c.Service, c.Status, c.Reason, c.Calls, c.Throttles, c.Items, c.DurationMS)
	return err
}

// CoverageOf lists every task record of a scan.
func (db *DB) CoverageOf(ctx context.Context, scanID int64) ([]Coverage, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT account_id, region, collector, service, status, reason, calls, throttles, items, duration_ms
		FROM coverage WHERE scan_id = ? ORDER BY account_id, region, service, collector`, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Coverage
	for rows.Next() {
		var c Coverage
		if err := rows.Scan(&c.AccountID, &c.Region, &c.Collector, &c.Service, &c.Status, &c.Reason, &c.Calls, &c.Throttles, &c.Items, &c.DurationMS); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PreviousTaskCalls gives, for the latest finished scan, the API calls each task that succeeded
// made, keyed "account|region|collector": the scheduler starts the longest tasks first.
func (db *DB) PreviousTaskCalls(ctx context.Context) (map[string]int64, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT account_id, region, collector, calls FROM coverage
		WHERE status = ? AND scan_id = (SELECT max(id) FROM scans WHERE status IN (?, ?))`, CoverageOK, ScanComplete, ScanPartial)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var acct, region, col string
		var calls int64
		if err := rows.Scan(&acct, &region, &col, &calls); err != nil {
			return nil, err
		}
		out[acct+"|"+region+"|"+col] = calls
	}
	return out, rows.Err()
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
