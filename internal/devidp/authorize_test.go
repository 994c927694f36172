package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

const redirect = "http://127.0.0.1:5555/auth/callback"

type codeFlow struct {
	t   *testing.T
	idp *Issuer
	c   *http.Client
}

func newCodeFlow(t *testing.T, o Options) *codeFlow {
	t.Helper()
	idp, err := Start(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	jar, _ := cookiejar.New(nil)
	return &codeFlow{t: t, idp: idp, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authParams(verifier string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {Audience}, "redirect_uri": {redirect}, "scope": {"openid profile"},
		"state": {"st-1"}, "nonce": {"nonce-1"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
}

var signatureAlgs = []jose.SignatureAlgorithm{jose.RS256}

var requestID = regexp.MustCompile(`name="request" value="([^"]+)"`)

// authorize runs /authorize (and the login page as user, when shown) and
// returns the redirect back to the client.
func (f *codeFlow) authorize(p url.Values, user string) *url.URL {
	f.t.Helper()
	resp, err := f.c.Get(f.idp.URL() + "/authorize?" + p.Encode())
	require.NoError(f.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		require.Contains(f.t, string(body), "Development issuer — not a real login")
		require.Equal(f.t, "DENY", resp.Header.Get("X-Frame-Options"))
		m := requestID.FindStringSubmatch(string(body))
		require.NotNil(f.t, m, string(body))
		resp, err = f.c.PostForm(f.idp.URL()+"/authorize", url.Values{"request": {m[1]}, "username": {user}})
		require.NoError(f.t, err)
		resp.Body.Close()
	}
	require.Equal(f.t, http.StatusSeeOther, resp.StatusCode, string(body))
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(f.t, err)
	return u
}

func (f *codeFlow) exchange(form url.Values) (int, map[string]any) {
	f.t.Helper()
	resp, err := http.PostForm(f.idp.URL()+"/token", form)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func tokenForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {Audience}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	t.Parallel()
	f := newCodeFlow(t, Options{})
	verifier := strings.Repeat("v", 43)
	back := f.authorize(authParams(verifier), "alice")
	require.Equal(t, "127.0.0.1:5555", back.Host)
	require.Equal(t, "st-1", back.Query().Get("state"))
	require.Equal(t, f.idp.URL(), back.Query().Get("iss"))
	code := back.Query().Get("code")
	require.NotEmpty(t, code)

	status, out := f.exchange(tokenForm(code, "wrong-"+verifier))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", out["error"], "a wrong verifier gets nothing")
	status, out = f.exchange(tokenForm(code, verifier))
	require.Equal(t, http.StatusBadRequest, status, "the code was spent by the failed attempt: codes are single-use")
	require.Equal(t, "invalid_grant", out["error"])

	// A fresh code: the IdP remembers alice (no login page this time).
	code = f.authorize(authParams(verifier), "").Query().Get("code")
	bad := tokenForm(code, verifier)
	bad.Set("redirect_uri", "http://127.0.0.1:5555/other")
	status, out = f.exchange(bad)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, out["error_description"], "redirect_uri differs")

	code = f.authorize(authParams(verifier), "").Query().Get("code")
	status, out = f.exchange(tokenForm(code, verifier))
	require.Equal(t, http.StatusOK, status, out)
	tok, err := jwt.ParseSigned(out["id_token"].(string), signatureAlgs)
	require.NoError(t, err)
	var claims struct {
		jwt.Claims
		Nonce string `json:"nonce"`
		Name  string `json:"preferred_username"`
	}
	require.NoError(t, tok.Claims(f.idp.key.Public().Key, &claims))
	require.Equal(t, "nonce-1", claims.Nonce)
	require.Equal(t, "alice", claims.Name)
	require.Equal(t, "dev|alice", claims.Subject)
	require.Nil(t, out["refresh_token"], "no offline_access, no refresh token")
	status, _ = f.exchange(tokenForm(code, verifier))
	require.Equal(t, http.StatusBadRequest, status, "a code is good once")
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	f := newCodeFlow(t, Options{RedirectURIs: []string{"https://console.example.com/auth/callback"}})
	verifier := strings.Repeat("w", 43)
	get := func(p url.Values) (*http.Response, string) {
		resp, err := f.c.Get(f.idp.URL() + "/authorize?" + p.Encode())
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	// An unknown client or redirect URI is answered here, never redirected.
	for _, tc := range []struct{ key, val, want string }{
		{"client_id", "someone-else", "unknown client_id"},
		{"redirect_uri", "https://evil.example/cb", "is not registered"},
		{"redirect_uri", "http://127.0.0.1:5555/cb#frag", "fragment"},
	} {
		p := authParams(verifier)
		p.Set(tc.key, tc.val)
		resp, body := get(p)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.val)
		require.Empty(t, resp.Header.Get("Location"))
		require.Contains(t, body, tc.want)
	}
	// A registered non-loopback redirect is accepted.
	p := authParams(verifier)
	p.Set("redirect_uri", "https://console.example.com/auth/callback")
	resp, _ := get(p)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Other errors go back to the client with the state.
	for _, tc := range []struct{ key, val, want string }{
		{"code_challenge_method", "plain", "invalid_request"},
		{"code_challenge", "", "invalid_request"},
		{"response_type", "token", "unsupported_response_type"},
		{"scope", "profile", "invalid_scope"},
	} {
		p := authParams(verifier)
		p.Set(tc.key, tc.val)
		resp, _ := get(p)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, tc.key)
		back, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, tc.want, back.Query().Get("error"), tc.key)
		require.Equal(t, "st-1", back.Query().Get("state"))
		require.Empty(t, back.Query().Get("code"))
	}
}

// prompt=login asks again even with a session; a login_hint naming someone
// else than the session's user shows the page too.
func TestLoginPageAgain(t *testing.T) {
	t.Parallel()
	f := newCodeFlow(t, Options{})
	verifier := strings.Repeat("x", 43)
	f.authorize(authParams(verifier), "alice")
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"login_hint": {"bob"}}} {
		p := authParams(verifier)
		for k, v := range extra {
			p[k] = v
		}
		resp, err := f.c.Get(f.idp.URL() + "/authorize?" + p.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "login page for %v", extra)
	}
	// A forged session cookie is ignored.
	u, _ := url.Parse(f.idp.URL())
	f.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: base64.RawURLEncoding.EncodeToString([]byte("bob")) + ".9999999999.AAAA"}})
	resp, err := f.c.Get(f.idp.URL() + "/authorize?" + authParams(verifier).Encode())
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// A login page is good once.
	id := requestID.FindStringSubmatch(string(body))[1]
	for i, want := range []int{http.StatusSeeOther, http.StatusBadRequest} {
		resp, err = f.c.PostForm(f.idp.URL()+"/authorize", url.Values{"request": {id}, "username": {"bob"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, "submit %d", i+1)
	}
}
