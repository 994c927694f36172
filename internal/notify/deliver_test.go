package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver answers each request with the next status (the last one
// repeats) and records what it got.
type receiver struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter)
	requests []*http.Request
	bodies   [][]byte
}

func status(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		if code == http.StatusNotFound {
			_, _ = io.WriteString(w, "no_service")
		}
	}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.requests)
	rc.requests = append(rc.requests, r)
	rc.bodies = append(rc.bodies, b)
	answer := rc.answers[min(n, len(rc.answers)-1)]
	rc.mu.Unlock()
	answer(w)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// poster records the waits it is asked for instead of sleeping.
func poster(waits *[]time.Duration) *Poster {
	return &Poster{Client: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return at }, Policy: DefaultRetryPolicy,
		Wait: func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }}
}

func TestPostRetries(t *testing.T) {
	ev := events()["approval_requested"]
	cases := []struct {
		name     string
		answers  []func(http.ResponseWriter)
		ok       bool
		status   int
		attempts int
		waits    []time.Duration
		deferred time.Duration
		err      string
	}{
		{name: "delivered", answers: []func(http.ResponseWriter){status(200)}, ok: true, status: 200, attempts: 1},
		{name: "429 with Retry-After seconds", answers: []func(http.ResponseWriter){status(429, "Retry-After", "3"), status(204)},
			ok: true, status: 204, attempts: 2, waits: []time.Duration{3 * time.Second}},
		{name: "429 with Retry-After date", answers: []func(http.ResponseWriter){status(429, "Retry-After", at.Add(7*time.Second).Format(http.TimeFormat)), status(200)},
			ok: true, status: 200, attempts: 2, waits: []time.Duration{7 * time.Second}},
		{name: "429 without Retry-After backs off", answers: []func(http.ResponseWriter){status(429), status(429), status(200)},
			ok: true, status: 200, attempts: 3, waits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "5xx backs off, bounded", answers: []func(http.ResponseWriter){status(502)},
			status: 502, attempts: 4, waits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, err: "Bad Gateway"},
		{name: "503 with Retry-After", answers: []func(http.ResponseWriter){status(503, "Retry-After", "5"), status(200)},
			ok: true, status: 200, attempts: 2, waits: []time.Duration{5 * time.Second}},
		{name: "404 is final", answers: []func(http.ResponseWriter){status(404)}, status: 404, attempts: 1, err: "Not Found: no_service"},
		{name: "400 is final", answers: []func(http.ResponseWriter){status(400)}, status: 400, attempts: 1, err: "Bad Request"},
		{name: "redirect is final", answers: []func(http.ResponseWriter){status(302, "Location", "https://elsewhere.example.com/")}, status: 302, attempts: 1, err: "Found"},
		{name: "long Retry-After is deferred", answers: []func(http.ResponseWriter){status(429, "Retry-After", "120")},
			status: 429, attempts: 1, deferred: 120 * time.Second, err: "Too Many Requests (Retry-After 2m0s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := &receiver{answers: c.answers}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			var waits []time.Duration
			res := poster(&waits).Post(context.Background(), Destination{Name: "d", Format: FormatJSON, URL: srv.URL + "/hook"}, ev, []byte(`{}`), "key-1")
			assert.Equal(t, c.ok, res.OK, res.Err)
			assert.Equal(t, c.status, res.StatusCode)
			assert.Equal(t, c.attempts, res.Attempts)
			assert.Equal(t, c.attempts, rc.count(), "requests the receiver saw")
			assert.Equal(t, c.waits, waits)
			assert.Equal(t, c.deferred, res.Deferred)
			if c.err != "" {
				assert.Contains(t, res.Err, c.err)
			}
			for _, r := range rc.requests {
				assert.Equal(t, "key-1", r.Header.Get(HeaderIdempotencyKey), "the same key on every attempt")
				assert.Equal(t, "approval_requested", r.Header.Get(HeaderEvent))
				assert.Equal(t, ev.ID, r.Header.Get(HeaderEventID))
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			}
		})
	}
}

// A backoff that would outlast the context's deadline is deferred too.
func TestPostDefersPastDeadline(t *testing.T) {
	rc := &receiver{answers: []func(http.ResponseWriter){status(429, "Retry-After", "20")}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var waits []time.Duration
	p := poster(&waits)
	p.Now = time.Now
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	res := p.Post(ctx, Destination{Name: "d", URL: srv.URL}, events()["remediated"], []byte(`{}`), "k")
	assert.Equal(t, 20*time.Second, res.Deferred)
	assert.Empty(t, waits)
	assert.Equal(t, 1, rc.count())
}

func TestPostSigns(t *testing.T) {
	rc := &receiver{answers: []func(http.ResponseWriter){status(500), status(200)}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var waits []time.Duration
	p := poster(&waits)
	// The clock moves a second per request the receiver got.
	p.Now = func() time.Time { return at.Add(time.Duration(rc.count()) * time.Second) }
	body := []byte(`{"schema":"orgguard.notification/v1"}`)
	res := p.Post(context.Background(), Destination{Name: "d", URL: srv.URL, Secret: []byte("k3y")}, events()["remediated"], body, "k")
	require.True(t, res.OK, res.Err)
	require.Len(t, rc.requests, 2)
	for i, r := range rc.requests {
		ts, sig := Sign([]byte("k3y"), at.Add(time.Duration(i)*time.Second), body)
		assert.Equal(t, ts, r.Header.Get(HeaderTimestamp), "each attempt is signed when it is sent")
		assert.Equal(t, sig, r.Header.Get(HeaderSignature))
		assert.Equal(t, body, rc.bodies[i])
	}
	// Known answer, computed independently (Python's hmac module):
	// HMAC-SHA256("k3y", "1796281200." + body).
	ts, sig := Sign([]byte("k3y"), at, body)
	assert.Equal(t, "1796281200", ts)
	assert.Equal(t, "v1=3e7a0e2c2200c53478260716e1aa29dd399963a8ecf51d005b764fc1d060ec86", sig)

	// Without a secret, no signature headers.
	rc2 := &receiver{answers: []func(http.ResponseWriter){status(200)}}
	srv2 := httptest.NewServer(rc2)
	defer srv2.Close()
	p.Post(context.Background(), Destination{Name: "d", URL: srv2.URL}, events()["remediated"], body, "k")
	assert.Empty(t, rc2.requests[0].Header.Get(HeaderSignature))
	assert.Empty(t, rc2.requests[0].Header.Get(HeaderTimestamp))
}

// A network error names the host, never the URL's path (a Slack webhook's
// path is its token).
func TestPostRedactsNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/T000/B000/sEcReTtOkEn"
	srv.Close() // connection refused from now on
	var waits []time.Duration
	res := poster(&waits).Post(context.Background(), Destination{Name: "d", URL: url}, events()["remediated"], []byte(`{}`), "k")
	assert.False(t, res.OK)
	assert.Equal(t, 4, res.Attempts, "a network error is retried")
	assert.NotContains(t, res.Err, "sEcReTtOkEn")
	assert.NotContains(t, res.Err, "/services/")
	assert.Contains(t, res.Err, strings.TrimPrefix(srv.URL, "http://"))
	assert.Contains(t, res.Err, "connection refused")
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "17": 17 * time.Second, at.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		at.Add(-time.Minute).Format(http.TimeFormat): 0, "999999999": 24 * time.Hour,
	} {
		d, ok := parseRetryAfter(in, at)
		assert.True(t, ok, in)
		assert.Equal(t, want, d, in)
	}
	for _, in := range []string{"", "soon", "-3"} {
		_, ok := parseRetryAfter(in, at)
		assert.False(t, ok, in)
	}
}
