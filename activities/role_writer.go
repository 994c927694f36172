package activities

import (
	"context"
	"sync"
	"time"
)

// roleWriteMemo is how long a worker trusts its own PutRolePolicy over an
// IAM read that does not see the policy yet. IAM is eventually consistent:
// AWS documents that changes can take several seconds to be visible
// everywhere ("Changes that I make are not always immediately visible",
// IAM troubleshooting guide); two minutes is well past that.
const roleWriteMemo = 2 * time.Minute

// roleWriter serializes, within one worker process, the writes of one
// account's global service roles. Several remediations of one account may
// need the same role at once (a Config rule's automation role, one
// remediation per region): without a lock both read "no policy" and both
// put it. With it, the second runs after the first has put the policy; if
// its read does not see the policy yet (IAM's eventual consistency), the
// memo of what this process put a moment ago stands in for it.
//
// Across worker processes the race remains possible but only for writes
// that start within the same few seconds; what it costs is a repeated,
// identical PutRolePolicy, never a wrong one.
type roleWriter struct {
	mu    sync.Mutex
	locks map[roleKey]*roleLock
	now   func() time.Time
}

type roleKey struct{ endpoint, account, role string }

type roleLock struct {
	mu    sync.Mutex
	users int
	// put is what this process last put as the role's inline policy and when.
	putName, putDoc string
	putAt           time.Time
}

func newRoleWriter() *roleWriter {
	return &roleWriter{locks: map[roleKey]*roleLock{}, now: time.Now}
}

// ensure is ensureRole under the role's lock. A nil writer (tests that
// build an Env by hand) runs ensureRole as is.
func (w *roleWriter) ensure(ctx context.Context, api roleAPI, env Env, r serviceRole) (bool, error) {
	if w == nil {
		return ensureRole(ctx, api, r)
	}
	// The endpoint is part of the key so that two AWS-compatible targets
	// (two simulators in one test binary) with the same account IDs never
	// share a memo; against AWS it is empty.
	k := roleKey{endpoint: endpointOf(env), account: env.AccountID, role: r.Name}
	l := w.acquire(k)
	defer w.release(k, l)
	name, doc := r.policyName(), r.policy()
	trustMemo := l.putName == name && l.putDoc == doc && w.now().Sub(l.putAt) < roleWriteMemo
	wrote, err := ensureRoleWith(ctx, api, r, trustMemo)
	if err == nil && wrote {
		l.putName, l.putDoc, l.putAt = name, doc, w.now()
	}
	return wrote, err
}

func (w *roleWriter) acquire(k roleKey) *roleLock {
	w.mu.Lock()
	l := w.locks[k]
	if l == nil {
		l = &roleLock{}
		w.locks[k] = l
	}
	l.users++
	w.mu.Unlock()
	l.mu.Lock()
	return l
}

// release unlocks and forgets locks nobody waits for once their memo has
// expired, so a long-running worker does not keep one per role ever seen.
func (w *roleWriter) release(k roleKey, l *roleLock) {
	l.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	l.users--
	if l.users == 0 && w.now().Sub(l.putAt) >= roleWriteMemo {
		delete(w.locks, k)
	}
}

// size is the number of roles the writer holds state for (tests).
func (w *roleWriter) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.locks)
}

func endpointOf(env Env) string {
	if env.Config.BaseEndpoint != nil {
		return *env.Config.BaseEndpoint
	}
	return ""
}
