package workflows

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/internal/identity"
)

// A rollout writes its manifest twice (planned, then completed with the
// counts) and each account's finished baseline once, naming its execution.
func TestRolloutRecordsEvidence(t *testing.T) {
	env, runs, recorded := evidenceRollout(t, nil)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, *runs, 2)
	first, last := (*runs)[0], (*runs)[1]
	require.Equal(t, "running", first.Status)
	require.Equal(t, "baseline", first.Pack)
	require.False(t, first.StartedAt.IsZero())
	require.Nil(t, first.Counts)
	require.Equal(t, "completed", last.Status)
	require.Equal(t, first.StartedAt, last.StartedAt)
	require.False(t, last.FinishedAt.Before(last.StartedAt))
	require.NotNil(t, last.Counts)
	require.Len(t, *recorded, 3, "every account: %v", *recorded)
	for key, in := range *recorded {
		require.Equal(t, AccountBaselineID("r1", key), in.WorkflowID)
		require.NotEmpty(t, in.WorkflowRunID)
		require.Equal(t, ModeCheck, in.Mode)
	}
}

// A store that keeps refusing does not fail the accounts: the rollout
// completes and its progress says how many were not recorded.
func TestEvidenceErrorDoesNotFailTheRollout(t *testing.T) {
	var attempts atomic.Int32
	env, _, _ := evidenceRollout(t, func() error {
		attempts.Add(1)
		return errors.New("s3:PutObject: service unavailable")
	})
	require.NoError(t, env.GetWorkflowError())
	var res RolloutResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 3, res.Progress.Waves[0].Succeeded)
	require.Equal(t, 3, res.Progress.EvidenceMissed)
	require.Contains(t, res.Progress.EvidenceError, "service unavailable")
	require.Equal(t, int32(3*10), attempts.Load(), "retried up to the policy's 10 attempts per account")
}

func evidenceRollout(t *testing.T, fail func() error) (*testsuite.TestWorkflowEnvironment, *[]RecordRunInput, *map[string]RecordBaselineInput) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: accounts(3, "Root/Prod", 1)}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	mockTrust(env, trustSnapshot(t))
	onChecks(env, finds(CheckOutput{Findings: []Finding{{GuardrailID: sgGuardrail.ID, Resource: "sg-1", Status: StatusCompliant}}}))
	// The test environment runs activities on goroutines of their own.
	var mu sync.Mutex
	runs := &[]RecordRunInput{}
	env.OnActivity(ActivityRecordRun, mock.Anything, mock.Anything).Return(func(_ context.Context, in RecordRunInput) error {
		mu.Lock()
		defer mu.Unlock()
		*runs = append(*runs, in)
		return nil
	})
	recorded := &map[string]RecordBaselineInput{}
	env.OnActivity(ActivityRecordBaseline, mock.Anything, mock.Anything).Return(func(_ context.Context, in RecordBaselineInput) (RecordBaselineOutput, error) {
		if fail != nil {
			return RecordBaselineOutput{}, fail()
		}
		mu.Lock()
		defer mu.Unlock()
		if _, dup := (*recorded)[in.Key]; dup {
			t.Errorf("account %s recorded twice", in.Key)
		}
		(*recorded)[in.Key] = in
		return RecordBaselineOutput{Records: 1}, nil
	})
	set := rolloutSet()
	set.Source = "guardrails/packs/baseline"
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: set, Mode: ModeCheck, Concurrency: 2, RequestedBy: "ccoe"})
	return env, runs, recorded
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
			var mu sync.Mutex
			var recorded []string
			env.OnActivity(ActivityRecordRemediation, mock.Anything, mock.Anything).Return(func(_ context.Context, in RecordRemediationInput) error {
				mu.Lock()
				defer mu.Unlock()
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
