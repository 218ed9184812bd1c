package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/store"
)

// The checks pages: the catalog of `yagura checks list` (check.Catalog) with each check's
// current results, and one check with its description, controls, risk and remediation.

// catalogRow is one check with its current results.
type catalogRow struct {
	check.Entry
	Counts store.StatusCounts `json:"counts"`
}

func (s *Server) loadCatalog(r *http.Request) (string, []catalogRow, error) {
	fw := r.URL.Query().Get("framework")
	entries, err := check.Catalog(fw)
	if err != nil {
		return fw, nil, badRequest{"framework: " + err.Error()}
	}
	counts, err := s.db.CheckCounts(r.Context())
	if err != nil {
		return fw, nil, err
	}
	rows := make([]catalogRow, len(entries))
	for i, e := range entries {
		rows[i] = catalogRow{Entry: e, Counts: counts[e.ID]}
	}
	return fw, rows, nil
}

func (s *Server) checks(r *http.Request) (string, map[string]any, error) {
	fw, rows, err := s.loadCatalog(r)
	if err != nil {
		return "", nil, err
	}
	return "checks", map[string]any{"Title": "Checks", "Rows": rows, "Framework": fw, "Frameworks": check.Frameworks}, nil
}

func (s *Server) apiChecks(r *http.Request) (any, error) {
	_, rows, err := s.loadCatalog(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"checks": rows}, nil
}

// controlView is a control of a check with its title when the catalog knows it.
type controlView struct {
	ID, Title string
}

func (s *Server) loadCheck(r *http.Request) (*catalogRow, error) {
	c := check.ByID(r.PathValue("id"))
	if c == nil {
		return nil, errNotFound
	}
	counts, err := s.db.CheckCounts(r.Context())
	if err != nil {
		return nil, err
	}
	return &catalogRow{Entry: check.Entry{Check: c, Scope: c.ScopeName()}, Counts: counts[c.ID]}, nil
}

func (s *Server) checkDetail(r *http.Request) (string, map[string]any, error) {
	row, err := s.loadCheck(r)
	if err != nil {
		return "", nil, err
	}
	titles := map[string]string{}
	for _, fw := range check.Frameworks {
		for _, cc := range check.Coverage(fw) {
			titles[cc.ID] = cc.Title
		}
	}
	var controls []controlView
	for _, id := range row.Controls {
		controls = append(controls, controlView{ID: id, Title: titles[id]})
	}
	return "check", map[string]any{"Title": row.ID, "C": row, "Controls": controls, "DocURL": externalURL(row.Remediation.Doc)}, nil
}

func (s *Server) apiCheck(r *http.Request) (any, error) {
	return s.loadCheck(r)
}

// externalURL returns u when it is an absolute http(s) URL, else "": a documentation link is
// the one off-site link the dashboard shows, and never as javascript:, data: or a relative
// path. A refused URL is still shown as text.
func externalURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}
