package store

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// The queries of this file are aggregates the dashboard (internal/web) shows; they live here so
// that the web handlers hold no SQL.

// FailCounts counts the FAIL findings by account and severity in one grouped query (one count
// per heatmap cell would be accounts × 5 queries).
func (db *DB) FailCounts(ctx context.Context) (map[string]map[finding.Severity]int64, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT account_id, severity, count(*) FROM findings WHERE status = 'FAIL' GROUP BY account_id, severity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[finding.Severity]int64{}
	for rows.Next() {
		var acct string
		var sev int
		var n int64
		if err := rows.Scan(&acct, &sev, &n); err != nil {
			return nil, err
		}
		if out[acct] == nil {
			out[acct] = map[finding.Severity]int64{}
		}
		out[acct][finding.Severity(sev)] += n
	}
	return out, rows.Err()
}

// NewestFailing returns up to n failing findings first seen by their latest scan, most severe
// first. The id query walks the page-order index and stops after n rows: filtering by
// lifecycle through FindingFilter would sort every failing finding.
func (db *DB) NewestFailing(ctx context.Context, n int) ([]*finding.Finding, error) {
	return db.findingsByIDQuery(ctx, `SELECT id FROM findings WHERE status = 'FAIL' AND lifecycle = 'new'
		ORDER BY severity DESC LIMIT ?`, n)
}

// ResolvedIn returns up to n findings a scan resolved, as its history says (an index seek on
// the events of the scan).
func (db *DB) ResolvedIn(ctx context.Context, scanID int64, n int) ([]*finding.Finding, error) {
	return db.findingsByIDQuery(ctx, `SELECT finding_id FROM finding_events WHERE scan_id = ? AND event = 'resolved'
		ORDER BY rowid DESC LIMIT ?`, scanID, n)
}

// findingsByIDQuery loads the findings whose ids a query returns, in the store's order.
func (db *DB) findingsByIDQuery(ctx context.Context, q string, args ...any) ([]*finding.Finding, error) {
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	return db.Findings(ctx, FindingFilter{IDs: ids})
}

// ScoreWeights weigh a result by its severity in a scan's score: a failing critical check costs
// ten times a failing low one; informational results do not count.
var ScoreWeights = map[finding.Severity]float64{finding.Critical: 10, finding.High: 5, finding.Medium: 3, finding.Low: 1}

// ScanScore is the organization's score in one scan: the severity-weighted share of passing
// results (ScoreWeights) among the PASS and FAIL results the scan recorded, 0-100. ERROR
// results are left out: nothing is known about them.
type ScanScore struct {
	ScanID int64   `json:"scan_id"`
	Pass   int64   `json:"pass"`
	Fail   int64   `json:"fail"`
	Score  float64 `json:"score"`
	// Scored is false when the scan recorded no weighted PASS or FAIL result (no score).
	Scored bool `json:"scored"`
}

// ScoreOf computes the score of one scan from its per-scan results (scan_findings).
func (db *DB) ScoreOf(ctx context.Context, scanID int64) (ScanScore, error) {
	s := ScanScore{ScanID: scanID}
	rows, err := db.SQL.QueryContext(ctx, `SELECT status, severity, count(*) FROM scan_findings
		WHERE scan_id = ? AND status IN ('PASS', 'FAIL') GROUP BY status, severity`, scanID)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	var passW, allW float64
	for rows.Next() {
		var status string
		var sev int
		var n int64
		if err := rows.Scan(&status, &sev, &n); err != nil {
			return s, err
		}
		w := ScoreWeights[finding.Severity(sev)] * float64(n)
		allW += w
		if status == string(finding.Pass) {
			s.Pass += n
			passW += w
		} else {
			s.Fail += n
		}
	}
	if allW > 0 {
		s.Scored = true
		s.Score = float64(int(passW/allW*1000+0.5)) / 10
	}
	return s, rows.Err()
}

// ControlCount counts the current results of one control in one account.
type ControlCount struct {
	Control   string `json:"control"`
	AccountID string `json:"account_id"`
	StatusCounts
}

// ControlCounts counts the current findings of every control of a framework (controls written
// "framework:id") by control and account. A FAIL finding resolved because its resource is gone
// no longer counts; an ERROR (or stale) one counts as error.
//
// Findings are grouped by their whole control list first: a catalog has a few hundred distinct
// lists, so JSON is parsed per group instead of per finding (100k findings: ~1 s → a table
// scan). A text test skips findings that map no control of the framework.
func (db *DB) ControlCounts(ctx context.Context, framework string) ([]ControlCount, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT controls, account_id,
		sum(status = 'PASS'), sum(status = 'FAIL' AND lifecycle != 'resolved'), sum(status = 'ERROR')
		FROM findings WHERE instr(controls, ?) > 0 GROUP BY controls, account_id`, `"`+framework+":")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct{ control, account string }
	sums := map[key]*StatusCounts{}
	for rows.Next() {
		var controls, account string
		var c StatusCounts
		if err := rows.Scan(&controls, &account, &c.Pass, &c.Fail, &c.Error); err != nil {
			return nil, err
		}
		var list []string
		if json.Unmarshal([]byte(controls), &list) != nil {
			continue
		}
		seen := map[string]bool{}
		for _, ctl := range list {
			if !strings.HasPrefix(ctl, framework+":") || seen[ctl] {
				continue
			}
			seen[ctl] = true
			k := key{ctl, account}
			if sums[k] == nil {
				sums[k] = &StatusCounts{}
			}
			sums[k].Pass += c.Pass
			sums[k].Fail += c.Fail
			sums[k].Error += c.Error
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ControlCount, 0, len(sums))
	for k, c := range sums {
		if c.Pass+c.Fail+c.Error > 0 {
			out = append(out, ControlCount{Control: k.control, AccountID: k.account, StatusCounts: *c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Control != out[j].Control {
			return out[i].Control < out[j].Control
		}
		return out[i].AccountID < out[j].AccountID
	})
	return out, nil
}

// StatusCounts counts findings by status.
type StatusCounts struct {
	Pass  int64 `json:"pass"`
	Fail  int64 `json:"fail"`
	Error int64 `json:"error"`
}

// CheckCounts counts the current findings of every check by status, in one grouped query. As
// in ControlCounts, a FAIL finding resolved because its resource is gone no longer counts.
func (db *DB) CheckCounts(ctx context.Context) (map[string]StatusCounts, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT check_id, sum(status = 'PASS'), sum(status = 'FAIL' AND lifecycle != 'resolved'),
		sum(status = 'ERROR') FROM findings GROUP BY check_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]StatusCounts{}
	for rows.Next() {
		var id string
		var c StatusCounts
		if err := rows.Scan(&id, &c.Pass, &c.Fail, &c.Error); err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, rows.Err()
}

// HistoryMark is a number that grows whenever a finding's history records an event (new,
// resolved, reopened, stale, muted, …): a cheap key for caches of per-scan aggregates that a
// re-evaluation may change.
func (db *DB) HistoryMark(ctx context.Context) (int64, error) {
	var n int64
	err := db.SQL.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM finding_events`).Scan(&n)
	return n, err
}
