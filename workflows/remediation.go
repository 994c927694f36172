package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
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
	// Requester is the verified requester of the rollout.
	Requester *identity.Principal `json:"requester,omitempty"`
	Digest    string              `json:"digest"`
	// Undo: the change is a rollback (Finding.Change is the undo of a
	// change an earlier run applied).
	Undo bool `json:"undo,omitempty"`
}

// VoteRequest is the argument of the approve and reject updates.
type VoteRequest struct {
	// Token is the approver's OIDC ID token. Its nonce must be
	// identity.VoteNonce(RemediationID, decision, ChangeDigest): the token
	// approves this change and nothing else.
	Token string `json:"token,omitempty"`
	// RemediationID and ChangeDigest say what the approver was shown.
	RemediationID string `json:"remediation_id,omitempty"`
	ChangeDigest  string `json:"change_digest,omitempty"`
	// Approver, when given, must equal the verified name; the recorded
	// name is always the verified one.
	Approver string `json:"approver,omitempty"`
	Reason   string `json:"reason"`
}

// Vote is a recorded decision.
type Vote struct {
	// Approver is the verified name (the token's name claim).
	Approver string    `json:"approver"`
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	Policy   string    `json:"policy"`
	// Subject, Issuer and TokenID identify the verified token; the raw
	// token is never recorded here.
	Subject string   `json:"subject,omitempty"`
	Issuer  string   `json:"issuer,omitempty"`
	TokenID string   `json:"token_id,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	// ChangeDigest is the digest of the planned change the vote approved.
	ChangeDigest string `json:"change_digest,omitempty"`
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
	// RemSuperseded: the finding's plan changed; SupersededBy is the
	// request for the new plan.
	RemSuperseded = "superseded"
	// RemRolledBack: a rollback request was approved and restored the
	// prior state.
	RemRolledBack = "rolled_back"
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
	// Undo is the reverse of the applied change (see ApplyOutput.Undo).
	Undo      *Change   `json:"undo,omitempty"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
	Error     string    `json:"error,omitempty"`
	RunID     string    `json:"run_id"`
	Digest    string    `json:"digest"`
	// ChangeDigest is the digest of the exact planned change: what an
	// approver's token is bound to.
	ChangeDigest string `json:"change_digest,omitempty"`
	// Requester is the verified requester; IdPGroups the groups the policy
	// admits through the token's groups claim.
	Requester *identity.Principal `json:"requester,omitempty"`
	IdPGroups []string            `json:"idp_groups,omitempty"`
	// SeparationOfDuties: the requester may not approve.
	SeparationOfDuties bool `json:"separation_of_duties,omitempty"`
	// Verified is true when votes are verified tokens (every remediation
	// started since identity verification).
	Verified bool `json:"verified,omitempty"`
	// TrustLoadedAt is when the worker's keys in use were fetched.
	TrustLoadedAt time.Time `json:"trust_loaded_at,omitzero"`
	// Remaining, after a verified apply, is what the re-check still finds
	// that this guardrail does not remediate (reported, not a failure).
	Remaining string `json:"remaining,omitempty"`
	// SupersededBy is the request that replaced this one (RemSuperseded).
	SupersededBy string `json:"superseded_by,omitempty"`
	// Rollback is true for a rollback request.
	Rollback bool `json:"rollback,omitempty"`
	// Notifications are the latest deliveries of this remediation's
	// events, failed ones included (versionNotifyEvents).
	Notifications []Delivery `json:"notifications,omitempty"`
}

type remediation struct {
	in     RemediationInput
	st     RemediationState
	policy guardrails.ApprovalPolicy
	level  int // escalation level: 0 = the guardrail's policy
	// trust is the snapshot in use (nil until loaded); st.Verified says
	// whether this run verifies tokens at all (versionTrust).
	trust    *identity.Snapshot
	lastLoad time.Time
	// safety is versionSafety: per-execution idempotency keys, supersede.
	safety    bool
	supersede *SupersedeRequest
	// notify is versionNotifyEvents (see notify.go).
	notify bool
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
	if workflow.GetVersion(ctx, versionTrust, workflow.DefaultVersion, 1) == 1 {
		if err := requireParent(ctx, "Remediation"); err != nil {
			return err
		}
		r.st.Verified = true
		r.st.Requester = r.in.Requester
		r.st.ChangeDigest = PlannedChangeDigest(r.in)
	}
	r.safety = workflow.GetVersion(ctx, versionSafety, workflow.DefaultVersion, 1) == 1
	r.notify = workflow.GetVersion(ctx, versionNotifyEvents, workflow.DefaultVersion, 1) == 1
	if r.safety {
		r.st.Rollback = r.in.Undo
		sup := workflow.GetSignalChannel(ctx, SignalSupersede)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var req SupersedeRequest
				sup.Receive(ctx, &req)
				// Only a request for another plan of the same finding can
				// replace this one.
				if r.supersede == nil && req.By != r.st.ID && len(req.By) == len(r.st.ID) &&
					strings.HasPrefix(req.By, r.st.ID[:len(r.st.ID)-8]) {
					r.supersede = &req
				}
			}
		})
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
				vote := Vote{Approver: v.Approver, Approve: approve, Reason: v.Reason, At: workflow.Now(ctx), Policy: r.policy.Name}
				if r.st.Verified {
					// The validator accepted this vote moments ago with the
					// same snapshot; verifying again yields the principal
					// deterministically, also on replay.
					p, err := r.verifyVote(ctx, v, approve)
					if err != nil {
						return r.st, err
					}
					vote.Approver, vote.Subject, vote.Issuer, vote.TokenID, vote.Groups = p.Name, p.Subject, p.Issuer, p.TokenID, p.Groups
					vote.ChangeDigest = r.st.ChangeDigest
				}
				r.st.Votes = append(r.st.Votes, vote)
				return r.st, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, v VoteRequest) error {
				if r.st.Verified {
					_, err := r.verifyVote(ctx, v, approve)
					return err
				}
				return r.validate(ctx, v)
			}},
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
	r.st.IdPGroups = r.policy.IdPGroups
	r.st.SeparationOfDuties = r.policy.SeparationOfDuties
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

// validate is the validator of remediations started before identity
// verification: it refuses every vote, since none can be verified.
func (r *remediation) validate(_ workflow.Context, _ VoteRequest) error {
	return fmt.Errorf("remediation %s was started before orgguard verified identities and cannot take unverified votes; "+
		"it expires at %s, or re-run apply to request it again with verified approvals", r.st.ID, r.st.Deadline.UTC().Format(time.RFC3339))
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
	if r.st.Verified {
		if err := r.startTrust(ctx); err != nil {
			return r.st, err
		}
	}
	notifyCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	for {
		// A failed notification is logged, never fatal: the approval is
		// listed by `orgguard approvals list` regardless.
		if r.notify {
			r.notifyApproval(ctx, EventApprovalRequested)
		} else if err := workflow.ExecuteActivity(notifyCtx, ActivityNotifyApprovers, NotifyInput{
			RemediationID: r.st.ID, Policy: r.policy, Finding: r.in.Finding, Deadline: r.st.Deadline, Escalation: r.level > 0,
		}).Get(ctx, nil); err != nil {
			logger.Warn("notify approvers failed", "error", err)
		}
		decided, err := workflow.AwaitWithTimeout(ctx, r.st.Deadline.Sub(workflow.Now(ctx)), func() bool {
			n, rejected := r.tally()
			return rejected || n >= r.st.Quorum || r.supersede != nil
		})
		if err != nil {
			return r.st, err
		}
		if n, rejected := r.tally(); r.supersede != nil && !rejected && n < r.st.Quorum {
			return r.superseded(ctx, notifyCtx)
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
	key := r.st.ID
	if r.safety {
		// The ID is the same in every run that finds this finding: the
		// apply's idempotency key is this execution's, so a request asked
		// again after drift applies again, and a retry never twice.
		key = r.st.ID + "-" + shortRunID(workflow.GetInfo(ctx).WorkflowExecution.RunID)
	}
	res, err := applyAndVerify(ctx, r.in.Guardrail, "", r.in.Finding, r.in.RunID, key, approvers[0], r.in.Undo, r.safety)
	r.st.Calls = res.Calls
	r.st.Undo = res.Undo
	r.st.AppliedAt = workflow.Now(ctx)
	switch {
	case err != nil:
		r.st.Status, r.st.Error = RemFailed, errorMessage(err)
	case res.verified && r.in.Undo:
		r.st.Status = RemRolledBack
	case res.verified:
		r.st.Status, r.st.Remaining = RemRemediated, res.remaining
	default:
		r.st.Status, r.st.Error = RemNotVerified, res.evidence
	}
	return r.finish(ctx)
}

// superseded closes this request: the finding's plan changed and another
// request asks for the new one. The approvers are told.
func (r *remediation) superseded(ctx, notifyCtx workflow.Context) (RemediationState, error) {
	r.st.Status, r.st.SupersededBy = RemSuperseded, r.supersede.By
	if r.notify {
		r.notifyApproval(ctx, EventApprovalSuperseded)
	} else if err := workflow.ExecuteActivity(notifyCtx, ActivityNotifyApprovers, NotifyInput{
		RemediationID: r.st.ID, Policy: r.policy, Finding: r.in.Finding, Deadline: r.st.Deadline, SupersededBy: r.supersede.By,
	}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("notify approvers of supersede failed", "error", err)
	}
	return r.finish(ctx)
}

func shortRunID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (r *remediation) finish(ctx workflow.Context) (RemediationState, error) {
	// Let accepted update handlers complete before the workflow closes.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	r.announceOutcome(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAOutcome.ValueSet(r.st.Status)); err != nil {
		return r.st, err
	}
	if r.safety && workflow.GetVersion(ctx, versionEvidence, workflow.DefaultVersion, 1) == 1 {
		r.record(ctx)
	}
	return r.st, nil
}

// record writes the remediation's outcome and decision trail to the
// evidence store (the worker reads r.st through the remediation query).
// A store that refuses is logged: the decision is in history regardless.
func (r *remediation) record(ctx workflow.Context) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
		},
	})
	if err := workflow.ExecuteActivity(actx, ActivityRecordRemediation, RecordRemediationInput{ID: r.st.ID}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("remediation not recorded in the evidence store", "remediation_id", r.st.ID, "error", err)
	}
}
