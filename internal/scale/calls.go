package scale

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/orgguard/orgguard/internal/awssim"
)

// record is what the harness keeps of one simulator call: enough for the
// lower bound and the call statistics, a fraction of an awssim.Call's
// memory (a 10,000-account run makes about a million calls).
type record struct {
	service, op, account, region string
	digest                       string
	errorCode                    string
	throttled                    bool
	latency, duration            time.Duration
	chain                        string
	at                           time.Time
}

// needed reports a call the work needed: anything but a call a quota
// refused, which only costs time.
func (r record) needed() bool { return !r.throttled }

// callLog collects a simulator's calls (awssim.Options.OnCall).
type callLog struct {
	mu     sync.Mutex
	recs   []record
	intern map[string]string
}

func newCallLog() *callLog { return &callLog{intern: map[string]string{}} }

func (l *callLog) str(s string) string {
	if v, ok := l.intern[s]; ok {
		return v
	}
	l.intern[s] = s
	return s
}

// add is the simulator's OnCall: it must not block, and only appends.
func (l *callLog) add(c awssim.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, record{
		service: l.str(c.Service), op: l.str(c.Operation), account: l.str(c.AccountID), region: l.str(c.Region),
		digest: c.ParamsDigest, errorCode: l.str(c.ErrorCode), throttled: c.Throttled,
		latency: c.Latency, duration: c.Duration, chain: l.str(chainOf(c.UserAgent)), at: c.Time,
	})
}

func (l *callLog) records() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.recs...)
}

// isRead reports operations that only read. GenerateCredentialReport
// starts a report and counts as a write.
func isRead(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Select"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// CallStats are the AWS calls of one run.
type CallStats struct {
	Total     int `json:"total"`
	Throttled int `json:"throttled"`
	// Errors are calls the operation itself refused (NoSuchEntity and the
	// like: often the answer a check wants).
	Errors int `json:"errors"`
	Reads  int `json:"reads"`
	// RepeatedReads are successful reads of the same service, operation,
	// account, region and parameters as an earlier successful read of the
	// run: what a per-run read cache would save.
	RepeatedReads int `json:"repeated_reads"`
	// TopRepeated are the operations with the most repeated reads.
	TopRepeated []OpCount `json:"top_repeated,omitempty"`
	// CallSeconds is the sum of the needed calls' AWS-like latency.
	CallSeconds float64 `json:"call_seconds"`
	// MeanServed is the mean wall time the simulator took per call
	// (latency plus its own work and waits).
	MeanServed  time.Duration `json:"mean_served"`
	First, Last time.Time     `json:"-"`
}

// OpCount is a count for one service:operation.
type OpCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}

func callStats(recs []record) CallStats {
	var s CallStats
	type key struct{ service, op, account, region, digest string }
	seen := map[key]bool{}
	repeated := map[string]int{}
	var served time.Duration
	for _, r := range recs {
		s.Total++
		served += r.duration
		if s.First.IsZero() || r.at.Before(s.First) {
			s.First = r.at
		}
		if r.at.After(s.Last) {
			s.Last = r.at
		}
		switch {
		case r.throttled:
			s.Throttled++
			continue
		case r.errorCode != "":
			s.Errors++
		}
		s.CallSeconds += r.latency.Seconds()
		if !isRead(r.op) {
			continue
		}
		s.Reads++
		if r.errorCode != "" {
			continue
		}
		k := key{r.service, r.op, r.account, r.region, r.digest}
		if seen[k] {
			s.RepeatedReads++
			repeated[r.service+":"+r.op]++
		}
		seen[k] = true
	}
	if s.Total > 0 {
		s.MeanServed = served / time.Duration(s.Total)
	}
	s.TopRepeated = topCounts(repeated, 6)
	return s
}

func topCounts(m map[string]int, n int) []OpCount {
	var out []OpCount
	for op, c := range m {
		out = append(out, OpCount{op, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Op < out[j].Op
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
