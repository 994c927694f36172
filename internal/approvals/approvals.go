// Package approvals reads and votes on orgguard's approval requests through
// Temporal: the pending remediations (from visibility, then each one's
// state by query), one remediation's state, and a vote sent as a validated
// Update. The CLI (`orgguard approvals`, `approve`, `reject`) and the web
// console share it, so both list, show and vote exactly alike; neither
// decides who may vote: the Remediation workflow's validator does.
package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

// queryParallelism bounds the queries in flight: without a worker each one
// waits for the server's timeout (about 10 s), so one at a time would take
// minutes for a few dozen remediations.
const queryParallelism = 16

// Count is the number of approving votes under the remediation's current
// policy.
func Count(s workflows.RemediationState) int {
	n := 0
	for _, v := range s.Votes {
		if v.Approve && v.Policy == s.Policy {
			n++
		}
	}
	return n
}

// PendingQuery is the visibility query of the remediations that wait for a
// decision.
func PendingQuery() string {
	return fmt.Sprintf("%s = '%s' AND %s = '%s' AND ExecutionStatus = 'Running'",
		workflows.SAKind.GetName(), workflows.KindRemediation, workflows.SAOutcome.GetName(), workflows.RemPending)
}

// Pending lists running remediation workflows from visibility and asks each
// for its state. When some cannot be read it returns the states that could,
// and an *UnreadError that says which could not and why: a failed query is
// never taken for "nothing is waiting".
func Pending(ctx context.Context, c client.Client) ([]workflows.RemediationState, error) {
	type listed struct{ id, taskQueue string }
	var execs []listed
	err := audit.ListExecutions(ctx, c, PendingQuery(), func(e *workflowpb.WorkflowExecutionInfo) bool {
		execs = append(execs, listed{e.GetExecution().GetWorkflowId(), e.GetTaskQueue()})
		return true
	})
	if err != nil {
		return nil, err
	}
	type result struct {
		state workflows.RemediationState
		err   error
	}
	results := make([]result, len(execs))
	sem := make(chan struct{}, queryParallelism)
	var wg sync.WaitGroup
	for i, e := range execs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i].state, results[i].err = Query(ctx, c, e.id)
		})
	}
	wg.Wait()

	var (
		out    []workflows.RemediationState
		unread = &UnreadError{ids: map[string][]string{}}
	)
	for i, r := range results {
		var nf *serviceerror.NotFound
		switch {
		case errors.As(r.err, &nf):
			// Gone since the listing (closed and past retention).
		case r.err != nil:
			reason := QueryFailure(r.err, execs[i].taskQueue)
			if _, seen := unread.ids[reason]; !seen {
				unread.reasons = append(unread.reasons, reason)
			}
			unread.ids[reason] = append(unread.ids[reason], execs[i].id)
			unread.Failed++
		default:
			unread.Read++
			// Decided since the listing: no longer waiting.
			if r.state.Status == workflows.RemPending {
				out = append(out, r.state)
			}
		}
	}
	if unread.Failed > 0 {
		unread.Listed = len(execs)
		return out, unread
	}
	return out, nil
}

// UnreadError reports the pending remediations whose state could not be
// queried, grouped by reason.
type UnreadError struct {
	Listed, Read, Failed int
	reasons              []string            // in order of first appearance
	ids                  map[string][]string // reason → remediation IDs
}

// maxUnreadIDs bounds the IDs printed per reason; the rest are counted.
const maxUnreadIDs = 5

func (e *UnreadError) Error() string {
	var b strings.Builder
	noun := "remediations"
	if e.Listed == 1 {
		noun = "remediation"
	}
	if e.Failed == e.Listed {
		fmt.Fprintf(&b, "%d pending %s could not be queried", e.Failed, noun)
	} else {
		fmt.Fprintf(&b, "%d of %d pending %s could not be queried", e.Failed, e.Listed, noun)
	}
	ids := func(l []string) string {
		if len(l) > maxUnreadIDs {
			return strings.Join(l[:maxUnreadIDs], ", ") + fmt.Sprintf(" and %d more", len(l)-maxUnreadIDs)
		}
		return strings.Join(l, ", ")
	}
	if len(e.reasons) == 1 {
		fmt.Fprintf(&b, ": %s\n  %s", e.reasons[0], ids(e.ids[e.reasons[0]]))
		return b.String()
	}
	b.WriteString(":")
	for _, r := range e.reasons {
		fmt.Fprintf(&b, "\n  %d: %s: %s", len(e.ids[r]), r, ids(e.ids[r]))
	}
	return b.String()
}

// QueryFailure says in an operator's words why a remediation's state could
// not be queried. A query is answered by a worker: the usual cause is that
// none is running. The server then answers "no poller seen" once no worker
// has polled for 20 s (matching.queryPollerUnavailableWindow), and lets the
// query time out before that, or on partitions that had a poller: one cause,
// one message.
func QueryFailure(err error, taskQueue string) string {
	queue := "its task queue"
	if taskQueue != "" {
		queue = "task queue " + taskQueue
	}
	var (
		fp *serviceerror.FailedPrecondition
		de *serviceerror.DeadlineExceeded
		qf *serviceerror.QueryFailed
	)
	switch {
	case errors.As(err, &fp) && strings.Contains(fp.Message, "no poller seen"),
		errors.As(err, &de) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no worker is answering on %s (is orgguard-worker running?)", queue)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &qf):
		return "the remediation failed the query: " + qf.Message
	}
	return err.Error()
}

// Query asks one remediation workflow for its state (the raw errors of
// the Temporal client).
func Query(ctx context.Context, c client.Client, id string) (workflows.RemediationState, error) {
	var s workflows.RemediationState
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryRemediation)
	if err != nil {
		return s, err
	}
	if err := v.Get(&s); err != nil {
		return s, fmt.Errorf("decode the state: %w", err)
	}
	return s, nil
}

// ErrNotFound: no remediation workflow has this ID.
var ErrNotFound = errors.New("not found")

// State is Query with errors for people: "no remediation ID" (wrapping
// ErrNotFound), or why the query failed.
func State(ctx context.Context, c client.Client, id string) (workflows.RemediationState, error) {
	s, err := Query(ctx, c, id)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return s, fmt.Errorf("no remediation %s: %w", id, ErrNotFound)
	case err != nil:
		return s, fmt.Errorf("query remediation %s: %s", id, QueryFailure(err, ""))
	}
	return s, nil
}

// Update is the Update name of a decision (identity.DecisionApprove or
// identity.DecisionReject).
func Update(decision string) string {
	if decision == identity.DecisionApprove {
		return workflows.UpdateApprove
	}
	return workflows.UpdateReject
}

// Send sends one vote Update and waits for its result: the state with the
// vote recorded, or the validator's refusal with its reason.
func Send(ctx context.Context, c client.Client, id, update string, req workflows.VoteRequest) (workflows.RemediationState, error) {
	var s workflows.RemediationState
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   update,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &s)
	}
	return s, err
}

// RetryAfterKeyReload is how long Vote waits before its one retry after
// asking the remediation to reload the issuer keys.
const RetryAfterKeyReload = 3 * time.Second

// Vote sends a vote as Send does. If it is refused because the signing key
// is unknown (the IdP may have rotated its keys since the remediation
// loaded them) or the keys are still loading, it asks the remediation to
// reload them and tries once more. A refusal wraps ErrNotFound when no
// pending remediation has this ID.
func Vote(ctx context.Context, c client.Client, id, decision string, req workflows.VoteRequest) (workflows.RemediationState, error) {
	update := Update(decision)
	res, err := Send(ctx, c, id, update, req)
	if r := identity.ReasonOf(err); r == identity.ReasonUnknownKey || r == "trust_loading" {
		if r == identity.ReasonUnknownKey {
			_ = c.SignalWorkflow(ctx, id, "", workflows.SignalRefreshTrust, nil)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(RetryAfterKeyReload):
		}
		res, err = Send(ctx, c, id, update, req)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return res, fmt.Errorf("no pending remediation %s: %w", id, ErrNotFound)
	}
	return res, err
}
