package scale

import (
	"fmt"
	"time"

	"github.com/orgguard/orgguard/internal/awssim"
)

// Bound is the lower bound (c) on a run's wall time: no schedule of the
// same calls finishes sooner, whatever runs them.
type Bound struct {
	// Critical is the longest chain of calls that must follow one another:
	// the discovery, then an account's preflight, then its longest check
	// (each chain's calls one after the other, at their AWS-like latency,
	// and no faster than the quotas let them through).
	Critical        time.Duration `json:"critical_path"`
	CriticalAccount string        `json:"critical_account"`
	// Quota is the longest time a quota's token bucket needs to let the
	// run's calls through: (calls − burst) ÷ refill rate.
	Quota       time.Duration `json:"quota"`
	QuotaBucket string        `json:"quota_bucket"`
	QuotaCalls  int           `json:"quota_calls"`
	// Work is the discovery's time, then the sum of the other needed
	// calls' latency over the number of calls that may be in flight at
	// once: nothing else starts before the discovery has ended.
	Work time.Duration `json:"work"`
	// Discovery is the discovery chain's time, in Critical and in Work.
	Discovery   time.Duration `json:"discovery"`
	Concurrency int           `json:"concurrency"`
	// Value is the largest of the three; Binding names it.
	Value   time.Duration `json:"value"`
	Binding string        `json:"binding"`
}

// lowerBound computes (c): the critical path from chains (a run whose
// calls carry their chain, the bare fan-out's), the quota and work terms
// from run (the run being bounded). concurrency is how many calls may be
// in flight at once, par how many of a unit's guardrails (see
// criticalPath). Calls a quota refused are not needed and count in no term.
func lowerBound(chains, run []record, quotas []awssim.Fault, concurrency, par int) Bound {
	b := Bound{Concurrency: concurrency}
	var account time.Duration
	b.Discovery, account, b.CriticalAccount = criticalPath(chains, quotas, par)
	b.Critical = b.Discovery + account
	b.Quota, b.QuotaBucket, b.QuotaCalls = quotaBound(run, quotas)
	var work time.Duration
	for _, r := range run {
		if r.needed() {
			work += r.latency
		}
	}
	for _, r := range chains {
		if r.chain == "discover" && r.needed() {
			work -= r.latency
		}
	}
	b.Work = b.Discovery
	if concurrency > 0 {
		b.Work += max(work, 0) / time.Duration(concurrency)
	}
	b.Value, b.Binding = b.Critical, "critical path"
	if b.Quota > b.Value {
		b.Value, b.Binding = b.Quota, "quota "+b.QuotaBucket
	}
	if b.Work > b.Value {
		b.Value, b.Binding = b.Work, "discovery + call time ÷ concurrency"
	}
	return b
}

// criticalPath is the discovery's time, and the slowest account's
// preflight and longest check chain after it (and which account that is); chains run serially inside, and an account's checks
// start after its preflight. A chain takes at least its calls' latency, and
// at least what the quotas let its own calls through (its calls through a
// bucket, less the whole burst, over the rate): the discovery is all
// Organizations calls at 2 a second. A unit of several guardrails
// (UnitAccountRegion) checks up to par of them at once, and its chain does
// not say which call was whose: it takes at least its calls' latency over
// par, and at least its longest call.
func criticalPath(recs []record, quotas []awssim.Fault, par int) (discovery, account time.Duration, which string) {
	calls := map[string][]record{}
	for _, r := range recs {
		if r.chain != "" && r.needed() {
			calls[r.chain] = append(calls[r.chain], r)
		}
	}
	chain := map[string]time.Duration{}
	for id, rs := range calls {
		var sum, longest time.Duration
		for _, r := range rs {
			sum += r.latency
			longest = max(longest, r.latency)
		}
		if chainIsShared(id) && par > 1 {
			sum = max(sum/time.Duration(par), longest)
		}
		quota, _, _ := quotaBound(rs, quotas)
		chain[id] = max(sum, quota)
	}
	pre, longest := map[string]time.Duration{}, map[string]time.Duration{}
	for id, d := range chain {
		a := chainAccount(id)
		switch {
		case a == "":
		case chainIsPreflight(id):
			pre[a] += d
		default:
			longest[a] = max(longest[a], d)
		}
	}
	for a, d := range longest {
		if t := pre[a] + d; t > account || (t == account && a < which) {
			account, which = t, a
		}
	}
	return chain["discover"], account, which
}

// quotaBound is the largest (calls − burst) ÷ rate over the token buckets
// of quotas, keyed like the simulator's: per fault, account and region.
func quotaBound(recs []record, quotas []awssim.Fault) (time.Duration, string, int) {
	type key struct {
		fault           int
		account, region string
	}
	n := map[key]int{}
	for _, r := range recs {
		if !r.needed() || r.account == "" {
			continue
		}
		for i, f := range quotas {
			if f.Throttle != nil && f.Throttle.RatePerSecond > 0 && f.Matches(r.service, r.op, r.account, r.region) {
				n[key{i, r.account, r.region}]++
			}
		}
	}
	var worst time.Duration
	var name string
	var calls int
	for k, c := range n {
		t := quotas[k.fault].Throttle
		d := time.Duration(float64(max(c-t.Burst, 0)) / t.RatePerSecond * float64(time.Second))
		label := bucketName(quotas[k.fault], k.account, k.region)
		if d > worst || (d == worst && calls < c) || (d == worst && calls == c && label < name) {
			worst, name, calls = d, label, c
		}
	}
	return worst, name, calls
}

func bucketName(f awssim.Fault, account, region string) string {
	what := f.Service
	if f.Operation != "" {
		what += ":" + f.Operation
	}
	return fmt.Sprintf("%s in %s/%s (burst %d, %.3g/s)", what, account, region, f.Throttle.Burst, f.Throttle.RatePerSecond)
}
