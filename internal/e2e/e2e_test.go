// Package e2e runs orgguard end to end: the embedded Temporal server, the
// real worker registration and activities, the AWS organization simulator,
// and the CLI as a user types it.
package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/e2e/harness"
	"github.com/orgguard/orgguard/workflows"
)

const pack = "testdata/sgpack"

type env struct{ *harness.Env }

func newEnv(t testing.TB, seed *awssim.Seed) *env {
	return &env{harness.New(t, seed, harness.Options{PageSize: 5})}
}

// eventuallyCLI runs the CLI with args until it exits 0 and check passes on
// its output. The condition runs off the test goroutine, so it reports
// through c; a timeout fails t with the last run's failures and output.
func (e *env) eventuallyCLI(t *testing.T, wait time.Duration, check func(c *assert.CollectT, out string), args ...string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, out := e.CLI(args...)
		require.Equal(c, 0, code, out)
		check(c, out)
	}, wait, 200*time.Millisecond, "orgguard %s", strings.Join(args, " "))
}

func TestPlanThenApprovalGatedApply(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)
	e.Login("ccoe-operator", "alice", "mallory", "bob")

	// plan: findings and changes, no write.
	code, out := e.CLI("plan", pack, "--as", "ccoe-operator")
	require.Equal(t, 1, code, out) // findings exist
	require.Contains(t, out, "revoke all")
	require.Contains(t, out, "[planned] control.default_sg_closed")
	require.Empty(t, e.Writes(), "plan must not change anything")

	// apply: the remediations wait for approval.
	// bob, an approver himself, requests the change.
	code, out = e.CLI("apply", pack, "--as", "bob", "--reason", "e2e")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "wait for approval")
	require.Empty(t, e.Writes(), "nothing is applied before approval")

	code, out = e.CLI("approvals", "list", "--json")
	require.Equal(t, 0, code, out)
	var pending []workflows.RemediationState
	require.NoError(t, json.Unmarshal([]byte(out), &pending))
	require.NotEmpty(t, pending)
	rem := pending[0]
	require.Equal(t, []string{"alice", "bob"}, rem.Approvers)
	require.NotNil(t, rem.Change)

	code, out = e.CLI("approvals", "show", rem.ID)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "Planned change")

	// Refusals come back at once, with the reason, and change nothing.
	code, out = e.CLI("approve", rem.ID, "--as", "mallory", "--reason", "trust me")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `"mallory" (verified: mallory (sub dev|mallory`)
	require.Contains(t, out, "is not an approver")
	code, out = e.CLI("approve", rem.ID, "--as", "bob", "--reason", "mine")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "separation of duties")
	code, out = e.CLI("approve", rem.ID, "--as", "alice")
	require.Equal(t, 2, code, out) // --reason is required
	require.Empty(t, e.Writes())

	code, out = e.CLI("approve", rem.ID, "--as", "alice", "--reason", "reviewed the diff")
	require.Equal(t, 0, code, out)

	var final workflows.RemediationState
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.Client.GetWorkflow(ctx, rem.ID, "").Get(ctx, &final))
	require.Equal(t, workflows.RemRemediated, final.Status, final.Error)

	// Exactly the planned revocations, once, as alice, in the right account.
	groupID := rem.Change.Params["group_id"].(string)
	var revokes []awssim.Call
	for _, c := range e.Writes() {
		require.Contains(t, []string{"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"}, c.Operation, "unexpected write %+v", c)
		revokes = append(revokes, c)
		require.Equal(t, rem.AccountID, c.AccountID)
		require.Equal(t, rem.Region, c.Region)
		require.Equal(t, "alice", c.SourceIdentity, "the approver is the session's SourceIdentity")
		require.Equal(t, groupID, c.Params["GroupId"])
	}
	require.NotEmpty(t, revokes)
	ops := map[string]int{}
	for _, c := range revokes {
		ops[c.Operation]++
	}
	for op, n := range ops {
		require.Equal(t, 1, n, "%s called %d times", op, n)
	}

	// A second vote after the decision is refused.
	code, out = e.CLI("approve", rem.ID, "--as", "alice", "--reason", "again")
	require.Equal(t, 1, code, out)

	// The audit trail finds it by approver and control, and tells its story.
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) { assert.Contains(c, out, rem.ID) },
		"audit", "--approver", "alice", "--control", "CIS 5.4", "--format", "json")
	code, out = e.CLI("audit", "history", rem.ID)
	require.Equal(t, 0, code, out)
	for _, want := range []string{"detected", "planned", "approved  by alice", "reason: reviewed the diff", "verified: issuer " + e.Issuer.URL() + ", subject dev|alice",
		"requested by bob (sub dev|bob", "applied", "re-check: compliant", "remediated"} {
		require.Contains(t, out, want)
	}

	// A check of that account now finds its default group closed.
	code, out = e.CLI("check", pack, "--target", rem.AccountID, "--json")
	require.Contains(t, []int{0, 1}, code, out)
	var res workflows.RolloutResult
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res))
	var br workflows.BaselineResult
	require.NoError(t, e.Client.GetWorkflow(ctx, workflows.AccountBaselineID(res.Progress.RunID, rem.AccountID), "").Get(ctx, &br))
	found := false
	for _, it := range br.Items {
		if it.Finding.Resource == rem.Resource {
			found = true
			require.Equal(t, workflows.ItemCompliant, it.Status, it.Finding.Evidence)
		}
	}
	require.True(t, found, fmt.Sprintf("resource %s not re-checked", rem.Resource))

	// The evidence store has the apply run: one CSV row per finding with
	// versioned controls, and the remediation with its verified approver.
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) { assert.Contains(c, out, rem.Resource) },
		"report", rem.RunID, "--format", "csv", "--framework", "cis")
	code, out = e.CLI("report", rem.RunID, "--format", "csv")
	require.Equal(t, 0, code, out)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err, out)
	var sgRow []string
	for _, r := range rows[1:] {
		if r[7] == rem.Resource && r[1] == rem.AccountID {
			sgRow = r
		}
	}
	require.NotNil(t, sgRow, "no CSV row for %s in account %s:\n%s", rem.Resource, rem.AccountID, out)
	require.Contains(t, sgRow[11], "CIS v3.0.0 5.4", "versioned control IDs")
	require.Equal(t, []string{rem.ID, workflows.RemRemediated, "alice", "pass"}, []string{sgRow[15], sgRow[16], sgRow[17], sgRow[9]})
	html := filepath.Join(t.TempDir(), "report.html")
	code, out = e.CLI("report", rem.RunID, "-o", html)
	require.Equal(t, 0, code, out)
	body, err := os.ReadFile(html)
	require.NoError(t, err)
	require.Contains(t, string(body), "Compliance heatmap")
	require.Contains(t, string(body), "CIS AWS Foundations Benchmark v3.0.0 5.4")
	// ASFF, as the Security Hub export sends it.
	code, out = e.CLI("report", rem.RunID, "--format", "asff")
	require.Equal(t, 0, code, out)
	var asff struct {
		Findings []struct {
			Id, GeneratorId, AwsAccountId string
			Compliance                    struct{ Status string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &asff), out)
	require.Len(t, asff.Findings, len(rows)-1, "one ASFF finding per record")
	code, out = e.CLI("report", rem.RunID, "--export", "nowhere")
	require.Equal(t, 2, code, out)
	// A check run's evidence lands too.
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) { assert.Contains(c, out, "\"status\":\"completed\"") },
		"report", res.Progress.RunID, "--format", "json")

	// ORGGUARD_RECORD_HISTORIES=<tag> records this run's histories for the
	// workflows package to replay (workflows/testdata/histories/*-<tag>.json):
	// do it, and commit them next to the older ones, whenever a workflow
	// change is guarded by workflow.GetVersion.
	if tag := os.Getenv("ORGGUARD_RECORD_HISTORIES"); tag != "" {
		applyRun := rem.RunID
		for name, id := range map[string]string{
			"remediation-" + tag + ".json":      rem.ID,
			"account_baseline-" + tag + ".json": workflows.AccountBaselineID(applyRun, rem.AccountID),
			"org_rollout-" + tag + ".json":      workflows.RolloutID(applyRun),
		} {
			e.recordHistory(id, "../../workflows/testdata/histories/"+name)
		}
	}
}

// With the worker down, `approvals list` cannot read the pending
// remediations: it says how many and why, and exits 1, instead of "No
// remediation is waiting". With a worker back it lists them again.
func TestApprovalsListWithoutWorker(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)
	e.Login("bob")
	code, out := e.CLI("apply", pack, "--as", "bob", "--reason", "e2e")
	require.Equal(t, 0, code, out)
	pending := e.waitPending(t, 1)

	e.Worker.Stop()
	code, out = e.CLI("approvals", "list")
	require.Equal(t, 1, code, out)
	require.NotContains(t, out, "No remediation is waiting")
	require.Regexp(t, `orgguard: \d+ pending remediations? could not be queried: no worker is answering on task queue orgguard \(is orgguard-worker running\?\)`, out)
	require.Contains(t, out, pending[0].ID)

	e.StartWorker()
	e.eventuallyCLI(t, time.Minute, func(c *assert.CollectT, out string) { assert.Contains(c, out, pending[0].ID) }, "approvals", "list")
}

func (e *env) recordHistory(id, path string) {
	hist := &historypb.History{}
	iter := e.Client.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(e.T, err)
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(e.T, err)
	require.NoError(e.T, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(e.T, os.WriteFile(path, b, 0o644))
}

// A worker stopped in the middle of a 200-account rollout and replaced by a
// new one: the rollout completes, every account ends compliant, and no
// revocation is made twice.
func TestWorkerRestartMidRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("200-account rollout")
	}
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: 200})
	// No governance floor here: the pack runs its control in mode auto.
	e := &env{harness.New(t, seed, harness.Options{PageSize: 5, TrustConfig: func(url string) string {
		return fmt.Sprintf("issuer \"dev\" {\n  url = %q\n  audience = %q\n  name_claim = \"preferred_username\"\n}\n", url, devidp.Audience)
	}})}
	e.Login("ccoe-operator")

	code, out := e.CLI("apply", pack, "--var", "mode=auto", "--as", "ccoe-operator", "--detach", "--run-id", "restart")
	require.Equal(t, 0, code, out)
	progress := func(t require.TestingT) workflows.Progress {
		v, err := e.Client.QueryWorkflow(context.Background(), workflows.RolloutID("restart"), "", workflows.QueryProgress)
		require.NoError(t, err)
		var p workflows.Progress
		require.NoError(t, v.Get(&p))
		return p
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := progress(c)
		require.NotEmpty(c, p.Waves)
		assert.GreaterOrEqual(c, p.Waves[0].Succeeded, 30)
	}, 3*time.Minute, 100*time.Millisecond)
	before := progress(t)
	e.Worker.Stop()
	require.Less(t, before.Waves[0].Succeeded+before.Waves[0].Failed, before.Waves[0].Total, "the rollout was interrupted, not finished")

	e.StartWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var res workflows.RolloutResult
	require.NoError(t, e.Client.GetWorkflow(ctx, workflows.RolloutID("restart"), "").Get(ctx, &res))
	require.Equal(t, "completed", res.Progress.State)
	require.Empty(t, res.Progress.Failed)
	active := 0
	for _, w := range res.Progress.Waves {
		active += w.Total
		require.Equal(t, w.Total, w.Succeeded, w.Name)
	}
	require.Equal(t, 200-len(res.Progress.Skipped), active, "every active account once")
	require.Zero(t, res.Progress.Totals.NonCompliant, "everything remediated and verified")

	// No revocation twice: per group and direction at most one successful call.
	seen := map[string]int{}
	for _, c := range e.Writes() {
		require.Contains(t, []string{"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"}, c.Operation)
		seen[c.AccountID+"/"+c.Region+"/"+c.Params["GroupId"]+"/"+c.Operation]++
	}
	require.NotEmpty(t, seen)
	for k, n := range seen {
		require.Equal(t, 1, n, k)
	}

	// And a fresh check agrees.
	code, out = e.CLI("check", pack, "--as", "ccoe-operator")
	require.Equal(t, 0, code, out)
}

// Throughput of a check rollout over 1,000 accounts × 2 regions against the
// simulator, through the real worker: accounts per second on this machine.
func BenchmarkCheckRollout1000Accounts(b *testing.B) {
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: 1000})
	e := newEnv(b, seed)
	for i := 0; b.Loop(); i++ {
		code, out := e.CLI("check", pack, "--as", "bench", "--concurrency", "50", "--run-id", fmt.Sprintf("bench-%d", i), "--json")
		if code != 0 && code != 1 {
			b.Fatal(out)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "accounts/s")
}

// Scheduled drift detection: create, list, and a scheduled run that checks;
// delete. And a running rollout can be paused and cancelled.
func TestScheduleAndCancel(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)

	code, out := e.CLI("schedule", "create", pack, "--every", "1m", "--mode", "apply", "--name", "drift")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "no verified requester")
	code, out = e.CLI("schedule", "create", pack, "--every", "1m", "--mode", "check", "--name", "drift", "--as", "ccoe-operator")
	require.Equal(t, 0, code, out)
	// The schedule list comes from visibility, which may lag a create.
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) { assert.Contains(c, out, "orgguard-drift-drift") },
		"schedule", "list")
	// Trigger it now rather than waiting a minute.
	require.NoError(t, e.Client.ScheduleClient().GetHandle(context.Background(), "orgguard-drift-drift").Trigger(context.Background(), client.ScheduleTriggerOptions{}))
	e.eventuallyCLI(t, time.Minute, func(c *assert.CollectT, out string) { assert.Contains(c, out, "orgguard-sched-drift") },
		"audit", "--kind", "rollout", "--outcome", "completed", "--format", "json")
	code, out = e.CLI("schedule", "delete", "drift")
	require.Equal(t, 0, code, out)
	// The schedule list comes from visibility, which may lag a delete.
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) { assert.NotContains(c, out, "orgguard-drift-drift") },
		"schedule", "list")

	// Slow every EC2 call down so the rollout is still running when we act.
	e.Sim.SetFaults(awssim.Fault{Service: "ec2", Latency: 300 * time.Millisecond})
	code, out = e.CLI("check", pack, "--as", "ccoe-operator", "--detach", "--run-id", "tocancel", "--concurrency", "1")
	require.Equal(t, 0, code, out)
	code, out = e.CLI("pause", "tocancel")
	require.Equal(t, 0, code, out)
	e.eventuallyCLI(t, time.Minute, func(c *assert.CollectT, out string) { assert.Contains(c, out, `"state": "paused"`) },
		"status", "tocancel", "--json")
	code, out = e.CLI("cancel", "tocancel")
	require.Equal(t, 0, code, out)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = e.Client.GetWorkflow(ctx, workflows.RolloutID("tocancel"), "").Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled)
}
