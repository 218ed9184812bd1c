package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/store"
)

// searchResult is `yagura find` on the dashboard: the rules of a scan that concern an address
// or CIDR, read through the same index (netsearch.Find) and validated the same way
// (netsearch.ParseQuery).
type searchResult struct {
	ScanID  int64             `json:"scan_id"`
	Query   string            `json:"query"`
	Mode    string            `json:"mode"`
	Matches []netsearch.Match `json:"matches"`
}

// searchForm echoes the form's fields back into the page.
type searchForm struct {
	Q, Mode, Port, Protocol, Direction string
}

// runSearch reads q (an address, or a CIDR with "/"), mode (contains, within, overlaps: CIDRs
// only), port, protocol and direction. A nil result means no query was asked.
func (s *Server) runSearch(r *http.Request) (*store.Scan, *searchResult, searchForm, error) {
	v := r.URL.Query()
	form := searchForm{Q: strings.TrimSpace(v.Get("q")), Mode: v.Get("mode"), Port: strings.TrimSpace(v.Get("port")),
		Protocol: v.Get("protocol"), Direction: v.Get("direction")}
	sc, err := s.scanParam(r)
	if err != nil || form.Q == "" {
		return sc, nil, form, err
	}
	opts := netsearch.QueryOptions{Port: -1, Protocol: form.Protocol, Direction: form.Direction}
	if form.Port != "" {
		if opts.Port, err = strconv.Atoi(form.Port); err != nil {
			return sc, nil, form, badRequest{"port: want a number 0-65535"}
		}
	}
	isCIDR := strings.Contains(form.Q, "/")
	switch form.Mode {
	case "", netsearch.ModeContains:
	case netsearch.ModeWithin, netsearch.ModeOverlaps:
		if !isCIDR {
			return sc, nil, form, badRequest{"mode " + form.Mode + " applies to a CIDR, not one address"}
		}
		opts.Within, opts.Overlaps = form.Mode == netsearch.ModeWithin, form.Mode == netsearch.ModeOverlaps
	default:
		return sc, nil, form, badRequest{"mode: want contains, within or overlaps"}
	}
	q, err := netsearch.ParseQuery(form.Q, isCIDR, opts)
	if err != nil {
		return sc, nil, form, badRequest{err.Error()}
	}
	if sc == nil {
		return nil, nil, form, nil
	}
	ms, err := netsearch.Find(r.Context(), s.db, sc.ID, q)
	if err != nil {
		return sc, nil, form, err
	}
	if ms == nil {
		ms = []netsearch.Match{}
	}
	return sc, &searchResult{ScanID: sc.ID, Query: q.Range.String(), Mode: q.Mode, Matches: ms}, form, nil
}

func (s *Server) search(r *http.Request) (string, map[string]any, error) {
	sc, res, form, err := s.runSearch(r)
	data := map[string]any{"Title": "Search rules by address", "Scan": sc, "Form": form, "Result": res}
	var br badRequest
	if errors.As(err, &br) {
		// A mistyped address is shown beside the form, not as an error page.
		data["Error"] = br.msg
		return "search", data, nil
	}
	return "search", data, err
}

func (s *Server) apiSearch(r *http.Request) (any, error) {
	if r.URL.Query().Get("q") == "" {
		return nil, badRequest{"q: want an IP address or CIDR"}
	}
	sc, res, _, err := s.runSearch(r)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, errNotFound
	}
	return res, nil
}
