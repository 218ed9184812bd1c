package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FindingWriter stores the findings of one scan and keeps each finding's lifecycle:
//
//   - lifecycle "new": the first scan in which the finding is seen;
//   - "open": seen again in a later scan;
//   - "resolved": it was FAIL and is now PASS, or (FinalizeFindings) it was not reported again
//     although the collector task that produced it succeeded;
//   - a FAIL after "resolved" is "reopened" (event) and open again;
//   - an ERROR result for a finding that had a real status keeps that status and marks the
//     finding stale with the reason, so a failed read never looks like a fix.
//
// The same finding put twice in one scan (e.g. by a yagura check and by Security Hub) is merged:
// sources are united, the worse status and higher severity win, and the primary source is yagura
// if it is among them, else the service that found it rather than Security Hub relaying it. The
// description is the last copy's, except that a copy Security Hub relayed does not replace one
// read from the service directly; the "origins" of all copies are united (mergeCopy).
type FindingWriter struct {
	db     *DB
	scanID int64
	now    time.Time
	mu     sync.Mutex
	batch  []*finding.Finding
}

// NewFindingWriter starts a writer for scanID. Put is safe for concurrent use; Close flushes.
func (db *DB) NewFindingWriter(scanID int64) *FindingWriter {
	return &FindingWriter{db: db, scanID: scanID, now: time.Now().UTC()}
}

// Put queues a finding, flushing every BatchSize findings.
func (w *FindingWriter) Put(f *finding.Finding) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batch = append(w.batch, f)
	if len(w.batch) >= BatchSize {
		return w.flushLocked()
	}
	return nil
}

// Close writes what is queued.
func (w *FindingWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *FindingWriter) flushLocked() error {
	if len(w.batch) == 0 {
		return nil
	}
	ctx := context.Background()
	tx, err := w.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range w.batch {
		if err := w.upsert(ctx, tx, f); err != nil {
			return fmt.Errorf("store finding %s: %w", f.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.batch = w.batch[:0]
	return nil
}

type priorFinding struct {
	status, lifecycle, firstSeen, sources string
	severity                              int
	lastScan                              int64
}

func (w *FindingWriter) upsert(ctx context.Context, tx *sql.Tx, f *finding.Finding) error {
	if f.ID == "" {
		return errors.New("finding without id")
	}
	if f.Source == "" {
		return errors.New("finding without source")
	}
	now := FormatTime(w.now)
	var p priorFinding
	err := tx.QueryRowContext(ctx, `SELECT status, lifecycle, first_seen, sources, severity, last_scan_id FROM findings WHERE id = ?`, f.ID).
		Scan(&p.status, &p.lifecycle, &p.firstSeen, &p.sources, &p.severity, &p.lastScan)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	sources := f.Sources
	if len(sources) == 0 {
		sources = []string{f.Source}
	}
	status, severity := f.Status, f.Severity
	evidence := string(f.Evidence)
	lifecycle, event := finding.LifecycleNew, "new"
	stale, staleReason := 0, ""
	firstSeen := now
	if exists {
		firstSeen = p.firstSeen
		var prevSources []string
		_ = json.Unmarshal([]byte(p.sources), &prevSources)
		prevStatus := finding.Status(p.status)
		switch {
		case p.lastScan == w.scanID: // a second report of the same finding in this scan: merge
			sources = union(prevSources, sources)
			status = worse(prevStatus, status)
			severity = max(severity, finding.Severity(p.severity))
			merged, err := mergeCopy(ctx, tx, f, prevSources)
			if err != nil {
				return err
			}
			f, evidence = merged, string(merged.Evidence)
			lifecycle, event = p.lifecycle, ""
		case status == finding.Error && prevStatus != finding.Error:
			status, lifecycle, event = prevStatus, p.lifecycle, "stale"
			stale, staleReason = 1, "could not be evaluated in scan "+fmt.Sprint(w.scanID)+": "+f.Detail
		case status == finding.Fail && (prevStatus != finding.Fail || p.lifecycle == finding.LifecycleResolved):
			if p.lifecycle == finding.LifecycleResolved || prevStatus == finding.Pass {
				lifecycle, event = finding.LifecycleOpen, "reopened"
			}
		case status == finding.Pass && prevStatus == finding.Fail:
			lifecycle, event = finding.LifecycleResolved, "resolved"
		case status == finding.Pass && p.lifecycle == finding.LifecycleResolved:
			lifecycle, event = finding.LifecycleResolved, ""
		default:
			lifecycle, event = finding.LifecycleOpen, ""
		}
	}
	controls, _ := json.Marshal(nonNilSlice(f.Controls))
	srcJSON, _ := json.Marshal(sources)
	if evidence == "" {
		evidence = "null"
	}
	risk, _ := json.Marshal(f.Risk)
	riskScore := 0.0
	if f.Risk != nil {
		riskScore = f.Risk.Score
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO findings (id, check_id, source, sources, source_id, controls, status, severity, account_id, region,
		resource_arn, resource_type, title, detail, evidence, remediation, collector, first_seen, last_seen, lifecycle, stale, stale_reason,
		last_scan_id, risk, risk_score)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET check_id=excluded.check_id, source=CASE WHEN findings.last_scan_id = excluded.last_scan_id AND (findings.source = 'yagura' OR excluded.source = 'securityhub') THEN findings.source ELSE excluded.source END,
		sources=excluded.sources, source_id=excluded.source_id, controls=excluded.controls, status=excluded.status, severity=excluded.severity,
		account_id=excluded.account_id, region=excluded.region, resource_arn=excluded.resource_arn, resource_type=excluded.resource_type,
		title=excluded.title, detail=CASE WHEN excluded.stale = 1 THEN findings.detail ELSE excluded.detail END,
		evidence=CASE WHEN excluded.stale = 1 THEN findings.evidence ELSE excluded.evidence END,
		remediation=excluded.remediation, collector=excluded.collector, last_seen=excluded.last_seen,
		lifecycle=excluded.lifecycle, stale=excluded.stale, stale_reason=excluded.stale_reason, last_scan_id=excluded.last_scan_id,
		risk=excluded.risk, risk_score=excluded.risk_score`,
		f.ID, f.CheckID, f.Source, string(srcJSON), f.SourceID, string(controls), string(status), int(severity), f.AccountID, f.Region,
		f.ResourceARN, f.ResourceType, f.Title, f.Detail, evidence, f.Remediation, f.Collector, firstSeen, now, lifecycle, stale, staleReason,
		w.scanID, string(risk), riskScore)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO scan_findings (scan_id, finding_id, status, severity) VALUES (?, ?, ?, ?)
		ON CONFLICT (scan_id, finding_id) DO UPDATE SET status=excluded.status, severity=excluded.severity`,
		w.scanID, f.ID, string(status), int(severity)); err != nil {
		return err
	}
	if event != "" {
		detail := staleReason
		if detail == "" {
			detail = string(status)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_events (finding_id, scan_id, at, event, detail) VALUES (?, ?, ?, ?, ?)`,
			f.ID, w.scanID, now, event, detail); err != nil {
			return err
		}
	}
	return nil
}

func worse(a, b finding.Status) finding.Status {
	rank := map[finding.Status]int{finding.Pass: 0, finding.Error: 1, finding.Fail: 2}
	if rank[a] >= rank[b] {
		return a
	}
	return b
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// FinalizeFindings settles the findings that scanID did not report. Each such finding names the
// task that produced it (collector|account|region). If that task succeeded in this scan, the
// problem is gone: the finding is resolved. If the task failed or did not run, nothing is known:
// the finding keeps its state and is marked stale with the reason.
func (db *DB) FinalizeFindings(ctx context.Context, scanID int64) error {
	cov, err := db.CoverageOf(ctx, scanID)
	if err != nil {
		return err
	}
	byTask := map[string]Coverage{}
	for _, c := range cov {
		byTask[c.Collector+"|"+c.AccountID+"|"+c.Region] = c
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, collector, status FROM findings
		WHERE last_scan_id < ? AND lifecycle != ? AND collector != ''`, scanID, finding.LifecycleResolved)
	if err != nil {
		return err
	}
	type upd struct{ id, event, reason string }
	var updates []upd
	for rows.Next() {
		var id, collector, status string
		if err := rows.Scan(&id, &collector, &status); err != nil {
			rows.Close()
			return err
		}
		c, ran := byTask[collector]
		switch {
		case ran && c.Status == CoverageOK:
			updates = append(updates, upd{id, "resolved", "no longer reported by " + collector})
		case ran:
			updates = append(updates, upd{id, "stale", fmt.Sprintf("not re-checked in scan %d: %s %s", scanID, c.Status, c.Reason)})
		default:
			updates = append(updates, upd{id, "stale", fmt.Sprintf("not re-checked in scan %d: %s was not part of that scan", scanID, collector)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := FormatTime(time.Now())
	for _, u := range updates {
		if u.event == "resolved" {
			_, err = tx.ExecContext(ctx, `UPDATE findings SET lifecycle = ?, stale = 0, stale_reason = '' WHERE id = ?`, finding.LifecycleResolved, u.id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE findings SET stale = 1, stale_reason = ? WHERE id = ?`, u.reason, u.id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_events (finding_id, scan_id, at, event, detail) VALUES (?, ?, ?, ?, ?)`,
			u.id, scanID, now, u.event, u.reason); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// FindingFilter selects findings; empty fields match everything.
type FindingFilter struct {
	Statuses     []string // PASS, FAIL, ERROR
	MinSeverity  finding.Severity
	Severities   []finding.Severity // exactly one of these (the CLI's --severity high, without +)
	Accounts     []string
	Regions      []string
	Control      string // framework:id
	CheckIDs     []string
	Sources      []string // matches any of the finding's sources
	ResourceGlob string   // exact ARN or a glob with * and ?
	Lifecycles   []string
	IDs          []string
	OrderByRisk  bool
	Limit        int
	Offset       int
}

// AddSeverity narrows the filter as `yagura findings --severity` and the dashboard read a
// severity: "high" is exactly high (several exact ones may be added), "high+" is high and above.
// A "+" typed into a URL arrives decoded as a space, so a trailing space means "and above" too.
func (f *FindingFilter) AddSeverity(spec string) error {
	spec = strings.TrimLeft(spec, " ")
	atLeast := strings.HasSuffix(spec, "+") || strings.HasSuffix(spec, " ")
	sev, err := finding.ParseSeverity(strings.TrimRight(spec, "+ "))
	if err != nil {
		return err
	}
	if atLeast {
		f.MinSeverity = max(f.MinSeverity, sev)
	} else {
		f.Severities = append(f.Severities, sev)
	}
	return nil
}

const findingColumns = `id, check_id, source, sources, source_id, controls, status, severity, account_id, region, resource_arn,
	resource_type, title, detail, evidence, remediation, collector, first_seen, last_seen, lifecycle, stale, stale_reason, risk`

func (f FindingFilter) where() (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		conds = append(conds, col+` IN (`+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+`)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("status", f.Statuses)
	in("account_id", f.Accounts)
	in("region", f.Regions)
	in("check_id", f.CheckIDs)
	in("lifecycle", f.Lifecycles)
	in("id", f.IDs)
	if f.MinSeverity > 0 {
		conds = append(conds, `severity >= ?`)
		args = append(args, int(f.MinSeverity))
	}
	if len(f.Severities) > 0 {
		conds = append(conds, `severity IN (`+strings.TrimSuffix(strings.Repeat("?,", len(f.Severities)), ",")+`)`)
		for _, s := range f.Severities {
			args = append(args, int(s))
		}
	}
	if f.Control != "" {
		conds = append(conds, `EXISTS (SELECT 1 FROM json_each(findings.controls) WHERE json_each.value = ?)`)
		args = append(args, f.Control)
	}
	if len(f.Sources) > 0 {
		conds = append(conds, `EXISTS (SELECT 1 FROM json_each(findings.sources) WHERE json_each.value IN (`+strings.TrimSuffix(strings.Repeat("?,", len(f.Sources)), ",")+`))`)
		for _, s := range f.Sources {
			args = append(args, s)
		}
	}
	if f.ResourceGlob != "" {
		if strings.ContainsAny(f.ResourceGlob, "*?[") {
			conds = append(conds, `resource_arn GLOB ?`)
		} else {
			conds = append(conds, `resource_arn = ?`)
		}
		args = append(args, f.ResourceGlob)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// EachFinding streams the findings matching f (current state), most severe first.
func (db *DB) EachFinding(ctx context.Context, f FindingFilter, fn func(*finding.Finding) error) error {
	where, args := f.where()
	order := ` ORDER BY severity DESC, account_id, region, check_id, resource_arn, id`
	if f.OrderByRisk {
		order = ` ORDER BY risk_score DESC, severity DESC, id`
	}
	q := `SELECT ` + findingColumns + ` FROM findings` + where + order
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d OFFSET %d`, f.Limit, f.Offset)
	}
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return err
		}
		if err := fn(fd); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Findings returns the findings matching f.
func (db *DB) Findings(ctx context.Context, f FindingFilter) ([]*finding.Finding, error) {
	var out []*finding.Finding
	err := db.EachFinding(ctx, f, func(fd *finding.Finding) error {
		out = append(out, fd)
		return nil
	})
	return out, err
}

// CountFindings counts the findings matching f.
func (db *DB) CountFindings(ctx context.Context, f FindingFilter) (int64, error) {
	where, args := f.where()
	var n int64
	err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM findings`+where, args...).Scan(&n)
	return n, err
}

func scanFinding(row interface{ Scan(...any) error }) (*finding.Finding, error) {
	var f finding.Finding
	var sources, controls, status, evidence, first, last, risk string
	var severity, stale int
	if err := row.Scan(&f.ID, &f.CheckID, &f.Source, &sources, &f.SourceID, &controls, &status, &severity, &f.AccountID, &f.Region,
		&f.ResourceARN, &f.ResourceType, &f.Title, &f.Detail, &evidence, &f.Remediation, &f.Collector, &first, &last, &f.Lifecycle,
		&stale, &f.StaleReason, &risk); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(sources), &f.Sources)
	_ = json.Unmarshal([]byte(controls), &f.Controls)
	if f.Controls == nil {
		f.Controls = []string{}
	}
	f.Status = finding.Status(status)
	f.Severity = finding.Severity(severity)
	if evidence != "null" && evidence != "" {
		f.Evidence = json.RawMessage(evidence)
	}
	f.FirstSeen, f.LastSeen = ParseTime(first), ParseTime(last)
	f.Stale = stale != 0
	if risk != "null" && risk != "" {
		f.Risk = &finding.Risk{}
		_ = json.Unmarshal([]byte(risk), f.Risk)
	}
	return &f, nil
}

// FindingEvent is one entry of a finding's history.
type FindingEvent struct {
	FindingID string    `json:"finding_id"`
	ScanID    int64     `json:"scan_id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Detail    string    `json:"detail,omitempty"`
}

// FindingEvents lists the history of one finding (empty id: every finding) in a scan range;
// toScan 0 means no upper bound.
func (db *DB) FindingEvents(ctx context.Context, findingID string, fromScan, toScan int64) ([]FindingEvent, error) {
	q := `SELECT finding_id, scan_id, at, event, detail FROM finding_events WHERE scan_id >= ?`
	args := []any{fromScan}
	if toScan > 0 {
		q += ` AND scan_id <= ?`
		args = append(args, toScan)
	}
	if findingID != "" {
		q += ` AND finding_id = ?`
		args = append(args, findingID)
	}
	rows, err := db.SQL.QueryContext(ctx, q+` ORDER BY scan_id, rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FindingEvent
	for rows.Next() {
		var e FindingEvent
		var at string
		if err := rows.Scan(&e.FindingID, &e.ScanID, &at, &e.Event, &e.Detail); err != nil {
			return nil, err
		}
		e.At = ParseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
