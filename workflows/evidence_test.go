package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// A rollout writes its manifest twice (planned, then completed with the
// counts), and each account's baseline ends with one FinishBaseline
// naming it, after the baseline's result is final, instead of ReleaseRun.
func TestRolloutAndBaselinesRecordEvidence(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: accounts(3, "Root/Prod", 1)}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	mockTrust(env, trustSnapshot(t))
	onChecks(env, finds(CheckOutput{Findings: []Finding{{GuardrailID: sgGuardrail.ID, Resource: "sg-1", Status: StatusCompliant}}}))
	var runs []RecordRunInput
	env.OnActivity(ActivityRecordRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in RecordRunInput) error {
		runs = append(runs, in)
		return nil
	})
	finished := map[string]int{}
	env.OnActivity(ActivityFinishBaseline, mock.Anything, mock.Anything).Return(func(_ context.Context, in FinishBaselineInput) (FinishBaselineOutput, error) {
		finished[in.Account.ID]++
		require.Equal(t, "r1", in.RunID)
		require.Equal(t, ModeCheck, in.Mode)
		return FinishBaselineOutput{Records: 1}, nil
	})
	env.OnActivity(ActivityReleaseRun, mock.Anything, mock.Anything).Return(func(context.Context, ReleaseRunInput) error {
		t.Error("ReleaseRun called: FinishBaseline releases the run's credentials now")
		return nil
	}).Maybe()
	set := rolloutSet()
	set.Source = "guardrails/packs/baseline"
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: set, Mode: ModeCheck, Concurrency: 2, RequestedBy: "ccoe"})
	require.NoError(t, env.GetWorkflowError())

	require.Len(t, runs, 2)
	require.Equal(t, "running", runs[0].Status)
	require.Equal(t, "baseline", runs[0].Pack)
	require.False(t, runs[0].StartedAt.IsZero())
	require.Nil(t, runs[0].Counts)
	require.Equal(t, "completed", runs[1].Status)
	require.Equal(t, runs[0].StartedAt, runs[1].StartedAt)
	require.False(t, runs[1].FinishedAt.Before(runs[1].StartedAt))
	require.NotNil(t, runs[1].Counts)
	require.Len(t, finished, 3, "every account: %v", finished)
	for acct, n := range finished {
		require.Equal(t, 1, n, acct)
	}
}

// A store that keeps refusing does not fail the account: its result says
// so in EvidenceError.
func TestEvidenceErrorDoesNotFailTheAccount(t *testing.T) {
	env := baselineEnv(t)
	onChecks(env, finds(CheckOutput{Findings: []Finding{{GuardrailID: sgGuardrail.ID, Resource: "sg-1", Status: StatusCompliant}}}))
	attempts := 0
	env.OnActivity(ActivityFinishBaseline, mock.Anything, mock.Anything).Return(func(context.Context, FinishBaselineInput) (FinishBaselineOutput, error) {
		attempts++
		return FinishBaselineOutput{}, errors.New("s3:PutObject: service unavailable")
	})
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: Account{ID: "111111111111"}, Guardrails: []guardrails.Guardrail{sgGuardrail}, Mode: ModeCheck})
	require.NoError(t, env.GetWorkflowError())
	var res BaselineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "compliant", res.Outcome)
	require.Contains(t, res.EvidenceError, "service unavailable")
	require.Equal(t, 10, attempts, "retried up to the policy's 10 attempts")
}

// A remediation records itself once, when it ends, whatever the ending.
func TestRemediationRecordsItsEnding(t *testing.T) {
	for _, tc := range []struct {
		name string
		vote string
		want string
	}{{"rejected", UpdateReject, RemRejected}, {"expired", "", RemExpired}} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			registerStubs(env)
			registerRemediationParent(env)
			mockTrust(env, trustSnapshot(t))
			env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(nil).Maybe()
			var recorded []string
			env.OnActivity(ActivityRecordRemediation, mock.Anything, mock.Anything).Return(func(_ context.Context, in RecordRemediationInput) error {
				recorded = append(recorded, in.ID)
				return nil
			})
			in := RemediationInput{ID: "rem-1", RunID: "r1", Account: Account{ID: "111111111111"}, Guardrail: sgGuardrail,
				Finding: nonCompliant("111111111111"), Policy: policy, RequestedBy: "bob",
				Requester: &identity.Principal{Name: "bob", Subject: "sub-bob", Issuer: testIssuer, TokenID: "start-token"}}
			if tc.vote != "" {
				sendVote(t, env, in.ID, time.Minute, tc.vote, func(now time.Time) VoteRequest {
					return VoteRequest{Token: mintVoteToken(t, now, "alice", in, tc.vote), RemediationID: in.ID,
						ChangeDigest: PlannedChangeDigest(in), Approver: "alice", Reason: "no"}
				}, &voteResult{})
			}
			env.ExecuteWorkflow(remediationParent, in)
			require.NoError(t, env.GetWorkflowError())
			var st RemediationState
			require.NoError(t, env.GetWorkflowResult(&st))
			require.Equal(t, tc.want, st.Status)
			require.Equal(t, []string{"rem-1"}, recorded)
		})
	}
}
