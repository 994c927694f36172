// Package devidp is orgguard's built-in OIDC issuer for development and
// demos: real RS256-signed ID tokens, a JWKS on a local URL, and the demo
// users alice, bob, carol, mallory and ccoe-operator. `orgguard-worker --dev`
// runs it and trusts it; `orgguard login --as NAME` gets tokens from it.
//
// It authenticates nobody: anyone who can reach its loopback port can get a
// token for any demo user. That is the point of a demo, and why it listens on
// loopback only and why production workers never trust it.
package devidp

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/orgguard/orgguard/internal/identity"
)

// Audience is the client ID the dev issuer's tokens are issued to.
const Audience = "orgguard-cli"

// LoginGrant is the dev issuer's own grant type: "log me in as this user".
const LoginGrant = "urn:orgguard:params:oauth:grant-type:dev-login"

// TokenLifetime is short, like a real IdP's ID tokens: a token shown once
// for a vote is useless minutes later.
const TokenLifetime = 10 * time.Minute

// User is a demo person.
type User struct {
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

// Users are the demo people. alice and bob approve for the security team;
// carol audits; mallory is nobody in particular; ccoe-operator runs rollouts.
var Users = []User{
	{Name: "alice", Email: "alice@example.com", Groups: []string{"security-team"}},
	{Name: "bob", Email: "bob@example.com", Groups: []string{"security-team"}},
	{Name: "carol", Email: "carol@example.com", Groups: []string{"auditors"}},
	{Name: "ccoe-operator", Email: "ccoe-operator@example.com", Groups: []string{"ccoe"}},
	{Name: "mallory", Email: "mallory@example.com"},
}

// Issuer is a running dev issuer.
type Issuer struct {
	url    string
	key    jose.JSONWebKey // private
	secret []byte          // signs refresh tokens and login sessions
	srv    *http.Server
	ln     net.Listener
	now    func() time.Time
	// redirectURIs are the non-loopback redirect URIs allowed besides
	// loopback ones (Options.RedirectURIs).
	redirectURIs []string
	codes        *codeStore // the authorization code flow (authorize.go)
}

// Options configure Start.
type Options struct {
	// StateDir keeps the signing key and the port across restarts, so
	// tokens and in-flight approvals survive a worker restart. Empty: a new
	// key and any free port.
	StateDir string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// RedirectURIs are redirect URIs of the authorization code flow
	// allowed besides loopback ones (http://127.0.0.1:PORT/..., any port,
	// as RFC 8252 §7.3 asks of IdPs): compared exactly.
	RedirectURIs []string
}

type persisted struct {
	Key    json.RawMessage `json:"key"`
	Secret string          `json:"secret"`
	Port   int             `json:"port"`
}

// Start listens on 127.0.0.1 and serves discovery, JWKS, the token endpoint
// and an authorization endpoint (authorization code + PKCE, with a login
// page where the user names a demo user).
func Start(o Options) (*Issuer, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var st persisted
	path := ""
	if o.StateDir != "" {
		path = filepath.Join(o.StateDir, "dev-issuer.json")
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &st)
		}
	}
	iss := &Issuer{now: now, redirectURIs: o.RedirectURIs, codes: newCodeStore()}
	if len(st.Key) > 0 && iss.key.UnmarshalJSON(st.Key) == nil && iss.key.Valid() {
		iss.secret, _ = hex.DecodeString(st.Secret)
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		iss.key = jose.JSONWebKey{Key: k, Algorithm: string(jose.RS256), Use: "sig"}
		tp, _ := iss.key.Thumbprint(crypto.SHA256)
		iss.key.KeyID = base64.RawURLEncoding.EncodeToString(tp)[:16]
	}
	if len(iss.secret) == 0 {
		iss.secret = make([]byte, 32)
		_, _ = rand.Read(iss.secret)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.Port)))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dev issuer: listen: %w", err)
		}
	}
	iss.ln = ln
	iss.url = "http://" + ln.Addr().String()
	if path != "" {
		kb, _ := iss.key.MarshalJSON()
		b, _ := json.Marshal(persisted{Key: kb, Secret: hex.EncodeToString(iss.secret), Port: ln.Addr().(*net.TCPAddr).Port})
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			ln.Close()
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("dev issuer: save key: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /jwks", iss.jwks)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) { iss.token(w, r, now()) })
	mux.HandleFunc("GET /authorize", iss.authorize)
	mux.HandleFunc("POST /authorize", iss.loginSubmit)
	iss.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = iss.srv.Serve(ln) }()
	return iss, nil
}

// URL is the issuer URL (the "iss" of its tokens).
func (i *Issuer) URL() string { return i.url }

// Close stops serving.
func (i *Issuer) Close() error { return i.srv.Close() }

// TrustConfig is the trust config of a dev worker: this issuer, check and
// plan without a token, and a governance floor that gates the demo's
// access-removing controls behind the security team.
func (i *Issuer) TrustConfig() string {
	return fmt.Sprintf(`# Written by orgguard-worker --dev: trust the built-in dev issuer only.
issuer "orgguard-dev" {
  url          = %q
  audience     = %q
  name_claim   = "preferred_username"
  groups_claim = "groups"
}

requester {
  unverified_modes = ["check", "plan"]
}

# The governance floor: packs may not make these auto, nor pick other approvers.
approval_policy "security-team" {
  approvers            = ["alice", "bob"]
  idp_groups           = ["security-team"]
  quorum               = 1
  separation_of_duties = true
  timeout              = "72h"
}

require_approval {
  kinds    = ["ec2.default_security_group_closed", "ec2.no_public_ssh_rdp", "iam.unused_credentials", "iam.password_and_keys_separate"]
  policies = ["security-team"]
}
`, i.url, Audience)
}

// WriteTrustConfig writes TrustConfig to path (mode 0600) and loads it, as
// a dev worker trusts this issuer.
func (i *Issuer) WriteTrustConfig(path string) (*identity.Config, error) {
	if err := os.WriteFile(path, []byte(i.TrustConfig()), 0o600); err != nil {
		return nil, err
	}
	cfg, diags := identity.LoadConfig(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("dev trust config:\n%s", identity.DiagnosticsText(diags))
	}
	return cfg, nil
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         i.url,
		"jwks_uri":                                       i.url + "/jwks",
		"token_endpoint":                                 i.url + "/token",
		"authorization_endpoint":                         i.url + "/authorize",
		"grant_types_supported":                          []string{"authorization_code", LoginGrant, "refresh_token"},
		"response_types_supported":                       []string{"code"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported":          []string{"none"},
		"authorization_response_iss_parameter_supported": true,
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"claims_supported":                               []string{"sub", "iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "email", "preferred_username", "groups"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.key.Public()}})
}

// token serves three grants: authorization_code (the code flow with PKCE,
// authorize.go), the dev login (username → refresh token and an ID token)
// and refresh_token with an optional nonce (a fresh ID token bound to what
// the CLI is about to do).
func (i *Issuer) token(w http.ResponseWriter, r *http.Request, now time.Time) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	var user string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		i.exchangeCode(w, r, now)
		return
	case LoginGrant:
		user = r.PostForm.Get("username")
	case "refresh_token":
		u, err := i.checkRefresh(r.PostForm.Get("refresh_token"))
		if err != nil {
			oauthError(w, "invalid_grant", err.Error())
			return
		}
		user = u
	default:
		oauthError(w, "unsupported_grant_type", "grant_type must be authorization_code, "+LoginGrant+" or refresh_token")
		return
	}
	if r.PostForm.Get("client_id") != Audience {
		oauthError(w, "invalid_client", "client_id must be "+Audience)
		return
	}
	u, ok := lookup(user)
	if !ok {
		oauthError(w, "access_denied", fmt.Sprintf("no demo user %q (users: %s)", user, strings.Join(Names(), ", ")))
		return
	}
	idToken, err := i.Mint(u, r.PostForm.Get("nonce"), now)
	if err != nil {
		oauthError(w, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id_token": idToken, "token_type": "Bearer", "expires_in": int(TokenLifetime.Seconds()),
		"refresh_token": i.refreshToken(u.Name), "access_token": idToken,
	})
}

// Mint signs an ID token for u.
func (i *Issuer) Mint(u User, nonce string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: i.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := jwt.Claims{
		Issuer: i.url, Subject: "dev|" + u.Name, Audience: jwt.Audience{Audience},
		Expiry: jwt.NewNumericDate(now.Add(TokenLifetime)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ID: hex.EncodeToString(jti),
	}
	extra := map[string]any{"preferred_username": u.Name, "email": u.Email, "groups": u.Groups}
	if nonce != "" {
		extra["nonce"] = nonce
	}
	return jwt.Signed(signer).Claims(claims).Claims(extra).Serialize()
}

func (i *Issuer) refreshToken(user string) string {
	m := hmac.New(sha256.New, i.secret)
	m.Write([]byte(user))
	return base64.RawURLEncoding.EncodeToString([]byte(user)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (i *Issuer) checkRefresh(tok string) (string, error) {
	u, _, ok := strings.Cut(tok, ".")
	name, err := base64.RawURLEncoding.DecodeString(u)
	if !ok || err != nil || !hmac.Equal([]byte(i.refreshToken(string(name))), []byte(tok)) {
		return "", errors.New("refresh token not issued by this dev issuer (was the worker's state directory reset? log in again)")
	}
	return string(name), nil
}

func lookup(name string) (User, bool) {
	for _, u := range Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// Names lists the demo users.
func Names() []string {
	var out []string
	for _, u := range Users {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

func oauthError(w http.ResponseWriter, code, desc string) {
	status := http.StatusBadRequest
	if code == "server_error" {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
