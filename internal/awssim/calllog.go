package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Call is one request the server answered, successful or not.
type Call struct {
	Service   string // signing name: "sts", "organizations", "ec2", "iam", ...
	Operation string // "AssumeRole", "RevokeSecurityGroupIngress", ...
	AccountID string // the caller's account (empty if the caller was not identified)
	Region    string // us-east-1 for global services
	// Principal is the caller's ARN (assumed-role ARN for role sessions).
	Principal      string
	SourceIdentity string
	SessionName    string
	// Params are the request parameters flattened to Query style keys
	// ("GroupId", "IpPermissions.1.FromPort", "Tags.1.Key"), whatever the
	// wire protocol, so tests can assert on them uniformly.
	Params map[string]string
	// ParamsDigest is a hash of Params: equal requests have equal digests.
	ParamsDigest string
	// ErrorCode is the AWS error code returned; empty means success.
	ErrorCode string
	// ResponseLost marks a call whose operation ran (and changed state)
	// but whose answer a LoseResponse fault replaced with ErrorCode. Count
	// it with the successful calls when looking for duplicate writes.
	ResponseLost bool
	Time         time.Time

	// UserAgent is the request's User-Agent header. The AWS SDKs put
	// their app ID there ("app/<id>"); a client that tags its requests
	// (the scale harness marks each check chain) finds them by it.
	UserAgent string
	// Latency is what the faults added before answering (Fault.Latency,
	// AWSLatency): the AWS-like time of the call, without the simulator's
	// own work.
	Latency time.Duration
	// Duration is the wall time from the request's arrival until it was
	// logged: Latency plus the simulator's own work and waits (its lock,
	// the CPU). Zero for calls the simulator makes itself.
	Duration time.Duration
	// Throttled marks a call a throttling fault refused (a quota's token
	// bucket was empty, or ThrottleRate), as opposed to an error the
	// operation itself returned.
	Throttled bool
}

// served fills in what the call log knows of the HTTP request.
func (c *Call) served(req *request) {
	if req.HTTP != nil {
		c.UserAgent = req.HTTP.Header.Get("User-Agent")
	}
	if !req.received.IsZero() {
		c.Duration = time.Since(req.received)
	}
}

// Applied reports whether the operation ran to completion: it succeeded, or
// it succeeded and the client was told otherwise (ResponseLost).
func (c Call) Applied() bool { return c.ErrorCode == "" || c.ResponseLost }

// CallFilter selects calls; empty fields match anything.
type CallFilter struct {
	Service, Operation, AccountID, Region, SourceIdentity string
	// OnlySuccess keeps calls that returned no error.
	OnlySuccess bool
	// OnlyApplied keeps calls whose operation ran: successes and calls
	// whose response a LoseResponse fault replaced (see Call.Applied).
	OnlyApplied bool
}

// Match reports whether c passes the filter.
func (f CallFilter) Match(c Call) bool {
	return (f.Service == "" || f.Service == c.Service) &&
		(f.Operation == "" || f.Operation == c.Operation) &&
		(f.AccountID == "" || f.AccountID == c.AccountID) &&
		(f.Region == "" || f.Region == c.Region) &&
		(f.SourceIdentity == "" || f.SourceIdentity == c.SourceIdentity) &&
		(!f.OnlySuccess || c.ErrorCode == "") &&
		(!f.OnlyApplied || c.Applied())
}

// Calls returns a copy of the call log in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsMatching returns the logged calls that pass f, in arrival order.
func (s *Server) CallsMatching(f CallFilter) []Call {
	return FilterCalls(s.Calls(), f.Match)
}

// FilterCalls keeps the calls for which keep returns true.
func FilterCalls(calls []Call, keep func(Call) bool) []Call {
	var out []Call
	for _, c := range calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls empties the call log, e.g. between the phases of a test.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// flattenForm turns Query parameters into the log's flat form, dropping the
// protocol's own Action and Version.
func flattenForm(v url.Values) map[string]string {
	out := map[string]string{}
	for k, vs := range v {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		out[k] = vs[0]
	}
	return out
}

// flattenJSON turns a decoded JSON value into Query-style keys; list indexes
// start at 1 as in the Query protocol.
func flattenJSON(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			flattenJSON(join(k), e, out)
		}
	case []any:
		for i, e := range t {
			flattenJSON(join(strconv.Itoa(i+1)), e, out)
		}
	case string:
		out[prefix] = t
	case nil:
	default:
		b, _ := json.Marshal(t)
		out[prefix] = string(b)
	}
}

func digestParams(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p[k])
		b.WriteByte('\n')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}
