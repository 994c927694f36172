package scale

import (
	"testing"
	"time"

	"github.com/orgguard/orgguard/internal/awssim"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestChainOf(t *testing.T) {
	t.Parallel()
	tests := []struct{ ua, chain, account string }{
		{"aws-sdk-go-v2/1.0 os/linux " + chainTag + "discover", "discover", ""},
		{"aws-sdk-go-v2/1.0 " + chainTag + "preflight/200000000001 m/E", "preflight/200000000001", "200000000001"},
		{chainTag + "unit/organization/global/scp.deny_leave", "unit/organization/global/scp.deny_leave", "organization"},
		{"aws-sdk-go-v2/1.0 os/linux", "", ""},
	}
	for _, tt := range tests {
		if got := chainOf(tt.ua); got != tt.chain {
			t.Errorf("chainOf(%q) = %q, want %q", tt.ua, got, tt.chain)
		}
		if got := chainAccount(tt.chain); tt.chain != "" && got != tt.account {
			t.Errorf("chainAccount(%q) = %q, want %q", tt.chain, got, tt.account)
		}
	}
}

// TestLowerBound: each term on its own and which one binds.
func TestLowerBound(t *testing.T) {
	t.Parallel()
	call := func(chain, service, account string, latency int, throttled bool) record {
		return record{chain: chain, service: service, op: "Op", account: account, region: "us-east-1", latency: ms(latency), throttled: throttled}
	}
	chains := []record{
		call("discover", "organizations", "m", 100, false),
		call("discover", "organizations", "m", 100, false),
		call("discover", "organizations", "m", 5000, true), // refused: not needed
		call("preflight/a", "ec2", "a", 50, false),
		call("unit/a/us-east-1/g1", "iam", "a", 30, false),
		call("unit/a/us-east-1/g1", "iam", "a", 30, false),
		call("unit/a/eu-west-1/g2", "ec2", "a", 40, false),
		call("unit/b/us-east-1/g1", "iam", "b", 300, false), // b has no preflight
		call("unit/organization/global/scp", "organizations", "m", 100, false),
	}
	disc, path, account := criticalPath(chains, nil, 1)
	if disc != ms(200) || path != ms(300) || account != "b" {
		t.Errorf("critical path: discovery %s, then %s in %q; want 200ms, then b's 300ms", disc, path, account)
	}

	// A unit of several guardrails checked 4 at once: its calls' time
	// over 4, but never less than its longest call.
	shared := append(chains[:len(chains):len(chains)],
		call("unit/c/us-east-1", "iam", "c", 100, false), call("unit/c/us-east-1", "iam", "c", 100, false),
		call("unit/c/us-east-1", "iam", "c", 100, false), call("unit/c/us-east-1", "iam", "c", 100, false),
		call("unit/d/us-east-1", "iam", "d", 400, false), call("unit/d/us-east-1", "iam", "d", 10, false))
	if _, path, account := criticalPath(shared, nil, 4); path != ms(400) || account != "d" {
		t.Errorf("critical path with shared units %s in %q, want d's 400ms call", path, account)
	}

	quotas := []awssim.Fault{
		{Service: "organizations", Throttle: &awssim.Throttle{Burst: 2, RatePerSecond: 2}},
		{Service: "iam", Throttle: &awssim.Throttle{Burst: 1, RatePerSecond: 0}}, // never refills: no bound
	}
	var run []record
	for range 12 {
		run = append(run, call("", "organizations", "m", 10, false))
	}
	run = append(run, call("", "organizations", "m", 10, true), call("", "organizations", "other", 10, false))
	// The discovery's 12 Organizations calls need 5s of that quota: the
	// critical path waits for them.
	var slow []record
	for _, r := range run[:12] {
		r.chain = "discover"
		slow = append(slow, r)
	}
	slow = append(slow, call("unit/a/us-east-1/g1", "iam", "a", 30, false))
	if disc, path, _ := criticalPath(slow, quotas, 1); disc != 5*time.Second || path != ms(30) {
		t.Errorf("critical path through a quota: discovery %s, then %s; want 5s, then 30ms", disc, path)
	}

	d, bucket, n := quotaBound(run, quotas)
	if d != 5*time.Second || n != 12 || bucket != "organizations in m/us-east-1 (burst 2, 2/s)" {
		t.Errorf("quota bound %s over %d calls of %q, want 5s over 12 (12 - burst 2, at 2/s)", d, n, bucket)
	}

	b := lowerBound(chains, run, quotas, 2, 1)
	if b.Value != 5*time.Second || b.Binding != "quota "+bucket || b.Critical != ms(500) {
		t.Errorf("bound %+v", b)
	}
	// The work term: the discovery's 200ms, then the other calls' 550ms
	// of latency over the concurrency.
	if b = lowerBound(chains, chains, nil, 1, 1); b.Work != ms(750) || b.Value != ms(750) || b.Binding != "discovery + call time ÷ concurrency" {
		t.Errorf("one at a time: %+v, want 200ms + 550ms", b)
	}
	if b = lowerBound(chains, chains, nil, 5, 1); b.Work != ms(310) || b.Binding != "critical path" {
		t.Errorf("five at a time: %+v, want 200ms + 550ms/5 = 310ms, under the 500ms critical path", b)
	}
}

// TestCallStats: repeated reads are successful reads of the same request;
// retries after a throttle, errors and writes are not.
func TestCallStats(t *testing.T) {
	t.Parallel()
	r := func(op, account, digest, code string, throttled bool) record {
		return record{service: "iam", op: op, account: account, region: "us-east-1", digest: digest, errorCode: code, throttled: throttled, latency: ms(10)}
	}
	st := callStats([]record{
		r("GetRole", "a", "x", "Throttling", true),
		r("GetRole", "a", "x", "", false),
		r("GetRole", "a", "x", "", false), // repeated
		r("GetRole", "a", "y", "", false),
		r("GetRole", "b", "x", "", false),
		r("GetRole", "a", "x", "", false), // repeated
		r("GetAccountPasswordPolicy", "a", "z", "NoSuchEntity", false),
		r("GetAccountPasswordPolicy", "a", "z", "NoSuchEntity", false), // failed reads are not counted
		r("GenerateCredentialReport", "a", "z", "", false),
		r("GenerateCredentialReport", "a", "z", "", false), // a write
	})
	if st.Total != 10 || st.Throttled != 1 || st.Errors != 2 || st.Reads != 7 || st.RepeatedReads != 2 {
		t.Errorf("stats %+v", st)
	}
	if len(st.TopRepeated) != 1 || st.TopRepeated[0] != (OpCount{"iam:GetRole", 2}) {
		t.Errorf("top repeated %+v", st.TopRepeated)
	}
	if st.CallSeconds < 0.089 || st.CallSeconds > 0.091 {
		t.Errorf("call seconds %v, want the 9 needed calls' 0.09", st.CallSeconds)
	}
}
