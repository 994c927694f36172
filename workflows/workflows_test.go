package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// Activity stand-ins registered under the real names; each test mocks them.
func discoverStub(context.Context, DiscoverInput) (DiscoverOutput, error) {
	return DiscoverOutput{}, nil
}
func checkStub(context.Context, CheckInput) (CheckOutput, error) { return CheckOutput{}, nil }
func checkRegionStub(context.Context, CheckAccountRegionInput) (CheckAccountRegionOutput, error) {
	return CheckAccountRegionOutput{}, nil
}
func applyStub(context.Context, ApplyInput) (ApplyOutput, error) { return ApplyOutput{}, nil }
func notifyStub(context.Context, NotifyInput) error              { return nil }
func notifyEventStub(context.Context, NotifyEventInput) (NotifyEventOutput, error) {
	return NotifyEventOutput{}, nil
}
func loadTrustStub(context.Context, LoadTrustInput) (identity.Snapshot, error) {
	return identity.Snapshot{}, nil
}

func preflightStub(_ context.Context, in PreflightInput) (PreflightOutput, error) {
	return PreflightOutput{RoleARN: "arn:aws:iam::" + in.AccountID + ":role/OrgguardExecutionRole", Enabled: in.Regions}, nil
}
func releaseStub(context.Context, ReleaseRunInput) error { return nil }
func recordBaselineStub(context.Context, RecordBaselineInput) (RecordBaselineOutput, error) {
	return RecordBaselineOutput{}, nil
}
func recordRunStub(context.Context, RecordRunInput) error                 { return nil }
func recordRemediationStub(context.Context, RecordRemediationInput) error { return nil }
func pendingStub(context.Context, PendingForFindingInput) (PendingForFindingOutput, error) {
	return PendingForFindingOutput{}, nil
}
func outcomesStub(context.Context, RemediationOutcomesInput) (RemediationOutcomesOutput, error) {
	return RemediationOutcomesOutput{}, nil
}
func loadAppliedStub(context.Context, LoadAppliedInput) (LoadAppliedOutput, error) {
	return LoadAppliedOutput{}, nil
}
func planUndoStub(context.Context, PlanUndoInput) (PlanUndoOutput, error) {
	return PlanUndoOutput{}, nil
}

func registerStubs(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(preflightStub, activity.RegisterOptions{Name: ActivityPreflightAccount})
	env.RegisterActivityWithOptions(releaseStub, activity.RegisterOptions{Name: ActivityReleaseRun})
	env.RegisterActivityWithOptions(recordBaselineStub, activity.RegisterOptions{Name: ActivityRecordBaseline})
	env.RegisterActivityWithOptions(recordRunStub, activity.RegisterOptions{Name: ActivityRecordRun})
	env.RegisterActivityWithOptions(recordRemediationStub, activity.RegisterOptions{Name: ActivityRecordRemediation})
	env.RegisterActivityWithOptions(pendingStub, activity.RegisterOptions{Name: ActivityPendingForFinding})
	env.RegisterActivityWithOptions(outcomesStub, activity.RegisterOptions{Name: ActivityRemediationOutcomes})
	env.RegisterActivityWithOptions(loadAppliedStub, activity.RegisterOptions{Name: ActivityLoadAppliedChanges})
	env.RegisterActivityWithOptions(planUndoStub, activity.RegisterOptions{Name: ActivityPlanUndo})
	env.RegisterActivityWithOptions(discoverStub, activity.RegisterOptions{Name: ActivityDiscoverAccounts})
	env.RegisterActivityWithOptions(checkStub, activity.RegisterOptions{Name: ActivityCheckGuardrail})
	env.RegisterActivityWithOptions(checkRegionStub, activity.RegisterOptions{Name: ActivityCheckAccountRegion})
	env.RegisterActivityWithOptions(applyStub, activity.RegisterOptions{Name: ActivityApplyRemediation})
	env.RegisterActivityWithOptions(notifyStub, activity.RegisterOptions{Name: ActivityNotifyApprovers})
	env.RegisterActivityWithOptions(notifyEventStub, activity.RegisterOptions{Name: ActivityNotifyEvent})
	env.RegisterActivityWithOptions(loadTrustStub, activity.RegisterOptions{Name: ActivityLoadTrust})
}

// onChecks answers every check of a baseline guardrail by guardrail with
// check: CheckGuardrail (verification re-checks, and baselines from before
// versionLeanChecks) and each guardrail of a CheckAccountRegion, where an
// error check returns is that guardrail's result, as the activity reports
// it.
func onChecks(env *testsuite.TestWorkflowEnvironment, check func(context.Context, CheckInput) (CheckOutput, error)) {
	env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(check)
	env.OnActivity(ActivityCheckAccountRegion, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in CheckAccountRegionInput) (CheckAccountRegionOutput, error) {
			gs := in.Guardrails
			for _, id := range in.GuardrailIDs {
				gs = append(gs, guardrails.Guardrail{ID: id})
			}
			var out CheckAccountRegionOutput
			for _, g := range gs {
				res, err := check(ctx, CheckInput{RunID: in.RunID, AccountID: in.AccountID, Region: in.Region, Guardrail: g, Digest: in.Digest})
				r := GuardrailResult{GuardrailID: g.ID, Findings: res.Findings, NotChecked: res.NotChecked}
				var app *temporal.ApplicationError
				switch {
				case errors.As(err, &app):
					r.Error = &CheckError{Message: app.Message(), Type: app.Type(), NonRetryable: app.NonRetryable()}
				case err != nil:
					r.Error = &CheckError{Message: err.Error()}
				}
				out.Results = append(out.Results, r)
			}
			return out, nil
		})
}

// finds is a check that always finds out.
func finds(out CheckOutput) func(context.Context, CheckInput) (CheckOutput, error) {
	return func(context.Context, CheckInput) (CheckOutput, error) { return out, nil }
}

// mockTrust makes the LoadTrust activity return snap.
func mockTrust(env *testsuite.TestWorkflowEnvironment, snap identity.Snapshot) {
	env.OnActivity(ActivityLoadTrust, mock.Anything, mock.Anything).Return(snap, nil)
}

var sgGuardrail = guardrails.Guardrail{
	ID: "control.default_sg_closed", Kind: guardrails.KindControl, Name: "default_sg_closed",
	Controls: []string{"CIS 5.4"}, Regions: []string{"us-east-1"},
	Remediation: guardrails.Remediation{Mode: guardrails.ModeApproval, ApprovalPolicy: "security-team"},
	Control:     &guardrails.Control{Type: "ec2.default_security_group_closed"},
}

var policy = guardrails.ApprovalPolicy{
	Name: "security-team", Approvers: []string{"alice", "bob"}, Quorum: 1, SeparationOfDuties: true,
	Timeout: 72 * time.Hour, OnTimeout: "expire",
}

func nonCompliant(account string) Finding {
	return Finding{
		GuardrailID: sgGuardrail.ID, AccountID: account, Region: "us-east-1",
		Resource: "arn:aws:ec2:us-east-1:" + account + ":security-group/sg-1", Status: StatusNonCompliant,
		Evidence: "default security group sg-1 has 1 ingress rule",
		Change:   &Change{Summary: "revoke", Diff: "- ingress all from sg-1", Actions: []string{"ec2:RevokeSecurityGroupIngress"}},
	}
}

type RemediationSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	in  RemediationInput
	// notified records every NotifyEvent call (versionNotifyEvents).
	notified []NotifyEventInput
}

func TestRemediation(t *testing.T) { suite.Run(t, new(RemediationSuite)) }

func (s *RemediationSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	registerStubs(s.env)
	registerRemediationParent(s.env)
	mockTrust(s.env, trustSnapshot(s.T()))
	s.notified = nil
	s.env.OnActivity(ActivityNotifyEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, in NotifyEventInput) (NotifyEventOutput, error) {
		s.notified = append(s.notified, in)
		return NotifyEventOutput{}, nil
	})
	s.in = s.input()
}

// input is a remediation requested by bob (verified).
func (s *RemediationSuite) input() RemediationInput {
	return RemediationInput{ID: "rem-1", RunID: "r1", Account: Account{ID: "111111111111"}, Guardrail: sgGuardrail,
		Finding: nonCompliant("111111111111"), Policy: policy, RequestedBy: "bob",
		Requester: &identity.Principal{Name: "bob", Subject: "sub-bob", Issuer: testIssuer, TokenID: "start-token"}}
}

// vote sends name's vote with a fresh token bound to this remediation, the
// decision and its plan, at delay, and records whether it was refused.
func (s *RemediationSuite) vote(delay time.Duration, update, name, reason string, refused *error) {
	sendVote(s.T(), s.env, s.in.ID, delay, update, func(now time.Time) VoteRequest {
		return VoteRequest{Token: mintVoteToken(s.T(), now, name, s.in, update), RemediationID: s.in.ID,
			ChangeDigest: PlannedChangeDigest(s.in), Approver: name, Reason: reason}
	}, &voteResult{err: refused})
}

func (s *RemediationSuite) execute() {
	s.env.ExecuteWorkflow(remediationParent, s.in)
	s.Require().True(s.env.IsWorkflowCompleted())
}

func (s *RemediationSuite) TestValidatorAndApproval() {
	s.in.Policy.Approvers = []string{"alice", "bob", "carol"}
	s.in.Policy.Quorum = 2
	var outsider, self, noReason, alice, twice, carol error
	s.vote(time.Minute, UpdateApprove, "mallory", "x", &outsider)
	s.vote(2*time.Minute, UpdateApprove, "bob", "mine", &self)
	s.vote(3*time.Minute, UpdateApprove, "alice", " ", &noReason)
	s.vote(4*time.Minute, UpdateApprove, "alice", "ok", &alice)
	s.vote(5*time.Minute, UpdateApprove, "alice", "again", &twice)
	s.vote(6*time.Minute, UpdateApprove, "carol", "second", &carol)

	var applied ApplyInput
	s.env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in ApplyInput) (ApplyOutput, error) {
			applied = in
			return ApplyOutput{Changed: true, Calls: []string{"ec2:RevokeSecurityGroupIngress sg-1"}}, nil
		}).Once()
	s.env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(CheckOutput{Findings: []Finding{{Resource: s.in.Finding.Resource, Status: StatusCompliant}}}, nil)

	s.execute()
	s.Require().NoError(s.env.GetWorkflowError())
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))

	s.ErrorContains(outsider, `"mallory" (verified: mallory (sub sub-mallory at `+testIssuer+`)) is not an approver`)
	s.Equal(identity.ReasonNotInPolicy, identity.ReasonOf(outsider))
	s.ErrorContains(self, "separation of duties")
	s.Equal(identity.ReasonSeparation, identity.ReasonOf(self))
	s.ErrorContains(noReason, "reason is required")
	s.NoError(alice)
	s.ErrorContains(twice, `"alice" already voted`)
	s.NoError(carol)
	s.Equal(RemRemediated, st.Status)
	s.Equal("alice", applied.SourceIdentity, "the first approver is the session's SourceIdentity")
	s.True(strings.HasPrefix(applied.IdempotencyKey, "rem-1-"), "the key is this execution's: %s", applied.IdempotencyKey)
	s.Require().Len(st.Votes, 2)
	s.Equal("ok", st.Votes[0].Reason)
	s.Equal("alice", st.Votes[0].Approver)
	s.Equal("sub-alice", st.Votes[0].Subject)
	s.Equal(testIssuer, st.Votes[0].Issuer)
	s.NotEmpty(st.Votes[0].TokenID)
	s.Equal(PlannedChangeDigest(s.in), st.Votes[0].ChangeDigest)
	s.True(st.Verified)
	s.Equal(s.in.Requester, st.Requester)
}

func (s *RemediationSuite) TestRejectAppliesNothing() {
	var err error
	s.vote(time.Hour, UpdateReject, "alice", "not during the freeze", &err)
	s.execute()
	s.Require().NoError(s.env.GetWorkflowError())
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.NoError(err)
	s.Equal(RemRejected, st.Status)
	s.Require().Len(st.Votes, 1)
	s.False(st.Votes[0].Approve)
	s.env.AssertNotCalled(s.T(), ActivityApplyRemediation, mock.Anything, mock.Anything)
}

func (s *RemediationSuite) TestTimeoutExpiresAndLateVoteRefused() {
	// The workflow stays open past its deadline (a slow notification, as a
	// worker outage at the deadline would on a real server), so the late
	// vote reaches the validator, which refuses it for the deadline.
	s.env = s.NewTestWorkflowEnvironment()
	registerStubs(s.env)
	registerRemediationParent(s.env)
	mockTrust(s.env, trustSnapshot(s.T()))
	s.env.OnActivity(ActivityNotifyEvent, mock.Anything, mock.Anything).Return(NotifyEventOutput{}, nil).After(73 * time.Hour)
	var late error
	s.vote(72*time.Hour+30*time.Minute, UpdateApprove, "alice", "late", &late)
	s.execute()
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal(RemExpired, st.Status)
	s.ErrorContains(late, "the approval deadline")
	s.Empty(st.Votes)
	s.env.AssertNotCalled(s.T(), ActivityApplyRemediation, mock.Anything, mock.Anything)
}

func (s *RemediationSuite) TestEscalation() {
	s.in.Policy.OnTimeout, s.in.Policy.EscalateTo = "escalate", "ciso"
	s.in.Escalations = []guardrails.ApprovalPolicy{{Name: "ciso", Approvers: []string{"carol"}, Quorum: 1, Timeout: time.Hour, OnTimeout: "expire"}}
	var early, escalated error
	s.vote(time.Hour, UpdateApprove, "carol", "too early", &early)
	s.vote(72*time.Hour+30*time.Minute, UpdateApprove, "carol", "escalated to me", &escalated)
	s.env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil).Once()
	s.env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(CheckOutput{}, nil)
	s.execute()
	var st RemediationState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.ErrorContains(early, `"carol" (verified: carol (sub sub-carol at `+testIssuer+`)) is not an approver under policy "security-team"`)
	s.NoError(escalated)
	s.Equal("ciso", st.Policy)
	s.Equal(RemRemediated, st.Status)
}

// rolloutSet is a compiled set: its digest matches its content, or the
// governance floor refuses it.
func rolloutSet(waves ...guardrails.Wave) guardrails.Set {
	set := guardrails.Set{Guardrails: []guardrails.Guardrail{sgGuardrail},
		Targets:          []guardrails.Target{{Name: "prod", OUs: []string{"Root/Prod"}}, {Name: "dev", OUs: []string{"Root/Dev"}}},
		ApprovalPolicies: []guardrails.ApprovalPolicy{policy}}
	if len(waves) > 0 {
		set.Rollout = &guardrails.Rollout{Name: "r", Concurrency: 2, Waves: waves}
	}
	return seal(set)
}

// seal sets the digest of a set changed after rolloutSet.
func seal(set guardrails.Set) guardrails.Set {
	set.Digest = set.ComputeDigest()
	return set
}

func accounts(n int, ou string, first int) []Account {
	var out []Account
	for i := 0; i < n; i++ {
		out = append(out, Account{ID: fmt.Sprintf("%012d", first+i), Status: "ACTIVE", OUPath: ou})
	}
	return out
}

func TestRolloutStopsWhenWaveSpendsItsBudget(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	org := append(accounts(3, "Root/Dev", 1), accounts(3, "Root/Prod", 100)...)
	org = append(org, Account{ID: "999999999999", Status: "SUSPENDED", OUPath: "Root/Dev"})
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil)
	started := map[string]bool{}
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
		started[in.Account.ID] = true
		if in.Account.ID == "000000000002" {
			return BaselineResult{}, temporal.NewNonRetryableApplicationError("ec2:DescribeSecurityGroups in account 000000000002: AccessDenied", "AccessDenied", nil)
		}
		return BaselineResult{AccountID: in.Account.ID, Counts: AccountResult{Compliant: 1}}, nil
	})
	set := rolloutSet(guardrails.Wave{Name: "dev", Target: "dev"}, guardrails.Wave{Name: "prod", Target: "prod"})
	mockTrust(env, trustSnapshot(t))
	tok := mintToken(t, env.Now(), "bob", identity.StartNonce("r1", string(ModeApply), set.Digest))
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, RequestedBy: "bob", RequesterToken: tok})

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, "FailureBudgetExceeded", app.Type())
	require.Contains(t, app.Error(), `wave "dev": 1 of 3 accounts failed`)
	var res RolloutResult
	require.NoError(t, app.Details(&res))
	require.Equal(t, "stopped", res.Progress.State)
	require.Len(t, res.Progress.Failed, 1)
	require.Contains(t, res.Progress.Failed[0].Error, "AccessDenied")
	require.Len(t, res.Progress.Skipped, 1, "suspended accounts are reported")
	for _, a := range accounts(3, "Root/Prod", 100) {
		require.False(t, started[a.ID], "prod wave must not start after dev spent its budget")
	}
}

func TestRolloutContinuesAsNewWithoutLosingOrRepeating(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	org := accounts(7, "Root/Prod", 1)
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil).Once()
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
		return BaselineResult{AccountID: in.Account.ID}, nil
	})
	mockTrust(env, trustSnapshot(t))
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: rolloutSet(), Mode: ModeCheck, ContinueAsNewEvery: 3, Concurrency: 2})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "%v", err)

	// Run the continuation the way the server would, until it completes.
	seen := map[string]int{}
	runs := 1
	for can != nil {
		var next RolloutInput
		require.NoError(t, converterFor().FromPayloads(can.Input, &next))
		require.NotNil(t, next.State)
		env = ts.NewTestWorkflowEnvironment()
		registerStubs(env)
		// A continued run: the server sets the run it continues.
		env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", runs))
		env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
		env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
			seen[in.Account.ID]++
			return BaselineResult{AccountID: in.Account.ID}, nil
		})
		env.ExecuteWorkflow(OrgRollout, next)
		runs++
		can = nil
		if err := env.GetWorkflowError(); err != nil {
			require.True(t, errors.As(err, &can), "%v", err)
		}
	}
	var res RolloutResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 3, runs)
	require.Equal(t, 7, res.Progress.Waves[0].Succeeded, "every account exactly once across runs")
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	require.Len(t, seen, 4, "the first run did 3, the others 4")
	require.Equal(t, "completed", res.Progress.State)
	env.AssertNotCalled(t, ActivityLoadTrust, mock.Anything, mock.Anything)
}

func TestRolloutPauseAndResume(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: accounts(4, "Root/Prod", 1)}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).After(time.Minute).Return(BaselineResult{}, nil)
	mockTrust(env, trustSnapshot(t))
	var paused Progress
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPause, nil) }, 30*time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryProgress)
		require.NoError(t, err)
		require.NoError(t, v.Get(&paused))
		env.SignalWorkflow(SignalResume, nil)
	}, 10*time.Minute)
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: rolloutSet(), Mode: ModeCheck, Concurrency: 1})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, "paused", paused.State)
	require.Equal(t, 1, paused.Waves[0].Succeeded, "the running account finished, no new one started")
	var res RolloutResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 4, res.Progress.Waves[0].Succeeded)
}

// 10,000 accounts: each continue-as-new carries only what is left to do and
// sums, so its input stays far below Temporal's 2 MB payload limit, and the
// last run's result is as small.
func TestTenThousandAccountsStayWithinPayloadLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 mocked children")
	}
	var ts testsuite.WorkflowTestSuite
	org := accounts(10000, "Root/Workloads/Prod", 1)
	for i := range org {
		org[i].Name = fmt.Sprintf("workload-account-%05d", i)
		org[i].Email = fmt.Sprintf("aws+workload-%05d@example.com", i)
		org[i].OUIDs = []string{"r-abcd", "ou-abcd-11111111", "ou-abcd-22222222"}
	}
	in := RolloutInput{RunID: "big", Set: rolloutSet(), Mode: ModeCheck, Concurrency: 50}
	runs, maxInput := 0, 0
	var res RolloutResult
	for {
		env := ts.NewTestWorkflowEnvironment()
		registerStubs(env)
		mockTrust(env, trustSnapshot(t))
		if in.State != nil {
			env.SetContinuedExecutionRunID(fmt.Sprintf("big-%d", runs))
		}
		env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: org}, nil)
		env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
		env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
			if in.Account.ID[len(in.Account.ID)-3:] == "777" {
				return BaselineResult{}, temporal.NewNonRetryableApplicationError("AccessDenied", "AccessDenied", nil)
			}
			return BaselineResult{Counts: AccountResult{Compliant: 3, NonCompliant: 1}}, nil
		})
		env.ExecuteWorkflow(OrgRollout, in)
		runs++
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); errors.As(err, &can) {
			maxInput = max(maxInput, can.Input.Size())
			require.NoError(t, converterFor().FromPayloads(can.Input, &in))
			continue
		}
		require.NoError(t, env.GetWorkflowError())
		require.NoError(t, env.GetWorkflowResult(&res))
		break
	}
	require.Equal(t, 20, runs, "500 accounts per run")
	require.Less(t, maxInput, 2<<20)
	t.Logf("largest continue-as-new input: %d bytes", maxInput)
	require.Equal(t, 9990, res.Progress.Waves[0].Succeeded)
	require.Equal(t, 10, res.Progress.Waves[0].Failed)
	require.Len(t, res.Progress.Failed, 10)
	require.Equal(t, 9990*3, res.Progress.Totals.Compliant)
}

func converterFor() interface {
	FromPayloads(*commonpb.Payloads, ...any) error
} {
	return converter.GetDefaultDataConverter()
}

func TestExpiredExemptionsAreReportedAndIgnored(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	now := env.Now()
	acct := Account{ID: "000000000001", Status: "ACTIVE", OUPath: "Root/Prod"}
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: []Account{acct}}, nil)
	onChecks(env, finds(CheckOutput{Findings: []Finding{nonCompliant(acct.ID)}}))
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	set := rolloutSet()
	set.Exemptions = []guardrails.Exemption{{Name: "legacy", Guardrail: sgGuardrail.ID, Accounts: []string{acct.ID}, Owner: "team-a", Expires: now.Add(-time.Hour)}}
	set.ExpiredExemptions = []guardrails.Exemption{{Name: "older", Guardrail: sgGuardrail.ID, Owner: "team-b", Expires: now.Add(-48 * time.Hour)}}
	mockTrust(env, trustSnapshot(t))
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: seal(set), Mode: ModeCheck})
	require.NoError(t, env.GetWorkflowError())
	var res RolloutResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Progress.ExpiredExemptions, 2)
	require.Contains(t, res.Progress.ExpiredExemptions[1], "legacy")
	require.Equal(t, 1, res.Progress.Totals.NonCompliant, "an expired exemption does not exempt")
	require.Zero(t, res.Progress.Totals.Exempted)
}

func TestLiveExemptionExempts(t *testing.T) {
	now := time.Now()
	a := Account{ID: "000000000001", OUPath: "Root/Prod/Team"}
	f := nonCompliant(a.ID)
	e := guardrails.Exemption{Name: "x", Guardrail: sgGuardrail.ID, OUs: []string{"Root/Prod"}, Resources: []string{"arn:aws:ec2:*:*:security-group/sg-*"}, Expires: now.Add(time.Hour)}
	_, ok := Exempted([]guardrails.Exemption{e}, a, f, now)
	require.True(t, ok)
	e.OUs = []string{"Root/Dev"}
	_, ok = Exempted([]guardrails.Exemption{e}, a, f, now)
	require.False(t, ok, "scoped to another OU")
}
