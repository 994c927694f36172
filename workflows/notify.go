package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Notifications (versionNotifyEvents) are kept apart from the workflows'
// other steps: each workflow calls one method here where an event happens.

// maxEventAccounts bounds the accounts an event lists (the rest are
// counted), so a rollout over 10,000 accounts sends a message people read.
const maxEventAccounts = 20

// maxKeptDeliveries bounds the deliveries a remediation keeps in its state
// (the latest; escalations and supersedes send again).
const maxKeptDeliveries = 20

// notifyAttempts bounds the NotifyEvent attempts of one event.
const notifyAttempts = 5

// notifyOptions: one attempt delivers to every destination, retrying 429
// and 5xx inside the activity (heartbeating); an attempt that stops for a
// long Retry-After asks for its next retry with that delay. Five attempts
// bound how long an event may try; then the workflow records the failure.
func notifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    ActivityHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: notifyAttempts,
		},
	})
}

// deliver runs NotifyEvent and returns its deliveries; an activity that
// failed every attempt becomes one failed delivery, never a failed workflow.
func deliver(ctx workflow.Context, in NotifyEventInput) []Delivery {
	in.MaxAttempts = notifyAttempts
	var out NotifyEventOutput
	if err := notifyEvent(notifyOptions(ctx), in).Get(ctx, &out); err != nil {
		workflow.GetLogger(ctx).Warn("notification failed", "event", in.Event.Type, "event_id", in.Event.ID, "error", err)
		return []Delivery{{Destination: "notifications", Event: in.Event.Type, Error: errorMessage(err), Attempts: notifyAttempts, At: workflow.Now(ctx)}}
	}
	for _, d := range out.Deliveries {
		if !d.OK {
			workflow.GetLogger(ctx).Warn(d.String(), "event_id", in.Event.ID)
		}
	}
	return out.Deliveries
}

// event describes the remediation as it stands.
func (r *remediation) event(ctx workflow.Context, t EventType, id string) Event {
	st := r.st
	re := &RemediationEvent{
		ID: st.ID, Status: st.Status, AccountID: st.AccountID, AccountName: st.AccountName, Region: st.Region,
		GuardrailID: st.GuardrailID, Controls: st.Controls, Resource: st.Resource, Evidence: st.Evidence,
		ChangeDigest: st.ChangeDigest, Policy: st.Policy, Approvers: st.Approvers, IdPGroups: st.IdPGroups,
		Quorum: st.Quorum, Deadline: st.Deadline, Escalation: r.level > 0, RequestedBy: st.RequestedBy,
		Calls: st.Calls, Error: st.Error, Remaining: st.Remaining, SupersededBy: st.SupersededBy, Rollback: st.Rollback,
	}
	if st.Change != nil {
		re.ChangeSummary, re.ChangeDiff = st.Change.Summary, st.Change.Diff
	}
	for _, v := range st.Votes {
		if v.Approve && v.Policy == st.Policy {
			re.ApprovedBy = append(re.ApprovedBy, v.Approver)
		}
	}
	return Event{Type: t, ID: id, At: workflow.Now(ctx), RunID: st.RunID, Digest: st.Digest, Remediation: re}
}

// eventID is the remediation's ID for an event: one per execution (a
// request asked again after drift is a new event), and per escalation
// level for approval requests.
func (r *remediation) eventID(ctx workflow.Context, t EventType) string {
	id := r.st.ID + "/" + shortRunID(workflow.GetInfo(ctx).WorkflowExecution.RunID) + "/" + string(t)
	if t == EventApprovalRequested {
		id += fmt.Sprintf("/%d", r.level)
	}
	return id
}

// notifyApproval sends an approval request (or its supersede) to the
// policy's destinations and the worker's, and keeps the deliveries.
func (r *remediation) notifyApproval(ctx workflow.Context, t EventType) {
	notify := r.policy.Notify
	r.keep(deliver(ctx, NotifyEventInput{Event: r.event(ctx, t, r.eventID(ctx, t)), PolicyNotify: &notify, Policy: r.policy.Name}))
}

// announceOutcome sends the event of a remediation's end state, if it has
// one: remediated (or rolled back), failed or not verified, expired. A
// rejection was the approvers' own decision and a supersede was announced
// with the request it closed.
func (r *remediation) announceOutcome(ctx workflow.Context) {
	if !r.notify {
		return
	}
	var t EventType
	switch r.st.Status {
	case RemRemediated, RemRolledBack:
		t = EventRemediated
	case RemFailed, RemNotVerified:
		t = EventRemediationFailed
	case RemExpired:
		t = EventApprovalExpired
	default:
		return
	}
	r.keep(deliver(ctx, NotifyEventInput{Event: r.event(ctx, t, r.eventID(ctx, t))}))
}

func (r *remediation) keep(ds []Delivery) {
	r.st.Notifications = append(r.st.Notifications, ds...)
	if n := len(r.st.Notifications); n > maxKeptDeliveries {
		r.st.Notifications = r.st.Notifications[n-maxKeptDeliveries:]
	}
}

// noteDrift remembers an account with non-compliant findings in a
// scheduled check (for the drift event).
func (r *rollout) noteDrift(ar AccountResult) {
	if !r.notify || r.in.Schedule == "" || ar.NonCompliant == 0 {
		return
	}
	r.st.DriftAccounts++
	if len(r.st.Drift) < maxEventAccounts {
		r.st.Drift = append(r.st.Drift, EventAccount{AccountID: ar.AccountID, NonCompliant: ar.NonCompliant, Compliant: ar.Compliant})
	}
}

// announceEnd sends the rollout's event when it ends: stopped by a failure
// budget, or a scheduled check or plan that found drift.
func (r *rollout) announceEnd(ctx workflow.Context) {
	if !r.notify {
		return
	}
	p := r.progress()
	var t EventType
	switch {
	case r.st.StoppedReason != "":
		t = EventRolloutStopped
	case r.in.Schedule != "" && r.in.Mode != ModeApply && p.Totals.NonCompliant > 0:
		t = EventDriftDetected
	default:
		return
	}
	tot := p.Totals
	re := &RolloutEvent{Mode: r.in.Mode, RequestedBy: r.in.RequestedBy, Schedule: r.in.Schedule, State: p.State,
		StoppedReason: p.StoppedReason, Waves: p.Waves, Drift: r.st.Drift, DriftAccounts: r.st.DriftAccounts,
		Totals: EventCounts{Compliant: tot.Compliant, NonCompliant: tot.NonCompliant, Remediated: tot.Remediated, PendingApproval: tot.PendingApproval,
			Exempted: tot.Exempted, Planned: tot.Planned, NotChecked: tot.NotChecked, NotApplicable: tot.NotApplicable}}
	for _, f := range p.Failed[:min(len(p.Failed), maxEventAccounts)] {
		re.Failed = append(re.Failed, EventAccount{AccountID: f.AccountID, Error: f.Error})
	}
	id := r.in.RunID + "/" + string(t)
	deliver(ctx, NotifyEventInput{Event: Event{Type: t, ID: id, At: workflow.Now(ctx), RunID: r.in.RunID, Digest: r.in.Set.Digest, Rollout: re}})
}

// scheduleOf returns the run ID a Temporal Schedule started this rollout
// with, or "": a schedule appends the scheduled time to the workflow ID
// (orgguard schedule create), so the ID is not RolloutID(runID).
func scheduleOf(workflowID, runID string) string {
	if runID != "" && strings.HasPrefix(workflowID, RolloutID(runID)+"-") {
		return runID
	}
	return ""
}
