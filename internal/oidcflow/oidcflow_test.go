package oidcflow

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

const testClientID = "orgguard-cli"

// rsaKey is shared: generating a 2048-bit key per test is slow under -race.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeIdP is a minimal OpenID provider: discovery, JWKS, device authorization,
// authorization endpoint (redirecting straight back, as if the user consented),
// and a token endpoint for the device_code, authorization_code and
// refresh_token grants. ID tokens are signed RS256 with go-jose.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server

	// Behaviour knobs, set before the flow starts.
	dropNonce  bool   // omit the nonce claim from ID tokens
	audience   string // aud of ID tokens; default testClientID
	denyDevice bool   // device polling ends in access_denied
	authError  string // authorization endpoint redirects with error=authError
	wrongState bool   // authorization endpoint redirects with a different state

	mu      sync.Mutex
	devices map[string]*deviceGrant // by device_code
	codes   map[string]codeGrant    // by code
}

type deviceGrant struct {
	nonce    string
	polls    int
	lastPoll time.Time
}

type codeGrant struct {
	challenge, redirectURI, nonce string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{t: t, devices: map[string]*deviceGrant{}, codes: map[string]codeGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /keys", f.jwks)
	mux.HandleFunc("POST /device", f.deviceAuth)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) config() Config {
	return Config{Issuer: f.srv.URL, ClientID: testClientID, HTTPClient: f.srv.Client()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func (f *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	u := f.srv.URL
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                u,
		"authorization_endpoint":                u + "/authorize",
		"token_endpoint":                        u + "/token",
		"device_authorization_endpoint":         u + "/device",
		"jwks_uri":                              u + "/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (f *fakeIdP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKey().PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

func (f *fakeIdP) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("client_id") != testClientID {
		oauthError(w, "invalid_client", "unknown client")
		return
	}
	code := rand.Text()
	f.mu.Lock()
	f.devices[code] = &deviceGrant{nonce: r.PostFormValue("nonce")}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               code,
		"user_code":                 "WDJB-MJHT",
		"verification_uri":          f.srv.URL + "/activate",
		"verification_uri_complete": f.srv.URL + "/activate?user_code=WDJB-MJHT",
		"expires_in":                60,
		"interval":                  1,
	})
}

func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != testClientID || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		f.t.Errorf("bad authorization request: %s", r.URL.RawQuery)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	if f.wrongState {
		state = "not-the-state-we-sent"
	}
	back := url.Values{"state": {state}}
	if f.authError != "" {
		back.Set("error", f.authError)
		back.Set("error_description", "The user denied the request")
	} else {
		code := rand.Text()
		f.mu.Lock()
		f.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirectURI: redirect.String(), nonce: q.Get("nonce")}
		f.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	grant := r.PostFormValue("grant_type")
	g := f.devices[r.PostFormValue("device_code")]
	if grant == "urn:ietf:params:oauth:grant-type:device_code" && g != nil {
		// Every request counts as a poll, even one that fails client
		// authentication: RFC 8628 §3.5 says polling faster than the interval
		// earns slow_down. Allow generous slack for scheduling jitter;
		// a doubled poll arrives microseconds after the first.
		g.polls++
		now := time.Now()
		if g.polls > 1 && now.Sub(g.lastPoll) < 500*time.Millisecond {
			f.t.Errorf("device poll %d came %v after the previous one; interval is 1s", g.polls, now.Sub(g.lastPoll))
			oauthError(w, "slow_down", "")
			return
		}
		g.lastPoll = now
	}
	// A public client authenticates with client_id in the body only.
	if _, _, basic := r.BasicAuth(); basic || r.PostFormValue("client_id") != testClientID {
		oauthError(w, "invalid_client", "unknown client")
		return
	}
	var nonce string
	switch grant {
	case "urn:ietf:params:oauth:grant-type:device_code":
		if g == nil {
			oauthError(w, "invalid_grant", "unknown device_code")
			return
		}
		switch {
		case f.denyDevice:
			oauthError(w, "access_denied", "user declined")
			return
		case g.polls == 1:
			oauthError(w, "authorization_pending", "")
			return
		}
		nonce = g.nonce
	case "authorization_code":
		code := r.PostFormValue("code")
		g, ok := f.codes[code]
		delete(f.codes, code) // one use only
		if !ok || g.redirectURI != r.PostFormValue("redirect_uri") {
			oauthError(w, "invalid_grant", "unknown code or redirect_uri mismatch")
			return
		}
		if oauth2.S256ChallengeFromVerifier(r.PostFormValue("code_verifier")) != g.challenge {
			oauthError(w, "invalid_grant", "PKCE verification failed")
			return
		}
		nonce = g.nonce
	case "refresh_token":
		if r.PostFormValue("refresh_token") != "rt-1" {
			oauthError(w, "invalid_grant", "refresh token revoked")
			return
		}
	default:
		oauthError(w, "unsupported_grant_type", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  "at-" + rand.Text(),
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": "rt-1",
		"id_token":      f.idToken(nonce),
	})
}

func (f *fakeIdP) idToken(nonce string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: rsaKey()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		f.t.Fatal(err)
	}
	aud := f.audience
	if aud == "" {
		aud = testClientID
	}
	now := time.Now()
	std := jwt.Claims{
		Issuer:   f.srv.URL,
		Subject:  "00u1abcd",
		Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(time.Hour)),
	}
	extra := map[string]any{"email": "ada@example.com", "preferred_username": "ada"}
	if nonce != "" && !f.dropNonce {
		extra["nonce"] = nonce
	}
	raw, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkTokens(t *testing.T, got Tokens) {
	t.Helper()
	if got.IDToken == "" || got.RefreshToken != "rt-1" || got.Subject != "00u1abcd" ||
		got.Email != "ada@example.com" || got.PreferredUsername != "ada" {
		t.Errorf("tokens = %+v", got)
	}
	if d := time.Until(got.Expiry); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("Expiry = %v, want about an hour from now", got.Expiry)
	}
}

func checkErr(t *testing.T, err error, wantErr []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", wantErr)
	}
	for _, s := range wantErr {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*fakeIdP)
		nonce   string
		wantErr []string // substrings; nil means success
	}{
		{name: "success with nonce echoed", nonce: "n-123"},
		{name: "success without nonce"},
		{name: "IdP drops nonce", nonce: "n-123", setup: func(f *fakeIdP) { f.dropNonce = true },
			wantErr: []string{"ID token verification", "did not bind the nonce"}},
		{name: "user denies", nonce: "n-123", setup: func(f *fakeIdP) { f.denyDevice = true },
			wantErr: []string{"device authorization at http://127.0.0.1", "access_denied", "user declined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // polling waits the 1s interval; run cases side by side
			f := newFakeIdP(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			var out bytes.Buffer
			got, err := DeviceLogin(testContext(t), f.config(), tt.nonce, &out)
			if !strings.Contains(out.String(), "/activate?user_code=WDJB-MJHT") || !strings.Contains(out.String(), "WDJB-MJHT\n") {
				t.Errorf("output does not show the complete URI and user code:\n%s", out.String())
			}
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr)
				if !strings.Contains(err.Error(), f.srv.URL) {
					t.Errorf("error %q does not name the issuer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTokens(t, got)
		})
	}
}

func TestDeviceLoginKeepsOAuthError(t *testing.T) {
	t.Parallel()
	f := newFakeIdP(t)
	f.denyDevice = true
	_, err := DeviceLogin(testContext(t), f.config(), "", io.Discard)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("error %v does not wrap an oauth2.RetrieveError with access_denied", err)
	}
}

func TestAuthCodeLogin(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*fakeIdP)
		nonce    string
		wantErr  []string
		wantPage string // on the callback page the "browser" sees
	}{
		{name: "success", nonce: "n-456", wantPage: "You may close this window"},
		{name: "wrong state", nonce: "n-456", setup: func(f *fakeIdP) { f.wrongState = true },
			wantErr: []string{"authorization at", "state mismatch"}, wantPage: "state mismatch"},
		{name: "IdP error response", nonce: "n-456", setup: func(f *fakeIdP) { f.authError = "access_denied" },
			wantErr: []string{"authorization at", "access_denied", "The user denied the request"}, wantPage: "access_denied"},
		{name: "wrong audience", nonce: "n-456", setup: func(f *fakeIdP) { f.audience = "someone-else" },
			wantErr: []string{"ID token verification", "audience"}},
		{name: "IdP drops nonce", nonce: "n-456", setup: func(f *fakeIdP) { f.dropNonce = true },
			wantErr: []string{"did not bind the nonce"}},
		{name: "nonce required", wantErr: []string{"requires a nonce"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIdP(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			var page string
			browser := func(u string) error { // plays the user's browser
				resp, err := http.Get(u) // follows the IdP's 302 to the loopback listener
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				page = string(b)
				return err
			}
			var out bytes.Buffer
			got, err := AuthCodeLogin(testContext(t), f.config(), tt.nonce, &out, browser)
			if tt.nonce != "" && !strings.Contains(out.String(), "Open this URL in your browser: "+f.srv.URL+"/authorize?") {
				t.Errorf("output does not show the authorization URL:\n%s", out.String())
			}
			if strings.Contains(out.String(), "Could not open a browser") {
				t.Errorf("browser step failed:\n%s", out.String())
			}
			if !strings.Contains(page, tt.wantPage) {
				t.Errorf("callback page %q does not contain %q", page, tt.wantPage)
			}
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTokens(t, got)
		})
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		setup   func(*fakeIdP)
		wantErr []string
	}{
		{name: "success", token: "rt-1"},
		{name: "revoked", token: "rt-old", wantErr: []string{"refresh at http://127.0.0.1", "invalid_grant", "refresh token revoked"}},
		{name: "wrong audience", token: "rt-1", setup: func(f *fakeIdP) { f.audience = "someone-else" },
			wantErr: []string{"ID token verification", "audience"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIdP(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			got, err := Refresh(testContext(t), f.config(), tt.token)
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTokens(t, got)
		})
	}
}

func TestDiscoveryFailureNamesIssuer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, err := Refresh(testContext(t), Config{Issuer: srv.URL, ClientID: testClientID}, "rt-1")
	checkErr(t, err, []string{"discovery at " + srv.URL})
}

// countingTransport counts requests per path.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	hits map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// A web client's sign-in: BeginWeb makes the authorization URL, the browser
// comes back to the server's callback, FinishWeb exchanges the code with
// the PKCE verifier and checks the nonce. With a DiscoveryCache the IdP's
// discovery document and keys are fetched once for many sign-ins.
func TestWebFlowWithDiscoveryCache(t *testing.T) {
	t.Parallel()
	f := newFakeIdP(t)
	ct := &countingTransport{base: f.srv.Client().Transport, hits: map[string]int{}}
	cfg := f.config()
	cfg.HTTPClient = &http.Client{Transport: ct}
	cfg.Discovery = &DiscoveryCache{}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const redirect = "http://127.0.0.1:1/callback"
	signIn := func(nonce string, tamper func(url.Values)) (Tokens, error) {
		req, err := BeginWeb(testContext(t), cfg, redirect, nonce, "alice")
		if err != nil {
			return Tokens{}, err
		}
		u, _ := url.Parse(req.URL)
		if u.Query().Get("login_hint") != "alice" || u.Query().Get("nonce") != nonce || u.Query().Get("code_challenge_method") != "S256" {
			t.Fatalf("authorization URL %s", req.URL)
		}
		resp, err := noFollow.Get(req.URL)
		if err != nil {
			return Tokens{}, err
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		q := back.Query()
		if tamper != nil {
			tamper(q)
		}
		back.RawQuery = q.Encode()
		return FinishWeb(testContext(t), cfg, httptest.NewRequest(http.MethodGet, back.String(), nil), req)
	}
	for i := range 3 {
		got, err := signIn(fmt.Sprintf("n-%d", i), nil)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		checkTokens(t, got)
	}
	_, err := signIn("n-x", func(q url.Values) { q.Set("state", "forged") })
	checkErr(t, err, []string{"authorization at", "state mismatch"})
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.hits["/.well-known/openid-configuration"] != 1 || ct.hits["/keys"] != 1 {
		t.Errorf("discovery and keys fetched %d and %d times for 4 sign-ins, want once each", ct.hits["/.well-known/openid-configuration"], ct.hits["/keys"])
	}
	if ct.hits["/token"] != 3 {
		t.Errorf("token endpoint called %d times, want 3 (a forged state gets no exchange)", ct.hits["/token"])
	}
}
