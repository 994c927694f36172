package activities

import (
	"errors"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// simClock is the simulator's clock in these tests: eventual consistency
// (Options.ConsistencyDelay, or AWSSIM_CONSISTENCY_DELAY) runs on it, so a
// test lets time pass without sleeping. It stands still otherwise, so a
// delay never passes by itself on a slow machine and the retry path is
// taken every time.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSimClock() *simClock { return &simClock{now: time.Now()} }

func (c *simClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *simClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// retryPolicy is the part of a workflow's activity retry policy the tests
// replay: the first interval, its cap (the coefficient is Temporal's
// default, 2) and the number of attempts.
type retryPolicy struct {
	initial, maximum time.Duration
	attempts         int
}

var (
	// applyRetries is applyAndVerify's policy for ApplyRemediation
	// (workflows/baseline.go, with the default remediation max_attempts).
	applyRetries = retryPolicy{initial: 2 * time.Second, maximum: 2 * time.Minute, attempts: 5}
	// checkRetries is AccountBaseline's policy for CheckGuardrail.
	checkRetries = retryPolicy{initial: time.Second, maximum: time.Minute, attempts: 8}
)

// retried runs call as the activity's retries would: an error the activity
// returns classified as retryable (awsclient.Classify) is tried again after
// the retry's wait (the error's NextRetryDelay, else the policy's backoff),
// which passes on the simulator's clock instead of being slept; a
// non-retryable error, or the last attempt's, is returned as it is.
func retried[T any](s *sim, p retryPolicy, where awsclient.Where, call func() (T, error)) (T, error) {
	wait := p.initial
	for attempt := 1; ; attempt++ {
		out, err := call()
		if err == nil || attempt == p.attempts {
			return out, err
		}
		delay := wait
		var app *temporal.ApplicationError
		if errors.As(awsclient.Classify(err, where), &app) {
			if app.NonRetryable() {
				return out, err
			}
			if d := app.NextRetryDelay(); d > 0 {
				delay = d
			}
		}
		s.clock.Add(delay)
		wait = min(2*wait, p.maximum)
	}
}

// apply runs k.Apply as ApplyRemediation and its retry policy would, with
// the finding's idempotency key.
func (s *sim) apply(k Kind, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	env = applyEnv(env, f)
	return retried(s, applyRetries, env.Where, func() (workflows.ApplyOutput, error) { return k.Apply(ctx, env, f) })
}

// check runs k.Check as CheckGuardrail and its retry policy would.
func (s *sim) check(k Kind, env Env, resource string) ([]workflows.Finding, error) {
	return retried(s, checkRetries, env.Where, func() ([]workflows.Finding, error) { return k.Check(ctx, env, resource) })
}

// settle lets the simulator's consistency delay pass, as it has for
// anything a scenario prepares before its story begins.
func (s *sim) settle() { s.clock.Add(s.srv.ConsistencyDelay()) }
