package netsearch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// IndexScan extracts every address-bearing rule of a scan's inventory into the netrules table.
// It is a scan hook (scan.Scanner.AfterCollect) and is run lazily by `yagura find` for scans
// indexed before it existed. Resources are streamed: only prefix list entries are held.
func IndexScan(ctx context.Context, db *store.DB, scanID int64) error {
	indexing.Lock()
	defer indexing.Unlock()
	return claimed(ctx, db, scanID, func() error {
		_, err := indexScan(ctx, db, scanID)
		return err
	})
}

// indexing serializes extractions in this process (the dashboard answers searches
// concurrently), and the claim row (store.ClaimNetRuleExtraction) across processes (the CLI and
// the dashboard): two extractions of one scan at once would mix their staged rows.
var indexing sync.Mutex

// claimPoll is how often a search waiting for another process's extraction looks again.
const claimPoll = 200 * time.Millisecond

// claimed runs fn while this process holds the scan's extraction claim, first waiting for
// another process's claim to end or its process to die.
func claimed(ctx context.Context, db *store.DB, scanID int64, fn func() error) error {
	for {
		ok, err := db.ClaimNetRuleExtraction(ctx, scanID)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(claimPoll):
		}
	}
	defer db.ReleaseNetRuleExtraction(context.WithoutCancel(ctx), scanID)
	return fn()
}

// IndexStats says what an extraction wrote.
type IndexStats struct {
	Rules      int64
	Unresolved []string
}

func indexScan(ctx context.Context, db *store.DB, scanID int64) (IndexStats, error) {
	var st IndexStats
	x := &Extractor{PrefixLists: PrefixLists{}}
	// Prefix lists first: security group rules are resolved against them.
	if err := db.EachResource(ctx, scanID, store.ResourceFilter{Types: []string{TypePrefixList}}, x.PrefixLists.AddPrefixList); err != nil {
		return st, fmt.Errorf("index scan %d: prefix lists: %w", scanID, err)
	}
	w, err := NewRuleWriter(ctx, db, scanID)
	if err != nil {
		return st, fmt.Errorf("index scan %d: %w", scanID, err)
	}
	put := func(r *store.NetRule) error {
		st.Rules++
		return w.Put(ctx, r)
	}
	err = db.EachResource(ctx, scanID, store.ResourceFilter{Types: []string{TypeSecurityGroup, TypeNetworkACL, TypeBucket}},
		func(r *inventory.Resource) error { return x.Extract(r, put) })
	if err != nil {
		return st, fmt.Errorf("index scan %d: %w", scanID, err)
	}
	if err := w.Close(ctx); err != nil {
		return st, fmt.Errorf("index scan %d: %w", scanID, err)
	}
	st.Unresolved = x.Unresolved
	return st, nil
}

// NewRuleWriter starts replacing the rules of a scan, stored in the order Search shows them, so
// that a query merges the groups it reads instead of sorting every match.
func NewRuleWriter(ctx context.Context, db *store.DB, scanID int64) (*store.NetRuleWriter, error) {
	w, err := db.NewNetRuleWriter(ctx, scanID)
	if err != nil {
		return nil, err
	}
	w.Order = compareRules
	return w, nil
}

// EnsureIndex indexes a scan unless it already is, and returns its index marker.
func EnsureIndex(ctx context.Context, db *store.DB, scanID int64) (store.NetRuleIndex, error) {
	ix, err := db.NetRuleIndexOf(ctx, scanID)
	if err != nil || ix.Indexed {
		return ix, err
	}
	indexing.Lock()
	defer indexing.Unlock()
	err = claimed(ctx, db, scanID, func() error {
		// Another search, here or in another process, may have indexed it while this one waited.
		if ix, err = db.NetRuleIndexOf(ctx, scanID); err != nil || ix.Indexed {
			return err
		}
		if _, err := indexScan(ctx, db, scanID); err != nil {
			return err
		}
		ix, err = db.NetRuleIndexOf(ctx, scanID)
		return err
	})
	return ix, err
}
