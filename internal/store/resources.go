package store

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/yagura-dev/yagura/internal/inventory"
)

// ResourceFilter selects inventory records; empty fields match everything.
type ResourceFilter struct {
	Types     []string
	AccountID string
	Region    string
	ARN       string
	Tags      map[string]string // every key=value must be present
}

// EachResource streams the resources of a scan that match f, in (type, account, region, arn)
// order, without holding them all in memory. Returning an error from fn stops the iteration.
func (db *DB) EachResource(ctx context.Context, scanID int64, f ResourceFilter, fn func(*inventory.Resource) error) error {
	q := strings.Builder{}
	q.WriteString(`SELECT arn, type, account_id, region, name, tags, config, errors, collected_at FROM resources WHERE scan_id = ?`)
	args := []any{scanID}
	if len(f.Types) > 0 {
		q.WriteString(` AND type IN (` + strings.TrimSuffix(strings.Repeat("?,", len(f.Types)), ",") + `)`)
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.AccountID != "" {
		q.WriteString(` AND account_id = ?`)
		args = append(args, f.AccountID)
	}
	if f.Region != "" {
		q.WriteString(` AND region = ?`)
		args = append(args, f.Region)
	}
	if f.ARN != "" {
		q.WriteString(` AND arn = ?`)
		args = append(args, f.ARN)
	}
	for k, v := range f.Tags {
		q.WriteString(` AND json_extract(tags, ?) = ?`)
		args = append(args, `$."`+strings.ReplaceAll(k, `"`, `""`)+`"`, v)
	}
	q.WriteString(` ORDER BY type, account_id, region, arn`)
	rows, err := db.SQL.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r inventory.Resource
		var tags, cfg, errs, collected string
		if err := rows.Scan(&r.ARN, &r.Type, &r.AccountID, &r.Region, &r.Name, &tags, &cfg, &errs, &collected); err != nil {
			return err
		}
		_ = json.Unmarshal([]byte(tags), &r.Tags)
		_ = json.Unmarshal([]byte(errs), &r.Errors)
		if len(r.Errors) == 0 {
			r.Errors = nil
		}
		r.Config = json.RawMessage(cfg)
		r.CollectedAt = ParseTime(collected)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Relationships lists the edges of a scan from (or, with reverse, to) an ARN; an empty ARN lists all.
func (db *DB) Relationships(ctx context.Context, scanID int64, arn string, reverse bool) ([]inventory.Relationship, error) {
	q := `SELECT from_arn, to_arn, kind FROM relationships WHERE scan_id = ?`
	args := []any{scanID}
	if arn != "" {
		if reverse {
			q += ` AND to_arn = ?`
		} else {
			q += ` AND from_arn = ?`
		}
		args = append(args, arn)
	}
	rows, err := db.SQL.QueryContext(ctx, q+` ORDER BY from_arn, kind, to_arn`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inventory.Relationship
	for rows.Next() {
		var r inventory.Relationship
		if err := rows.Scan(&r.From, &r.To, &r.Kind); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResourceCount is one cell of `yagura inventory --counts`.
type ResourceCount struct {
	Type      string `json:"type"`
	AccountID string `json:"account_id"`
	Count     int64  `json:"count"`
}

// ResourceCounts counts resources by type and account.
func (db *DB) ResourceCounts(ctx context.Context, scanID int64) ([]ResourceCount, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT type, account_id, count(*) FROM resources WHERE scan_id = ? GROUP BY type, account_id ORDER BY type, account_id`, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ResourceCount
	for rows.Next() {
		var c ResourceCount
		if err := rows.Scan(&c.Type, &c.AccountID, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
