package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NetRule is one address range of one rule, as stored in the netrules table (see
// schema/0100_netrules.sql). Start and End are 16-byte addresses, IPv4 as IPv4-mapped IPv6.
type NetRule struct {
	Family       int
	PrefixLen    int
	Start, End   []byte
	AccountID    string
	Region       string
	ResourceARN  string
	ResourceType string
	ResourceName string
	Kind         string
	Direction    string
	Protocol     string
	FromPort     int
	ToPort       int
	RuleNumber   int
	Action       string
	RuleID       string
	Description  string
	Sid          string
	Effect       string
	Condition    string
	CIDR         string
	PrefixListID string
}

const netRuleCols = `family, prefix_len, net_start, net_end, account_id, region, resource_arn, resource_type,
 resource_name, kind, direction, protocol, from_port, to_port, rule_number, action, rule_id, description, sid,
 effect, condition, cidr, prefix_list_id`

func scanNetRule(rows *sql.Rows) (*NetRule, error) {
	var r NetRule
	err := rows.Scan(&r.Family, &r.PrefixLen, &r.Start, &r.End, &r.AccountID, &r.Region, &r.ResourceARN, &r.ResourceType,
		&r.ResourceName, &r.Kind, &r.Direction, &r.Protocol, &r.FromPort, &r.ToPort, &r.RuleNumber, &r.Action, &r.RuleID,
		&r.Description, &r.Sid, &r.Effect, &r.Condition, &r.CIDR, &r.PrefixListID)
	return &r, err
}

// NetRuleWriter replaces the rules of one scan, committing in batches so that memory stays
// bounded however many rules the organization has. Nothing is marked indexed until Close.
type NetRuleWriter struct {
	db       *DB
	scanID   int64
	tx       *sql.Tx
	stmt     *sql.Stmt
	pending  int
	total    int64
	prefixes map[int]map[int]bool
}

// NewNetRuleWriter deletes whatever a previous, possibly interrupted, extraction left for the
// scan and starts a writer.
func (db *DB) NewNetRuleWriter(ctx context.Context, scanID int64) (*NetRuleWriter, error) {
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM netrule_scans WHERE scan_id = ?`, scanID); err != nil {
		return nil, err
	}
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM netrules WHERE scan_id = ?`, scanID); err != nil {
		return nil, err
	}
	return &NetRuleWriter{db: db, scanID: scanID, prefixes: map[int]map[int]bool{4: {}, 6: {}}}, nil
}

// netRuleBatch is larger than BatchSize: rows are small and the bulk load of a large
// organization is dominated by commit count.
const netRuleBatch = 5000

// Put queues one rule.
func (w *NetRuleWriter) Put(ctx context.Context, r *NetRule) error {
	if w.tx == nil {
		tx, err := w.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO netrules (scan_id, seq, `+netRuleCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		w.tx, w.stmt = tx, stmt
	}
	if _, err := w.stmt.ExecContext(ctx, w.scanID, w.total, r.Family, r.PrefixLen, r.Start, r.End, r.AccountID, r.Region, r.ResourceARN,
		r.ResourceType, r.ResourceName, r.Kind, r.Direction, r.Protocol, r.FromPort, r.ToPort, r.RuleNumber, r.Action, r.RuleID,
		r.Description, r.Sid, r.Effect, r.Condition, r.CIDR, r.PrefixListID); err != nil {
		w.abort()
		return err
	}
	if w.prefixes[r.Family] != nil {
		w.prefixes[r.Family][r.PrefixLen] = true
	}
	w.pending++
	w.total++
	if w.pending >= netRuleBatch {
		return w.flush()
	}
	return nil
}

func (w *NetRuleWriter) abort() {
	if w.tx != nil {
		w.stmt.Close()
		w.tx.Rollback()
		w.tx, w.stmt = nil, nil
	}
}

func (w *NetRuleWriter) flush() error {
	if w.tx == nil {
		return nil
	}
	w.stmt.Close()
	err := w.tx.Commit()
	w.tx, w.stmt, w.pending = nil, nil, 0
	return err
}

// Close commits what is queued and marks the scan indexed.
func (w *NetRuleWriter) Close(ctx context.Context) error {
	if err := w.flush(); err != nil {
		return err
	}
	p := map[string][]int{}
	for fam, lens := range w.prefixes {
		l := []int{}
		for n := range lens {
			l = append(l, n)
		}
		sort.Ints(l)
		p[strconv.Itoa(fam)] = l
	}
	b, _ := json.Marshal(p)
	_, err := w.db.SQL.ExecContext(ctx, `INSERT INTO netrule_scans (scan_id, rules, prefixes, indexed_at) VALUES (?, ?, ?, ?)`,
		w.scanID, w.total, string(b), FormatTime(time.Now()))
	return err
}

// NetRuleIndex says whether a scan's rules were extracted and which prefix lengths exist per
// family (4, 6).
type NetRuleIndex struct {
	Indexed  bool
	Rules    int64
	Prefixes map[int][]int
}

// NetRuleIndexOf reads the extraction marker of a scan.
func (db *DB) NetRuleIndexOf(ctx context.Context, scanID int64) (NetRuleIndex, error) {
	var ix NetRuleIndex
	var prefixes string
	err := db.SQL.QueryRowContext(ctx, `SELECT rules, prefixes FROM netrule_scans WHERE scan_id = ?`, scanID).Scan(&ix.Rules, &prefixes)
	if err == sql.ErrNoRows {
		return ix, nil
	}
	if err != nil {
		return ix, err
	}
	ix.Indexed = true
	var p map[string][]int
	if err := json.Unmarshal([]byte(prefixes), &p); err != nil {
		return ix, fmt.Errorf("netrule_scans prefixes of scan %d: %w", scanID, err)
	}
	ix.Prefixes = map[int][]int{}
	for k, v := range p {
		fam, _ := strconv.Atoi(k)
		ix.Prefixes[fam] = v
	}
	return ix, nil
}

// NetRuleLookup is a prepared point lookup of rules by (family, prefix length, network start):
// one index seek per call.
type NetRuleLookup struct {
	stmt   *sql.Stmt
	scanID int64
}

// PrepareNetRuleLookup prepares the point lookup for a scan. Close it after use.
func (db *DB) PrepareNetRuleLookup(ctx context.Context, scanID int64) (*NetRuleLookup, error) {
	stmt, err := db.SQL.PrepareContext(ctx, `SELECT `+netRuleCols+` FROM netrules WHERE scan_id = ? AND family = ? AND prefix_len = ? AND net_start = ?`)
	if err != nil {
		return nil, err
	}
	return &NetRuleLookup{stmt: stmt, scanID: scanID}, nil
}

// Close releases the statement.
func (l *NetRuleLookup) Close() error { return l.stmt.Close() }

// At streams the rules whose range starts exactly at start with the given prefix length.
func (l *NetRuleLookup) At(ctx context.Context, family, prefixLen int, start []byte, fn func(*NetRule) error) error {
	rows, err := l.stmt.QueryContext(ctx, l.scanID, family, prefixLen, start)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// NetRulesStartingIn streams the rules of one prefix length whose network start lies in
// [lo, hi]: one index range scan.
func (db *DB) NetRulesStartingIn(ctx context.Context, scanID int64, family, prefixLen int, lo, hi []byte, fn func(*NetRule) error) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+netRuleCols+` FROM netrules WHERE scan_id = ? AND family = ? AND prefix_len = ? AND net_start BETWEEN ? AND ?`,
		scanID, family, prefixLen, lo, hi)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// NetRulesByCondition streams the policy rules of a scan written with a condition operator
// (e.g. every NotIpAddress statement, which applies to the addresses it does not contain).
func (db *DB) NetRulesByCondition(ctx context.Context, scanID int64, kind string, conditions []string, fn func(*NetRule) error) error {
	if len(conditions) == 0 {
		return nil
	}
	args := []any{scanID, kind}
	for _, c := range conditions {
		args = append(args, c)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+netRuleCols+` FROM netrules INDEXED BY netrules_kind WHERE scan_id = ? AND kind = ? AND condition IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(conditions)), ",")+`) ORDER BY resource_arn, rule_id`, args...)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// NetRuleConditions lists the distinct condition operators present for a kind in a scan.
func (db *DB) NetRuleConditions(ctx context.Context, scanID int64, kind string) ([]string, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT DISTINCT condition FROM netrules WHERE scan_id = ? AND kind = ?`, scanID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EachNetRule streams every rule of a scan in storage order (the linear baseline of the
// benchmark, and exports).
func (db *DB) EachNetRule(ctx context.Context, scanID int64, fn func(*NetRule) error) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+netRuleCols+` FROM netrules WHERE scan_id = ?`, scanID)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

func eachNetRule(rows *sql.Rows, fn func(*NetRule) error) error {
	defer rows.Close()
	for rows.Next() {
		r, err := scanNetRule(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
