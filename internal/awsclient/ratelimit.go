package awsclient

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Limit is a token bucket: RPS refill, Burst capacity. For the Limiter it
// is a ceiling: the rate a bucket starts at and recovers to, which the
// throttling answers of AWS push lower.
type Limit struct {
	RPS   float64
	Burst int
	// Fixed buckets keep their rate when AWS throttles (the SDK's retry
	// backoff handles the throttled call); the others adapt (below).
	Fixed bool
}

// DefaultLimits are the ceilings, per account (and region, for regional
// services). Keys are "service:Operation", "service:Prefix*" or
// "service:*" with the SDK's service ID lower-cased. Where AWS publishes a
// quota (Security Hub's 1 request/s for BatchEnableStandards, STS's 600
// requests/s) the ceiling is the quota; where it does not, or where other
// callers in the account share the quota (Organizations in the management
// account), the ceiling is generous and the adaptation finds the rate.
var DefaultLimits = map[string]Limit{
	"securityhub:BatchEnableStandards":   {RPS: 1, Burst: 1, Fixed: true},
	"securityhub:BatchDisableStandards":  {RPS: 1, Burst: 1, Fixed: true},
	"securityhub:UpdateStandardsControl": {RPS: 1, Burst: 1, Fixed: true},
	"securityhub:GetFindings":            {RPS: 3, Burst: 6, Fixed: true}, // its published quota
	"securityhub:*":                      {RPS: 10, Burst: 30, Fixed: true},
	"sts:*":                              {RPS: 600, Burst: 600, Fixed: true},
	"organizations:*":                    {RPS: 4, Burst: 20},
	"ec2:Describe*":                      {RPS: 20, Burst: 100, Fixed: true},
	"ec2:*":                              {RPS: 5, Burst: 50, Fixed: true},
	"iam:*":                              {RPS: 10, Burst: 20, Fixed: true},
	"config:*":                           {RPS: 5, Burst: 20, Fixed: true},
}

// Which buckets adapt: Organizations, whose quota (about 2 requests/s,
// shared by everything in the management account) is what orgguard's
// discovery and SCP reads run into, and where retries used to fight over
// the bucket. The member-account rules are fixed: there orgguard sends a
// few requests a second per account and region, well under the quotas, so
// a throttle comes from another caller or a service's bad minute, and
// cutting orgguard's rate does not help but slows the rollout: with every
// bucket adaptive, the chaos test (20% of calls throttled at random) took
// 7.3× its clean run with the machine idle, the buckets at their floors.
// Override with Options.Limits (Fixed false to adapt).
//
// The adaptation: a throttled answer cuts a bucket's rate to
// throttleBackoff times what it was sending; the rate then climbs back by
// recoveryPerSecond of that rate each second, so it is where it was
// throttled again after (1-throttleBackoff)/recoveryPerSecond = 10 s and
// probes on past it, up to the ceiling. Against a token-bucket quota of Q
// requests/s this settles into 20-second cycles that average about 0.9 Q
// with one or two throttled requests each (one for every ~40 successful
// requests at Q = 2/s).
//
// A bucket never goes below floorShare of its ceiling. Throttling that does
// not come from the rate (another caller's burst on a shared quota, a
// service's own trouble: the chaos test throttles 20% of all calls at
// random) would otherwise cut again and again: with a recovery
// proportional to the rate, AIMD under rate-independent losses p settles
// near 2·recoveryPerSecond/p requests/s, half a request a second at p =
// 20%, whatever the quota. At the floor a throttled call is left to the
// SDK's retry backoff and the tokens are kept. The ceilings are set so the
// floor stays under the quotas AWS is known to enforce (Organizations
// about 2 requests/s: ceiling 4, floor 1). minRate is the least any rule
// can ask for.
const (
	throttleBackoff   = 0.5
	recoveryPerSecond = 0.05
	floorShare        = 0.25
	minRate           = 0.1
	// measureWindow is how often the sending rate is sampled; the
	// measurement is smoothed over about two windows.
	measureWindow = 500 * time.Millisecond
)

// Limiter rate-limits the calls of every client of a worker, one token
// bucket per rule, account and region, as AWS's quotas are kept. Each
// attempt waits for a token, the SDK's retries included, so retries queue
// behind the bucket instead of adding to the load that was throttled.
//
// A bucket starts at its rule's ceiling. When AWS answers an attempt with a
// throttling error (see throttled), the bucket's rate drops to
// throttleBackoff times the rate it was sending at, its tokens are spent,
// and the rate climbs back linearly; throttled answers to attempts that
// were sent before the cut do not cut again, since they reflect the old
// rate. This is additive-increase/multiplicative-decrease, as TCP does
// and as the SDK's adaptive retry mode does with CUBIC; it is shared by
// every client of a worker (the SDK's keeps one bucket per client) and
// keyed like the quota. Several workers sharing one quota each adapt and
// settle on a share of it. Waiters are served in order.
type Limiter struct {
	rules map[string]Limit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

// NewLimiter merges overrides into the defaults.
func NewLimiter(overrides map[string]Limit) *Limiter {
	rules := map[string]Limit{}
	for k, v := range DefaultLimits {
		rules[k] = v
	}
	for k, v := range overrides {
		rules[k] = v
	}
	return &Limiter{rules: rules, now: time.Now, buckets: map[string]*bucket{}}
}

// rule finds the most specific rule for service:operation.
func (l *Limiter) rule(service, op string) (string, Limit, bool) {
	if r, ok := l.rules[service+":"+op]; ok {
		return service + ":" + op, r, true
	}
	best, bestLen := "", -1
	for k := range l.rules {
		svc, pat, _ := strings.Cut(k, ":")
		if svc != service || !strings.HasSuffix(pat, "*") {
			continue
		}
		if p := strings.TrimSuffix(pat, "*"); strings.HasPrefix(op, p) && len(p) > bestLen {
			best, bestLen = k, len(p)
		}
	}
	if bestLen < 0 {
		return "", Limit{}, false
	}
	return best, l.rules[best], true
}

// bucketFor returns the bucket of a call, nil when no rule limits it.
func (l *Limiter) bucketFor(account, region, service, op string) *bucket {
	key, r, ok := l.rule(service, op)
	if !ok {
		return nil
	}
	bucketKey := fmt.Sprintf("%s|%s|%s", key, account, region)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[bucketKey]
	if !ok {
		b = newBucket(r, l.now)
		l.buckets[bucketKey] = b
	}
	return b
}

// BucketStats is what one bucket did, for tests and diagnostics.
type BucketStats struct {
	// Waits counts the attempts that went through the bucket.
	Waits int
	// Throttled counts those AWS answered with a throttling error.
	Throttled int
	// Rate is the bucket's rate now, in requests per second.
	Rate float64
}

// Stats reports each bucket ("rule|account|region").
func (l *Limiter) Stats() map[string]BucketStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]BucketStats, len(l.buckets))
	for k, b := range l.buckets {
		out[k] = b.stats()
	}
	return out
}

// Waits counts the attempts that went through each bucket
// ("rule|account|region").
func (l *Limiter) Waits() map[string]int {
	out := map[string]int{}
	for k, s := range l.Stats() {
		out[k] = s.Waits
	}
	return out
}

// Attach adds the limiter to every client built from cfg.
func (l *Limiter) Attach(cfg *aws.Config, account string) {
	region := cfg.Region
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		// In the Finalize step after the SDK's retry middleware, so that
		// every attempt waits and reports its answer. The service ID and
		// operation name are in the context by then.
		mw := middleware.FinalizeMiddlewareFunc("orgguardRateLimit",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				id, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
				b := l.bucketFor(account, region, serviceName(id), op)
				if b == nil {
					return next.HandleFinalize(ctx, in)
				}
				sent, err := b.wait(ctx)
				if err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				out, md, err := next.HandleFinalize(ctx, in)
				// The client wraps the error in its operation only later;
				// whether LimitExceededException throttles depends on it.
				b.answered(sent, err != nil && throttled(&smithy.OperationError{ServiceID: id, OperationName: op, Err: err}))
				return out, md, err
			})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return stack.Finalize.Add(mw, middleware.Before)
	})
}

// serviceName is the rules' name of an SDK service ID ("Config Service" →
// "config").
func serviceName(id string) string {
	svc := strings.ToLower(strings.ReplaceAll(id, " ", ""))
	switch svc {
	case "configservice":
		return "config"
	case "cloudwatchlogs":
		return "logs"
	}
	return svc
}

// bucket is one adaptive token bucket. Its rate is ceiling.RPS until the
// first throttle, then base + slope·(now − cutAt), at most ceiling.RPS.
type bucket struct {
	ceiling Limit
	now     func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time // tokens were last refilled
	// floor is the least rate a cut goes to (floorShare of the ceiling).
	floor float64
	// After a cut: the rate it set (base), how fast it recovers (slope),
	// and when (cutAt); cutAt is zero until the first throttle.
	base, slope float64
	cutAt       time.Time
	// The sending rate, sampled every measureWindow and smoothed.
	measured    float64
	windowStart time.Time
	windowSent  int
	// Waiters in arrival order (*waiter); the front one is served next.
	queue *list.List

	waits, throttles int
}

type waiter struct{ wake chan struct{} }

func newBucket(ceiling Limit, now func() time.Time) *bucket {
	// A rule of 0 requests/s would never refill.
	ceiling.RPS, ceiling.Burst = max(ceiling.RPS, minRate), max(ceiling.Burst, 1)
	t := now()
	return &bucket{ceiling: ceiling, floor: max(minRate, floorShare*ceiling.RPS), now: now, tokens: float64(ceiling.Burst), last: t, windowStart: t, queue: list.New()}
}

// rate is the bucket's rate at t; called with mu held.
func (b *bucket) rate(t time.Time) float64 {
	if b.cutAt.IsZero() {
		return b.ceiling.RPS
	}
	return min(b.ceiling.RPS, b.base+b.slope*t.Sub(b.cutAt).Seconds())
}

// capacity is how many tokens the bucket holds at most at t: the ceiling's
// burst until the first throttle, then about a second's worth at the
// current rate, as the SDK's adaptive bucket does.
func (b *bucket) capacity(t time.Time) float64 {
	if b.cutAt.IsZero() {
		return float64(b.ceiling.Burst)
	}
	return max(1, min(float64(b.ceiling.Burst), b.rate(t)))
}

// take refills the bucket and takes a token if there is one; otherwise it
// returns how long until there will be. Called with mu held.
func (b *bucket) take(t time.Time) (bool, time.Duration) {
	r := b.rate(t)
	b.tokens = min(b.capacity(t), b.tokens+t.Sub(b.last).Seconds()*r)
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		b.measure(t)
		b.waits++
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / r * float64(time.Second)))
}

// measure counts a request sent at t into the sending rate.
func (b *bucket) measure(t time.Time) {
	if el := t.Sub(b.windowStart); el >= measureWindow {
		b.measured = 0.8*float64(b.windowSent)/el.Seconds() + 0.2*b.measured
		b.windowStart, b.windowSent = t, 0
	}
	b.windowSent++
}

// wait blocks until the caller may send, in arrival order, and returns
// when it was let through.
func (b *bucket) wait(ctx context.Context) (time.Time, error) {
	b.mu.Lock()
	t := b.now()
	if b.queue.Len() == 0 {
		if ok, _ := b.take(t); ok {
			b.mu.Unlock()
			return t, nil
		}
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	e := b.queue.PushBack(w)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var timeout <-chan time.Time
		if b.queue.Front() == e {
			t = b.now()
			ok, d := b.take(t)
			if ok {
				b.leave(e)
				b.mu.Unlock()
				return t, nil
			}
			// The rate may change while the head waits: it wakes up at
			// the latest when a token is due at the rate of now, and
			// looks again.
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			timeout = timer.C
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.leave(e)
			b.mu.Unlock()
			return time.Time{}, ctx.Err()
		case <-w.wake:
		case <-timeout:
		}
		b.mu.Lock()
	}
}

// leave takes a waiter out of the queue and wakes the one that is now
// first. Called with mu held.
func (b *bucket) leave(e *list.Element) {
	first := b.queue.Front() == e
	b.queue.Remove(e)
	if f := b.queue.Front(); first && f != nil {
		select {
		case f.Value.(*waiter).wake <- struct{}{}:
		default:
		}
	}
}

// answered adapts the rate to the answer of an attempt let through at sent.
func (b *bucket) answered(sent time.Time, throttled bool) {
	if !throttled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.throttles++
	if b.ceiling.Fixed {
		return
	}
	if !sent.After(b.cutAt) {
		// Sent before the last cut: the cut already answered this rate.
		return
	}
	t := b.now()
	was := b.rate(t)
	if b.measured > 0 {
		was = min(was, b.measured)
	}
	base := max(b.floor, min(b.ceiling.RPS, throttleBackoff*was))
	if base >= b.rate(t) {
		// At the floor already: nothing to cut, and the throttle says
		// nothing about this bucket's rate.
		return
	}
	b.base = base
	b.slope = recoveryPerSecond * max(was, b.floor)
	b.cutAt = t
	// AWS's bucket is empty: so is ours.
	b.tokens, b.last = 0, t
}

func (b *bucket) stats() BucketStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BucketStats{Waits: b.waits, Throttled: b.throttles, Rate: b.rate(b.now())}
}
