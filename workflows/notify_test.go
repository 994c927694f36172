package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
)

// eventTypes lists the types of the events sent, in order.
func eventTypes(in []NotifyEventInput) []EventType {
	var out []EventType
	for _, n := range in {
		out = append(out, n.Event.Type)
	}
	return out
}

// Each outcome of a remediation sends its event exactly once, after the
// approval request.
func (s *RemediationSuite) TestEventsPerOutcome() {
	verified := CheckOutput{Findings: []Finding{{Resource: s.in.Finding.Resource, Status: StatusCompliant}}}
	still := CheckOutput{Findings: []Finding{{Resource: s.in.Finding.Resource, Status: StatusNonCompliant, Evidence: "still 1 rule",
		Change: &Change{Summary: "revoke", Diff: "- ingress all from sg-1"}}}}
	cases := []struct {
		name   string
		vote   string // "", approve or reject
		apply  error
		check  CheckOutput
		status string
		events []EventType
	}{
		{"remediated", UpdateApprove, nil, verified, RemRemediated, []EventType{EventApprovalRequested, EventRemediated}},
		{"failed", UpdateApprove, temporal.NewNonRetryableApplicationError("AccessDenied: ec2:RevokeSecurityGroupIngress", "AccessDenied", nil), verified,
			RemFailed, []EventType{EventApprovalRequested, EventRemediationFailed}},
		{"not verified", UpdateApprove, nil, still, RemNotVerified, []EventType{EventApprovalRequested, EventRemediationFailed}},
		{"rejected", UpdateReject, nil, verified, RemRejected, []EventType{EventApprovalRequested}},
		{"expired", "", nil, verified, RemExpired, []EventType{EventApprovalRequested, EventApprovalExpired}},
	}
	for _, c := range cases {
		s.Run(c.name, func() {
			s.SetupTest()
			if c.vote != "" {
				var err error
				s.vote(time.Hour, c.vote, "alice", "reviewed", &err)
			}
			s.env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true, Calls: []string{"ec2:RevokeSecurityGroupIngress sg-1"}}, c.apply)
			s.env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(c.check, nil)
			s.execute()
			s.Require().NoError(s.env.GetWorkflowError())
			var st RemediationState
			s.Require().NoError(s.env.GetWorkflowResult(&st))
			s.Equal(c.status, st.Status)
			s.Equal(c.events, eventTypes(s.notified))
			last := s.notified[len(s.notified)-1].Event
			if len(c.events) > 1 {
				s.Equal(c.status, last.Remediation.Status, "the event carries the outcome")
			}
			s.Equal("rem-1", last.Remediation.ID)
			s.Equal("r1", last.RunID)
			s.Equal(PlannedChangeDigest(s.in), s.notified[0].Event.Remediation.ChangeDigest, "the request carries the digest to vote on")
			if c.vote == UpdateApprove {
				s.Equal([]string{"alice"}, last.Remediation.ApprovedBy)
			}
			if c.status == RemFailed {
				s.Contains(last.Remediation.Error, "AccessDenied")
			}
			// Only approval events go to the policy's own destinations.
			s.NotNil(s.notified[0].PolicyNotify)
			s.Equal("security-team", s.notified[0].Policy)
			for _, n := range s.notified[1:] {
				s.Nil(n.PolicyNotify)
			}
		})
	}
}

// Event IDs are stable per event (receivers deduplicate on them) and
// differ between events: an escalation asks again under a new ID.
func (s *RemediationSuite) TestEscalationAsksAgainUnderANewID() {
	s.in.Policy.OnTimeout, s.in.Policy.EscalateTo = "escalate", "ciso"
	s.in.Escalations = []guardrails.ApprovalPolicy{{Name: "ciso", Approvers: []string{"carol"}, Quorum: 1, Timeout: time.Hour, OnTimeout: "expire"}}
	s.execute()
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal(RemExpired, st.Status)
	s.Equal([]EventType{EventApprovalRequested, EventApprovalRequested, EventApprovalExpired}, eventTypes(s.notified))
	s.False(s.notified[0].Event.Remediation.Escalation)
	s.True(s.notified[1].Event.Remediation.Escalation)
	s.Equal("ciso", s.notified[1].Policy)
	s.Equal([]string{"carol"}, s.notified[1].Event.Remediation.Approvers)
	ids := map[string]bool{}
	for _, n := range s.notified {
		s.False(ids[n.Event.ID], "duplicate event ID %s", n.Event.ID)
		ids[n.Event.ID] = true
	}
}

// Delivery results stay in the remediation's state (what `approvals show`
// prints); a notification that fails every attempt is recorded too, and
// neither fails the remediation.
func (s *RemediationSuite) TestDeliveriesAreKeptInState() {
	refused := Delivery{Destination: "secops-slack (https://hooks.slack.com/…)", Event: EventApprovalRequested, StatusCode: 404,
		Error: "Not Found: no_service", Attempts: 1, At: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)}
	s.env = s.NewTestWorkflowEnvironment()
	registerStubs(s.env)
	registerRemediationParent(s.env)
	mockTrust(s.env, trustSnapshot(s.T()))
	s.notified = nil
	s.env.OnActivity(ActivityNotifyEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, in NotifyEventInput) (NotifyEventOutput, error) {
		s.notified = append(s.notified, in)
		if in.Event.Type == EventApprovalRequested {
			return NotifyEventOutput{Deliveries: []Delivery{refused}}, nil
		}
		return NotifyEventOutput{}, temporal.NewApplicationError("SNS unavailable", "ServiceUnavailable")
	})
	var queried RemediationState
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflowByID(s.in.ID, QueryRemediation)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&queried))
	}, time.Minute)
	var vote error
	s.vote(time.Hour, UpdateApprove, "alice", "ok", &vote)
	s.env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
	s.env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(CheckOutput{}, nil)
	s.execute()
	s.Require().NoError(s.env.GetWorkflowError())
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal(RemRemediated, st.Status, "a failed notification never fails the remediation")
	s.Require().Len(queried.Notifications, 1, "the query shows the refused request while it waits")
	s.Equal("notification to secops-slack (https://hooks.slack.com/…) failed: 404 Not Found: no_service (approval_requested, 1 attempt)", queried.Notifications[0].String())
	s.Require().Len(st.Notifications, 2)
	s.Equal(refused, st.Notifications[0])
	failed := st.Notifications[1]
	s.False(failed.OK)
	s.Equal(EventRemediated, failed.Event)
	s.Equal(notifyAttempts, failed.Attempts)
	s.Contains(failed.Error, "SNS unavailable")
	s.Len(s.notified, 1+notifyAttempts, "the remediated event was tried %d times", notifyAttempts)
}

// A remediation started before versionNotifyEvents notifies approvers as
// it did and sends no other event.
func (s *RemediationSuite) TestBeforeNotifyEventsVersion() {
	s.env.OnGetVersion(versionNotifyEvents, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	var old []NotifyInput
	s.env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(func(_ context.Context, in NotifyInput) error {
		old = append(old, in)
		return nil
	})
	var vote error
	s.vote(time.Hour, UpdateApprove, "alice", "ok", &vote)
	s.env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
	s.env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(CheckOutput{}, nil)
	s.execute()
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal(RemRemediated, st.Status)
	s.Len(old, 1)
	s.Empty(s.notified)
	s.Empty(st.Notifications)
}

// rolloutEvents runs a rollout whose baselines answer with result and
// returns the events it sent.
func rolloutEvents(t *testing.T, workflowID string, in RolloutInput, org []Account, result func(BaselineInput) (BaselineResult, error)) ([]NotifyEventInput, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	mockTrust(env, trustSnapshot(t))
	if workflowID != "" {
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID})
	}
	var events []NotifyEventInput
	env.OnActivity(ActivityNotifyEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, in NotifyEventInput) (NotifyEventOutput, error) {
		events = append(events, in)
		return NotifyEventOutput{}, nil
	})
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
		return result(in)
	})
	env.ExecuteWorkflow(OrgRollout, in)
	require.True(t, env.IsWorkflowCompleted())
	return events, env.GetWorkflowError()
}

// A wave that spends its failure budget stops the rollout and says so,
// once; a rollout that completes sends nothing.
func TestRolloutStoppedEvent(t *testing.T) {
	org := append(accounts(3, "Root/Dev", 1), accounts(3, "Root/Prod", 100)...)
	set := rolloutSet(guardrails.Wave{Name: "dev", Target: "dev"}, guardrails.Wave{Name: "prod", Target: "prod"})
	failing := func(in BaselineInput) (BaselineResult, error) {
		if in.Account.ID == "000000000002" {
			return BaselineResult{}, temporal.NewNonRetryableApplicationError("ec2:DescribeSecurityGroups in account 000000000002: AccessDenied", "AccessDenied", nil)
		}
		return BaselineResult{AccountID: in.Account.ID, Counts: AccountResult{Compliant: 1}}, nil
	}
	events, err := rolloutEvents(t, "", RolloutInput{RunID: "r1", Set: set, Mode: ModeCheck}, org, failing)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, "FailureBudgetExceeded", app.Type())
	require.Len(t, events, 1)
	ev := events[0].Event
	assert.Equal(t, EventRolloutStopped, ev.Type)
	assert.Equal(t, "r1/rollout_stopped", ev.ID)
	assert.Equal(t, set.Digest, ev.Digest)
	require.NotNil(t, ev.Rollout)
	assert.Contains(t, ev.Rollout.StoppedReason, `wave "dev": 1 of 3 accounts failed`)
	assert.Equal(t, "stopped", ev.Rollout.State)
	require.Len(t, ev.Rollout.Failed, 1)
	assert.Equal(t, "000000000002", ev.Rollout.Failed[0].AccountID)
	assert.Contains(t, ev.Rollout.Failed[0].Error, "AccessDenied")
	assert.Empty(t, ev.Rollout.Schedule)
	assert.Nil(t, events[0].PolicyNotify)

	events, err = rolloutEvents(t, "", RolloutInput{RunID: "r2", Set: set, Mode: ModeCheck}, org, func(in BaselineInput) (BaselineResult, error) {
		return BaselineResult{AccountID: in.Account.ID, Counts: AccountResult{NonCompliant: 2}}, nil
	})
	require.NoError(t, err)
	assert.Empty(t, events, "a completed run that no schedule started sends nothing, drift or not")
}

// A check started by a Temporal Schedule that finds drift says so once, at
// its end, with the accounts; without drift it sends nothing.
func TestScheduledCheckDriftEvent(t *testing.T) {
	org := accounts(4, "Root/Prod", 1)
	drifting := func(in BaselineInput) (BaselineResult, error) {
		n := 0
		if in.Account.ID == "000000000002" || in.Account.ID == "000000000004" {
			n = 3
		}
		return BaselineResult{AccountID: in.Account.ID, Counts: AccountResult{Compliant: 5, NonCompliant: n}}, nil
	}
	// What `orgguard schedule create` sets up: run ID sched-<name>, and the
	// schedule appends the scheduled time to the workflow ID.
	id := RolloutID("sched-nightly") + "-2026-12-03T06:00:00Z"
	in := RolloutInput{RunID: "sched-nightly", Set: rolloutSet(), Mode: ModeCheck, RequestedBy: "ccoe"}
	events, err := rolloutEvents(t, id, in, org, drifting)
	require.NoError(t, err)
	require.Len(t, events, 1)
	ev := events[0].Event
	assert.Equal(t, EventDriftDetected, ev.Type)
	assert.Equal(t, "sched-nightly-2026-12-03T06:00:00Z", ev.RunID, "the scheduled run's own run ID")
	assert.Equal(t, "sched-nightly-2026-12-03T06:00:00Z/drift_detected", ev.ID)
	require.NotNil(t, ev.Rollout)
	assert.Equal(t, "sched-nightly", ev.Rollout.Schedule)
	assert.Equal(t, 6, ev.Rollout.Totals.NonCompliant)
	assert.Equal(t, 2, ev.Rollout.DriftAccounts)
	var ids []string
	for _, d := range ev.Rollout.Drift {
		ids = append(ids, d.AccountID)
		assert.Equal(t, 3, d.NonCompliant)
	}
	assert.ElementsMatch(t, []string{"000000000002", "000000000004"}, ids)

	events, err = rolloutEvents(t, id, in, org, func(in BaselineInput) (BaselineResult, error) {
		return BaselineResult{AccountID: in.Account.ID, Counts: AccountResult{Compliant: 5}}, nil
	})
	require.NoError(t, err)
	assert.Empty(t, events, "no drift, no message")
}

// The drift of a scheduled run that continues as new is summed across its
// runs and reported once, by the last.
func TestScheduledDriftAcrossContinueAsNew(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	id := RolloutID("sched-nightly") + "-2026-12-03T06:00:00Z"
	in := RolloutInput{RunID: "sched-nightly", Set: rolloutSet(), Mode: ModeCheck, ContinueAsNewEvery: 2, Concurrency: 1}
	var events []NotifyEventInput
	for run := 1; ; run++ {
		env := ts.NewTestWorkflowEnvironment()
		registerStubs(env)
		mockTrust(env, trustSnapshot(t))
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
		if run > 1 {
			env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", run-1))
		}
		env.OnActivity(ActivityNotifyEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, in NotifyEventInput) (NotifyEventOutput, error) {
			events = append(events, in)
			return NotifyEventOutput{}, nil
		})
		env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: accounts(5, "Root/Prod", 1)}, nil)
		env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
		env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, b BaselineInput) (BaselineResult, error) {
			return BaselineResult{AccountID: b.Account.ID, Counts: AccountResult{NonCompliant: 1}}, nil
		})
		env.ExecuteWorkflow(OrgRollout, in)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if err == nil {
			break
		}
		require.True(t, errors.As(err, &can), "%v", err)
		require.NoError(t, converterFor().FromPayloads(can.Input, &in))
		assert.Equal(t, "sched-nightly", in.Schedule, "carried across continue-as-new")
		assert.Empty(t, events, "nothing before the last run ends")
		require.Less(t, run, 5)
	}
	require.Len(t, events, 1)
	assert.Equal(t, EventDriftDetected, events[0].Event.Type)
	assert.Equal(t, 5, events[0].Event.Rollout.DriftAccounts)
	assert.Len(t, events[0].Event.Rollout.Drift, 5)
	assert.Equal(t, 5, events[0].Event.Rollout.Totals.NonCompliant)
}

func TestScheduleOf(t *testing.T) {
	assert.Equal(t, "sched-nightly", scheduleOf("orgguard-sched-nightly-2026-12-03T06:00:00Z", "sched-nightly"))
	assert.Empty(t, scheduleOf("orgguard-sched-nightly", "sched-nightly"), "started by hand with that run ID")
	assert.Empty(t, scheduleOf("orgguard-sched-nightly-2026-12-03T06:00:00Z", "sched-nightly-2026-12-03T06:00:00Z"), "a continued run")
	assert.Empty(t, scheduleOf("default-test-workflow-id", "r1"))
	assert.Empty(t, scheduleOf("orgguard-x", ""))
}

func TestDeliveryString(t *testing.T) {
	ok := Delivery{Destination: "siem (https://siem.example.com/…)", Event: EventRemediated, OK: true, StatusCode: 202, Attempts: 2}
	assert.Equal(t, "notification to siem (https://siem.example.com/…) sent: remediated (2 attempts)", ok.String())
	failed := Delivery{Destination: "audit-topic", Event: EventApprovalExpired, Error: "NotFound: Topic does not exist", Attempts: 1}
	assert.Equal(t, "notification to audit-topic failed: NotFound: Topic does not exist (approval_expired, 1 attempt)", failed.String())
}
