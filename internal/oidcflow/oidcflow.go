// Package oidcflow is the CLI side of obtaining OpenID Connect ID tokens from
// a real identity provider (Okta, Entra ID, Google, Keycloak, ...).
//
// The CLI is a public ("native") OAuth client: it cannot keep a secret, so the
// flows here are the ones designed for that case. The device authorization
// grant (RFC 8628) suits headless machines and SSH sessions; the authorization
// code flow with PKCE and a loopback redirect (RFC 8252) suits a desktop with a
// browser. Both end the same way: the ID token is verified with go-oidc
// (issuer, audience, signature against the IdP's published keys, expiry, and
// nonce) before any of its claims are trusted.
//
// The protocol work is delegated to golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3; this package only wires them together,
// so no JOSE or OAuth wire format is implemented here.
package oidcflow

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config names the IdP and the public (native) client.
type Config struct {
	// Issuer is the issuer URL; discovery is at Issuer + "/.well-known/openid-configuration",
	// and the discovered issuer must equal it exactly (go-oidc enforces this, which
	// stops a discovery document from redirecting us to someone else's keys).
	Issuer   string
	ClientID string
	// ClientSecret is for confidential clients (some IdPs, e.g. Google, issue a
	// "secret" even to installed apps). Usually empty.
	ClientSecret string
	// Scopes default to openid, profile, email, offline_access. "openid" is always
	// added when missing, because without it the IdP returns no ID token.
	Scopes []string
	// HTTPClient is used for every request to the IdP (discovery, JWKS, token
	// endpoint). Nil means http.DefaultClient.
	HTTPClient *http.Client
	// Discovery, when set, keeps the discovered provider (and the keys it
	// fetched) between flows: a server that signs people in over and over
	// (the console) does not ask the IdP for its discovery document and
	// keys each time. Nil: discover for every flow, as the CLI does.
	Discovery *DiscoveryCache
}

// DiscoveryCache keeps discovered providers for DiscoveryTTL. go-oidc's
// provider fetches keys again by itself when a token names a key it has
// not seen, so a cached provider follows key rotation.
type DiscoveryCache struct {
	mu sync.Mutex
	m  map[string]cachedProvider
}

// DiscoveryTTL is how long a discovery document is reused: an IdP moves its
// endpoints rarely, and a restart or an hour picks the move up.
const DiscoveryTTL = time.Hour

type cachedProvider struct {
	p  *oidc.Provider
	at time.Time
}

func (d *DiscoveryCache) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.m[issuer]; ok && time.Since(c.at) < DiscoveryTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	if d.m == nil {
		d.m = map[string]cachedProvider{}
	}
	d.m[issuer] = cachedProvider{p: p, at: time.Now()}
	return p, nil
}

// Tokens is what a flow returns.
type Tokens struct {
	IDToken      string
	RefreshToken string
	Expiry       time.Time // of the ID token (its exp claim)

	// From the verified ID token claims.
	Subject, Email, PreferredUsername string
}

// defaultScopes asks for identity (openid, profile, email) and a refresh token
// (offline_access), so a CLI session can outlive the ID token's short lifetime.
var defaultScopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}

// flowError keeps the underlying error (e.g. *oauth2.RetrieveError) reachable
// through errors.As while giving a message that names the issuer, the step
// that failed and the IdP's own error code and description.
type flowError struct {
	msg string
	err error
}

func (e *flowError) Error() string { return e.msg }
func (e *flowError) Unwrap() error { return e.err }

// stepError formats "STEP at ISSUER: REASON". OAuth errors from the IdP are
// reduced to their code and description (e.g. "access_denied (user declined)")
// rather than x/oauth2's generic wording, since that is what an operator can act on.
func stepError(step, issuer string, err error) error {
	reason := err.Error()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		reason = re.ErrorCode
		if re.ErrorDescription != "" {
			reason += " (" + re.ErrorDescription + ")"
		}
	}
	return &flowError{msg: fmt.Sprintf("%s at %s: %s", step, issuer, reason), err: err}
}

// session holds what every flow needs: the discovered provider, the OAuth
// client configuration and an ID token verifier bound to this client.
type session struct {
	ctx      context.Context // carries Config.HTTPClient for x/oauth2 and go-oidc
	issuer   string
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newSession(ctx context.Context, c Config) (*session, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, errors.New("oidcflow: Config.Issuer and Config.ClientID are required")
	}
	if c.HTTPClient != nil {
		// One context key serves both libraries (oauth2.HTTPClient).
		ctx = oidc.ClientContext(ctx, c.HTTPClient)
	}
	var provider *oidc.Provider
	var err error
	if c.Discovery != nil {
		provider, err = c.Discovery.provider(ctx, c.Issuer)
	} else {
		provider, err = oidc.NewProvider(ctx, c.Issuer)
	}
	if err != nil {
		return nil, stepError("discovery", c.Issuer, err)
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	// The client authentication style is fixed rather than auto-detected:
	// x/oauth2's probe retries every failed token request the other way, so
	// each authorization_pending poll of the device flow would be sent twice,
	// which a strict IdP answers with slow_down. A public client sends its
	// client_id in the body (RFC 6749 §2.3.1 has no secret to put in a header);
	// a confidential one uses HTTP Basic, which every IdP must support.
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams
	if c.ClientSecret != "" {
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &session{
		ctx:    ctx,
		issuer: c.Issuer,
		oauth: &oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			Endpoint:     endpoint,
			Scopes:       scopes,
		},
		// The verifier checks issuer, audience (= our client ID), signature
		// against the IdP's JWKS, and expiry. It does not check the nonce;
		// verify does that.
		verifier: provider.Verifier(&oidc.Config{ClientID: c.ClientID}),
	}, nil
}

// verify checks the id_token in a token response and extracts Tokens. When
// nonce is non-empty the ID token's nonce claim must equal it: that binds the
// token to this login attempt, so an ID token captured from another session
// (or replayed by a malicious redirect) is rejected.
func (s *session) verify(tok *oauth2.Token, nonce, step string) (Tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Tokens{}, stepError(step, s.issuer, errors.New("token response has no id_token (is the openid scope allowed for this client?)"))
	}
	idt, err := s.verifier.Verify(s.ctx, raw)
	if err != nil {
		return Tokens{}, stepError("ID token verification", s.issuer, err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		got := "no nonce claim"
		if idt.Nonce != "" {
			got = "a different nonce"
		}
		return Tokens{}, stepError("ID token verification", s.issuer,
			fmt.Errorf("the IdP did not bind the nonce: ID token has %s", got))
	}
	var claims struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Tokens{}, stepError("ID token verification", s.issuer, err)
	}
	return Tokens{
		IDToken:           raw,
		RefreshToken:      tok.RefreshToken,
		Expiry:            idt.Expiry,
		Subject:           idt.Subject,
		Email:             claims.Email,
		PreferredUsername: claims.PreferredUsername,
	}, nil
}

// DeviceLogin runs the OAuth 2.0 device authorization grant (RFC 8628).
//
// It prints to out the verification URI (the complete one, with the user code
// embedded, when the IdP gives it) and the user code, then polls the token
// endpoint until the user finishes, honouring the IdP's interval and slow_down
// (x/oauth2 does the polling; the device code's expires_in bounds it, as does ctx).
// The returned ID token is verified with go-oidc (issuer, audience = ClientID,
// signature, expiry).
//
// When nonce is non-empty it is sent as the "nonce" parameter of the device
// authorization request and the ID token's nonce claim must equal it. RFC 8628
// does not define nonce, so not every IdP honours it; one that silently drops
// it yields an error saying the IdP did not bind the nonce, because an unbound
// token cannot be tied to this login attempt.
func DeviceLogin(ctx context.Context, c Config, nonce string, out io.Writer) (Tokens, error) {
	s, err := newSession(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	var opts []oauth2.AuthCodeOption
	if nonce != "" {
		opts = append(opts, oidc.Nonce(nonce))
	}
	da, err := s.oauth.DeviceAuth(s.ctx, opts...)
	if err != nil {
		return Tokens{}, stepError("device authorization request", s.issuer, err)
	}
	// The user code is shown even alongside the complete URI: RFC 8628 §3.3.1
	// asks that the user can compare it with what the IdP's page displays, which
	// is their defence against being phished into approving someone else's device.
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "To sign in, open %s\nand check that it shows the code %s\n", da.VerificationURIComplete, da.UserCode)
	} else {
		fmt.Fprintf(out, "To sign in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	tok, err := s.oauth.DeviceAccessToken(s.ctx, da)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// x/oauth2 bounds polling by the device code's lifetime.
			err = fmt.Errorf("device code expired before sign-in completed: %w", err)
		}
		return Tokens{}, stepError("device authorization", s.issuer, err)
	}
	return s.verify(tok, nonce, "device authorization")
}

// callbackResult is what the loopback handler learned from the redirect.
type callbackResult struct {
	code string
	err  error
}

// AuthCodeLogin runs the authorization code flow with PKCE (S256) and a
// loopback redirect, the pattern RFC 8252 prescribes for native apps:
//
//   - Loopback redirect: the browser hands the code to a listener on
//     127.0.0.1 on an ephemeral port (redirect_uri http://127.0.0.1:PORT/callback).
//     RFC 8252 §7.3 requires IdPs to accept any port for loopback redirects, and
//     §8.3 prefers the IP literal over "localhost", which could resolve elsewhere
//     or be blocked by a firewall.
//   - PKCE: any local process could listen for or intercept the redirect, and a
//     native client has no secret to prove it is the one that started the login.
//     The code is useless without the verifier that only this process holds (RFC 7636).
//   - state: random per attempt; a callback with any other state is rejected,
//     so a forged redirect cannot inject an attacker's code (login CSRF).
//   - nonce (required): the ID token must carry it, binding the token to this attempt.
//
// It prints the authorization URL to out and, if openBrowser is non-nil, calls it
// with the URL (a failure is reported and the user can still open it by hand). It
// waits for the callback until ctx is done, so callers should give ctx a deadline.
func AuthCodeLogin(ctx context.Context, c Config, nonce string, out io.Writer, openBrowser func(url string) error) (Tokens, error) {
	if nonce == "" {
		return Tokens{}, errors.New("oidcflow: AuthCodeLogin requires a nonce")
	}
	s, err := newSession(ctx, c)
	if err != nil {
		return Tokens{}, err
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return Tokens{}, fmt.Errorf("oidcflow: loopback listener for the redirect: %w", err)
	}
	s.oauth.RedirectURL = fmt.Sprintf("http://%s/callback", ln.Addr())

	state := rand.Text()
	verifier := oauth2.GenerateVerifier()
	authURL := s.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

	results := make(chan callbackResult, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res := parseCallback(r, state, s.issuer)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<!doctype html><title>Sign-in failed</title><p>Sign-in failed: %s</p><p>You may close this window.</p>\n", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<!doctype html><title>Signed in</title><p>Sign-in received; return to the terminal. You may close this window.</p>\n")
		}
		// Only the first callback counts; later ones (reloads) are answered but ignored.
		select {
		case results <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on Shutdown
	defer func() {
		// Shutdown (not Close) lets the browser receive the callback page.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(out, "Open this URL in your browser: %s\n", authURL)
	if openBrowser != nil {
		if err := openBrowser(authURL); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v); open the URL above by hand.\n", err)
		}
	}

	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return Tokens{}, stepError("authorization", s.issuer, fmt.Errorf("waiting for the browser redirect: %w", ctx.Err()))
	}
	if res.err != nil {
		return Tokens{}, stepError("authorization", s.issuer, res.err)
	}
	tok, err := s.oauth.Exchange(s.ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Tokens{}, stepError("code exchange", s.issuer, err)
	}
	return s.verify(tok, nonce, "code exchange")
}

// parseCallback checks the redirect's parameters: the state, the IdP's error
// response (RFC 6749 §4.1.2.1), the issuer when the IdP names it (RFC 9207,
// a defence against mix-up between IdPs), and the presence of a code.
func parseCallback(r *http.Request, state, issuer string) callbackResult {
	q := r.URL.Query()
	// State first: an error response also echoes it (RFC 6749 §4.1.2.1), and a
	// redirect that does not carry it did not come from our request, so its
	// error text is not worth showing.
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return callbackResult{err: errors.New("state mismatch in redirect (possible forged or stale login; start again)")}
	}
	if e := q.Get("error"); e != "" {
		msg := e
		if d := q.Get("error_description"); d != "" {
			msg += " (" + d + ")"
		}
		return callbackResult{err: errors.New(msg)}
	}
	if iss := q.Get("iss"); iss != "" && iss != issuer {
		return callbackResult{err: fmt.Errorf("redirect names issuer %q, expected this one", iss)}
	}
	code := q.Get("code")
	if code == "" {
		return callbackResult{err: errors.New("redirect carries no authorization code")}
	}
	return callbackResult{code: code}
}

// Refresh uses a refresh token to get a new ID token, verified as in the
// login flows (issuer, audience, signature, expiry) but with no nonce check:
// OpenID Connect Core §12.2 says a refreshed ID token need not carry one.
// If the IdP does not rotate the refresh token, the one given is returned.
func Refresh(ctx context.Context, c Config, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, errors.New("oidcflow: Refresh requires a refresh token")
	}
	s, err := newSession(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	// A token with no access token is expired, so the source refreshes at once.
	tok, err := s.oauth.TokenSource(s.ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return Tokens{}, stepError("refresh", s.issuer, err)
	}
	t, err := s.verify(tok, "", "refresh")
	if err != nil {
		return Tokens{}, err
	}
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	return t, nil
}

// WebRequest is an authorization code + PKCE sign-in started by a web
// server for a browser (the console): URL is where to send the browser;
// State, Verifier and Nonce stay on the server until the callback.
type WebRequest struct {
	URL      string
	State    string
	Verifier string
	Nonce    string
	Redirect string
}

// BeginWeb starts a sign-in for a server-side (web) client: a random
// state, a PKCE (S256) verifier, and the nonce the ID token must carry.
// redirectURL is the server's callback; loginHint, when set, tells the IdP
// who is expected (it may ignore it: the caller checks the subject).
func BeginWeb(ctx context.Context, c Config, redirectURL, nonce, loginHint string) (WebRequest, error) {
	if nonce == "" {
		return WebRequest{}, errors.New("oidcflow: BeginWeb requires a nonce")
	}
	s, err := newSession(ctx, c)
	if err != nil {
		return WebRequest{}, err
	}
	s.oauth.RedirectURL = redirectURL
	req := WebRequest{State: rand.Text(), Verifier: oauth2.GenerateVerifier(), Nonce: nonce, Redirect: redirectURL}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier), oidc.Nonce(nonce)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	req.URL = s.oauth.AuthCodeURL(req.State, opts...)
	return req, nil
}

// FinishWeb completes a sign-in begun by BeginWeb from the IdP's redirect
// to the callback: the state must match, the code is exchanged server-side
// with the PKCE verifier, and the ID token is verified (issuer, audience,
// signature, expiry) and must carry the request's nonce.
func FinishWeb(ctx context.Context, c Config, r *http.Request, req WebRequest) (Tokens, error) {
	s, err := newSession(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	res := parseCallback(r, req.State, s.issuer)
	if res.err != nil {
		return Tokens{}, stepError("authorization", s.issuer, res.err)
	}
	s.oauth.RedirectURL = req.Redirect
	tok, err := s.oauth.Exchange(s.ctx, res.code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		return Tokens{}, stepError("code exchange", s.issuer, err)
	}
	return s.verify(tok, req.Nonce, "code exchange")
}
