package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var (
	tmplOnce sync.Once
	tmpl     *template.Template
	tmplErr  error
)

func loadTemplates() error {
	tmplOnce.Do(func() {
		tmpl, tmplErr = template.New("").Funcs(template.FuncMap{
			"findingsURL": findingsURL,
			"findingURL":  func(id string) string { return localURL("/findings/" + url.PathEscape(id)) },
			"resourceURL": resourceURL,
			"time":        fmtTime,
			"ptime": func(t *time.Time) string {
				if t == nil {
					return ""
				}
				return fmtTime(*t)
			},
			"sevclass":      func(s finding.Severity) string { return "sev-" + strings.ToLower(s.String()) },
			"pageURL":       pageURL,
			"riskURL":       riskURL,
			"complianceURL": complianceURL,
			"checkKnown":    func(id string) bool { return check.ByID(id) != nil },
			"deref": func(p *float64) float64 {
				if p == nil {
					return 0
				}
				return *p
			},
			"checkURL": func(id string) string { return localURL("/checks/" + url.PathEscape(id)) },
			"list":     func(v ...string) []string { return v },
			"pathURL":  pathURL,
		}).ParseFS(templateFS, "templates/*.html")
	})
	return tmplErr
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.handleLogin)
	s.mux.HandleFunc("POST /login", s.handleLogin)
	s.mux.HandleFunc("POST /logout", s.handleLogout)
	s.mux.HandleFunc("GET /{$}", s.page(s.overview))
	s.mux.HandleFunc("GET /accounts", s.page(s.accounts))
	s.mux.HandleFunc("GET /findings", s.page(s.findings))
	s.mux.HandleFunc("GET /findings/{id}", s.page(s.findingDetail))
	s.mux.HandleFunc("POST /findings/{id}/mute", s.handleMute)
	s.mux.HandleFunc("POST /findings/{id}/unmute", s.handleUnmute)
	s.mux.HandleFunc("GET /resources/{arn...}", s.page(s.resource))
	s.mux.HandleFunc("GET /scans", s.page(s.scans))
	s.mux.HandleFunc("GET /scans/diff", s.page(s.scansDiff))
	s.mux.HandleFunc("GET /coverage", s.page(s.coverage))
	s.mux.HandleFunc("GET /risks", s.page(s.risks))
	s.mux.HandleFunc("GET /risks/{id}", s.page(s.riskDetail))
	s.mux.HandleFunc("GET /path/{resource...}", s.page(s.path))
	s.mux.HandleFunc("GET /search", s.page(s.search))
	s.mux.HandleFunc("GET /compliance", s.page(s.compliance))
	s.mux.HandleFunc("GET /checks", s.page(s.checks))
	s.mux.HandleFunc("GET /checks/{id}", s.page(s.checkDetail))
	s.apiRoutes()
}

// pageFunc returns the template name and its data.
type pageFunc func(r *http.Request) (string, map[string]any, error)

func (s *Server) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, data, err := fn(r)
		switch {
		case errors.Is(err, errNotFound):
			msg := "Nothing here."
			var nf notFound
			if errors.As(err, &nf) {
				msg = nf.msg
			}
			s.render(w, r, http.StatusNotFound, "error", map[string]any{"Title": "Not found", "Message": msg})
		case errors.As(err, new(badRequest)):
			s.render(w, r, http.StatusBadRequest, "error", map[string]any{"Title": "Bad request", "Message": err.Error()})
		case err != nil:
			s.log.Error("page", "path", r.URL.Path, "err", err)
			s.render(w, r, http.StatusInternalServerError, "error", map[string]any{"Title": "Error", "Message": "Internal error; see the server log."})
		default:
			s.render(w, r, http.StatusOK, name, data)
		}
	}
}

// notFound is a 404 that says what was not found.
type notFound struct{ msg string }

func (n notFound) Error() string { return n.msg }
func (n notFound) Unwrap() error { return errNotFound }

type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

// render executes into a buffer first so that a template error never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	if sess := sessionOf(r); sess != nil {
		data["CSRF"] = sess.csrf
		data["LoggedIn"] = s.token != "" && sess.authed
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("template", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// localURL is the last guard on every link the dashboard builds: only same-origin paths, so
// no stored value can become a javascript: or off-site link.
func localURL(u string) string {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.HasPrefix(u, "/\\") {
		return "#"
	}
	return u
}

// findingsURL builds /findings?k=v&… from key, value pairs; empty values are left out.
func findingsURL(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return "/findings"
	}
	return localURL("/findings?" + v.Encode())
}

func resourceURL(arn string) string {
	if arn == "" {
		return "#"
	}
	return localURL("/resources/" + url.PathEscape(arn))
}

// pageURL is the current findings query at another offset.
func pageURL(q url.Values, offset int) string { return listURL("/findings", q, offset) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func prettyJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// latestScan is the newest finished scan, or nil when there is none yet.
func (s *Server) latestScan(ctx context.Context) (*store.Scan, error) {
	sc, err := s.db.GetScan(ctx, 0)
	if errors.Is(err, store.ErrNoScan) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sc, nil
}

// scanParam reads ?scan=ID (default: the newest finished scan).
func (s *Server) scanParam(r *http.Request) (*store.Scan, error) {
	v := r.URL.Query().Get("scan")
	if v == "" {
		return s.latestScan(r.Context())
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, badRequest{"scan: want a scan id"}
	}
	// Scans, not GetScan: its "not found" is not a sentinel error, and the list is short
	// (old scans are pruned).
	all, err := s.db.Scans(r.Context())
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, errNotFound
}

var severities = []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Informational}

func (s *Server) accounts(r *http.Request) (string, map[string]any, error) {
	sc, err := s.scanParam(r)
	if err != nil {
		return "", nil, err
	}
	data := map[string]any{"Title": "Accounts", "Scan": sc}
	if sc != nil {
		accts, err := s.db.Accounts(r.Context(), sc.ID)
		if err != nil {
			return "", nil, err
		}
		data["Accounts"] = accts
	}
	return "accounts", data, nil
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// parseFindingQuery reads the query parameters that mirror `yagura findings`: status, severity
// ("high" exactly, "high+" high and above), account, region, control, check,
// source, resource, lifecycle, plus limit and offset. Lists may repeat or be comma-separated.
func parseFindingQuery(q url.Values) (store.FindingFilter, error) {
	list := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f := store.FindingFilter{
		Accounts: list("account"), Regions: list("region"), Control: strings.TrimSpace(q.Get("control")),
		CheckIDs: list("check"), Sources: list("source"), ResourceGlob: strings.TrimSpace(q.Get("resource")),
		Lifecycles: list("lifecycle"), Limit: defaultLimit,
	}
	for _, st := range list("status") {
		st = strings.ToUpper(st)
		if st != string(finding.Pass) && st != string(finding.Fail) && st != string(finding.Error) {
			return f, badRequest{fmt.Sprintf("status %q: want PASS, FAIL or ERROR", st)}
		}
		f.Statuses = append(f.Statuses, st)
	}
	for _, lc := range f.Lifecycles {
		if lc != finding.LifecycleNew && lc != finding.LifecycleOpen && lc != finding.LifecycleResolved {
			return f, badRequest{fmt.Sprintf("lifecycle %q: want new, open or resolved", lc)}
		}
	}
	// As `yagura findings --severity`: "high" is exactly high, "high+" high and above; several
	// exact severities may be listed.
	// A "+" typed into a URL arrives decoded as a space: "severity=high+" means high and above.
	for _, v := range q["severity"] {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimLeft(p, " ")
			if p == "" {
				continue
			}
			if err := f.AddSeverity(p); err != nil {
				return f, badRequest{"severity: " + err.Error()}
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, badRequest{"limit: want a positive number"}
		}
		f.Limit = min(n, maxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, badRequest{"offset: want a number ≥ 0"}
		}
		f.Offset = n
	}
	return f, nil
}

func (s *Server) findings(r *http.Request) (string, map[string]any, error) {
	q := r.URL.Query()
	f, err := parseFindingQuery(q)
	if err != nil {
		return "", nil, err
	}
	total, err := s.db.CountFindings(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	list, err := s.db.Findings(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	if err := s.db.ApplyMutes(r.Context(), list, time.Now()); err != nil {
		return "", nil, err
	}
	data := map[string]any{
		"Title": "Findings", "Findings": list, "Total": total, "Q": q, "Severities": severities,
		"From": f.Offset + 1, "To": f.Offset + len(list),
	}
	if f.Offset > 0 {
		data["Prev"] = pageURL(q, max(0, f.Offset-f.Limit))
	}
	if int64(f.Offset+f.Limit) < total {
		data["Next"] = pageURL(q, f.Offset+f.Limit)
	}
	return "findings", data, nil
}

// findingView is one finding with its history and its dashboard mute.
type findingView struct {
	Finding *finding.Finding
	Events  []store.FindingEvent
	Mute    *store.Mute // the mute set on this finding in the dashboard, if any
}

// loadFinding reads a finding with every mute applied (the stored mutelist and the dashboard's),
// as the lists and the CLI show it.
func (s *Server) loadFinding(ctx context.Context, id string) (*findingView, error) {
	list, err := s.db.Findings(ctx, store.FindingFilter{IDs: []string{id}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errNotFound
	}
	if err := s.db.ApplyMutes(ctx, list, time.Now()); err != nil {
		return nil, err
	}
	events, err := s.db.FindingEvents(ctx, id, 0, 0)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []store.FindingEvent{}
	}
	mute, err := s.db.MuteOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return &findingView{Finding: list[0], Events: events, Mute: mute}, nil
}

func (s *Server) findingDetail(r *http.Request) (string, map[string]any, error) {
	id := r.PathValue("id")
	v, err := s.loadFinding(r.Context(), id)
	if err != nil {
		return "", nil, err
	}
	fd, events, mute := v.Finding, v.Events, v.Mute
	data := map[string]any{
		"Title": fd.Title, "F": fd, "Evidence": prettyJSON(fd.Evidence), "Events": events, "Mute": mute,
		"MuteURL": localURL("/findings/" + url.PathEscape(id) + "/mute"), "UnmuteURL": localURL("/findings/" + url.PathEscape(id) + "/unmute"),
	}
	if mute != nil {
		data["MuteActive"] = mute.Active(time.Now())
	}
	if msg := r.URL.Query().Get("error"); msg != "" {
		data["Error"] = muteErrors[msg]
	}
	return "finding", data, nil
}

// resourceView is one resource of the latest scan with everything the page shows.
type resourceView struct {
	Resource *inventory.Resource
	Config   string
	Out, In  []inventory.Relationship
	Findings []*finding.Finding
	Scan     *store.Scan
}

func (s *Server) loadResource(ctx context.Context, arn string) (*resourceView, error) {
	sc, err := s.latestScan(ctx)
	if err != nil {
		return nil, err
	}
	v := &resourceView{Scan: sc}
	if sc != nil {
		err = s.db.EachResource(ctx, sc.ID, store.ResourceFilter{ARN: arn}, func(res *inventory.Resource) error {
			v.Resource = res
			return nil
		})
		if err != nil {
			return nil, err
		}
		if v.Out, err = s.db.Relationships(ctx, sc.ID, arn, false); err != nil {
			return nil, err
		}
		if v.In, err = s.db.Relationships(ctx, sc.ID, arn, true); err != nil {
			return nil, err
		}
	}
	v.Findings, err = s.db.Findings(ctx, store.FindingFilter{ResourceGlob: exactGlob(arn), Limit: maxLimit})
	if err != nil {
		return nil, err
	}
	if v.Resource == nil && len(v.Findings) == 0 {
		return nil, errNotFound
	}
	if v.Resource != nil {
		v.Config = prettyJSON(v.Resource.Config)
	}
	return v, nil
}

func (s *Server) resource(r *http.Request) (string, map[string]any, error) {
	arn := r.PathValue("arn")
	v, err := s.loadResource(r.Context(), arn)
	if err != nil {
		return "", nil, err
	}
	title := arn
	if v.Resource != nil && v.Resource.Name != "" {
		title = v.Resource.Name
	}
	return "resource", map[string]any{"Title": title, "ARN": arn, "V": v}, nil
}

func (s *Server) scans(r *http.Request) (string, map[string]any, error) {
	list, err := s.db.Scans(r.Context())
	if err != nil {
		return "", nil, err
	}
	// A scan can be compared with the previous finished one when there is one.
	diffable := map[int64]bool{}
	earlier := false
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		finished := list[i].Status == store.ScanComplete || list[i].Status == store.ScanPartial
		diffable[list[i].ID] = finished && earlier
		earlier = earlier || finished
	}
	return "scans", map[string]any{"Title": "Scans", "Scans": list, "Diffable": diffable}, nil
}

func (s *Server) coverage(r *http.Request) (string, map[string]any, error) {
	sc, err := s.scanParam(r)
	if err != nil {
		return "", nil, err
	}
	data := map[string]any{"Title": "Coverage", "Scan": sc}
	if sc != nil {
		cov, err := s.db.CoverageOf(r.Context(), sc.ID)
		if err != nil {
			return "", nil, err
		}
		// Gaps first: what was not collected is what the reader must know about.
		sort.SliceStable(cov, func(i, j int) bool {
			return (cov[i].Status != store.CoverageOK) && (cov[j].Status == store.CoverageOK)
		})
		ok := 0
		for _, c := range cov {
			if c.Status == store.CoverageOK {
				ok++
			}
		}
		data["Coverage"], data["OK"] = cov, ok
	}
	return "coverage", data, nil
}

// exactGlob makes the store's resource filter match arn literally: an ARN may contain the glob
// characters * ? [ (a resource name is free text), which SQLite GLOB matches literally in [].
func exactGlob(arn string) string {
	if !strings.ContainsAny(arn, "*?[") {
		return arn
	}
	var b strings.Builder
	for _, c := range arn {
		switch c {
		case '*', '?', '[':
			b.WriteString("[" + string(c) + "]")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// muteErrors are the messages a failed mute redirects with: fixed texts picked by key, so the
// query string cannot put words on the page.
var muteErrors = map[string]string{
	"reason":  "A mute needs a reason (at most 500 characters).",
	"expires": "The expiry must be a future date, YYYY-MM-DD.",
}

// handleMute accepts the risk of a finding with a reason and an optional expiry (end of day
// UTC). The CSRF token was checked before routing.
func (s *Server) handleMute(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	back := "/findings/" + url.PathEscape(id)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 500 {
		http.Redirect(w, r, localURL(back+"?error=reason"), http.StatusSeeOther)
		return
	}
	m := store.Mute{FindingID: id, Reason: reason, CreatedAt: time.Now().UTC()}
	if v := strings.TrimSpace(r.PostFormValue("expires")); v != "" {
		d, err := time.Parse("2006-01-02", v)
		end := d.Add(24*time.Hour - time.Millisecond)
		if err != nil || !end.After(m.CreatedAt) {
			http.Redirect(w, r, localURL(back+"?error=expires"), http.StatusSeeOther)
			return
		}
		m.Expires = &end
	}
	if err := s.db.PutMute(r.Context(), m); errors.Is(err, store.ErrNoFinding) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		s.log.Error("mute", "finding", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, localURL(back), http.StatusSeeOther)
}

func (s *Server) handleUnmute(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.db.DeleteMute(r.Context(), id, time.Now().UTC()); err != nil {
		s.log.Error("unmute", "finding", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, localURL("/findings/"+url.PathEscape(id)), http.StatusSeeOther)
}
