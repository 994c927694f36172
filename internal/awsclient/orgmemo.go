package awsclient

import (
	"container/list"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// orgMemo keeps, for one run and management account, the answers of the
// Organizations reads that the parts of a run all ask for: the
// organization, its root (with the policy types enabled there), the OU
// tree, each OU's accounts, and the list of policies. Discovery walks the
// OU tree and every SCP guardrail resolves its OU paths in it and looks
// for its policy in the list; with the memo, a run walks the tree once and
// lists the policies once, whatever the number of SCP guardrails, and a
// retried activity does not read again what an earlier attempt read.
//
// It is deliberately small and only about Organizations (orgMemoOps); it
// is no general read cache. It lives in the worker: each worker of a run
// reads once. Answers are shared as read: callers must not change them.
//
// What a write may change is forgotten before and after the write
// (orgMemoForget), so a worker sees its own changes. Another worker's
// changes it sees only when its entry expires or the run ends: code that
// decides a write, or verifies one, reads with ReadFresh.
type orgMemo struct {
	now func() time.Time

	mu   sync.Mutex
	runs map[memoKey]*list.Element // of *runMemo, most recently used first
	lru  *list.List
}

// memoKey: one run in one management account.
type memoKey struct{ run, account string }

type runMemo struct {
	key memoKey
	// gen counts writes; a read started before a write does not keep its
	// answer.
	gen     uint64
	entries map[string]*memoEntry
}

// memoEntry is one answer, or a read under way (done not yet closed).
type memoEntry struct {
	done   chan struct{}
	result any
	err    error
	loaded time.Time
}

// Bounds. A run's entries are its Organizations pages: 31 for a
// 200-account organization of 30 OUs, about 2,000 for 10,000 accounts in
// 1,000 OUs. Runs overlap rarely; the memo of a run that ended without
// ReleaseRun goes when eight newer runs used theirs, or expires.
const (
	orgMemoRuns    = 8
	orgMemoEntries = 20000
	// orgMemoTTL bounds how old an answer a long run (one that waits
	// for approvals for days) is given.
	orgMemoTTL = 10 * time.Minute
)

// orgMemoOps are the reads kept; orgPolicyWrites change only what
// ListRoots (the policy types enabled) and ListPolicies answer. Any other
// write forgets everything of its run.
var (
	orgMemoOps = map[string]bool{
		"DescribeOrganization": true, "ListRoots": true, "ListOrganizationalUnitsForParent": true,
		"ListAccountsForParent": true, "ListPolicies": true,
	}
	orgPolicyWrites = map[string]bool{
		"CreatePolicy": true, "UpdatePolicy": true, "DeletePolicy": true, "AttachPolicy": true,
		"DetachPolicy": true, "EnablePolicyType": true, "DisablePolicyType": true,
	}
)

func newOrgMemo(now func() time.Time) *orgMemo {
	return &orgMemo{now: now, runs: map[memoKey]*list.Element{}, lru: list.New()}
}

type freshKey struct{}

// ReadFresh makes the Organizations reads made with ctx go to AWS and
// refresh the run's memo: for reads that decide a write (an apply) or
// verify one, where another worker's write must be seen.
func ReadFresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

func fresh(ctx context.Context) bool { v, _ := ctx.Value(freshKey{}).(bool); return v }

// attach adds the memo of (run, account) to every Organizations client
// built from cfg.
func (m *orgMemo) attach(cfg *aws.Config, run, account string) {
	k := memoKey{run, account}
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("orgguardOrganizationsMemo",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) != "Organizations" {
					return next.HandleInitialize(ctx, in)
				}
				op := awsmiddleware.GetOperationName(ctx)
				switch {
				case orgMemoOps[op]:
					return m.read(ctx, k, op, in, next)
				case strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Describe"):
					return next.HandleInitialize(ctx, in)
				}
				// A write that fails may still have happened: forget
				// after it whatever its answer.
				m.forget(k, op)
				defer m.forget(k, op)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// read answers a memoized operation from the memo, or reads it (once for
// all callers that ask at the same time) and keeps the answer.
func (m *orgMemo) read(ctx context.Context, k memoKey, op string, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	params, err := json.Marshal(in.Parameters)
	if err != nil {
		return next.HandleInitialize(ctx, in)
	}
	key := op + " " + string(params)
	for {
		m.mu.Lock()
		r := m.run(k)
		e, ok := r.entries[key]
		if ok && !fresh(ctx) {
			select {
			case <-e.done:
				if m.now().Sub(e.loaded) < orgMemoTTL {
					m.mu.Unlock()
					return middleware.InitializeOutput{Result: shallowCopy(e.result)}, middleware.Metadata{}, nil
				}
			default:
				// Another caller is reading it: wait for its answer, and
				// read ourselves if it fails (its context may have ended).
				m.mu.Unlock()
				select {
				case <-e.done:
				case <-ctx.Done():
					return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
				}
				continue
			}
		}
		e = &memoEntry{done: make(chan struct{})}
		gen, keep := r.gen, len(r.entries) < orgMemoEntries
		if keep {
			r.entries[key] = e
		}
		m.mu.Unlock()

		out, md, err := next.HandleInitialize(ctx, in)

		m.mu.Lock()
		e.result, e.err, e.loaded = out.Result, err, m.now()
		if err != nil || r.gen != gen || m.runs[k] == nil {
			if r.entries[key] == e {
				delete(r.entries, key)
			}
		}
		close(e.done)
		m.mu.Unlock()
		if err != nil {
			return out, md, err
		}
		// The kept answer is never handed out: the client sets
		// ResultMetadata on what it returns.
		return middleware.InitializeOutput{Result: shallowCopy(out.Result)}, md, nil
	}
}

// run returns the memo of k, most recently used first; called with mu
// held.
func (m *orgMemo) run(k memoKey) *runMemo {
	if e, ok := m.runs[k]; ok {
		m.lru.MoveToFront(e)
		return e.Value.(*runMemo)
	}
	r := &runMemo{key: k, entries: map[string]*memoEntry{}}
	m.runs[k] = m.lru.PushFront(r)
	for m.lru.Len() > orgMemoRuns {
		m.release(m.lru.Back().Value.(*runMemo).key)
	}
	return r
}

// forget drops what a write of op may change.
func (m *orgMemo) forget(k memoKey, op string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.runs[k]
	if !ok {
		return
	}
	r := e.Value.(*runMemo)
	r.gen++
	for key := range r.entries {
		if name, _, _ := strings.Cut(key, " "); !orgPolicyWrites[op] || name == "ListRoots" || name == "ListPolicies" {
			delete(r.entries, key)
		}
	}
}

// release drops the memo of k; called with mu held.
func (m *orgMemo) release(k memoKey) {
	if e, ok := m.runs[k]; ok {
		e.Value.(*runMemo).gen++
		m.lru.Remove(e)
		delete(m.runs, k)
	}
}

// shallowCopy returns a new *T holding *v, for a pointer v.
func shallowCopy(v any) any {
	p := reflect.ValueOf(v)
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return v
	}
	c := reflect.New(p.Elem().Type())
	c.Elem().Set(p.Elem())
	return c.Interface()
}
