package awssim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault injects misbehaviour into matching calls. Empty selector fields match
// anything; a call can match several faults and gets all their effects (the
// latencies add up; the first refusal wins, in the order AccessDenied,
// throttling, 5xx).
//
// A chaos profile, "20% throttling, 5% 5xx on every operation":
//
//	Fault{ThrottleRate: 0.2, ErrorRate: 0.05}
//
// "Fail iam:PutRolePolicy twice, then let it through" (to crash a workflow
// between CreateRole and PutRolePolicy):
//
//	FailTimes("iam", "PutRolePolicy", 2)
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
	// ThrottleRate is the probability in [0,1] of refusing a call with the
	// service's throttling error (ThrottlingException, Throttling,
	// RequestLimitExceeded, TooManyRequestsException, SlowDown, ...), for
	// chaos runs that want throttling without modelling quotas.
	ThrottleRate float64
	// ErrorRate is the probability in [0,1] of answering with the service's
	// HTTP 500 error (InternalFailure, InternalError, ServiceFailure, ...).
	ErrorRate float64
	// UnavailableRate is the probability in [0,1] of answering with the
	// service's HTTP 503 error (ServiceUnavailable; EC2 Unavailable).
	UnavailableRate float64
	// AccessDenied refuses every matching call with the service's
	// access-denied error.
	AccessDenied bool

	// Times, when positive, limits the fault to the first Times calls it
	// affects; after that it is spent and calls pass. SetFaults starts the
	// count again.
	Times int
	// LoseResponse makes the fault's 5xx (ErrorRate, UnavailableRate) come
	// after the operation ran: the write happened, but the client sees an
	// error, as when AWS commits a change and the connection drops. The call
	// log marks such calls with ResponseLost. Tests of idempotent retries
	// use it.
	LoseResponse bool
}

// FailTimes is a fault that answers the first n calls of service:operation
// (from any account and region) with the service's HTTP 500 error.
func FailTimes(service, operation string, n int) Fault {
	return Fault{Service: service, Operation: operation, ErrorRate: 1, Times: n}
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
		// Security Hub's published throttling limits (the API reference's
		// introduction, also in the SDK's package documentation), per
		// account and Region.
		{Service: "securityhub", Operation: "BatchEnableStandards", Throttle: &Throttle{Burst: 1, RatePerSecond: 1}},
		{Service: "securityhub", Operation: "UpdateStandardsControl", Throttle: &Throttle{Burst: 5, RatePerSecond: 1}},
		{Service: "securityhub", Operation: "GetFindings", Throttle: &Throttle{Burst: 6, RatePerSecond: 3}},
		{Service: "securityhub", Operation: "BatchImportFindings", Throttle: &Throttle{Burst: 30, RatePerSecond: 10}},
		{Service: "securityhub", Operation: "BatchUpdateFindings", Throttle: &Throttle{Burst: 30, RatePerSecond: 10}},
	}
}

// Matches reports whether the fault applies to a call of service:op from
// account in region (empty selector fields match anything). With a
// Throttle, each (fault, account, region) has its own bucket: a harness
// counting calls per bucket keys them the same way.
func (f Fault) Matches(service, op, account, region string) bool {
	return f.matches(service, op, account, region)
}

// awsLatency is the typical round trip of AWS API calls from a client in
// the same Region, per service ("" operation) and for operations slower
// than their service. AWS publishes no latency table for its control-plane
// APIs; where a figure is not quoted from AWS it is an estimate, and
// docs/performance.md ("The simulator's latency") says which and why:
//
//   - 100 ms for a regional control-plane call is the figure AWS itself
//     plans with ("Assuming PutSnapshotBlock latency is 100ms", Amazon EC2
//     User Guide, EBS direct APIs, "Optimize performance").
//   - S3 answers small requests with a median latency in the tens of
//     milliseconds ("Timeouts and Retries for Latency-Sensitive
//     Applications", Best Practices Design Patterns: Optimizing Amazon S3
//     Performance, AWS whitepaper).
//   - IAM and Organizations are global services whose control plane is in
//     us-east-1 (AWS Organizations endpoints and quotas, AWS General
//     Reference; IAM User Guide); their calls are put above the regional
//     figure (estimate).
//   - KMS key-management reads are put below it: KMS is built for
//     per-request use on data paths (estimate).
var awsLatency = []struct {
	service, op string
	latency     time.Duration
}{
	{"sts", "", 100 * time.Millisecond}, // AssumeRole: a new session (estimate)
	{"organizations", "", 150 * time.Millisecond},
	{"iam", "", 100 * time.Millisecond},
	{"iam", "GenerateCredentialReport", 150 * time.Millisecond},
	{"iam", "GetCredentialReport", 120 * time.Millisecond},
	{"ec2", "", 120 * time.Millisecond},
	{"config", "", 80 * time.Millisecond},
	{"securityhub", "", 100 * time.Millisecond},
	{"guardduty", "", 80 * time.Millisecond},
	{"access-analyzer", "", 80 * time.Millisecond},
	{"cloudtrail", "", 80 * time.Millisecond},
	{"cloudformation", "", 100 * time.Millisecond},
	{"ssm", "", 60 * time.Millisecond},
	{"logs", "", 50 * time.Millisecond},
	{"monitoring", "", 50 * time.Millisecond},
	{"events", "", 50 * time.Millisecond},
	{"sns", "", 50 * time.Millisecond},
	{"kms", "", 30 * time.Millisecond},
	{"s3", "", 40 * time.Millisecond}, // S3 and S3 Control share the signing name
}

// AWSLatency returns Latency faults that make every call take about as
// long as it does on AWS (cmd/awssim --aws-latency): a fault per service
// with the service's latency, and one per slower operation with the
// difference, since the latencies of the faults a call matches add up.
// Services it does not name answer without added latency. Use it with
// AWSQuotas for realistic back-pressure.
func AWSLatency() []Fault {
	base := map[string]time.Duration{}
	for _, l := range awsLatency {
		if l.op == "" {
			base[l.service] = l.latency
		}
	}
	var out []Fault
	for _, l := range awsLatency {
		if l.op == "" {
			out = append(out, Fault{Service: l.service, Latency: l.latency})
			continue
		}
		if extra := l.latency - base[l.service]; extra > 0 {
			out = append(out, Fault{Service: l.service, Operation: l.op, Latency: extra})
		}
	}
	return out
}

// LatencyOf is the latency AWSLatency gives a call of service:op.
func LatencyOf(service, op string) time.Duration {
	var d time.Duration
	for _, f := range AWSLatency() {
		if f.Matches(service, op, "", "") {
			d += f.Latency
		}
	}
	return d
}

// faultSet holds the active faults and their buckets. It has its own lock so
// injected latency never holds the state lock.
type faultSet struct {
	mu      sync.Mutex
	faults  []Fault
	buckets map[bucketKey]*bucket
	// fired counts, per fault, the calls a fault with Times affected.
	fired []int
	rng   *rand.Rand
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
		fired:   make([]int, len(faults)),
		rng:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
	}
}

func (fs *faultSet) set(faults []Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append([]Fault(nil), faults...)
	fs.buckets = map[bucketKey]*bucket{}
	fs.fired = make([]int, len(faults))
}

// verdict is what the faults decided for one call.
type verdict struct {
	latency      time.Duration
	accessDenied bool
	throttled    bool
	internal     bool
	unavailable  bool
	// lost: a 5xx replaces the answer after the operation ran; a 503 when
	// lostUnavailable, else a 500.
	lost, lostUnavailable bool
}

func (fs *faultSet) evaluate(service, op, account, region string) verdict {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var v verdict
	now := time.Now()
	for i := range fs.faults {
		f := &fs.faults[i]
		if !f.matches(service, op, account, region) || (f.Times > 0 && fs.fired[i] >= f.Times) {
			continue
		}
		var one verdict
		one.latency = f.Latency
		one.accessDenied = f.AccessDenied
		if f.Throttle != nil && !fs.take(bucketKey{i, account, region}, f.Throttle, now) {
			one.throttled = true
		}
		if f.ThrottleRate > 0 && fs.rng.Float64() < f.ThrottleRate {
			one.throttled = true
		}
		if f.ErrorRate > 0 && fs.rng.Float64() < f.ErrorRate {
			one.internal = true
		}
		if f.UnavailableRate > 0 && fs.rng.Float64() < f.UnavailableRate {
			one.unavailable = true
		}
		if f.LoseResponse && (one.internal || one.unavailable) {
			one.lost = true
		}
		if one == (verdict{}) {
			continue
		}
		fs.fired[i]++
		v.latency += one.latency
		v.accessDenied = v.accessDenied || one.accessDenied
		v.throttled = v.throttled || one.throttled
		v.internal = v.internal || (one.internal && !one.lost)
		v.unavailable = v.unavailable || (one.unavailable && !one.lost)
		if one.lost && !v.lost {
			v.lost = true
			v.lostUnavailable = one.unavailable && !one.internal
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

// ParseFaults reads a fault profile, the text form of []Fault used by
// cmd/awssim --faults and the AWSSIM_FAULTS environment variable. Faults are
// separated by ";"; each is an optional target ("*", "service" or
// "service:Operation", signing names as in Fault.Service) followed by
// settings separated by spaces or commas:
//
//	throttle=20%      ThrottleRate (a fraction, 0.2, or a percentage)
//	5xx=5%            ErrorRate (HTTP 500)
//	503=1%            UnavailableRate (HTTP 503)
//	deny              AccessDenied
//	latency=200ms     Latency
//	burst=N refill=R  Throttle token bucket (R per second; 0 never refills)
//	times=N           Times
//	lose-response     LoseResponse
//	account=ID region=R
//
// "throttle=20% 5xx=5%; iam:PutRolePolicy 5xx=100% times=2" throttles 20%
// and fails 5% of all calls, and fails the first two PutRolePolicy calls.
func ParseFaults(spec string) ([]Fault, error) {
	var out []Fault
	for _, part := range strings.Split(spec, ";") {
		fields := strings.FieldsFunc(part, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
		if len(fields) == 0 {
			continue
		}
		var f Fault
		if !strings.Contains(fields[0], "=") && fields[0] != "deny" && fields[0] != "lose-response" {
			target := fields[0]
			fields = fields[1:]
			if target != "*" {
				f.Service, f.Operation, _ = strings.Cut(target, ":")
			}
		}
		for _, kv := range fields {
			if err := f.set(kv); err != nil {
				return nil, fmt.Errorf("fault %q: %w", strings.TrimSpace(part), err)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func (f *Fault) set(kv string) error {
	key, val, _ := strings.Cut(kv, "=")
	rate := func(dst *float64) error {
		pct := strings.HasSuffix(val, "%")
		x, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if pct {
			x /= 100
		}
		if err != nil || x < 0 || x > 1 {
			return fmt.Errorf("%s: want a probability (0.05 or 5%%), got %q", key, val)
		}
		*dst = x
		return nil
	}
	integer := func(dst *int) error {
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("%s: want a count, got %q", key, val)
		}
		*dst = n
		return nil
	}
	flag := func(dst *bool) error {
		if val == "" {
			*dst = true
			return nil
		}
		b, err := strconv.ParseBool(val)
		*dst = b
		return err
	}
	bucket := func() *Throttle {
		if f.Throttle == nil {
			f.Throttle = &Throttle{}
		}
		return f.Throttle
	}
	switch key {
	case "throttle":
		return rate(&f.ThrottleRate)
	case "5xx", "500":
		return rate(&f.ErrorRate)
	case "503":
		return rate(&f.UnavailableRate)
	case "deny":
		return flag(&f.AccessDenied)
	case "lose-response":
		return flag(&f.LoseResponse)
	case "times":
		return integer(&f.Times)
	case "burst":
		return integer(&bucket().Burst)
	case "refill":
		x, err := strconv.ParseFloat(val, 64)
		if err != nil || x < 0 {
			return fmt.Errorf("refill: want requests per second, got %q", val)
		}
		bucket().RatePerSecond = x
		return nil
	case "latency":
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		f.Latency = d
		return nil
	case "account":
		f.AccountID = val
		return nil
	case "region":
		f.Region = val
		return nil
	}
	return fmt.Errorf("unknown setting %q (throttle, 5xx, 503, deny, latency, burst, refill, times, lose-response, account, region)", key)
}
