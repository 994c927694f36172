package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/orgguard/orgguard/workflows"
)

// RetryPolicy bounds how one delivery is retried within one activity
// attempt.
type RetryPolicy struct {
	// MaxAttempts per destination and activity attempt.
	MaxAttempts int
	// BaseDelay is the first backoff after a 5xx, a 429 without
	// Retry-After or a network error; it doubles up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxWait is the longest wait (Retry-After or backoff) spent inside the
	// attempt; a longer one ends the attempt with Result.Deferred.
	MaxWait time.Duration
}

// DefaultRetryPolicy: four tries over about 7 s of backoff, and a
// Retry-After of up to 30 s waited in place.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 20 * time.Second, MaxWait: 30 * time.Second}

// deadlineMargin is kept free before the context's deadline for the
// attempt itself and for reporting.
const deadlineMargin = 10 * time.Second

// Result is the outcome of posting to one destination.
type Result struct {
	OK         bool
	StatusCode int
	Attempts   int
	// Err says why it failed, without the URL's path or any secret.
	Err string
	// Deferred is set when the receiver asked for a retry later than this
	// attempt may wait (Retry-After, or the backoff past the deadline):
	// deliver again after it.
	Deferred time.Duration
}

// Poster posts webhook deliveries.
type Poster struct {
	Client *http.Client
	Now    func() time.Time
	// Wait sleeps for d unless ctx ends first (the activity's heartbeats
	// while it waits).
	Wait   func(ctx context.Context, d time.Duration) error
	Policy RetryPolicy
	// UserAgent is sent with every request.
	UserAgent string
}

// Body renders an event in a destination's format.
func Body(f Format, ev workflows.Event) ([]byte, error) {
	switch f {
	case FormatSlack:
		return Slack(ev)
	case FormatTeams:
		return Teams(ev)
	case FormatJSON, FormatSNS, "":
		return JSON(ev)
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// Post delivers body to a webhook destination, retrying 429 (after its
// Retry-After, in seconds or as an HTTP date) and 5xx and network errors
// (with backoff), at most Policy.MaxAttempts times. Any other answer from
// 300 up is final: a Slack webhook that says 404 no_service will say it
// again. key is the Idempotency-Key, the same on every attempt.
func (p *Poster) Post(ctx context.Context, d Destination, ev workflows.Event, body []byte, key string) Result {
	pol := p.Policy
	if pol.MaxAttempts <= 0 {
		pol = DefaultRetryPolicy
	}
	var res Result
	delay := pol.BaseDelay
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		status, ra, err := p.once(ctx, d, ev, body, key)
		res.StatusCode = status
		var wait time.Duration
		switch {
		case err == nil && status >= 200 && status < 300:
			res.OK, res.Err = true, ""
			return res
		case ctx.Err() != nil:
			res.Err = ctx.Err().Error()
			return res
		case err != nil:
			res.Err, wait = err.Error(), delay
		case status == http.StatusTooManyRequests || status >= 500:
			res.Err, wait = httpError(status, ra), delay
			if ra.set {
				wait = ra.d
			}
		default:
			res.Err = httpError(status, ra)
			return res
		}
		if attempt >= pol.MaxAttempts {
			return res
		}
		if wait > pol.MaxWait || !p.fits(ctx, wait) {
			res.Deferred = max(wait, time.Second)
			return res
		}
		if err := p.Wait(ctx, wait); err != nil {
			res.Err = err.Error()
			return res
		}
		delay = min(delay*2, pol.MaxDelay)
	}
}

// fits reports whether waiting d still leaves the attempt time before the
// context's deadline.
func (p *Poster) fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || p.Now().Add(d+deadlineMargin).Before(dl)
}

// reply is what a receiver answered besides its status: its Retry-After
// (d, when set) and the start of its body.
type reply struct {
	d    time.Duration
	set  bool
	body string
}

// once makes one signed request and returns the status, the reply and a
// network error (redacted).
func (p *Poster) once(ctx context.Context, d Destination, ev workflows.Event, body []byte, key string) (int, reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, reply{}, errors.New(RedactError(err, d.URL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, key)
	req.Header.Set(HeaderEvent, string(ev.Type))
	req.Header.Set(HeaderEventID, ev.ID)
	if p.UserAgent != "" {
		req.Header.Set("User-Agent", p.UserAgent)
	}
	if len(d.Secret) > 0 {
		// Signed at each attempt: the timestamp is when it was sent.
		ts, sig := Sign(d.Secret, p.Now(), body)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, sig)
	}
	// Redirects are not followed: a receiver that moved says so with its
	// 3xx, and a signed body is not sent on to a host nobody configured.
	c := *p.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return 0, reply{}, errors.New(RedactError(err, d.URL))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	ra := reply{body: RedactError(errors.New(oneLine(string(snippet))), d.URL)}
	ra.d, ra.set = parseRetryAfter(resp.Header.Get("Retry-After"), p.Now())
	return resp.StatusCode, ra, nil
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 10.2.3). A date in the past means now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func httpError(status int, ra reply) string {
	msg := http.StatusText(status)
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(status)
	}
	if ra.body != "" {
		msg += ": " + ra.body
	}
	if ra.set {
		msg += fmt.Sprintf(" (Retry-After %s)", ra.d)
	}
	return msg
}

// oneLine keeps a response body readable in one line of a report.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	return clip(strings.Join(strings.Fields(s), " "), 200)
}
