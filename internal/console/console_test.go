package console

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/oidcflow"
	"github.com/orgguard/orgguard/workflows"
)

const remID = "rem-20261203-0600-ab12-100000000007-1a2b3c4d"

// fakeBackend holds one pending remediation and judges votes the way the
// Remediation workflow's validator does: the token verified against the
// worker's trust snapshot, its nonce bound to the remediation, decision
// and plan digest, and workflows.CanVote.
type fakeBackend struct {
	trust *identity.Provider
	now   func() time.Time

	mu      sync.Mutex
	state   workflows.RemediationState
	votes   []workflows.VoteRequest
	queries []string
}

func (f *fakeBackend) Pending(context.Context) ([]workflows.RemediationState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []workflows.RemediationState{f.state}, nil
}

func (f *fakeBackend) Remediation(_ context.Context, id string) (workflows.RemediationState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.state.ID {
		return workflows.RemediationState{}, fmt.Errorf("no remediation %s: %w", id, approvals.ErrNotFound)
	}
	return f.state, nil
}

func (f *fakeBackend) Trail(context.Context, string) ([]audit.TrailEntry, error) {
	return []audit.TrailEntry{{At: f.now(), Step: "detected", Detail: "default security group open"}}, nil
}

func (f *fakeBackend) Vote(ctx context.Context, id, decision string, req workflows.VoteRequest) (workflows.RemediationState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.votes = append(f.votes, req)
	snap, err := f.trust.Snapshot(ctx, false)
	if err != nil {
		return f.state, err
	}
	v, err := identity.Verify(&snap, req.Token, f.now())
	if err != nil {
		return f.state, err
	}
	if v.Nonce != identity.VoteNonce(f.state.ID, decision, f.state.ChangeDigest) {
		return f.state, errors.New("not bound to this decision [wrong_nonce]")
	}
	if err := workflows.CanVote(f.state, v.Principal); err != nil {
		return f.state, err
	}
	f.state.Votes = append(f.state.Votes, workflows.Vote{Approver: v.Principal.Name, Approve: decision == identity.DecisionApprove,
		Reason: req.Reason, Policy: f.state.Policy, Subject: v.Principal.Subject, Issuer: v.Principal.Issuer, TokenID: v.Principal.TokenID})
	f.state.Status = workflows.RemApproved
	return f.state, nil
}

func (f *fakeBackend) Progress(_ context.Context, run string) (workflows.Progress, error) {
	if run != "20261203-0600-ab12" {
		return workflows.Progress{}, fmt.Errorf("no rollout with run ID %s: %w", run, audit.ErrNoRollout)
	}
	return workflows.Progress{RunID: run, Mode: workflows.ModeApply, State: "running",
		Waves: []workflows.WaveProgress{{Name: "canary", Total: 2, Succeeded: 2}, {Name: "rest", Total: 8, Succeeded: 3, Running: 2, Pending: 3}}}, nil
}

func (f *fakeBackend) Audit(_ context.Context, query string, _ int) ([]audit.Row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, query)
	return []audit.Row{{Kind: workflows.KindRemediation, RunID: "20261203-0600-ab12", WorkflowID: remID, Outcome: "remediated", Approvers: []string{"alice"}}}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	idp     *devidp.Issuer
	console *Server
	url     string
	backend *fakeBackend
	clock   *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Now()}
	idp, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	cfg, err := idp.WriteTrustConfig(filepath.Join(t.TempDir(), "trust.hcl"))
	require.NoError(t, err)
	trust := identity.NewProvider(cfg, nil, nil)
	digest := identity.ChangeDigest(remID, "100000000007", "us-east-1", "control.default_sg_closed", "sg-1", "packdigest", `{"summary":"revoke all"}`)
	fb := &fakeBackend{trust: trust, now: clk.now, state: workflows.RemediationState{
		ID: remID, Status: workflows.RemPending, AccountID: "100000000007", Region: "us-east-1", GuardrailID: "control.default_sg_closed",
		Resource: "sg-1", Evidence: "default security group sg-1 allows ingress tcp 22 from 0.0.0.0/0",
		Change: &workflows.Change{Summary: "revoke all rules of the default security group", Diff: "- ingress tcp 22 0.0.0.0/0\n+ (no rules)\n"},
		Policy: "security-team", Approvers: []string{"alice", "bob"}, IdPGroups: []string{"security-team"}, Quorum: 1,
		Deadline: clk.now().Add(72 * time.Hour), RequestedBy: "bob", RunID: "20261203-0600-ab12", ChangeDigest: digest,
		Requester:          &identity.Principal{Name: "bob", Subject: "dev|bob", Issuer: idp.URL()},
		SeparationOfDuties: true, Verified: true,
		Notifications: []workflows.Delivery{{Destination: "secops-slack (https://hooks.slack.com/…)", Event: workflows.EventApprovalRequested,
			StatusCode: 404, Error: "Not Found: no_service", Attempts: 1, At: clk.now()}},
	}}
	// The run's evidence, for its report page.
	ev := &evidence.Store{B: evidence.Dir{Root: t.TempDir()}}
	require.NoError(t, ev.PutRun(context.Background(), evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{
		RunID: "20261203-0600-ab12", Pack: "baseline", Mode: workflows.ModeApply, StartedAt: clk.now(), Status: "completed"}}))
	require.NoError(t, ev.PutAccount(context.Background(), "20261203-0600-ab12", "100000000007", []evidence.Record{{
		RunID: "20261203-0600-ab12", AccountID: "100000000007", OUPath: "Root/Prod", Region: "us-east-1",
		GuardrailID: "control.default_sg_closed", Resource: "sg-1", Status: "pending_approval", RemediationID: remID,
		Evidence: "default security group sg-1 allows ingress tcp 22 from 0.0.0.0/0",
		Controls: guardrails.ControlRefs([]string{"CIS v3.0.0 5.4"}, "PR.IR"),
	}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c, err := New(Options{Backend: fb, Trust: trust, PublicURL: "http://" + ln.Addr().String(), TemporalUI: "http://127.0.0.1:1/ui", Now: clk.now, Evidence: ev})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(c)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &fixture{idp: idp, console: c, url: "http://" + ln.Addr().String(), backend: fb, clock: clk}
}

// browser is a cookie-keeping HTTP client that follows redirects itself,
// so a test sees every hop: each URL, Set-Cookie and body.
type browser struct {
	t      *testing.T
	c      *http.Client
	hops   []*http.Response
	urls   []string
	bodies []string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and follows redirects; it returns the last response
// and its body.
func (b *browser) do(method, u string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	for range 10 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, u, body)
		require.NoError(b.t, err)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := b.c.Do(req)
		require.NoError(b.t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.hops, b.urls, b.bodies = append(b.hops, resp), append(b.urls, u), append(b.bodies, string(raw))
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return resp, string(raw)
		}
		next, err := req.URL.Parse(loc)
		require.NoError(b.t, err)
		u, method, form, header = next.String(), http.MethodGet, nil, nil
	}
	b.t.Fatal("too many redirects")
	return nil, ""
}

func (b *browser) get(u string) (*http.Response, string) { return b.do(http.MethodGet, u, nil, nil) }

var (
	requestField = regexp.MustCompile(`name="request" value="([^"]+)"`)
	csrfInput    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	digestInput  = regexp.MustCompile(`name="digest" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	require.NotNil(t, m, "no %s in:\n%s", re, body)
	return html.UnescapeString(m[1])
}

// login signs in as name through the dev issuer's login page.
func (f *fixture) login(t *testing.T, b *browser, name string) string {
	t.Helper()
	resp, body := b.get(f.url + "/approvals")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "Sign in with orgguard-dev")
	resp, body = b.get(f.url + "/login/orgguard-dev?next=%2Fapprovals")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Development issuer")
	resp, body = b.do(http.MethodPost, f.idp.URL()+"/authorize", url.Values{"request": {field(t, requestField, body)}, "username": {name}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, `id="me"`)
	require.Contains(t, body, ">"+name+"<")
	return body
}

// loggedIn is a new console with one browser logged in as name.
func loggedIn(t *testing.T, name string) (*fixture, *browser) {
	t.Helper()
	f := newFixture(t)
	b := newBrowser(t)
	f.login(t, b, name)
	return f, b
}

// vote opens the remediation and submits a decision; it returns the page
// shown afterwards.
func (f *fixture) vote(t *testing.T, b *browser, decision, reason string) string {
	t.Helper()
	_, page := b.get(f.url + "/remediations/" + remID)
	form := url.Values{"csrf": {field(t, csrfInput, page)}, "digest": {field(t, digestInput, page)}, "decision": {decision}, "reason": {reason}}
	resp, body := b.do(http.MethodPost, f.url+"/remediations/"+remID+"/vote", form, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	return body
}

func TestLoginSetsAHardenedSessionCookie(t *testing.T) {
	t.Parallel()
	_, b := loggedIn(t, "alice")
	var session *http.Cookie
	for _, r := range b.hops {
		for _, c := range r.Cookies() {
			if c.Name == "orgguard_console" && c.Value != "" {
				session = c
			}
		}
	}
	require.NotNil(t, session, "the callback sets the session cookie")
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, "/", session.Path)
	require.False(t, session.Secure, "plain http on loopback (docs/console.md); https makes it Secure")
	for i, u := range b.urls {
		require.NotContains(t, u, "id_token", "no token in any URL")
		require.NotContains(t, b.bodies[i], "eyJ", "no JWT in any page (hop %d: %s)", i, u)
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, err := New(Options{Backend: f.backend, Trust: f.backend.trust, PublicURL: "https://orgguard.example.com"})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	c.setCookie(rec, c.sessionCookie(), "x", 0)
	ck := rec.Result().Cookies()[0]
	require.Equal(t, "__Host-orgguard_console", ck.Name)
	require.True(t, ck.Secure)
	require.True(t, ck.HttpOnly)
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	require.Equal(t, "max-age=31536000", rec.Header().Get("Strict-Transport-Security"))

	_, err = New(Options{Backend: f.backend, Trust: f.backend.trust, PublicURL: "http://orgguard.example.com"})
	require.ErrorContains(t, err, "plain http on a non-loopback host")
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp, err := http.Get(f.url + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Contains(t, csp, "form-action 'self' "+f.idp.URL())
	require.NotContains(t, csp, "script-src", "no script may run")
	require.NotContains(t, csp, "unsafe-inline")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

// alice approves: the vote reaches the backend with a token from the IdP
// whose nonce binds it to this remediation, decision and plan digest.
func TestApproveSendsATokenBoundToTheDecision(t *testing.T) {
	t.Parallel()
	f, b := loggedIn(t, "alice")
	body := f.vote(t, b, "approve", "reviewed the diff")
	require.Contains(t, body, "Your approval is recorded: alice")
	require.Contains(t, body, `data-status="approved"`)
	require.Contains(t, body, `<meta http-equiv="refresh"`, "an approved remediation's page follows the apply")
	require.Len(t, f.backend.votes, 1)
	v := f.backend.votes[0]
	require.Equal(t, remID, v.RemediationID)
	require.Equal(t, f.backend.state.ChangeDigest, v.ChangeDigest)
	require.Equal(t, "reviewed the diff", v.Reason)
	snap, err := f.backend.trust.Snapshot(context.Background(), false)
	require.NoError(t, err)
	tok, err := identity.Verify(&snap, v.Token, time.Now())
	require.NoError(t, err)
	require.Equal(t, "alice", tok.Principal.Name)
	require.Equal(t, identity.VoteNonce(remID, identity.DecisionApprove, v.ChangeDigest), tok.Nonce)
	for i, u := range b.urls {
		require.NotContains(t, u, v.Token)
		require.NotContains(t, b.bodies[i], v.Token, "the token stays on the server")
	}
}

// The workflow's refusal is shown with its reason; nothing is recorded.
func TestRefusalsShowTheWorkflowsReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ who, want string }{
		{"mallory", `&#34;mallory&#34; (verified: mallory (sub dev|mallory`},
		{"bob", "separation of duties"},
	} {
		t.Run(tc.who, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			b := newBrowser(t)
			f.login(t, b, tc.who)
			_, page := b.get(f.url + "/remediations/" + remID)
			require.Contains(t, page, "expects the workflow to refuse your vote")
			body := f.vote(t, b, "approve", "trust me")
			require.Contains(t, body, "Your approval of "+remID+" was refused")
			require.Contains(t, body, tc.want)
			require.Contains(t, body, `data-status="pending_approval"`)
			require.Len(t, f.backend.votes, 1, "the console sent it: the workflow decides")
			require.Empty(t, f.backend.state.Votes)
		})
	}
}

func TestVoteNeedsAReason(t *testing.T) {
	t.Parallel()
	f, b := loggedIn(t, "alice")
	body := f.vote(t, b, "approve", "   ")
	require.Contains(t, body, "A reason is required")
	require.Empty(t, f.backend.votes)
}

// Every POST needs the session's CSRF token, and comes from the console's
// own origin; a refused POST goes nowhere near the IdP or the backend.
func TestCSRF(t *testing.T) {
	t.Parallel()
	f, b := loggedIn(t, "alice")
	_, page := b.get(f.url + "/remediations/" + remID)
	csrf, digest := field(t, csrfInput, page), field(t, digestInput, page)
	form := func(token string) url.Values {
		return url.Values{"csrf": {token}, "digest": {digest}, "decision": {"approve"}, "reason": {"x"}}
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header http.Header
	}{
		"no token":         {form: form("")},
		"wrong token":      {form: form(csrf[:len(csrf)-1] + "A")},
		"foreign origin":   {form: form(csrf), header: http.Header{"Origin": {"http://evil.example"}}},
		"cross-site fetch": {form: form(csrf), header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		"opaque origin":    {form: form(csrf), header: http.Header{"Origin": {"null"}}},
		"logout, no token": {form: url.Values{}},
	} {
		path := "/remediations/" + remID + "/vote"
		if strings.HasPrefix(name, "logout") {
			path = "/logout"
		}
		resp, body := b.do(http.MethodPost, f.url+path, tc.form, tc.header)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", name, body)
	}
	require.Empty(t, f.backend.votes)
	// The console's own origin, as a browser sends it, passes.
	resp, body := b.do(http.MethodPost, f.url+"/remediations/"+remID+"/vote", form(csrf), http.Header{"Origin": {f.url}, "Sec-Fetch-Site": {"same-origin"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Len(t, f.backend.votes, 1)
	// Still logged in: the refused logout did nothing.
	resp, _ = b.get(f.url + "/approvals")
	require.Equal(t, f.url+"/approvals", b.urls[len(b.urls)-1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// A vote's sign-in is bound to the session that started it: a callback
// arriving in another session sends nothing.
func TestVoteCallbackInAnotherSessionSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice, bob := newBrowser(t), newBrowser(t)
	f.login(t, alice, "alice")
	f.login(t, bob, "bob")
	_, page := alice.get(f.url + "/remediations/" + remID)
	form := url.Values{"csrf": {field(t, csrfInput, page)}, "digest": {field(t, digestInput, page)}, "decision": {"approve"}, "reason": {"ok"}}
	// alice's browser stops at the redirect to the IdP ...
	req, _ := http.NewRequest(http.MethodPost, f.url+"/remediations/"+remID+"/vote", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := alice.c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	idpURL := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(idpURL, f.idp.URL()+"/authorize?"), idpURL)
	q, _ := url.Parse(idpURL)
	require.Equal(t, "S256", q.Query().Get("code_challenge_method"))
	require.Equal(t, identity.VoteNonce(remID, "approve", f.backend.state.ChangeDigest), q.Query().Get("nonce"))
	require.Equal(t, "alice", q.Query().Get("login_hint"))
	// ... and bob's browser finishes it: the IdP asks who is there (its
	// session is bob's, the hint names alice), bob answers.
	resp, body := bob.get(idpURL)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = bob.do(http.MethodPost, f.idp.URL()+"/authorize", url.Values{"request": {field(t, requestField, body)}, "username": {"bob"}}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	require.Contains(t, body, "started from another session")
	require.Empty(t, f.backend.votes)
}

// A login's callback must come back to the browser that started it.
func TestLoginCallbackInAnotherBrowserIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	victim, attacker := newBrowser(t), newBrowser(t)
	resp, body := attacker.get(f.url + "/login/orgguard-dev")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// The attacker signs in at the IdP but lets the victim's browser
	// follow the callback.
	req, _ := http.NewRequest(http.MethodPost, f.idp.URL()+"/authorize", strings.NewReader(url.Values{"request": {field(t, requestField, body)}, "username": {"mallory"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := attacker.c.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	callback := r.Header.Get("Location")
	require.Contains(t, callback, "/auth/callback?")
	resp, body = victim.get(callback)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	require.Contains(t, body, "not started in this browser")
	// And a callback is good once.
	resp, body = attacker.get(callback)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := newBrowser(t)
		f.login(t, b, "alice")
		f.clock.add(DefaultSessionIdle - time.Minute)
		b.get(f.url + "/approvals")
		require.Equal(t, f.url+"/approvals", b.urls[len(b.urls)-1], "used within the idle time: still logged in")
		f.clock.add(DefaultSessionIdle + time.Second)
		_, body := b.get(f.url + "/approvals")
		require.Contains(t, body, "Sign in with orgguard-dev", "idle too long: log in again")
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := newBrowser(t)
		f.login(t, b, "alice")
		for range int(DefaultSessionMax / (DefaultSessionIdle / 2)) {
			f.clock.add(DefaultSessionIdle / 2)
			b.get(f.url + "/runs")
			require.Equal(t, f.url+"/runs", b.urls[len(b.urls)-1], "in use and within the lifetime")
		}
		f.clock.add(time.Minute)
		_, body := b.get(f.url + "/approvals")
		require.Contains(t, body, "Sign in with orgguard-dev", "past the absolute lifetime: log in again")
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newBrowser(t)
	page := f.login(t, b, "alice")
	resp, body := b.do(http.MethodPost, f.url+"/logout", url.Values{"csrf": {field(t, csrfInput, page)}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "Sign in with orgguard-dev")
	_, body = b.get(f.url + "/approvals")
	require.Contains(t, body, "Sign in with orgguard-dev")
}

func TestPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newBrowser(t)
	body := f.login(t, b, "alice")
	// The pending list shows the evidence and the readable diff.
	require.Contains(t, body, "allows ingress tcp 22 from 0.0.0.0/0")
	require.Contains(t, body, `<span class="del">- ingress tcp 22 0.0.0.0/0</span>`)
	require.Contains(t, body, "You may vote on this.")

	_, body = b.get(f.url + "/runs/20261203-0600-ab12")
	require.Contains(t, body, `<progress max="8" value="3">`)
	require.Contains(t, body, `href="/runs/20261203-0600-ab12/report"`)
	require.Contains(t, body, `href="http://127.0.0.1:1/ui/namespaces/default/workflows/orgguard-20261203-0600-ab12"`)
	require.Contains(t, body, `<meta http-equiv="refresh"`, "a running rollout's page follows it")

	resp, _ := b.get(f.url + "/runs/nope")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = b.get(f.url + "/remediations/rem-nope")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Audit search builds the same query as `orgguard audit`.
	_, body = b.get(f.url + "/audit?approver=alice&control=CIS+5.4&kind=remediation")
	want, err := audit.Filter{Approver: "alice", Control: "CIS 5.4", Kind: "remediation"}.Query(time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{want}, f.backend.queries)
	require.Contains(t, body, `href="/remediations/`+remID+`"`)
	_, body = b.get(f.url + "/audit?since=yesterday-ish")
	require.Contains(t, body, `since &#34;yesterday-ish&#34;: want RFC3339`)

	// A return path after login stays on the console.
	require.Equal(t, "/approvals", localPath("//evil.example/x"))
	require.Equal(t, "/approvals", localPath(`/\evil.example`))
	require.Equal(t, "/runs/x", localPath("/runs/x"))
}

// Anyone may start a sign-in, so their number is bounded, and each is good
// once and for authLifetime.
func TestPendingSignInsAreBounded(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	st := newStore(clk.now, DefaultSessionIdle, DefaultSessionMax)
	for i := range maxPendingAuths {
		require.True(t, st.putAuth(&pendingAuth{web: oidcflow.WebRequest{State: fmt.Sprint(i)}}))
	}
	require.False(t, st.putAuth(&pendingAuth{web: oidcflow.WebRequest{State: "one too many"}}))
	_, ok := st.takeAuth("0")
	require.True(t, ok)
	_, ok = st.takeAuth("0")
	require.False(t, ok, "a state is good once")
	clk.add(authLifetime + time.Second)
	_, ok = st.takeAuth("1")
	require.False(t, ok, "expired")
	require.True(t, st.putAuth(&pendingAuth{web: oidcflow.WebRequest{State: "later"}}), "expired sign-ins make room")
}

// A run's report page is the evidence report, with a policy that lets its
// inline stylesheet in and no script at all.
func TestRunReport(t *testing.T) {
	f, b := loggedIn(t, "alice")
	resp, body := b.get(f.url + "/runs/20261203-0600-ab12/report")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Compliance heatmap")
	require.Contains(t, body, "CIS AWS Foundations Benchmark v3.0.0 5.4")
	require.Contains(t, body, "sg-1")
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.NotContains(t, csp, "script-src")
	resp, body = b.get(f.url + "/runs/nope/report")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, body)
	require.Contains(t, body, "has no evidence")
}

// A notification that failed is shown on the remediation's page, as
// `orgguard approvals show` prints it.
func TestRemediationShowsFailedNotifications(t *testing.T) {
	f, b := loggedIn(t, "alice")
	resp, body := b.get(f.url + "/remediations/" + remID)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, `id="notifications"`)
	require.Contains(t, body, "notification to secops-slack (https://hooks.slack.com/…) failed: 404 Not Found: no_service (approval_requested, 1 attempt)")
}
