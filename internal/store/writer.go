package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/inventory"
)

// Writer streams inventory records of one scan into the database. Many collectors write at once;
// one goroutine owns the SQLite write transaction and commits in batches, so memory stays bounded
// by the channel and batch size however large the organization is.
type Writer struct {
	db     *DB
	scanID int64
	ch     chan any
	done   chan struct{}
	mu     sync.Mutex
	err    error
	closed bool
}

// BatchSize is how many records go into one transaction.
const BatchSize = 500

// NewWriter starts a writer for scanID. Close it to flush.
func (db *DB) NewWriter(scanID int64) *Writer {
	w := &Writer{db: db, scanID: scanID, ch: make(chan any, 2*BatchSize), done: make(chan struct{})}
	go w.loop()
	return w
}

// PutResource queues a resource; it implements inventory.Sink.
func (w *Writer) PutResource(r *inventory.Resource) error {
	if err := w.Err(); err != nil {
		return err
	}
	w.ch <- r
	return nil
}

// PutRelationship queues a relationship; it implements inventory.Sink.
func (w *Writer) PutRelationship(rel inventory.Relationship) error {
	if err := w.Err(); err != nil {
		return err
	}
	w.ch <- rel
	return nil
}

// Err returns the first write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close flushes what is queued and stops the writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.Err()
	}
	w.closed = true
	w.mu.Unlock()
	close(w.ch)
	<-w.done
	return w.Err()
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]any, 0, BatchSize)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := w.write(batch); err != nil {
			w.setErr(err)
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case rec, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			batch = append(batch, rec)
			if len(batch) >= BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func (w *Writer) write(batch []any) error {
	ctx := context.Background()
	tx, err := w.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	resStmt, err := tx.PrepareContext(ctx, `INSERT INTO resources (scan_id, arn, type, account_id, region, name, tags, config, errors, collected_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scan_id, arn) DO UPDATE SET type=excluded.type, name=excluded.name, tags=excluded.tags,
		config=excluded.config, errors=excluded.errors, collected_at=excluded.collected_at`)
	if err != nil {
		return err
	}
	relStmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO relationships (scan_id, from_arn, to_arn, kind) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, rec := range batch {
		switch r := rec.(type) {
		case *inventory.Resource:
			if err := insertResource(ctx, resStmt, w.scanID, r); err != nil {
				return err
			}
		case inventory.Relationship:
			if _, err := relStmt.ExecContext(ctx, w.scanID, r.From, r.To, r.Kind); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func insertResource(ctx context.Context, stmt *sql.Stmt, scanID int64, r *inventory.Resource) error {
	tags, _ := json.Marshal(nonNilMap(r.Tags))
	errs, _ := json.Marshal(nonNilMap(r.Errors))
	cfg := r.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage(`{}`)
	}
	collected := r.CollectedAt
	if collected.IsZero() {
		collected = time.Now()
	}
	_, err := stmt.ExecContext(ctx, scanID, r.ARN, r.Type, r.AccountID, r.Region, r.Name, string(tags), string(cfg), string(errs), FormatTime(collected))
	return err
}
