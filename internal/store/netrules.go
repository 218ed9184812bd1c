package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NetRule is one address range of one rule. Start and End are 16-byte addresses, IPv4 as
// IPv4-mapped IPv6. A rule without a range (Family 0: a security group rule naming a prefix list
// that could not be resolved) says why in Note.
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
	Note         string
}

// Rules are stored grouped by lookup key in netrule_groups (schema/0101_netrule_groups.sql): one
// blob per CIDR holding every rule of that CIDR, because a query returning thousands of rules
// spent its time in the SQLite driver, ~20 µs per row of 25 columns, and decoding a blob in Go
// costs well under a microsecond per rule.
//
// Record format: the family byte, then the prefix length, the ports and rule number as varints,
// then each byte field (Start, End, the strings in netRuleFields order) as uvarint(len+1) and the
// bytes, or uvarint(0) for "the same as the previous record of this blob": the rules of one
// resource, account and region follow each other, so most of them repeat.
const (
	netGroupSpecial  = 0 // family of the groups every query reads
	netGroupUnranged = 0 // prefix_len (in family 0) of the rules without an address range
	netGroupNotIP    = 1 // prefix_len (in family 0) of the NotIpAddress rules
	// condNotIP is the policy operator that applies to the addresses outside its range, which a
	// range lookup cannot find: its rules are kept apart and read whole.
	condNotIP = "NotIpAddress"
)

// netGroupKey is the network start of the family-0 groups.
var netGroupKey = []byte{0}

func netRuleFields(r *NetRule) [17]*string {
	return [...]*string{&r.AccountID, &r.Region, &r.ResourceARN, &r.ResourceType, &r.ResourceName, &r.Kind, &r.Direction,
		&r.Protocol, &r.Action, &r.RuleID, &r.Description, &r.Sid, &r.Effect, &r.Condition, &r.CIDR, &r.PrefixListID, &r.Note}
}

// appendNetRule encodes r after dst; fields equal to prev's are back-references (prev may be nil).
func appendNetRule(dst []byte, r, prev *NetRule) []byte {
	dst = append(dst, byte(r.Family))
	dst = binary.AppendUvarint(dst, uint64(r.PrefixLen))
	dst = binary.AppendVarint(dst, int64(r.FromPort))
	dst = binary.AppendVarint(dst, int64(r.ToPort))
	dst = binary.AppendVarint(dst, int64(r.RuleNumber))
	field := func(v []byte, same bool) {
		if same {
			dst = append(dst, 0)
			return
		}
		dst = binary.AppendUvarint(dst, uint64(len(v))+1)
		dst = append(dst, v...)
	}
	field(r.Start, prev != nil && bytes.Equal(r.Start, prev.Start))
	field(r.End, prev != nil && bytes.Equal(r.End, prev.End))
	cur := netRuleFields(r)
	var old [17]*string
	if prev != nil {
		old = netRuleFields(prev)
	}
	for i, s := range cur {
		same := prev != nil && *s == *old[i]
		if same {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(*s))+1)
		dst = append(dst, *s...)
	}
	return dst
}

var errCorruptNetRule = fmt.Errorf("netrule_groups: corrupt record")

// decodeNetRules calls fn for each record of a blob of n records. Nothing points into b
// afterwards (it may be the driver's buffer): the strings are substrings of one copy of it, and
// Start and End are copied, once per run of records sharing them. The records are allocated
// together: a query decodes thousands.
func decodeNetRules(b []byte, n int, fn func(*NetRule) error) error {
	s := string(b)
	var prev *NetRule
	off := 0
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return 0, false
		}
		off += n
		return v, true
	}
	sv := func() (int, bool) {
		v, n := binary.Varint(b[off:])
		if n <= 0 {
			return 0, false
		}
		off += n
		return int(v), true
	}
	// span reads one field: its bounds in b, or same for a back-reference.
	span := func() (lo, hi int, same, ok bool) {
		n, ok := uv()
		if !ok {
			return 0, 0, false, false
		}
		if n == 0 {
			return 0, 0, true, prev != nil
		}
		lo, hi = off, off+int(n-1)
		if hi > len(b) || hi < lo {
			return 0, 0, false, false
		}
		off = hi
		return lo, hi, false, true
	}
	slab := make([]NetRule, max(n, 0))
	for off < len(b) {
		if len(slab) == 0 {
			slab = make([]NetRule, 1) // more records than the row says
		}
		r := &slab[0]
		slab = slab[1:]
		r.Family = int(b[off])
		off++
		pl, ok1 := uv()
		from, ok2 := sv()
		to, ok3 := sv()
		num, ok4 := sv()
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return errCorruptNetRule
		}
		r.PrefixLen, r.FromPort, r.ToPort, r.RuleNumber = int(pl), from, to, num
		for i, dst := range [2]*[]byte{&r.Start, &r.End} {
			lo, hi, same, ok := span()
			switch {
			case !ok:
				return errCorruptNetRule
			case same && i == 0:
				*dst = prev.Start
			case same:
				*dst = prev.End
			case hi > lo:
				*dst = []byte(s[lo:hi])
			}
		}
		cur := netRuleFields(r)
		var old [17]*string
		if prev != nil {
			old = netRuleFields(prev)
		}
		for i, dst := range cur {
			lo, hi, same, ok := span()
			switch {
			case !ok:
				return errCorruptNetRule
			case same:
				*dst = *old[i]
			default:
				*dst = s[lo:hi]
			}
		}
		if err := fn(r); err != nil {
			return err
		}
		prev = r
	}
	return nil
}

// netGroupOf returns the group a rule is stored in, and its order inside the group before
// extraction order.
func netGroupOf(r *NetRule) (family, prefixLen int, start, ord []byte) {
	switch {
	case r.Family == 0:
		return netGroupSpecial, netGroupUnranged, netGroupKey, nil
	case r.Condition == condNotIP:
		// Read whole and judged per statement: keep each statement's CIDRs together.
		return netGroupSpecial, netGroupNotIP, netGroupKey, []byte(r.ResourceARN + "\x00" + r.RuleID)
	}
	return r.Family, r.PrefixLen, r.Start, nil
}

// NetRuleWriter replaces the rules of one scan. Rules are appended to a staging table in
// batches, and Close sorts them into their groups, so memory stays bounded however many rules
// the organization has. Nothing is marked indexed until Close.
type NetRuleWriter struct {
	// Order, when set, is the order of the rules inside each stored group (stable: ties keep
	// extraction order), so that a reader showing rules in that order merges the groups it reads
	// instead of sorting them. The NotIpAddress group keeps resource and statement order.
	Order func(a, b *NetRule) int

	db      *DB
	scanID  int64
	tx      *sql.Tx
	stmt    *sql.Stmt // the full multi-row INSERT, prepared in tx
	head    string    // the INSERT of the queued rows
	args    []any     // queued rows
	pending int
	total   int64
}

// NewNetRuleWriter deletes whatever a previous, possibly interrupted, extraction left for the
// scan and starts a writer.
func (db *DB) NewNetRuleWriter(ctx context.Context, scanID int64) (*NetRuleWriter, error) {
	for _, q := range []string{`DELETE FROM netrule_scans WHERE scan_id = ?`, `DELETE FROM netrule_groups WHERE scan_id = ?`,
		`DELETE FROM netrule_staging WHERE scan_id = ?`} {
		if _, err := db.SQL.ExecContext(ctx, q, scanID); err != nil {
			return nil, err
		}
	}
	return &NetRuleWriter{db: db, scanID: scanID}, nil
}

// netRuleBatch is larger than BatchSize: rows are small and the bulk load of a large
// organization is dominated by commit count.
const netRuleBatch = 20000

// netRulesPerInsert is how many rows one INSERT statement carries: one statement execution per
// row through the driver was the larger part of a bulk load. A variable for tests.
var netRulesPerInsert = 64

const (
	stagingInsert = `INSERT INTO netrule_staging (scan_id, family, prefix_len, net_start, ord, seq, data) VALUES `
	groupsInsert  = `INSERT INTO netrule_groups (scan_id, family, prefix_len, net_start, part, rules, data) VALUES `
	netRuleCols   = 7
)

func insertSQL(head string, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", netRuleCols), ",") + ")"
	return head + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// add queues one row for the INSERT starting with head (the rows of one writer phase all go to
// one table); the arguments must not change afterwards. Rows are written netRulesPerInsert at a
// time and committed every netRuleBatch rows.
func (w *NetRuleWriter) add(ctx context.Context, head string, args ...any) error {
	if w.tx == nil {
		tx, err := w.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		w.tx = tx
	}
	if head != w.head && (len(w.args) > 0 || w.stmt != nil) {
		if err := w.flush(ctx); err != nil {
			return err
		}
		return w.add(ctx, head, args...)
	}
	w.head = head
	w.args = append(w.args, args...)
	if len(w.args) < netRuleCols*netRulesPerInsert {
		return nil
	}
	if w.stmt == nil {
		stmt, err := w.tx.PrepareContext(ctx, insertSQL(head, netRulesPerInsert))
		if err != nil {
			w.abort()
			return err
		}
		w.stmt = stmt
	}
	if _, err := w.stmt.ExecContext(ctx, w.args...); err != nil {
		w.abort()
		return err
	}
	clear(w.args)
	w.args = w.args[:0]
	w.pending += netRulesPerInsert
	if w.pending >= netRuleBatch {
		return w.flush(ctx)
	}
	return nil
}

// Put queues one rule.
func (w *NetRuleWriter) Put(ctx context.Context, r *NetRule) error {
	fam, plen, start, ord := netGroupOf(r)
	if ord == nil {
		ord = []byte{}
	}
	if err := w.add(ctx, stagingInsert, w.scanID, fam, plen, start, ord, w.total, appendNetRule(nil, r, nil)); err != nil {
		return err
	}
	w.total++
	return nil
}

func (w *NetRuleWriter) abort() {
	if w.tx != nil {
		if w.stmt != nil {
			w.stmt.Close()
		}
		w.tx.Rollback()
	}
	w.tx, w.stmt, w.args, w.pending = nil, nil, nil, 0
}

// flush writes the queued rows and commits.
func (w *NetRuleWriter) flush(ctx context.Context) error {
	if w.tx == nil {
		return nil
	}
	if len(w.args) > 0 {
		if _, err := w.tx.ExecContext(ctx, insertSQL(w.head, len(w.args)/netRuleCols), w.args...); err != nil {
			w.abort()
			return err
		}
	}
	if w.stmt != nil {
		w.stmt.Close()
	}
	err := w.tx.Commit()
	clear(w.args)
	w.tx, w.stmt, w.args, w.pending = nil, nil, w.args[:0], 0
	return err
}

// Close groups the staged rules by key and marks the scan indexed.
func (w *NetRuleWriter) Close(ctx context.Context) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	prefixes, err := w.group(ctx)
	if err != nil {
		w.abort()
		return err
	}
	if _, err := w.db.SQL.ExecContext(ctx, `DELETE FROM netrule_staging WHERE scan_id = ?`, w.scanID); err != nil {
		return err
	}
	p := map[string][]int{}
	for _, fam := range []int{4, 6} {
		l := []int{}
		for n := range prefixes[fam] {
			l = append(l, n)
		}
		sort.Ints(l)
		p[strconv.Itoa(fam)] = l
	}
	b, _ := json.Marshal(p)
	_, err = w.db.SQL.ExecContext(ctx, `INSERT INTO netrule_scans (scan_id, rules, prefixes, indexed_at) VALUES (?, ?, ?, ?)`,
		w.scanID, w.total, string(b), FormatTime(time.Now()))
	return err
}

// group reads the staged rules in key order (SQLite sorts them, spilling to disk, so memory
// stays bounded) and writes one row per key and part. It returns the prefix lengths present.
func (w *NetRuleWriter) group(ctx context.Context) (map[int]map[int]bool, error) {
	prefixes := map[int]map[int]bool{4: {}, 6: {}}
	rows, err := w.db.SQL.QueryContext(ctx, `SELECT family, prefix_len, net_start, data FROM netrule_staging WHERE scan_id = ?
 ORDER BY family, prefix_len, net_start, ord, seq`, w.scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		fam, plen, part = -1, -1, 0
		start, data     []byte
		recs            []*NetRule
	)
	put := func() error {
		n := len(recs)
		if n == 0 {
			return nil
		}
		// The NotIpAddress group keeps its resource and statement order (NetRulesByCondition).
		if w.Order != nil && !(fam == netGroupSpecial && plen == netGroupNotIP) {
			slices.SortStableFunc(recs, w.Order)
		}
		// Each record is encoded against the previous one: back-references shrink the blob.
		var prev *NetRule
		for _, r := range recs {
			data = appendNetRule(data, r, prev)
			prev = r
		}
		if err := w.add(ctx, groupsInsert, w.scanID, fam, plen, start, part, n, data); err != nil {
			return err
		}
		if prefixes[fam] != nil {
			prefixes[fam][plen] = true
		}
		// data is queued: the next row gets its own.
		part, data, recs = part+1, nil, recs[:0]
		return nil
	}
	for rows.Next() {
		var f, l int
		var s, rec []byte
		if err := rows.Scan(&f, &l, &s, &rec); err != nil {
			return nil, err
		}
		if f != fam || l != plen || !bytes.Equal(s, start) {
			if err := put(); err != nil {
				return nil, err
			}
			fam, plen, start, part = f, l, s, 0
		} else if len(recs) >= netGroupPart {
			if err := put(); err != nil {
				return nil, err
			}
		}
		err := decodeNetRules(rec, 1, func(r *NetRule) error {
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := put(); err != nil {
		return nil, err
	}
	return prefixes, w.flush(ctx)
}

// netGroupPart is the most records one group row holds, which bounds the writer's memory and a
// row's size; a variable so that tests can make groups span parts.
var netGroupPart = 1000

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
	stmt, err := db.SQL.PrepareContext(ctx, `SELECT rules, data FROM netrule_groups WHERE scan_id = ? AND family = ? AND prefix_len = ? AND net_start = ? ORDER BY part`)
	if err != nil {
		return nil, err
	}
	return &NetRuleLookup{stmt: stmt, scanID: scanID}, nil
}

// Close releases the statement.
func (l *NetRuleLookup) Close() error { return l.stmt.Close() }

// At streams the rules whose range starts exactly at start with the given prefix length.
// NotIpAddress rules are not among them (see NetRulesByCondition).
func (l *NetRuleLookup) At(ctx context.Context, family, prefixLen int, start []byte, fn func(*NetRule) error) error {
	rows, err := l.stmt.QueryContext(ctx, l.scanID, family, prefixLen, start)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// Unranged streams the rules without an address range (Family 0), which every query must show
// since they may concern any address.
func (l *NetRuleLookup) Unranged(ctx context.Context, fn func(*NetRule) error) error {
	return l.At(ctx, netGroupSpecial, netGroupUnranged, netGroupKey, fn)
}

// NetRulesStartingIn streams the rules of one prefix length whose network start lies in
// [lo, hi]: one index range scan.
func (db *DB) NetRulesStartingIn(ctx context.Context, scanID int64, family, prefixLen int, lo, hi []byte, fn func(*NetRule) error) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT rules, data FROM netrule_groups WHERE scan_id = ? AND family = ? AND prefix_len = ? AND net_start BETWEEN ? AND ?
 ORDER BY net_start, part`, scanID, family, prefixLen, lo, hi)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// NetRulesByCondition streams the policy rules of a scan written with a condition operator
// (e.g. every NotIpAddress statement, which applies to the addresses it does not contain),
// ordered by resource and rule id. NotIpAddress rules are one read; other operators read every
// rule of the scan.
func (db *DB) NetRulesByCondition(ctx context.Context, scanID int64, kind string, conditions []string, fn func(*NetRule) error) error {
	want := map[string]bool{}
	for _, c := range conditions {
		want[c] = true
	}
	keep := func(r *NetRule) bool { return r.Kind == kind && want[r.Condition] }
	if len(want) == 0 || len(want) == 1 && want[condNotIP] {
		return db.eachNotIPRule(ctx, scanID, func(r *NetRule) error {
			if keep(r) {
				return fn(r)
			}
			return nil
		})
	}
	var out []*NetRule
	err := db.EachNetRule(ctx, scanID, func(r *NetRule) error {
		if keep(r) {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ResourceARN != b.ResourceARN {
			return a.ResourceARN < b.ResourceARN
		}
		return a.RuleID < b.RuleID
	})
	for _, r := range out {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) eachNotIPRule(ctx context.Context, scanID int64, fn func(*NetRule) error) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT rules, data FROM netrule_groups WHERE scan_id = ? AND family = ? AND prefix_len = ? AND net_start = ? ORDER BY part`,
		scanID, netGroupSpecial, netGroupNotIP, netGroupKey)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

// NetRuleConditions lists the distinct condition operators present for a kind in a scan. It
// reads every rule.
func (db *DB) NetRuleConditions(ctx context.Context, scanID int64, kind string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	err := db.EachNetRule(ctx, scanID, func(r *NetRule) error {
		if r.Kind == kind && !seen[r.Condition] {
			seen[r.Condition] = true
			out = append(out, r.Condition)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// EachNetRule streams every rule of a scan in key order (the linear baseline of the benchmark,
// and exports): first the rules without a range and the NotIpAddress rules, then by family,
// prefix length and network start.
func (db *DB) EachNetRule(ctx context.Context, scanID int64, fn func(*NetRule) error) error {
	rows, err := db.SQL.QueryContext(ctx, `SELECT rules, data FROM netrule_groups WHERE scan_id = ? ORDER BY family, prefix_len, net_start, part`, scanID)
	if err != nil {
		return err
	}
	return eachNetRule(rows, fn)
}

func eachNetRule(rows *sql.Rows, fn func(*NetRule) error) error {
	defer rows.Close()
	for rows.Next() {
		var n int
		var data sql.RawBytes // decodeNetRules copies what it keeps
		if err := rows.Scan(&n, &data); err != nil {
			return err
		}
		if err := decodeNetRules(data, n, fn); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ClaimNetRuleExtraction claims the extraction of a scan's rules for this process, so that two
// processes never stage the same scan's rules at once. It returns false while another live
// process holds the claim; a claim left by a process that is gone is taken over. Callers in one
// process serialize among themselves (a claim this process already holds is granted again).
func (db *DB) ClaimNetRuleExtraction(ctx context.Context, scanID int64) (bool, error) {
	me, now := os.Getpid(), FormatTime(time.Now())
	res, err := db.SQL.ExecContext(ctx, `INSERT INTO netrule_claims (scan_id, pid, claimed_at) VALUES (?, ?, ?) ON CONFLICT (scan_id) DO NOTHING`, scanID, me, now)
	if err != nil {
		return false, fmt.Errorf("claim extraction of scan %d: %w", scanID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	var holder int
	switch err := db.SQL.QueryRowContext(ctx, `SELECT pid FROM netrule_claims WHERE scan_id = ?`, scanID).Scan(&holder); {
	case err == sql.ErrNoRows:
		return db.ClaimNetRuleExtraction(ctx, scanID) // released meanwhile
	case err != nil:
		return false, fmt.Errorf("claim extraction of scan %d: %w", scanID, err)
	}
	if holder != me && processAlive(holder) {
		return false, nil
	}
	// Ours already, or its holder is gone: take it over unless someone else just did.
	res, err = db.SQL.ExecContext(ctx, `UPDATE netrule_claims SET pid = ?, claimed_at = ? WHERE scan_id = ? AND pid = ?`, me, now, scanID, holder)
	if err != nil {
		return false, fmt.Errorf("claim extraction of scan %d: %w", scanID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseNetRuleExtraction ends this process's claim on a scan's extraction.
func (db *DB) ReleaseNetRuleExtraction(ctx context.Context, scanID int64) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM netrule_claims WHERE scan_id = ? AND pid = ?`, scanID, os.Getpid())
	return err
}
