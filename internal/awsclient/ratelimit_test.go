package awsclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A bucket goes out at its ceiling until AWS throttles it, then halves the
// rate it was sending at once per throttle (answers to attempts sent
// before the cut do not cut again), and climbs back to where it was
// throttled in 10 s, then on to its ceiling.
func TestBucketBacksOffAndRecovers(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b := newBucket(Limit{RPS: 10, Burst: 20}, clk.Now)
	rate := func() float64 { return b.stats().Rate }

	for range 20 {
		ok, _ := b.take(clk.Now())
		require.True(t, ok, "the burst goes out at once")
	}
	ok, d := b.take(clk.Now())
	require.False(t, ok)
	require.Equal(t, 100*time.Millisecond, d, "then one token every 1/10 s")
	burst := clk.Now()

	clk.Add(10 * time.Millisecond)
	b.answered(burst, true)
	require.InDelta(t, 5, rate(), 1e-9, "throttled: half the rate")
	b.answered(burst, true)
	require.InDelta(t, 5, rate(), 1e-9, "a throttle of the burst sent before the cut does not cut again")
	ok, d = b.take(clk.Now())
	require.False(t, ok, "the cut spends the tokens")
	require.Equal(t, 200*time.Millisecond, d)

	clk.Add(time.Second)
	ok, _ = b.take(clk.Now())
	require.True(t, ok)
	sent := clk.Now()
	b.answered(sent, false)
	require.InDelta(t, 5.5, rate(), 1e-9, "recovering by 5% of the throttled rate a second")
	b.answered(sent, true)
	// It was sending 5.5/s (it measured 16/s over the first second, the
	// burst: the lower of the two counts).
	require.InDelta(t, 2.75, rate(), 1e-9)
	clk.Add(10 * time.Second)
	require.InDelta(t, 5.5, rate(), 1e-9, "back where it was throttled after 10 s")
	clk.Add(time.Minute)
	require.InDelta(t, 10, rate(), 1e-9, "and at the ceiling later")

	for range 100 {
		clk.Add(time.Millisecond)
		b.answered(clk.Now(), true)
	}
	require.InDelta(t, 2.5, rate(), 1e-9, "never below a quarter of the ceiling")
	require.Equal(t, BucketStats{Waits: 21, Throttled: 103, Rate: 2.5}, b.stats())

	// At the floor a throttle keeps the tokens: random throttling (the
	// chaos test's 20%) does not drain a bucket that is not the cause.
	clk.Add(time.Second)
	ok, _ = b.take(clk.Now())
	require.True(t, ok)
	b.answered(clk.Now(), true)
	clk.Add(400 * time.Millisecond)
	ok, _ = b.take(clk.Now())
	require.True(t, ok, "a token refilled at the floor rate is still there")
}

// Under throttling that does not depend on the rate, a bucket settles at
// its floor instead of sinking to nothing: one throttle in five, at
// whatever rate, as the chaos test's faults do.
func TestRandomThrottlingDoesNotStarveABucket(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b := newBucket(Limit{RPS: 10, Burst: 20}, clk.Now)
	sent := 0
	for i := 0; clk.Now().Before(time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC)); i++ {
		ok, d := b.take(clk.Now())
		if !ok {
			clk.Add(d)
			continue
		}
		sent++
		b.answered(clk.Now(), i%5 == 0)
	}
	require.GreaterOrEqual(t, b.stats().Rate, 2.5, "at or above the floor")
	// 5 minutes at no less than 2.5/s.
	require.GreaterOrEqual(t, sent, 750)
}

// The limiter adapts to throttling answers only, by what the code means
// in the service that answered.
func TestThrottled(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{apiErr("Organizations", "ListRoots", "TooManyRequestsException", 400), true},
		{apiErr("EC2", "DescribeVpcs", "RequestLimitExceeded", 503), true},
		{apiErr("S3", "GetObject", "SlowDown", 503), true},
		{apiErr("Foo", "Bar", "Unknown", 429), true},
		{apiErr("SecurityHub", "GetFindings", "LimitExceededException", 429), true},
		{apiErr("Config Service", "StartConfigRulesEvaluation", "LimitExceededException", 400), true},
		{apiErr("KMS", "CreateKey", "LimitExceededException", 400), false},
		{apiErr("Organizations", "ListRoots", "ServiceException", 500), false},
		{apiErr("EC2", "DescribeVpcs", "Unavailable", 503), false},
		{apiErr("IAM", "GetRole", "AccessDenied", 403), false},
		{nil, false},
	} {
		require.Equal(t, c.want, throttled(c.err), "%v", c.err)
	}
}

// A fixed bucket counts throttles and keeps its rate and tokens.
func TestFixedBucketDoesNotAdapt(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b := newBucket(Limit{RPS: 5, Burst: 2, Fixed: true}, clk.Now)
	ok, _ := b.take(clk.Now())
	require.True(t, ok)
	b.answered(clk.Now(), true)
	ok, _ = b.take(clk.Now())
	require.True(t, ok, "the second token of the burst is still there")
	require.Equal(t, BucketStats{Waits: 2, Throttled: 1, Rate: 5}, b.stats())
	require.False(t, DefaultLimits["organizations:*"].Fixed, "Organizations adapts")
	require.True(t, DefaultLimits["config:*"].Fixed, "member-account services do not")
}
