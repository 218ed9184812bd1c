package store

import (
	"context"
	"fmt"
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
