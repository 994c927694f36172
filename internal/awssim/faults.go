package awssim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Fault injects misbehaviour into matching calls. Empty selector fields match
// anything; a call can match several faults and gets all their effects (the
// latencies add up; the first refusal wins, in the order AccessDenied,
// throttling, 5xx).
type Fault struct {
	Service   string // signing name: "ec2", "sts", "organizations", "iam", ...
	Operation string // "DescribeSecurityGroups"
	// AccountID is the caller's account. An AccessDenied fault also refuses
	// sts:AssumeRole into this account, the way a broken or missing role
	// does in real organizations.
	AccountID string
	Region    string

	// Latency is added before the call is answered.
	Latency time.Duration
	// Throttle refuses calls with the service's throttling error when its
	// token bucket is empty. Buckets are per fault, account and region, the
	// way AWS quotas are.
	Throttle *Throttle
	// ErrorRate is the probability in [0,1] of answering with the service's
	// 5xx error (InternalFailure, InternalError, ...).
	ErrorRate float64
	// AccessDenied refuses every matching call with the service's
	// access-denied error.
	AccessDenied bool
}

// Throttle is a token bucket: Burst tokens, refilled at RatePerSecond.
// RatePerSecond 0 never refills, which makes "the N+1th call is throttled"
// deterministic in tests.
type Throttle struct {
	Burst         int
	RatePerSecond float64
}

func (f *Fault) matches(service, op, account, region string) bool {
	return (f.Service == "" || f.Service == service) &&
		(f.Operation == "" || f.Operation == op) &&
		(f.AccountID == "" || f.AccountID == account) &&
		(f.Region == "" || f.Region == region)
}

// AWSQuotas returns throttles modelled on documented AWS request quotas, for
// runs that want realistic back-pressure (cmd/awssim --aws-quotas).
func AWSQuotas() []Fault {
	return []Fault{
		{Service: "sts", Throttle: &Throttle{Burst: 600, RatePerSecond: 600}},
		// Organizations throttles early: about 1-2 sustained rps per account.
		{Service: "organizations", Throttle: &Throttle{Burst: 20, RatePerSecond: 2}},
		// EC2 Describe* (non-mutating) bucket: 100 capacity, refill 20/s.
		{Service: "ec2", Operation: "DescribeSecurityGroups", Throttle: &Throttle{Burst: 100, RatePerSecond: 20}},
		{Service: "ec2", Operation: "DescribeVpcs", Throttle: &Throttle{Burst: 100, RatePerSecond: 20}},
		{Service: "ec2", Operation: "DescribeInstances", Throttle: &Throttle{Burst: 100, RatePerSecond: 20}},
		{Service: "ec2", Operation: "DescribeFlowLogs", Throttle: &Throttle{Burst: 100, RatePerSecond: 20}},
		{Service: "ec2", Operation: "AuthorizeSecurityGroupIngress", Throttle: &Throttle{Burst: 50, RatePerSecond: 5}},
		{Service: "ec2", Operation: "RevokeSecurityGroupIngress", Throttle: &Throttle{Burst: 50, RatePerSecond: 5}},
		{Service: "iam", Throttle: &Throttle{Burst: 20, RatePerSecond: 10}},
		{Service: "securityhub", Operation: "BatchEnableStandards", Throttle: &Throttle{Burst: 1, RatePerSecond: 1}},
	}
}

// faultSet holds the active faults and their buckets. It has its own lock so
// injected latency never holds the state lock.
type faultSet struct {
	mu      sync.Mutex
	faults  []Fault
	buckets map[bucketKey]*bucket
	rng     *rand.Rand
}

type bucketKey struct {
	fault           int
	account, region string
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newFaultSet(faults []Fault, seed uint64) *faultSet {
	return &faultSet{
		faults:  append([]Fault(nil), faults...),
		buckets: map[bucketKey]*bucket{},
		rng:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
	}
}

func (fs *faultSet) set(faults []Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append([]Fault(nil), faults...)
	fs.buckets = map[bucketKey]*bucket{}
}

// verdict is what the faults decided for one call.
type verdict struct {
	latency      time.Duration
	accessDenied bool
	throttled    bool
	internal     bool
}

func (fs *faultSet) evaluate(service, op, account, region string) verdict {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var v verdict
	now := time.Now()
	for i := range fs.faults {
		f := &fs.faults[i]
		if !f.matches(service, op, account, region) {
			continue
		}
		v.latency += f.Latency
		if f.AccessDenied {
			v.accessDenied = true
		}
		if f.Throttle != nil && !fs.take(bucketKey{i, account, region}, f.Throttle, now) {
			v.throttled = true
		}
		if f.ErrorRate > 0 && fs.rng.Float64() < f.ErrorRate {
			v.internal = true
		}
	}
	return v
}

// deniesTarget reports whether an AccessDenied fault names account as the
// target of service:op (used by STS AssumeRole).
func (fs *faultSet) deniesTarget(service, op, account, region string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.faults {
		f := &fs.faults[i]
		if f.AccessDenied && f.AccountID != "" && f.matches(service, op, account, region) {
			return true
		}
	}
	return false
}

func (fs *faultSet) take(k bucketKey, t *Throttle, now time.Time) bool {
	b, ok := fs.buckets[k]
	if !ok {
		b = &bucket{tokens: float64(t.Burst), last: now}
		fs.buckets[k] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * t.RatePerSecond
	if b.tokens > float64(t.Burst) {
		b.tokens = float64(t.Burst)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
