package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// The validator's deadline branch: a vote processed after the deadline but
// before the workflow saw its timer (same workflow task on a real server)
// is refused. Driven directly, since the test clock stops at expiry.
func TestValidatorRefusesVoteAfterDeadline(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	in := remediationIn()
	wf := func(ctx workflow.Context) (string, error) {
		r := &remediation{in: in, policy: in.Policy}
		r.st = RemediationState{ID: in.ID, Status: RemPending, Verified: true, Quorum: 1,
			Deadline: workflow.Now(ctx).Add(-time.Second), ChangeDigest: PlannedChangeDigest(in)}
		_, err := r.verifyVote(ctx, VoteRequest{RemediationID: in.ID, ChangeDigest: r.st.ChangeDigest, Approver: "alice", Reason: "late"}, true)
		if err == nil {
			return "", nil
		}
		return err.Error(), nil
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "deadline"})
	env.ExecuteWorkflow("deadline")
	var msg string
	require.NoError(t, env.GetWorkflowResult(&msg))
	require.Contains(t, msg, "approval deadline")
}

// baselineEnv runs AccountBaseline under a test parent, as a rollout does.
func baselineEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	env.RegisterWorkflowWithOptions(baselineParent, workflow.RegisterOptions{Name: "TestBaselineParent"})
	env.RegisterWorkflowWithOptions(Remediation, workflow.RegisterOptions{Name: WorkflowRemediation})
	mockTrust(env, trustSnapshot(t))
	env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(nil).Maybe()
	return env
}

func baselineParent(ctx workflow.Context, in BaselineInput) (BaselineResult, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: AccountBaselineID(in.RunID, in.Account.ID), TaskQueue: TaskQueue})
	var res BaselineResult
	err := workflow.ExecuteChildWorkflow(cctx, WorkflowAccountBaseline, in).Get(ctx, &res)
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		_ = app.Details(&res)
	}
	return res, err
}

func autoGuardrail(regions ...string) guardrails.Guardrail {
	g := sgGuardrail
	g.Remediation = guardrails.Remediation{Mode: guardrails.ModeAuto}
	g.Regions = regions
	return g
}

func TestFailedAndUnverifiedRemediationsFailTheAccount(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(env *testsuite.TestWorkflowEnvironment)
		want  string
	}{
		{"failed", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{},
				temporal.NewNonRetryableApplicationError("ec2:RevokeSecurityGroupIngress: AccessDenied", "AccessDenied", nil))
		}, "error"},
		{"not verified", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
		}, "not_verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baselineEnv(t)
			acct := Account{ID: "111111111111", Status: "ACTIVE"}
			// The check keeps finding the resource non-compliant: the
			// failed apply, or a verify that still fails.
			onChecks(env, finds(CheckOutput{Findings: []Finding{nonCompliant(acct.ID)}}))
			tc.apply(env)
			env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct, Guardrails: []guardrails.Guardrail{autoGuardrail("us-east-1")}, Mode: ModeApply})
			err := env.GetWorkflowError()
			app := appError(t, err)
			require.Equal(t, "RemediationFailed", app.Type(), "%v", err)
			var res BaselineResult
			require.NoError(t, app.Details(&res))
			require.Equal(t, "failed", res.Outcome)
			require.Len(t, res.RemediationFailures, 1)
			require.Contains(t, res.RemediationFailures[0], tc.want)
		})
	}
}

func TestPreflightFailsTheAccountOnce(t *testing.T) {
	env := baselineEnv(t)
	roleErr := temporal.NewNonRetryableApplicationError(
		"account 111111111111: cannot assume role arn:aws:iam::111111111111:role/OrgguardExecutionRole: AccessDenied", "AssumeRoleFailed", nil)
	env.OnActivity(ActivityPreflightAccount, mock.Anything, mock.Anything).Return(PreflightOutput{}, roleErr).Once()
	acct := Account{ID: "111111111111", Status: "ACTIVE"}
	gs := []guardrails.Guardrail{autoGuardrail("us-east-1", "eu-west-1"), autoGuardrail("us-east-1")}
	gs[1].ID = "control.other"
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct, Guardrails: gs, Mode: ModeCheck})
	app := appError(t, env.GetWorkflowError())
	var res BaselineResult
	require.NoError(t, app.Details(&res))
	require.Len(t, res.Errors, 1, "one error for the account, not one per guardrail × region")
	require.Contains(t, res.Errors[0], "cannot assume role arn:aws:iam::111111111111:role/OrgguardExecutionRole")
	env.AssertNotCalled(t, ActivityCheckGuardrail, mock.Anything, mock.Anything)
	env.AssertNotCalled(t, ActivityCheckAccountRegion, mock.Anything, mock.Anything)
}

func TestRegionsNotEnabledAreNotApplicable(t *testing.T) {
	env := baselineEnv(t)
	env.OnActivity(ActivityPreflightAccount, mock.Anything, mock.Anything).Return(
		PreflightOutput{Enabled: []string{"us-east-1"}, NotEnabled: []string{"af-south-1", "me-south-1"}}, nil)
	var checked []string
	onChecks(env, func(_ context.Context, in CheckInput) (CheckOutput, error) {
		checked = append(checked, in.Region)
		if in.Region == "me-south-1" {
			return CheckOutput{}, temporal.NewNonRetryableApplicationError("OptInRequired", "RegionNotEnabled", nil)
		}
		return CheckOutput{Findings: []Finding{{Resource: "r", Status: StatusCompliant}}}, nil
	})
	acct := Account{ID: "111111111111", Status: "ACTIVE"}
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct,
		Guardrails: []guardrails.Guardrail{autoGuardrail("us-east-1", "af-south-1")}, Mode: ModeCheck})
	require.NoError(t, env.GetWorkflowError())
	var res BaselineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{"us-east-1"}, checked, "a region that is not enabled is not checked")
	require.Equal(t, 1, res.Counts.NotApplicable)
	require.Equal(t, 1, res.Counts.Compliant)
	require.Equal(t, "compliant", res.Outcome)
}

func TestNothingCheckedIsNeverCompliant(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  CheckOutput
		want string
	}{
		{"not checked", CheckOutput{NotChecked: "no implementation"}, "not_checked"},
		{"not applicable", CheckOutput{Findings: []Finding{{Resource: "r", Status: StatusNotApplicable}}}, "not_applicable"},
		{"excluded", CheckOutput{}, "excluded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baselineEnv(t)
			onChecks(env, finds(tc.out))
			gs := []guardrails.Guardrail{autoGuardrail("us-east-1")}
			if tc.name == "excluded" {
				gs = nil
			}
			env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: Account{ID: "111111111111", Status: "ACTIVE"},
				Guardrails: gs, Mode: ModeCheck})
			require.NoError(t, env.GetWorkflowError())
			var res BaselineResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tc.want, res.Outcome)
		})
	}
}

// A changed plan supersedes the pending request; a forged supersede that
// does not name another plan of the same finding is ignored.
func (s *RemediationSuite) TestSupersededByAChangedPlan() {
	s.in.ID = FindingRemediationID("111111111111", "us-east-1", sgGuardrail.ID, s.in.Finding.Resource, changeHash(s.in.Finding.Change))
	other := FindingRemediationID("111111111111", "us-east-1", sgGuardrail.ID, s.in.Finding.Resource, changeHash(&Change{Summary: "other"}))
	s.Require().NotEqual(s.in.ID, other)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflowByID(s.in.ID, SignalSupersede, SupersedeRequest{By: "rem-unrelated-000000000000", RunID: "r2"})
	}, time.Hour)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflowByID(s.in.ID, SignalSupersede, SupersedeRequest{By: other, RunID: "r2"})
	}, 2*time.Hour)
	s.execute()
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal(RemSuperseded, st.Status)
	s.Equal(other, st.SupersededBy)
	s.Require().NotEmpty(s.notified)
	last := s.notified[len(s.notified)-1]
	s.Equal(EventApprovalSuperseded, last.Event.Type, "the approvers are told")
	s.Equal(other, last.Event.Remediation.SupersededBy)
	s.env.AssertNotCalled(s.T(), ActivityApplyRemediation, mock.Anything, mock.Anything)
}

var rolloutStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// runRollout runs a rollout through its continue-as-new chain the way the
// server would, and returns the final result, the virtual time spent and
// how often each account's baseline ran.
func runRolloutChain(t *testing.T, in RolloutInput, baseline func(workflow.Context, BaselineInput) (BaselineResult, error), setup func(*testsuite.TestWorkflowEnvironment)) (chainResult, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	seen := map[string]int{}
	var elapsed time.Duration
	start := rolloutStart
	for runs := 0; ; runs++ {
		env := ts.NewTestWorkflowEnvironment()
		env.SetStartTime(start.Add(elapsed))
		registerStubs(env)
		mockTrust(env, trustSnapshot(t))
		if runs > 0 {
			env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", runs))
		}
		env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
		env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, b BaselineInput) (BaselineResult, error) {
			seen[b.Account.ID]++
			return baseline(ctx, b)
		})
		if setup != nil {
			setup(env)
		}
		begin := env.Now()
		env.ExecuteWorkflow(OrgRollout, in)
		elapsed += env.Now().Sub(begin)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.NoError(t, converterFor().FromPayloads(can.Input, &in))
			require.Less(t, runs, 20)
			continue
		}
		var res RolloutResult
		if err == nil {
			require.NoError(t, env.GetWorkflowResult(&res))
		} else if app := (*temporal.ApplicationError)(nil); errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&res)
		}
		return chainResult{res: res, elapsed: elapsed, seen: seen}, err
	}
}

// chainResult is what runRolloutChain saw: the final result, the virtual
// time spent and how often each account's baseline ran.
type chainResult struct {
	res     RolloutResult
	elapsed time.Duration
	seen    map[string]int
}

// Two waves, a 1 h pause between them, and a continue-as-new every two
// children: the pause is slept once, not again after each continuation.
func TestWavePauseSurvivesContinueAsNew(t *testing.T) {
	org := append(accounts(3, "Root/Dev", 1), accounts(3, "Root/Prod", 100)...)
	set := rolloutSet(guardrails.Wave{Name: "dev", Target: "dev"}, guardrails.Wave{Name: "prod", Target: "prod"})
	set.Rollout.PauseBetweenWaves = time.Hour
	set = seal(set)
	chain, err := runRolloutChain(t, RolloutInput{RunID: "r1", Set: set, Mode: ModeCheck, ContinueAsNewEvery: 2, Concurrency: 2},
		func(_ workflow.Context, b BaselineInput) (BaselineResult, error) {
			return BaselineResult{AccountID: b.Account.ID}, nil
		},
		func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil)
		})
	require.NoError(t, err)
	res, elapsed, seen := chain.res, chain.elapsed, chain.seen
	require.Equal(t, "completed", res.Progress.State)
	require.GreaterOrEqual(t, elapsed, time.Hour)
	require.Less(t, elapsed, 2*time.Hour, "pause_between_waves slept again after continue-as-new (%s)", elapsed)
	require.Len(t, seen, 6)
	for id, n := range seen {
		require.Equal(t, 1, n, "account %s ran %d times", id, n)
	}
}

func holdSet() guardrails.Set {
	set := rolloutSet(guardrails.Wave{Name: "dev", Target: "dev"}, guardrails.Wave{Name: "prod", Target: "prod"})
	set.Rollout.HoldUntilApproved = true
	return seal(set)
}

// hold_until_approved: the next wave waits until the wave's approvals are
// decided, and an approved remediation that failed spends the budget.
func TestHoldUntilApproved(t *testing.T) {
	org := append(accounts(2, "Root/Dev", 1), accounts(2, "Root/Prod", 100)...)
	for _, tc := range []struct {
		final   string
		stopped bool
	}{{RemRemediated, false}, {RemFailed, true}, {RemNotVerified, true}, {RemRejected, false}} {
		t.Run(tc.final, func(t *testing.T) {
			set := holdSet()
			var decidedAt, prodStart time.Time
			polls := 0
			tok := mintToken(t, rolloutStart, "bob", identity.StartNonce("r1", string(ModeApply), set.Digest))
			chain, err := runRolloutChain(t, RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, RequestedBy: "bob", RequesterToken: tok},
				func(ctx workflow.Context, b BaselineInput) (BaselineResult, error) {
					if b.Account.ID == "000000000001" {
						return BaselineResult{AccountID: b.Account.ID, Pending: []string{"rem-a"}, Counts: AccountResult{PendingApproval: 1}}, nil
					}
					if b.Account.ID == "000000000100" {
						prodStart = workflow.Now(ctx)
					}
					return BaselineResult{AccountID: b.Account.ID}, nil
				},
				func(env *testsuite.TestWorkflowEnvironment) {
					env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil)
					env.OnActivity(ActivityRemediationOutcomes, mock.Anything, mock.Anything).Return(func(_ context.Context, in RemediationOutcomesInput) (RemediationOutcomesOutput, error) {
						polls++
						st := RemPending
						if polls >= 3 {
							st = tc.final
							if decidedAt.IsZero() {
								decidedAt = env.Now()
							}
						}
						return RemediationOutcomesOutput{Status: map[string]string{"rem-a": st}}, nil
					})
				})
			res := chain.res
			require.GreaterOrEqual(t, polls, 3, "the wave waited for the decision")
			if tc.stopped {
				app := appError(t, err)
				require.Equal(t, "FailureBudgetExceeded", app.Type())
				require.Contains(t, app.Error(), `wave "dev": 1 of 2 accounts failed`)
				require.Len(t, res.Progress.Failed, 1)
				require.Contains(t, res.Progress.Failed[0].Error, "approved remediation rem-a ended "+tc.final)
				require.True(t, prodStart.IsZero(), "prod must not start")
				return
			}
			require.NoError(t, err)
			require.False(t, prodStart.IsZero())
			require.False(t, prodStart.Before(decidedAt), "prod started at %s before dev's approval was decided at %s", prodStart, decidedAt)
		})
	}
}

// An apply whose change took, on a resource still non-compliant for what
// the guardrail does not remediate, is verified (not a failed
// remediation) and reports what remains.
func TestAppliedChangeWithProblemsLeftIsNotAFailure(t *testing.T) {
	env := baselineEnv(t)
	acct := Account{ID: "111111111111", Status: "ACTIVE"}
	calls := 0
	onChecks(env, func(_ context.Context, in CheckInput) (CheckOutput, error) {
		calls++
		f := nonCompliant(acct.ID)
		if in.Resource != "" {
			// The re-check: the key is deactivated, the password is not
			// something orgguard remediates.
			f.Change, f.Evidence = nil, "password unused for 120 days"
		}
		return CheckOutput{Findings: []Finding{f}}, nil
	})
	env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct, Guardrails: []guardrails.Guardrail{autoGuardrail("us-east-1")}, Mode: ModeApply})
	require.NoError(t, env.GetWorkflowError())
	var res BaselineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Empty(t, res.RemediationFailures)
	require.Equal(t, "non_compliant", res.Outcome)
	require.Len(t, res.Items, 1)
	require.Equal(t, ItemNonCompliant, res.Items[0].Status)
	require.Contains(t, res.Items[0].Finding.Evidence, "password unused for 120 days")
	require.Equal(t, 2, calls)
}

// Every activity that checks or changes AWS carries a HeartbeatTimeout,
// the apply and its re-check included, so an attempt held by a worker that
// died is retried within ActivityHeartbeatTimeout rather than after the
// 10-minute StartToCloseTimeout (the chaos test's stalls). Read from the
// options the workflow schedules with (the test environment caps a
// heartbeat timeout at the schedule-to-close one, which it leaves 0).
func TestApplyAndRecheckHeartbeat(t *testing.T) {
	env := baselineEnv(t)
	rec := &activityOptionsRecorder{got: map[string][]time.Duration{}}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	acct := Account{ID: "111111111111", Status: "ACTIVE"}
	onChecks(env, func(ctx context.Context, in CheckInput) (CheckOutput, error) {
		if in.Resource != "" {
			return CheckOutput{}, nil
		}
		return CheckOutput{Findings: []Finding{nonCompliant(acct.ID)}}, nil
	})
	env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct, Guardrails: []guardrails.Guardrail{autoGuardrail("us-east-1")}, Mode: ModeApply})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []time.Duration{ActivityHeartbeatTimeout}, rec.got[ActivityCheckAccountRegion], "check")
	require.Equal(t, []time.Duration{ActivityHeartbeatTimeout}, rec.got[ActivityCheckGuardrail], "re-check")
	require.Equal(t, []time.Duration{ActivityHeartbeatTimeout}, rec.got[ActivityApplyRemediation])
}

// activityOptionsRecorder records the HeartbeatTimeout of every activity
// a workflow schedules, by activity name.
type activityOptionsRecorder struct {
	interceptor.WorkerInterceptorBase
	got map[string][]time.Duration
}

func (r *activityOptionsRecorder) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &recorderInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, r: r}
}

type recorderInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	r *activityOptionsRecorder
}

func (i *recorderInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&recorderOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, r: i.r})
}

type recorderOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	r *activityOptionsRecorder
}

func (o *recorderOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...interface{}) workflow.Future {
	o.r.got[activityType] = append(o.r.got[activityType], workflow.GetActivityOptions(ctx).HeartbeatTimeout)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
