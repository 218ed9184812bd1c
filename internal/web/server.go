// Package web serves yagura's dashboard (server-rendered HTML) and JSON API over a store
// database, with token authentication, CSRF protection and strict security headers, because
// every name and tag it shows was written by whoever can tag an AWS resource.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/store"
)

// Options configure a Server.
type Options struct {
	// Token, when set, is required on every request: as "Authorization: Bearer" for the API,
	// through the login form (which sets a session cookie) for browsers.
	Token  string
	Logger *slog.Logger
}

// Server is the dashboard and API over one database.
type Server struct {
	db       *store.DB
	token    string
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessionStore
	scores   scoreCache
}

// New builds the handler tree.
func New(db *store.DB, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{db: db, token: opts.Token, log: opts.Logger, mux: http.NewServeMux(), sessions: newSessionStore()}
	if err := loadTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// CheckBind refuses to expose the dashboard beyond this machine without a token: anyone who
// can reach the port could otherwise read the whole organization's weaknesses.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if token != "" || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q without a token: bind to 127.0.0.1 (or ::1, localhost) or set --token / --token-file", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Serve listens on addr and serves until ctx is done. ready, when not nil, is called with the
// address actually bound (useful with port 0).
func Serve(ctx context.Context, db *store.DB, addr string, opts Options, ready func(url string)) error {
	if err := CheckBind(addr, opts.Token); err != nil {
		return err
	}
	s, err := New(db, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Score the past scans in the background: at 100k results a scan costs ~0.1 s, so the first
	// overview would otherwise pay for up to 30 of them.
	go func() {
		if sc, err := s.latestScan(ctx); err == nil && sc != nil {
			if _, err := s.scoreTrend(ctx, sc.ID); err != nil && ctx.Err() == nil {
				s.log.Warn("scoring past scans", "err", err)
			}
		}
	}()
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
		return nil
	}
}

const (
	sessionCookie = "yagura_session"
	sessionTTL    = 12 * time.Hour
	maxSessions   = 10000
)

type session struct {
	id      string
	csrf    string
	authed  bool
	expires time.Time
}

// sessionStore keeps sessions in memory: a restart logs everyone out, which is acceptable for
// a local dashboard and keeps secrets out of the database.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]*session{}} }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func (st *sessionStore) get(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[id]
	if s == nil || time.Now().After(s.expires) {
		delete(st.m, id)
		return nil
	}
	return s
}

func (st *sessionStore) create(authed bool) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= maxSessions {
		// Bound memory against clients that never send the cookie back: drop expired sessions,
		// then anonymous ones (they only hold a CSRF token and are recreated on the next page).
		now := time.Now()
		for k, v := range st.m {
			if now.After(v.expires) || (!v.authed && len(st.m) >= maxSessions/2) {
				delete(st.m, k)
			}
		}
	}
	s := &session{id: randomToken(), csrf: randomToken(), authed: authed, expires: time.Now().Add(sessionTTL)}
	st.m[s.id] = s
	return s
}

func (st *sessionStore) drop(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

type ctxKey struct{}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(ctxKey{}).(*session)
	return s
}

func setSessionCookie(w http.ResponseWriter, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Expires: s.expires,
	})
}

// ServeHTTP applies, in order: security headers, the session, the CSRF check on every POST,
// then authentication, before routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")

	isAPI := strings.HasPrefix(r.URL.Path, "/api/")
	var sess *session
	if c, err := r.Cookie(sessionCookie); err == nil {
		sess = s.sessions.get(c.Value)
	}
	if sess == nil && !isAPI && r.Method == http.MethodGet {
		// Pages need a session from the first visit so their forms carry a CSRF token.
		sess = s.sessions.create(false)
		setSessionCookie(w, sess)
	}
	if r.Method == http.MethodPost {
		// Forms here are a few short fields; a large body is only a way to burn memory.
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		// A valid CSRF token is required even on loopback: any web page the user visits can
		// make the browser post to 127.0.0.1.
		if sess == nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
			http.Error(w, "invalid or missing CSRF token", http.StatusForbidden)
			return
		}
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if sess != nil {
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess))
	}
	if s.token != "" && !s.authorized(r, sess) {
		switch {
		case isAPI:
			w.Header().Set("WWW-Authenticate", `Bearer realm="yagura"`)
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		case r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/"):
		default:
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request, sess *session) bool {
	if a := r.Header.Get("Authorization"); a != "" {
		t, ok := strings.CutPrefix(a, "Bearer ")
		return ok && s.tokenOK(t)
	}
	return sess != nil && sess.authed
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if r.Method == http.MethodGet {
		if s.token == "" || (sess != nil && sess.authed) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusOK, "login", map[string]any{"Title": "Log in"})
		return
	}
	if s.token == "" || !s.tokenOK(r.PostFormValue("token")) {
		s.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Title": "Log in", "Error": "Wrong token."})
		return
	}
	// A fresh session on login, so that a session id planted before login is worth nothing.
	if sess != nil {
		s.sessions.drop(sess.id)
	}
	setSessionCookie(w, s.sessions.create(true))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess := sessionOf(r); sess != nil {
		s.sessions.drop(sess.id)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

var errNotFound = errors.New("not found")
