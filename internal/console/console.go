// Package console is orgguard's web console for approvers, served by the
// worker (`orgguard-worker --web ADDR`): the pending approvals with their
// evidence and the exact planned change, one remediation with approve and
// reject, each run's progress per wave, and audit search.
//
// It decides nothing. People log in with OpenID Connect (authorization code
// with PKCE) at the issuers of the worker's trust config, and every vote
// goes through the IdP again for a fresh ID token whose nonce binds it to
// the remediation, the decision and the plan digest, exactly as `orgguard
// approve` does; the console passes that token to the Remediation
// workflow, whose validator accepts or refuses the vote. The console never
// mints or vouches for an identity, and tokens never reach the browser.
//
// Pages are rendered on the server with html/template from embedded files,
// with no script at all: the CSP forbids every script, and pages that
// follow a change in progress refresh themselves with a meta refresh.
package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/oidcflow"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csrfField is the form field holding the session's CSRF token.
const csrfField = "csrf"

// maxForm bounds a form body: a reason is a few sentences.
const maxForm = 64 << 10

// Options configure the console.
type Options struct {
	// Backend reads and votes through Temporal (Temporal(client)).
	Backend Backend
	// Trust is the worker's trust provider: its config names the issuers
	// people log in at (each issuer's audience is the OIDC client ID), and
	// its snapshot verifies their ID tokens as the workflows do.
	Trust *identity.Provider
	// PublicURL is the console's base URL as browsers reach it
	// (http://127.0.0.1:8234, https://orgguard.example.com); the OIDC
	// redirect URI is PublicURL + "/auth/callback". An https URL makes the
	// cookies Secure.
	PublicURL string
	// TemporalUI, when set, is the Temporal Web UI's base URL: pages link
	// each workflow there. Namespace is the namespace in those links.
	TemporalUI string
	Namespace  string
	// HTTPClient is used for every request to the IdPs.
	HTTPClient *http.Client
	Logger     *zap.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// SessionIdle and SessionMax default to DefaultSessionIdle and
	// DefaultSessionMax.
	SessionIdle, SessionMax time.Duration
	// Evidence is the evidence store the runs' reports are read from (nil:
	// /runs/{run}/report says there is none).
	Evidence *evidence.Store
}

// Server is the console: an http.Handler.
type Server struct {
	o      Options
	base   *url.URL
	secure bool
	store  *store
	pages  map[string]*template.Template
	mux    *http.ServeMux
	log    *zap.Logger

	// formAction lists the origins forms may lead to: the console and the
	// IdPs' authorization endpoints (Chrome applies form-action to the
	// redirect that follows a vote form's POST). Issuer URLs are known at
	// start; an authorization endpoint on another origin is learnt at the
	// first sign-in, before any vote form is shown.
	mu         sync.Mutex
	formAction []string

	// discovery keeps each IdP's discovery document and keys between
	// sign-ins.
	discovery oidcflow.DiscoveryCache
}

// New checks the options and builds the console.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("console: no backend")
	}
	if o.Trust == nil || o.Trust.Config() == nil || len(o.Trust.Config().Issuers) == 0 {
		return nil, errors.New("console: the worker has no trust config, so nobody could log in (see docs/security.md)")
	}
	base, err := url.Parse(strings.TrimRight(o.PublicURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.Path != "" || base.RawQuery != "" {
		return nil, fmt.Errorf("console: public URL %q must be http(s)://host[:port] without a path", o.PublicURL)
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("console: public URL %s is plain http on a non-loopback host: session cookies would cross the network in clear text; serve TLS (--web-tls-cert, --web-tls-key) or put it behind an https proxy (--web-public-url https://...)", base)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionMax <= 0 {
		o.SessionMax = DefaultSessionMax
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	s := &Server{o: o, base: base, secure: base.Scheme == "https", store: newStore(o.Now, o.SessionIdle, o.SessionMax), log: o.Logger}
	if s.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.formAction = []string{"'self'"}
	for _, ic := range o.Trust.Config().Issuers {
		s.allowFormTarget(ic.URL)
	}
	s.routes()
	return s, nil
}

// allowFormTarget adds the origin of u to the CSP's form-action.
func (s *Server) allowFormTarget(u string) {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return
	}
	origin := p.Scheme + "://" + p.Host
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.formAction, origin) {
		s.formAction = append(s.formAction, origin)
	}
}

// csp forbids every script (the console has none), framing, and forms that
// lead anywhere but the console and its IdPs.
func (s *Server) csp() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + strings.Join(s.formAction, " ") +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// URL is the console's base URL.
func (s *Server) URL() string { return s.base.String() }

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/approvals", http.StatusSeeOther)
	})
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("GET /login/{issuer}", s.loginStart)
	m.HandleFunc("GET /auth/callback", s.callback)
	m.HandleFunc("POST /logout", s.authed(s.logout))
	m.HandleFunc("GET /approvals", s.authed(s.approvalsPage))
	m.HandleFunc("GET /remediations/{id}", s.authed(s.remediationPage))
	m.HandleFunc("POST /remediations/{id}/vote", s.authed(s.voteStart))
	m.HandleFunc("GET /runs", s.authed(s.runsPage))
	m.HandleFunc("GET /runs/{run}", s.authed(s.runPage))
	m.HandleFunc("GET /runs/{run}/report", s.authed(s.report))
	m.HandleFunc("GET /audit", s.authed(s.auditPage))
	s.mux = m
}

// ServeHTTP sets the security headers of every response and checks every
// POST's origin before routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp())
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on form posts, and the origin check below needs it.
	// Cross-origin requests (the IdP, the Temporal Web UI) get no referrer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method == http.MethodPost {
		// Defence in depth next to the CSRF token: a browser says where a
		// POST comes from, and only this console's own pages may post here.
		if o := r.Header.Get("Origin"); o != "" && o != s.base.Scheme+"://"+s.base.Host {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	s.mux.ServeHTTP(w, r)
}

// Cookie names. Over https the session cookie takes the __Host- prefix:
// the browser then insists on Secure, Path=/ and no Domain, so no other
// host can set it.
func (s *Server) sessionCookie() string {
	if s.secure {
		return "__Host-orgguard_console"
	}
	return "orgguard_console"
}

func (s *Server) loginCookie() string {
	if s.secure {
		return "__Host-orgguard_console_login"
	}
	return "orgguard_console_login"
}

// setCookie writes an HttpOnly, SameSite=Lax cookie, Secure over https.
// Lax, not Strict: the IdP's redirect back to /auth/callback is a
// cross-site navigation, and a vote's callback must find the session.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// authed requires a live session; a POST also requires its CSRF token.
// Without a session a GET goes to the login page and comes back after.
func (s *Server) authed(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var ss *session
		if c, err := r.Cookie(s.sessionCookie()); err == nil {
			ss, _ = s.store.get(c.Value)
		}
		if ss == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "not logged in (or the session expired): log in again", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
				return
			}
			if !ss.validCSRF(r) {
				http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next(w, r, ss)
	}
}

// localPath accepts a return path on this console only: "/x", never
// "//host" or "/\host" (which browsers read as another host).
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/approvals"
	}
	return p
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}

// workflowLink is the Temporal Web UI page of a workflow, or "".
func (s *Server) workflowLink(id string) string {
	if s.o.TemporalUI == "" || id == "" {
		return ""
	}
	return strings.TrimRight(s.o.TemporalUI, "/") + "/namespaces/" + url.PathEscape(s.o.Namespace) + "/workflows/" + url.PathEscape(id)
}
