package devidp

// The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636) as a
// browser client such as the web console, or the CLI with a loopback
// redirect (RFC 8252), runs it against a real IdP: /authorize checks the
// client and its redirect URI, asks who the user is on a login page (or
// remembers them in a cookie of its own, as an IdP's single sign-on
// session does), and redirects back with a single-use code bound to the
// PKCE challenge, the redirect URI and the nonce; /token exchanges the code
// for an ID token carrying that nonce.
//
// Like the rest of this issuer it authenticates nobody: the login page lets
// anyone name any demo user. It exists so that the console's login and its
// nonce-bound votes run the same protocol in development as in production.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// CodeLifetime bounds the time between the redirect and the exchange:
	// RFC 6749 §4.1.2 recommends at most ten minutes; a browser round trip
	// takes seconds.
	CodeLifetime = time.Minute
	// loginRequestLifetime is how long the login page may stay open.
	loginRequestLifetime = 10 * time.Minute
	// SessionLifetime is how long the issuer remembers who logged in at its
	// login page (its "single sign-on session").
	SessionLifetime = 8 * time.Hour
	// SessionCookie is the issuer's session cookie. Browsers do not isolate
	// cookies by port, so every service on 127.0.0.1 sees it; it is signed,
	// names a demo user and nothing else, and is HttpOnly.
	SessionCookie = "orgguard_devidp_session"
)

// authRequest is a validated authorization request.
type authRequest struct {
	clientID, redirectURI, state, nonce, challenge, scope, loginHint string
	expires                                                          time.Time
}

// issuedCode is an authorization code waiting for its exchange.
type issuedCode struct {
	authRequest
	user    string
	expires time.Time
}

// codeStore keeps login requests and codes in memory: a restarted dev
// issuer simply asks the user to log in again.
type codeStore struct {
	mu       sync.Mutex
	requests map[string]authRequest // login page request ID → request
	codes    map[string]issuedCode
}

func newCodeStore() *codeStore {
	return &codeStore{requests: map[string]authRequest{}, codes: map[string]issuedCode{}}
}

func (s *codeStore) sweep(now time.Time) {
	for k, r := range s.requests {
		if now.After(r.expires) {
			delete(s.requests, k)
		}
	}
	for k, c := range s.codes {
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
}

// loopbackRedirect reports whether u is a loopback redirect URI (RFC 8252
// §7.3): http, an IP literal of the loopback interface or "localhost", any
// port.
func loopbackRedirect(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRedirect validates a redirect URI before anything is sent to it: an
// absolute URI without fragment or user info, loopback or listed in
// Options.RedirectURIs.
func (i *Issuer) checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect_uri %q is not an absolute URI", raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("redirect_uri %q must not carry a fragment or user info", raw)
	}
	if loopbackRedirect(u) || slices.Contains(i.redirectURIs, raw) {
		return nil
	}
	return fmt.Errorf("redirect_uri %q is not registered: the dev issuer accepts loopback redirects (http://127.0.0.1:PORT/...) and the URIs it was started with", raw)
}

// authorize validates an authorization request, then either issues a code
// at once (the user has a session here and no new login was asked for) or
// shows the login page.
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Client and redirect URI first: until both are known good, errors are
	// shown here and never sent to the redirect URI (RFC 6749 §4.1.2.1).
	if q.Get("client_id") != Audience {
		loginError(w, http.StatusBadRequest, fmt.Sprintf("unknown client_id %q: the dev issuer's only client is %q", q.Get("client_id"), Audience))
		return
	}
	redirect := q.Get("redirect_uri")
	if err := i.checkRedirect(redirect); err != nil {
		loginError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := i.now()
	req := authRequest{
		clientID: Audience, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"), loginHint: q.Get("login_hint"),
		expires: now.Add(loginRequestLifetime),
	}
	switch {
	case q.Get("response_type") != "code":
		i.redirectError(w, r, req, "unsupported_response_type", "response_type must be code")
		return
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		i.redirectError(w, r, req, "invalid_scope", "scope must include openid")
		return
	case req.challenge == "":
		i.redirectError(w, r, req, "invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
		return
	case q.Get("code_challenge_method") != "S256":
		i.redirectError(w, r, req, "invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
		return
	case len(req.challenge) != base64.RawURLEncoding.EncodedLen(sha256.Size):
		i.redirectError(w, r, req, "invalid_request", "code_challenge is not a base64url SHA-256")
		return
	}
	prompt := strings.Fields(q.Get("prompt"))
	if user, ok := i.sessionUser(r, now); ok && !slices.Contains(prompt, "login") && (req.loginHint == "" || req.loginHint == user) {
		i.issueCode(w, r, req, user, now)
		return
	}
	if slices.Contains(prompt, "none") {
		i.redirectError(w, r, req, "login_required", "no session at the dev issuer")
		return
	}
	id := rand.Text()
	i.codes.mu.Lock()
	i.codes.sweep(now)
	i.codes.requests[id] = req
	i.codes.mu.Unlock()
	i.loginPage(w, req, id, "")
}

// loginSubmit is the login page's form: the request it belongs to and the
// user's name.
func (i *Issuer) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		loginError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := i.now()
	id := r.PostForm.Get("request")
	i.codes.mu.Lock()
	i.codes.sweep(now)
	req, ok := i.codes.requests[id]
	i.codes.mu.Unlock()
	if !ok {
		loginError(w, http.StatusBadRequest, "this login page has expired or was already used: start the sign-in again from the application")
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	if _, known := lookup(user); !known {
		i.loginPage(w, req, id, fmt.Sprintf("no demo user %q", user))
		return
	}
	// The request is single-use: a second submit of the same page gets no
	// second code.
	i.codes.mu.Lock()
	delete(i.codes.requests, id)
	i.codes.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: i.sessionValue(user, now.Add(SessionLifetime)), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Expires: now.Add(SessionLifetime),
	})
	i.issueCode(w, r, req, user, now)
}

func (i *Issuer) issueCode(w http.ResponseWriter, r *http.Request, req authRequest, user string, now time.Time) {
	code := rand.Text()
	i.codes.mu.Lock()
	i.codes.sweep(now)
	i.codes.codes[code] = issuedCode{authRequest: req, user: user, expires: now.Add(CodeLifetime)}
	i.codes.mu.Unlock()
	v := url.Values{"code": {code}, "iss": {i.url}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusSeeOther)
}

// redirectError sends an error response to a validated redirect URI.
func (i *Issuer) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}, "iss": {i.url}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusSeeOther)
}

func withQuery(raw string, v url.Values) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// exchangeCode is the authorization_code grant: the code once, for the
// client and redirect URI it was issued to, with the PKCE verifier whose
// S256 is the challenge.
func (i *Issuer) exchangeCode(w http.ResponseWriter, r *http.Request, now time.Time) {
	code := r.PostForm.Get("code")
	i.codes.mu.Lock()
	c, ok := i.codes.codes[code]
	// Single use, whatever the outcome: a code seen twice may have leaked.
	delete(i.codes.codes, code)
	i.codes.mu.Unlock()
	switch {
	case !ok || now.After(c.expires):
		oauthError(w, "invalid_grant", "the authorization code is unknown, expired or already used")
		return
	case r.PostForm.Get("client_id") != c.clientID:
		oauthError(w, "invalid_client", "client_id must be "+c.clientID)
		return
	case r.PostForm.Get("redirect_uri") != c.redirectURI:
		oauthError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		oauthError(w, "invalid_grant", "PKCE verification failed: code_verifier does not match the code_challenge")
		return
	}
	u, ok := lookup(c.user)
	if !ok {
		oauthError(w, "access_denied", fmt.Sprintf("no demo user %q", c.user))
		return
	}
	idToken, err := i.Mint(u, c.nonce, now)
	if err != nil {
		oauthError(w, "server_error", err.Error())
		return
	}
	resp := map[string]any{"id_token": idToken, "token_type": "Bearer", "expires_in": int(TokenLifetime.Seconds()), "access_token": idToken}
	if slices.Contains(strings.Fields(c.scope), "offline_access") {
		resp["refresh_token"] = i.refreshToken(u.Name)
	}
	writeJSON(w, http.StatusOK, resp)
}

// sessionValue is "base64(user).expiry.hmac" over a domain of its own, so
// that neither a refresh token nor a session cookie can pass for the other.
func (i *Issuer) sessionValue(user string, expires time.Time) string {
	body := base64.RawURLEncoding.EncodeToString([]byte(user)) + "." + strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, i.secret)
	m.Write([]byte("orgguard-devidp-session-v1\x00" + body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (i *Issuer) sessionUser(r *http.Request, now time.Time) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.After(time.Unix(exp, 0)) {
		return "", false
	}
	if !hmac.Equal([]byte(i.sessionValue(string(name), time.Unix(exp, 0))), []byte(c.Value)) {
		return "", false
	}
	if _, ok := lookup(string(name)); !ok {
		return "", false
	}
	return string(name), true
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>orgguard dev issuer: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:38rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
.dev{background:#fff3cd;border:2px solid #b58100;padding:.8rem 1rem;border-radius:6px}
.err{background:#fde2e1;border:1px solid #b42318;padding:.5rem 1rem;border-radius:6px}
label{display:block;margin:.4rem 0}
button{font-size:1rem;padding:.4rem 1.2rem;margin-top:.8rem}
code{background:#f0f0f0;padding:0 .2rem}
</style></head>
<body>
<div class="dev" id="dev-warning"><strong>Development issuer — not a real login.</strong>
This is orgguard-worker's built-in OIDC issuer for demos and tests. It authenticates nobody:
anyone who can reach this page may sign in as any demo user. Production workers never trust it.</div>
<h1>Sign in to orgguard</h1>
<p>Client <code>{{.Client}}</code> asks who you are; after sign-in you return to <code>{{.Return}}</code>.</p>
{{if .Error}}<p class="err" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/authorize">
<input type="hidden" name="request" value="{{.Request}}">
<fieldset><legend>Who are you? (demo users)</legend>
{{range .Users}}<label><input type="radio" name="username" value="{{.Name}}"{{if eq .Name $.Hint}} checked{{end}}> <strong>{{.Name}}</strong> &lt;{{.Email}}&gt;{{if .Groups}} — groups: {{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}{{end}}</label>
{{end}}</fieldset>
<button type="submit" id="sign-in">Sign in</button>
</form>
</body></html>
`))

func (i *Issuer) loginPage(w http.ResponseWriter, req authRequest, id, problem string) {
	ret := req.redirectURI
	if u, err := url.Parse(ret); err == nil {
		ret = u.Scheme + "://" + u.Host
	}
	securityHeaders(w, ret)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if problem != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	_ = loginTemplate.Execute(w, map[string]any{
		"Client": req.clientID, "Return": ret, "Request": id, "Users": Users, "Hint": req.loginHint, "Error": problem,
	})
}

func loginError(w http.ResponseWriter, status int, msg string) {
	securityHeaders(w, "")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "orgguard dev issuer: %s\n", msg)
}

// securityHeaders: no framing (clickjacking the login page), no caching,
// no referrer (the return URL carries the code), and a CSP that allows the
// page's own style and a form posting here and redirecting to the client.
func securityHeaders(w http.ResponseWriter, returnOrigin string) {
	h := w.Header()
	formAction := "'self'"
	if returnOrigin != "" {
		formAction += " " + returnOrigin
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
