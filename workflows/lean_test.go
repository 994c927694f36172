package workflows

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// configRuleGuardrail depends on the Config recorder: it is checked in
// the second stage of an apply.
func configRuleGuardrail() guardrails.Guardrail {
	return guardrails.Guardrail{ID: "config_rule.ssh", Kind: guardrails.KindConfigRule, Regions: []string{"us-east-1"},
		Remediation: guardrails.Remediation{Mode: guardrails.ModeAuto}, ConfigRule: &guardrails.ConfigRule{RuleName: "ssh"}}
}

// regionChecks records the CheckAccountRegion calls of a test.
type regionChecks struct {
	mu  sync.Mutex
	ins []CheckAccountRegionInput
}

func (r *regionChecks) add(in CheckAccountRegionInput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ins = append(r.ins, in)
}

// A baseline checks each stage with one activity per region, naming
// compact guardrails by the set's digest; the checks after an apply carry
// the next epoch; applies and re-checks name their guardrail by digest too.
func TestLeanBaselineChecksOncePerRegionAndStage(t *testing.T) {
	env := baselineEnv(t)
	acct := Account{ID: "111111111111", Status: "ACTIVE"}
	gs := []guardrails.Guardrail{CompactGuardrail(autoGuardrail("us-east-1", "eu-west-1")), CompactGuardrail(configRuleGuardrail())}
	var rec regionChecks
	env.OnActivity(ActivityCheckAccountRegion, mock.Anything, mock.Anything).Return(func(_ context.Context, in CheckAccountRegionInput) (CheckAccountRegionOutput, error) {
		rec.add(in)
		var out CheckAccountRegionOutput
		for _, id := range in.GuardrailIDs {
			f := Finding{GuardrailID: id, AccountID: acct.ID, Region: in.Region, Resource: id + "-" + in.Region, Status: StatusCompliant}
			if id == sgGuardrail.ID && in.Region == "us-east-1" {
				f = nonCompliant(acct.ID)
			}
			out.Results = append(out.Results, GuardrailResult{GuardrailID: id, Findings: []Finding{f}})
		}
		return out, nil
	})
	var applied []ApplyInput
	env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(func(_ context.Context, in ApplyInput) (ApplyOutput, error) {
		applied = append(applied, in)
		return ApplyOutput{Changed: true}, nil
	})
	var rechecks []CheckInput
	env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(func(_ context.Context, in CheckInput) (CheckOutput, error) {
		rechecks = append(rechecks, in)
		return CheckOutput{Findings: []Finding{{Resource: in.Resource, Status: StatusCompliant}}}, nil
	})
	env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: acct, Guardrails: gs, Mode: ModeApply, Digest: "d1", Compact: true})
	require.NoError(t, env.GetWorkflowError())
	var res BaselineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "compliant", res.Outcome)
	require.Equal(t, 1, res.Counts.Remediated)
	require.Equal(t, 2, res.Counts.Compliant)

	require.Len(t, rec.ins, 3)
	require.ElementsMatch(t, []CheckAccountRegionInput{
		{RunID: "r1", AccountID: acct.ID, Region: "us-east-1", Digest: "d1", GuardrailIDs: []string{sgGuardrail.ID}},
		{RunID: "r1", AccountID: acct.ID, Region: "eu-west-1", Digest: "d1", GuardrailIDs: []string{sgGuardrail.ID}},
	}, rec.ins[:2], "the first stage, per region")
	require.Equal(t, CheckAccountRegionInput{RunID: "r1", AccountID: acct.ID, Region: "us-east-1", Digest: "d1", GuardrailIDs: []string{"config_rule.ssh"}, Epoch: 1},
		rec.ins[2], "the second stage, after one change")
	require.Len(t, applied, 1)
	require.Equal(t, "d1", applied[0].Digest)
	require.Equal(t, sgGuardrail.ID, applied[0].Guardrail.ID)
	require.Nil(t, applied[0].Guardrail.Control, "a reference, not the definition")
	require.Len(t, rechecks, 1)
	require.Equal(t, "d1", rechecks[0].Digest)
	require.NotEmpty(t, rechecks[0].Resource)
}

// The per-region checks record what the per-guardrail checks recorded:
// the same items, counts, errors and outcome, in the same order.
func TestLeanBaselineRecordsWhatCheckGuardrailDid(t *testing.T) {
	other := autoGuardrail("us-east-1", "eu-west-1", "af-south-1")
	other.ID = "control.other"
	denied := autoGuardrail("eu-west-1")
	denied.ID = "control.denied"
	gs := []guardrails.Guardrail{autoGuardrail("us-east-1", "eu-west-1"), other, denied, configRuleGuardrail()}
	check := func(_ context.Context, in CheckInput) (CheckOutput, error) {
		switch {
		case in.Guardrail.ID == "control.denied":
			return CheckOutput{}, temporal.NewNonRetryableApplicationError("ec2:DescribeVpcs in eu-west-1: AccessDenied", "AccessDenied", nil)
		case in.Region == "af-south-1":
			return CheckOutput{}, temporal.NewNonRetryableApplicationError("OptInRequired", "RegionNotEnabled", nil)
		case in.Guardrail.ID == "config_rule.ssh":
			return CheckOutput{NotChecked: "no implementation"}, nil
		case in.Region == "us-east-1" && in.Resource == "":
			f := nonCompliant("111111111111")
			f.GuardrailID = in.Guardrail.ID
			return CheckOutput{Findings: []Finding{f}}, nil
		}
		return CheckOutput{Findings: []Finding{{GuardrailID: in.Guardrail.ID, Resource: "r-" + in.Region, Status: StatusCompliant}}}, nil
	}
	run := func(lean bool, mode Mode) BaselineResult {
		env := baselineEnv(t)
		if !lean {
			env.OnGetVersion(versionLeanChecks, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		onChecks(env, check)
		env.OnActivity(ActivityApplyRemediation, mock.Anything, mock.Anything).Return(ApplyOutput{Changed: true}, nil)
		env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: Account{ID: "111111111111", Status: "ACTIVE"}, Guardrails: gs, Mode: mode})
		app := appError(t, env.GetWorkflowError())
		var res BaselineResult
		require.NoError(t, app.Details(&res))
		if lean {
			env.AssertNotCalled(t, ActivityCheckGuardrail, mock.Anything, mock.MatchedBy(func(in CheckInput) bool { return in.Resource == "" }))
		} else {
			env.AssertNotCalled(t, ActivityCheckAccountRegion, mock.Anything, mock.Anything)
		}
		return res
	}
	for _, mode := range []Mode{ModeCheck, ModeApply} {
		before, after := run(false, mode), run(true, mode)
		require.Equal(t, before, after, mode)
		require.Equal(t, "failed", after.Outcome)
		require.Equal(t, []string{"control.denied in eu-west-1: ec2:DescribeVpcs in eu-west-1: AccessDenied"}, after.Errors)
		require.Equal(t, 1, after.Counts.NotApplicable)
		require.Equal(t, 1, after.Counts.NotChecked)
	}
}

// A region's activity that fails (its retries spent, or its last attempt
// timed out) leaves what it finished: those results are kept, and only
// the rest are errors.
func TestLeanBaselineKeepsWhatAFailedCheckFinished(t *testing.T) {
	other := autoGuardrail("us-east-1")
	other.ID = "control.other"
	gs := []guardrails.Guardrail{autoGuardrail("us-east-1"), other}
	for name, fail := range map[string]func(done CheckAccountRegionOutput) error{
		"retries spent": func(done CheckAccountRegionOutput) error {
			return temporal.NewApplicationErrorWithOptions("account 111111111111 region us-east-1: 1 check(s) to retry: control.other: Throttling",
				"ChecksToRetry", temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{done}})
		},
		"timed out": func(done CheckAccountRegionOutput) error {
			return temporal.NewHeartbeatTimeoutError(done)
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := baselineEnv(t)
			env.OnActivity(ActivityCheckAccountRegion, mock.Anything, mock.Anything).Return(CheckAccountRegionOutput{}, fail(CheckAccountRegionOutput{Results: []GuardrailResult{
				{GuardrailID: sgGuardrail.ID, Findings: []Finding{{GuardrailID: sgGuardrail.ID, Resource: "sg-1", Status: StatusCompliant}}},
			}}))
			env.ExecuteWorkflow("TestBaselineParent", BaselineInput{RunID: "r1", Account: Account{ID: "111111111111", Status: "ACTIVE"}, Guardrails: gs, Mode: ModeCheck})
			app := appError(t, env.GetWorkflowError())
			var res BaselineResult
			require.NoError(t, app.Details(&res))
			require.Equal(t, 1, res.Counts.Compliant, "the finished check")
			require.Len(t, res.Errors, 1)
			require.True(t, strings.HasPrefix(res.Errors[0], "control.other in us-east-1: "), res.Errors[0])
		})
	}
}

// rolloutWithMockedBaselines runs a rollout of an organization wave and one
// member account whose baselines are mocked: the organization's takes an
// hour. It returns the child inputs and when each baseline ended.
func rolloutWithMockedBaselines(t *testing.T, mode Mode, workflowID string) (ins []BaselineInput, ended map[string]time.Time) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	mockTrust(env, trustSnapshot(t))
	acct := Account{ID: "000000000001", Status: "ACTIVE", OUPath: "Root/Prod", OUIDs: []string{"r-1", "ou-prod"}}
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: []Account{acct}}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	ended = map[string]time.Time{}
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in BaselineInput) (BaselineResult, error) {
		ins = append(ins, in)
		if in.Org {
			if err := workflow.Sleep(ctx, time.Hour); err != nil {
				return BaselineResult{}, err
			}
		}
		ended[in.Account.Name+in.Account.ID] = workflow.Now(ctx)
		return BaselineResult{AccountID: in.Account.ID, Outcome: "compliant"}, nil
	})
	set := rolloutSet()
	scp := guardrails.Guardrail{ID: "scp.deny_leave", Kind: guardrails.KindSCP, SCP: &guardrails.SCP{PolicyName: "deny-leave", Policy: "{}", AttachTo: []string{"root"}}}
	report := sgGuardrail
	report.ID, report.Remediation = "control.reported", guardrails.Remediation{Mode: guardrails.ModeReport}
	set.Guardrails = append(set.Guardrails, scp, report)
	set.Exemptions = []guardrails.Exemption{
		{Name: "prod-sg", Guardrail: sgGuardrail.ID, OUs: []string{"Root/Prod"}},
		{Name: "dev-sg", Guardrail: sgGuardrail.ID, OUs: []string{"Root/Dev"}},
		{Name: "any", Guardrail: "*", Accounts: []string{acct.ID}},
	}
	if workflowID != "" {
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID})
	}
	set = seal(set)
	var token string
	if mode == ModeApply {
		token = mintToken(t, env.Now(), "bob", identity.StartNonce("r1", string(mode), set.Digest))
	}
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: set, Mode: mode, RequesterToken: token})
	require.NoError(t, env.GetWorkflowError())
	return ins, ended
}

// In check (and plan) mode the member accounts do not wait for the
// organization wave; an apply does.
func TestMemberChecksDoNotWaitForTheOrganizationWave(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		overlap bool
	}{{ModeCheck, true}, {ModePlan, true}, {ModeApply, false}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			_, ended := rolloutWithMockedBaselines(t, tc.mode, "")
			require.Len(t, ended, 2)
			org, member := ended["organization1"], ended["000000000001"]
			if tc.overlap {
				require.True(t, member.Before(org), "the member's baseline ended while the organization's ran")
			} else {
				require.False(t, member.Before(org), "the member's baseline started after the organization's")
			}
		})
	}
}

// A rollout that the activities can find (its workflow ID is RolloutID)
// gives its children guardrail references, the exemptions that can cover
// the account, and approval policies only when a remediation may be
// requested; an apply keeps the definition of approval-gated guardrails.
func TestRolloutGivesChildrenCompactInputs(t *testing.T) {
	ins, _ := rolloutWithMockedBaselines(t, ModeCheck, RolloutID("r1"))
	require.Len(t, ins, 2)
	for _, in := range ins {
		require.True(t, in.Compact)
		require.NotEmpty(t, in.Digest)
		require.Empty(t, in.Policies)
		for _, g := range in.Guardrails {
			require.True(t, isCompact(g), g.ID)
			require.NotEmpty(t, g.Regions, g.ID)
		}
	}
	member := memberInput(t, ins)
	require.Equal(t, []string{sgGuardrail.ID, "control.reported"}, guardrailIDs(member.Guardrails))
	var exemptions []string
	for _, e := range member.Exemptions {
		exemptions = append(exemptions, e.Name)
	}
	require.Equal(t, []string{"prod-sg", "any"}, exemptions)

	ins, _ = rolloutWithMockedBaselines(t, ModeApply, RolloutID("r1"))
	member = memberInput(t, ins)
	require.NotEmpty(t, member.Policies)
	require.NotNil(t, member.Guardrails[0].Control, "approval-gated: a remediation records the definition")
	require.True(t, isCompact(member.Guardrails[1]), "reported only")

	// Elsewhere (a workflow ID the activities cannot derive from the run
	// ID) children carry the definitions as before.
	ins, _ = rolloutWithMockedBaselines(t, ModeCheck, "")
	member = memberInput(t, ins)
	require.False(t, member.Compact)
	require.NotNil(t, member.Guardrails[0].Control)
}

// memberInput is the input of the one member account's baseline (the
// organization's may start first or not: in check mode they overlap).
func memberInput(t *testing.T, ins []BaselineInput) BaselineInput {
	t.Helper()
	for _, in := range ins {
		if !in.Org {
			return in
		}
	}
	t.Fatal("no member baseline")
	return BaselineInput{}
}

func guardrailIDs(gs []guardrails.Guardrail) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// preLeanHistories were recorded before versionLeanChecks.
var preLeanHistories = []string{
	"account_baseline.json", "account_baseline-v1.json", "account_baseline-v2-trust.json", "account_baseline-v3-safety.json",
	"org_rollout.json", "org_rollout-v1.json", "org_rollout-v2-trust.json", "org_rollout-v3-safety.json",
}

// Histories recorded before versionLeanChecks replay with the per-guardrail
// checks they scheduled: a baseline running when a worker with the
// per-region checks took over goes on checking guardrail by guardrail, and
// a rollout goes on waiting for its organization wave with full inputs.
func TestReplayHistoriesFromBeforeLeanChecks(t *testing.T) {
	for _, name := range preLeanHistories {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join("testdata", "histories", name)
			scheduled := scheduledActivities(t, f)
			require.Zero(t, count(scheduled, ActivityCheckAccountRegion), "recorded before the change")
			if strings.HasPrefix(name, "account_baseline") {
				require.NotZero(t, count(scheduled, ActivityCheckGuardrail), "a baseline that checked guardrail by guardrail")
			}
			replay(t, f)
		})
	}
	// And one recorded with it (ORGGUARD_RECORD_HISTORIES=v4-lean): two
	// regions, two checks.
	f := filepath.Join("testdata", "histories", "account_baseline-v4-lean.json")
	scheduled := scheduledActivities(t, f)
	require.Equal(t, 2, count(scheduled, ActivityCheckAccountRegion), "one per region")
	require.Zero(t, count(scheduled, ActivityCheckGuardrail), "no per-guardrail checks")
	replay(t, f)
}

// scheduledActivities lists the activity types a recorded history scheduled.
func scheduledActivities(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var h struct {
		Events []struct {
			Attrs *struct {
				ActivityType struct{ Name string } `json:"activityType"`
			} `json:"activityTaskScheduledEventAttributes"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(b, &h))
	var out []string
	for _, ev := range h.Events {
		if ev.Attrs != nil {
			out = append(out, ev.Attrs.ActivityType.Name)
		}
	}
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
