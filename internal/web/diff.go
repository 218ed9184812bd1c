package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/yagura-dev/yagura/internal/store"
)

// The scans diff: `yagura diff` on the dashboard (store.ScanPair, store.FindingChanges): the
// findings that are new, reopened, resolved or stale between two scans.

// diffResult is the page's and the API's data.
type diffResult struct {
	From     int64                 `json:"from"`
	To       int64                 `json:"to"`
	Counts   map[string]int        `json:"counts"`
	Findings []store.FindingChange `json:"findings"`
}

// maxDiffRows bounds the rows the page renders; the API returns every change.
const maxDiffRows = 1000

func (s *Server) loadDiff(r *http.Request) (*diffResult, error) {
	q := r.URL.Query()
	var ids [2]int64
	for i, k := range []string{"from", "to"} {
		if v := q.Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, badRequest{k + ": want a scan id"}
			}
			ids[i] = n
		}
	}
	from, to, err := s.db.ScanPair(r.Context(), ids[0], ids[1])
	var pe *store.ScanPairError
	var oe *store.ScanOrderError
	var ne *store.NoEarlierScanError
	switch {
	case errors.As(err, &pe):
		if errors.Is(pe.Err, store.ErrNoScan) {
			return nil, errNotFound
		}
		return nil, badRequest{pe.Which + ": " + pe.Err.Error()}
	case errors.As(err, &oe):
		return nil, badRequest{fmt.Sprintf("from (scan %d) must be older than to (scan %d)", oe.From, oe.To)}
	case errors.As(err, &ne):
		return nil, badRequest{ne.Error()}
	case err != nil:
		return nil, err
	}
	changes, err := s.db.FindingChanges(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	res := &diffResult{From: from, To: to, Findings: changes, Counts: map[string]int{
		store.ChangeNew: 0, store.ChangeReopened: 0, store.ChangeResolved: 0, store.ChangeStale: 0}}
	for _, c := range changes {
		res.Counts[c.Change]++
	}
	return res, nil
}

func (s *Server) scansDiff(r *http.Request) (string, map[string]any, error) {
	d, err := s.loadDiff(r)
	if err != nil {
		return "", nil, err
	}
	rows := d.Findings
	if len(rows) > maxDiffRows {
		rows = rows[:maxDiffRows]
	}
	return "diff", map[string]any{"Title": fmt.Sprintf("Changes from scan #%d to #%d", d.From, d.To), "D": d, "Rows": rows,
		"Truncated": len(d.Findings) > len(rows), "Changes": []string{store.ChangeNew, store.ChangeReopened, store.ChangeResolved, store.ChangeStale}}, nil
}

func (s *Server) apiScansDiff(r *http.Request) (any, error) {
	return s.loadDiff(r)
}
