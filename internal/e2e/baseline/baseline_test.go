// Package baseline runs the shipped baseline pack against the whole demo
// organization: plan lists a change for every drifted resource and changes
// nothing; apply, with the approvals granted, leaves every guardrail that
// can be remediated compliant. (Its own test binary: the S3 Control client
// reaches the simulator through HTTP_PROXY, which Go reads once per process.)
package baseline

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/e2e/harness"
	"github.com/orgguard/orgguard/workflows"
)

const pack = "../../../guardrails/packs/baseline"

func TestBaselinePackOnDemoOrganization(t *testing.T) {
	if testing.Short() {
		t.Skip("whole baseline against the demo organization")
	}
	ctx := context.Background()
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := harness.New(t, seed, harness.Options{HTTPProxy: true})
	c, run, writes := e.Client, e.CLI, e.Writes
	e.Login("bob", "alice")

	// plan: a readable change for every drifted resource, and no write.
	code, out := run("plan", pack, "--as", "bob")
	require.Equal(t, 1, code, out)
	require.NotContains(t, out, "FAILED", "every check runs against the simulator")
	require.Greater(t, strings.Count(out, "change: "), 100)
	require.Empty(t, writes(), "plan must not change anything")

	// apply, then grant every approval.
	code, out = run("apply", pack, "--as", "bob", "--reason", "baseline")
	require.Equal(t, 0, code, out)
	code, out = run("approvals", "list", "--json")
	require.Equal(t, 0, code, out)
	var pending []workflows.RemediationState
	require.NoError(t, json.Unmarshal([]byte(out), &pending))
	require.NotEmpty(t, pending)
	for _, p := range pending {
		code, out = run("approve", p.ID, "--as", "alice", "--reason", "baseline review")
		require.Equal(t, 0, code, out)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for _, p := range pending {
		var st workflows.RemediationState
		require.NoError(t, c.GetWorkflow(wctx, p.ID, "").Get(wctx, &st))
		require.Contains(t, []string{workflows.RemRemediated, workflows.RemNotVerified}, st.Status, "%s: %s", p.ID, st.Error)
	}

	// check again: what is still non-compliant may only be what orgguard
	// reports and cannot fix.
	code, out = run("check", pack, "--as", "bob", "--json")
	require.Contains(t, []int{0, 1}, code, out)
	var res workflows.RolloutResult
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res))
	require.Empty(t, res.Progress.Failed)
	set, _, diags := guardrails.LoadDir(pack, guardrails.LoadOptions{})
	require.False(t, diags.HasErrors())
	mode := map[string]guardrails.Mode{}
	for _, g := range set.Guardrails {
		mode[g.ID] = g.Remediation.Mode
	}
	q := "OrgguardRunId = '" + res.Progress.RunID + "' AND OrgguardKind = 'baseline'"
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
	require.NoError(t, err)
	remaining := map[string]int{}
	var unfixed []string
	for _, e := range resp.Executions {
		var br workflows.BaselineResult
		require.NoError(t, c.GetWorkflow(ctx, e.Execution.WorkflowId, "").Get(ctx, &br))
		for _, it := range br.Items {
			if it.Status == workflows.ItemCompliant || it.Status == workflows.ItemExempted {
				continue
			}
			remaining[it.Finding.GuardrailID]++
			// What orgguard could change and was allowed to, it changed: a
			// finding that still carries a change under a remediating mode is
			// a failed remediation. Findings without a change (root MFA,
			// key age, failed Security Hub findings of such controls) are
			// reports by nature.
			if it.Finding.Change != nil && mode[it.Finding.GuardrailID] != guardrails.ModeReport {
				unfixed = append(unfixed, it.Finding.GuardrailID+" "+it.Finding.Resource+": "+it.Finding.Evidence)
			}
		}
	}
	sort.Strings(unfixed)
	t.Logf("still reported after apply, by guardrail: %v", remaining)
	require.Empty(t, unfixed, "every remediable finding is fixed after apply")
}
