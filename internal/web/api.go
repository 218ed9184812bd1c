package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

func (s *Server) apiRoutes() {
	s.mux.HandleFunc("GET /api/v1/scans", s.api(s.apiScans))
	s.mux.HandleFunc("GET /api/v1/accounts", s.api(s.apiAccounts))
	s.mux.HandleFunc("GET /api/v1/coverage", s.api(s.apiCoverage))
	s.mux.HandleFunc("GET /api/v1/findings", s.api(s.apiFindings))
	s.mux.HandleFunc("GET /api/v1/findings/{id}", s.api(s.apiFinding))
	s.mux.HandleFunc("GET /api/v1/resources/{arn...}", s.api(s.apiResource))
	s.mux.HandleFunc("GET /api/v1/risks", s.api(s.apiRisks))
	s.mux.HandleFunc("GET /api/v1/risks/{id}", s.api(s.apiRisk))
	s.mux.HandleFunc("GET /api/v1/path/{resource...}", s.api(s.apiPath))
	s.mux.HandleFunc("GET /api/v1/search", s.api(s.apiSearch))
	s.mux.HandleFunc("GET /api/v1/checks", s.api(s.apiChecks))
	s.mux.HandleFunc("GET /api/v1/checks/{id}", s.api(s.apiCheck))
	s.mux.HandleFunc("GET /api/v1/compliance", s.api(s.apiCompliance))
	s.mux.HandleFunc("GET /api/v1/scans/diff", s.api(s.apiScansDiff))
	s.mux.HandleFunc("GET /api/v1/overview", s.api(s.apiOverview))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API route")
	})
}

func (s *Server) api(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		var br badRequest
		switch {
		case errors.Is(err, errNotFound):
			writeJSONError(w, http.StatusNotFound, "not found")
		case errors.As(err, &br):
			writeJSONError(w, http.StatusBadRequest, br.msg)
		case err != nil:
			s.log.Error("api", "path", r.URL.Path, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "internal error; see the server log")
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the default HTML escaping stays on: < > & become \u003c… in strings
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) apiScans(r *http.Request) (any, error) {
	list, err := s.db.Scans(r.Context())
	if list == nil {
		list = []store.Scan{}
	}
	return map[string]any{"scans": list}, err
}

func scanID(sc *store.Scan) any {
	if sc == nil {
		return nil
	}
	return sc.ID
}

func (s *Server) apiAccounts(r *http.Request) (any, error) {
	sc, err := s.scanParam(r)
	if err != nil {
		return nil, err
	}
	accts := []store.Account{}
	if sc != nil {
		if accts, err = s.db.Accounts(r.Context(), sc.ID); err != nil {
			return nil, err
		}
	}
	return map[string]any{"scan_id": scanID(sc), "accounts": accts}, nil
}

func (s *Server) apiCoverage(r *http.Request) (any, error) {
	sc, err := s.scanParam(r)
	if err != nil {
		return nil, err
	}
	cov := []store.Coverage{}
	if sc != nil {
		if cov, err = s.db.CoverageOf(r.Context(), sc.ID); err != nil {
			return nil, err
		}
	}
	return map[string]any{"scan_id": scanID(sc), "coverage": cov}, nil
}

func (s *Server) apiFindings(r *http.Request) (any, error) {
	f, err := parseFindingQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	total, err := s.db.CountFindings(r.Context(), f)
	if err != nil {
		return nil, err
	}
	list, err := s.db.Findings(r.Context(), f)
	if err != nil {
		return nil, err
	}
	if err := s.db.ApplyMutes(r.Context(), list, time.Now()); err != nil {
		return nil, err
	}
	if list == nil {
		list = []*finding.Finding{}
	}
	return map[string]any{"total": total, "limit": f.Limit, "offset": f.Offset, "findings": list}, nil
}

func (s *Server) apiFinding(r *http.Request) (any, error) {
	v, err := s.loadFinding(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"finding": v.Finding, "events": v.Events, "mute": v.Mute}, nil
}

func (s *Server) apiResource(r *http.Request) (any, error) {
	v, err := s.loadResource(r.Context(), r.PathValue("arn"))
	if err != nil {
		return nil, err
	}
	nonNil := func(l []inventory.Relationship) []inventory.Relationship {
		if l == nil {
			return []inventory.Relationship{}
		}
		return l
	}
	if v.Findings == nil {
		v.Findings = []*finding.Finding{}
	}
	return map[string]any{
		"scan_id": scanID(v.Scan), "resource": v.Resource,
		"relationships_out": nonNil(v.Out), "relationships_in": nonNil(v.In), "findings": v.Findings,
	}, nil
}
