package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
)

// DefaultApprovalTimeout applies when a policy names none.
const DefaultApprovalTimeout = 72 * time.Hour

// RemediationInput is one finding's approval-gated remediation.
type RemediationInput struct {
	ID          string                      `json:"id"`
	RunID       string                      `json:"run_id"`
	Account     Account                     `json:"account"`
	Guardrail   guardrails.Guardrail        `json:"guardrail"`
	Finding     Finding                     `json:"finding"`
	Policy      guardrails.ApprovalPolicy   `json:"policy"`
	Escalations []guardrails.ApprovalPolicy `json:"escalations,omitempty"`
	RequestedBy string                      `json:"requested_by"`
	Digest      string                      `json:"digest"`
}

// VoteRequest is the argument of the approve and reject updates.
type VoteRequest struct {
	Approver string `json:"approver"`
	Reason   string `json:"reason"`
}

// Vote is a recorded decision.
type Vote struct {
	Approver string    `json:"approver"`
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	Policy   string    `json:"policy"`
}

// Remediation states.
const (
	RemPending     = "pending_approval"
	RemApproved    = "approved" // quorum reached, applying
	RemRejected    = "rejected"
	RemExpired     = "expired"
	RemRemediated  = "remediated"
	RemNotVerified = "not_verified"
	RemFailed      = "failed"
)

// RemediationState answers the remediation query and is the result.
type RemediationState struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	AccountID   string    `json:"account_id"`
	AccountName string    `json:"account_name,omitempty"`
	Region      string    `json:"region"`
	GuardrailID string    `json:"guardrail_id"`
	Controls    []string  `json:"controls,omitempty"`
	Resource    string    `json:"resource"`
	Evidence    string    `json:"evidence"`
	Change      *Change   `json:"change,omitempty"`
	Policy      string    `json:"policy"`
	Approvers   []string  `json:"approvers"`
	Quorum      int       `json:"quorum"`
	Deadline    time.Time `json:"deadline"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Votes       []Vote    `json:"votes,omitempty"`
	Calls       []string  `json:"calls,omitempty"`
	AppliedAt   time.Time `json:"applied_at,omitzero"`
	Error       string    `json:"error,omitempty"`
	RunID       string    `json:"run_id"`
	Digest      string    `json:"digest"`
}

type remediation struct {
	in     RemediationInput
	st     RemediationState
	policy guardrails.ApprovalPolicy
	level  int // escalation level: 0 = the guardrail's policy
}

// Remediation shows a planned change, notifies approvers, waits for approve
// or reject Updates (validated), applies with the first approver as the STS
// SourceIdentity, verifies, and records the outcome in search attributes.
func Remediation(ctx workflow.Context, in RemediationInput) (RemediationState, error) {
	r := &remediation{in: in, policy: in.Policy}
	if err := r.setup(ctx); err != nil {
		return r.st, err
	}
	return r.run(ctx)
}

func (r *remediation) setup(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	r.st = RemediationState{
		ID: r.in.ID, Status: RemPending, AccountID: r.in.Account.ID, AccountName: r.in.Account.Name,
		Region: r.in.Finding.Region, GuardrailID: r.in.Guardrail.ID, Controls: r.in.Guardrail.Controls,
		Resource: r.in.Finding.Resource, Evidence: r.in.Finding.Evidence, Change: r.in.Finding.Change,
		RequestedBy: r.in.RequestedBy, RequestedAt: now, RunID: r.in.RunID, Digest: r.in.Digest,
	}
	r.usePolicy(now)
	if err := workflow.SetQueryHandler(ctx, QueryRemediation, func() (RemediationState, error) { return r.st, nil }); err != nil {
		return err
	}
	// Updates are registered before anything blocks, so a vote that arrives
	// early is never lost.
	for _, u := range []struct {
		name    string
		approve bool
	}{{UpdateApprove, true}, {UpdateReject, false}} {
		approve := u.approve
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name,
			func(ctx workflow.Context, v VoteRequest) (RemediationState, error) {
				r.st.Votes = append(r.st.Votes, Vote{Approver: v.Approver, Approve: approve, Reason: v.Reason, At: workflow.Now(ctx), Policy: r.policy.Name})
				return r.st, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, v VoteRequest) error { return r.validate(ctx, v) }},
		)
		if err != nil {
			return err
		}
	}
	return workflow.UpsertTypedSearchAttributes(ctx,
		SAKind.ValueSet(KindRemediation), SARunID.ValueSet(r.in.RunID), SAAccountID.ValueSet(r.in.Account.ID),
		SAGuardrail.ValueSet([]string{r.in.Guardrail.ID}), SAControl.ValueSet(r.in.Guardrail.Controls),
		SAOutcome.ValueSet(RemPending), SARequester.ValueSet(r.in.RequestedBy), SADigest.ValueSet(r.in.Digest))
}

// usePolicy switches to a policy (the first, or an escalation) and restarts its clock.
func (r *remediation) usePolicy(now time.Time) {
	timeout := r.policy.Timeout
	if timeout <= 0 {
		timeout = DefaultApprovalTimeout
	}
	r.st.Policy = r.policy.Name
	r.st.Approvers = PolicyApprovers(r.policy)
	r.st.Quorum = max(r.policy.Quorum, 1)
	r.st.Deadline = now.Add(timeout)
}

// PolicyApprovers lists the people a policy lets approve: named approvers
// plus the members of its groups, sorted, without duplicates.
func PolicyApprovers(p guardrails.ApprovalPolicy) []string {
	set := map[string]bool{}
	for _, a := range p.Approvers {
		set[a] = true
	}
	for _, g := range p.Groups {
		for _, m := range p.GroupMembers[g] {
			set[m] = true
		}
	}
	return sortedKeys(set)
}

// validate refuses a vote, with the reason, before it enters history.
func (r *remediation) validate(ctx workflow.Context, v VoteRequest) error {
	switch {
	case strings.TrimSpace(v.Approver) == "":
		return fmt.Errorf("no approver identity given")
	case strings.TrimSpace(v.Reason) == "":
		return fmt.Errorf("a reason is required: it is the audit record of this decision")
	case r.st.Status != RemPending:
		return fmt.Errorf("remediation %s is %s: it no longer takes votes", r.st.ID, r.st.Status)
	case !workflow.Now(ctx).Before(r.st.Deadline):
		return fmt.Errorf("the approval deadline %s has passed", r.st.Deadline.UTC().Format(time.RFC3339))
	case !slices.Contains(r.st.Approvers, v.Approver):
		return fmt.Errorf("%q is not an approver under policy %q (approvers: %s)", v.Approver, r.policy.Name, strings.Join(r.st.Approvers, ", "))
	case r.policy.SeparationOfDuties && v.Approver == r.in.RequestedBy:
		return fmt.Errorf("%q requested this change and cannot approve it (separation of duties, policy %q)", v.Approver, r.policy.Name)
	}
	for _, prev := range r.st.Votes {
		if prev.Approver == v.Approver {
			return fmt.Errorf("%q already voted on %s at %s", v.Approver, r.st.ID, prev.At.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func (r *remediation) tally() (approvals int, rejected bool) {
	for _, v := range r.st.Votes {
		if v.Policy != r.policy.Name {
			continue
		}
		if !v.Approve {
			return approvals, true
		}
		approvals++
	}
	return approvals, false
}

func (r *remediation) run(ctx workflow.Context) (RemediationState, error) {
	logger := workflow.GetLogger(ctx)
	notifyCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	for {
		// A failed notification is logged, never fatal: the approval is
		// listed by `orgguard approvals list` regardless.
		if err := workflow.ExecuteActivity(notifyCtx, ActivityNotifyApprovers, NotifyInput{
			RemediationID: r.st.ID, Policy: r.policy, Finding: r.in.Finding, Deadline: r.st.Deadline, Escalation: r.level > 0,
		}).Get(ctx, nil); err != nil {
			logger.Warn("notify approvers failed", "error", err)
		}
		decided, err := workflow.AwaitWithTimeout(ctx, r.st.Deadline.Sub(workflow.Now(ctx)), func() bool {
			n, rejected := r.tally()
			return rejected || n >= r.st.Quorum
		})
		if err != nil {
			return r.st, err
		}
		if decided {
			break
		}
		if r.policy.OnTimeout == "escalate" && r.level < len(r.in.Escalations) {
			r.policy = r.in.Escalations[r.level]
			r.level++
			r.usePolicy(workflow.Now(ctx))
			logger.Info("approval escalated", "policy", r.policy.Name)
			continue
		}
		r.st.Status = RemExpired
		return r.finish(ctx)
	}
	if _, rejected := r.tally(); rejected {
		r.st.Status = RemRejected
		return r.finish(ctx)
	}
	r.st.Status = RemApproved
	var approvers []string
	for _, v := range r.st.Votes {
		if v.Approve && v.Policy == r.policy.Name {
			approvers = append(approvers, v.Approver)
		}
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAApprover.ValueSet(approvers), SAOutcome.ValueSet(RemApproved))
	res, err := applyAndVerify(ctx, r.in.Guardrail, r.in.Finding, r.in.RunID, r.st.ID, approvers[0])
	r.st.Calls = res.Calls
	r.st.AppliedAt = workflow.Now(ctx)
	switch {
	case err != nil:
		r.st.Status, r.st.Error = RemFailed, errorMessage(err)
	case res.verified:
		r.st.Status = RemRemediated
	default:
		r.st.Status, r.st.Error = RemNotVerified, res.evidence
	}
	return r.finish(ctx)
}

func (r *remediation) finish(ctx workflow.Context) (RemediationState, error) {
	// Let accepted update handlers complete before the workflow closes.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAOutcome.ValueSet(r.st.Status)); err != nil {
		return r.st, err
	}
	return r.st, nil
}
