package web

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/store"
)

// The overview: the organization's score and its trend over scans, failing findings by account
// and severity, coverage gaps, and the newest and newly resolved findings.

type heatRow struct {
	Account store.Account `json:"account"`
	Cells   []heatCell    `json:"cells"`
	Total   int64         `json:"total"`
}

type heatCell struct {
	Severity finding.Severity `json:"severity"`
	Count    int64            `json:"count"`
}

// trendScans is how many finished scans the score trend covers.
const trendScans = 30

// scoreCache keeps the scores of finished scans: recomputing 30 scans of 100k results on every
// overview would cost seconds. The latest scan's score is recomputed when a finding's history
// has grown since (store.HistoryMark: `yagura checks run` re-evaluating it records events);
// older scans keep theirs until a restart.
type scoreCache struct {
	mu sync.Mutex
	m  map[int64]cachedScore
}

type cachedScore struct {
	store.ScanScore
	mark int64
}

// get returns the score of a scan; latest says whether mark must match.
func (c *scoreCache) get(ctx context.Context, db *store.DB, scanID, mark int64, latest bool) (store.ScanScore, error) {
	c.mu.Lock()
	v, ok := c.m[scanID]
	c.mu.Unlock()
	if ok && (!latest || v.mark == mark) {
		return v.ScanScore, nil
	}
	sc, err := db.ScoreOf(ctx, scanID)
	if err != nil {
		return sc, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[int64]cachedScore{}
	}
	c.m[scanID] = cachedScore{sc, mark}
	c.mu.Unlock()
	return sc, nil
}

// trendPoint is the score of one scan.
type trendPoint struct {
	store.ScanScore
	StartedAt string `json:"started_at"`
}

// overviewData is the overview page's and /api/v1/overview's data.
type overviewData struct {
	Scan     *store.Scan        `json:"scan"`
	Score    *store.ScanScore   `json:"score"`
	Trend    []trendPoint       `json:"trend"`
	Heat     []heatRow          `json:"heatmap"`
	Totals   []heatCell         `json:"totals"`
	Tasks    int                `json:"tasks"`
	Gaps     []store.Coverage   `json:"coverage_gaps"`
	Newest   []*finding.Finding `json:"-"`
	Resolved []*finding.Finding `json:"-"`
	Accounts int                `json:"accounts"`
}

func (s *Server) loadOverview(ctx context.Context) (*overviewData, error) {
	o := &overviewData{Trend: []trendPoint{}, Heat: []heatRow{}, Gaps: []store.Coverage{}}
	sc, err := s.latestScan(ctx)
	if err != nil || sc == nil {
		return o, err
	}
	o.Scan = sc
	if o.Trend, err = s.scoreTrend(ctx, sc.ID); err != nil {
		return nil, err
	}
	if n := len(o.Trend); n > 0 && o.Trend[n-1].ScanID == sc.ID {
		o.Score = &o.Trend[n-1].ScanScore
	}
	accts, err := s.db.Accounts(ctx, sc.ID)
	if err != nil {
		return nil, err
	}
	o.Accounts = len(accts)
	counts, err := s.db.FailCounts(ctx)
	if err != nil {
		return nil, err
	}
	o.Totals = make([]heatCell, len(severities))
	seen := map[string]bool{}
	addRow := func(a store.Account) {
		row := heatRow{Account: a}
		for i, sev := range severities {
			n := counts[a.ID][sev]
			row.Cells = append(row.Cells, heatCell{Severity: sev, Count: n})
			row.Total += n
			o.Totals[i].Severity = sev
			o.Totals[i].Count += n
		}
		o.Heat = append(o.Heat, row)
	}
	for _, a := range accts {
		seen[a.ID] = true
		addRow(a)
	}
	// Findings of accounts the latest scan did not list (e.g. removed from the organization)
	// still count: hiding them would understate the risk.
	var extra []string
	for id := range counts {
		if !seen[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		addRow(store.Account{ID: id})
	}
	cov, err := s.db.CoverageOf(ctx, sc.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cov {
		if c.Status != store.CoverageOK {
			o.Gaps = append(o.Gaps, c)
		}
	}
	o.Tasks = len(cov)
	if o.Newest, err = s.db.NewestFailing(ctx, 20); err != nil {
		return nil, err
	}
	// Newly resolved: resolved by the latest scan, as its history says.
	if o.Resolved, err = s.db.ResolvedIn(ctx, sc.ID, 20); err != nil {
		return nil, err
	}
	return o, nil
}

// scoreTrend scores the last finished scans up to latest, oldest first.
func (s *Server) scoreTrend(ctx context.Context, latest int64) ([]trendPoint, error) {
	all, err := s.db.Scans(ctx) // newest first
	if err != nil {
		return nil, err
	}
	mark, err := s.db.HistoryMark(ctx)
	if err != nil {
		return nil, err
	}
	var out []trendPoint
	for _, sc := range all {
		if len(out) == trendScans {
			break
		}
		if sc.ID > latest || (sc.Status != store.ScanComplete && sc.Status != store.ScanPartial) {
			continue
		}
		v, err := s.scores.get(ctx, s.db, sc.ID, mark, sc.ID == latest)
		if err != nil {
			return nil, err
		}
		if v.Scored {
			out = append(out, trendPoint{ScanScore: v, StartedAt: fmtTime(sc.StartedAt)})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if out == nil {
		out = []trendPoint{}
	}
	return out, nil
}

func trendChart(trend []trendPoint) *lineChart {
	pts := make([]chartPoint, len(trend))
	for i, t := range trend {
		pts[i] = chartPoint{Value: t.Score, XText: fmt.Sprintf("#%d", t.ScanID),
			Label: fmt.Sprintf("scan #%d (%s): %.1f — %d passing, %d failing", t.ScanID, t.StartedAt, t.Score, t.Pass, t.Fail)}
		if i > 0 {
			pts[i].Href = localURL(fmt.Sprintf("/scans/diff?from=%d&to=%d", trend[i-1].ScanID, t.ScanID))
		}
	}
	return newLineChart("score-trend", pts)
}

func (s *Server) overview(r *http.Request) (string, map[string]any, error) {
	o, err := s.loadOverview(r.Context())
	if err != nil {
		return "", nil, err
	}
	return "overview", map[string]any{"Title": "Overview", "Severities": severities, "O": o, "Scan": o.Scan, "Chart": trendChart(o.Trend)}, nil
}

func (s *Server) apiOverview(r *http.Request) (any, error) {
	o, err := s.loadOverview(r.Context())
	if err != nil {
		return nil, err
	}
	return o, nil // the finding lists stay out (json:"-"): /api/v1/findings serves them
}
