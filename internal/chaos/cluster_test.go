package chaos

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterKillDown: how long the killed worker stays down before it is
// started again, as a supervisor would; meanwhile the other worker carries
// the rollout, and two approvals are voted on.
const clusterKillDown = 30 * time.Second

// TestClusterApply applies the baseline pack to a generated organization
// (200 accounts) on Temporal on PostgreSQL (`orgguard-cluster`, at
// ORGGUARD_CLUSTER_ADDRESS) with two orgguard-worker processes, and kills
// one of them with SIGKILL once half of the accounts' baselines have
// closed. It fails when an account does not converge, a write is made twice
// (the simulator's call log), an approval is lost, the kill did not happen,
// or a worker exited on its own. The measures are the chaos test's (see
// docs/reliability.md for their definitions); the simulator injects no
// faults here. See docs/cluster.md.
func TestClusterApply(t *testing.T) {
	if os.Getenv("ORGGUARD_CLUSTER") != "1" {
		t.Skip("cluster test (200 accounts on Temporal on PostgreSQL, two workers, one SIGKILL): run it with `make test-cluster` (sets ORGGUARD_CLUSTER=1)")
	}
	addr := os.Getenv("ORGGUARD_CLUSTER_ADDRESS")
	require.NotEmpty(t, addr, "ORGGUARD_CLUSTER_ADDRESS: the frontend of a running cluster (`make test-cluster` starts one with bin/orgguard-cluster)")
	s := newSettings(t)
	s.cluster = addr
	id := newIdentity(t, t.TempDir())

	// The run ID is unique: the cluster's database outlives the test.
	name := "cluster-" + time.Now().UTC().Format("20060102t150405")
	plan := []action{{Kind: "kill", Worker: 1, AfterBaselines: s.accounts / 2, Down: clusterKillDown, Votes: 2}}
	r := run(t, id, s, runConfig{name: name, delay: -1, plan: plan, workers: 2})

	conv := measureConvergence(r, nil)
	dups := measureDuplicates(r.calls)
	appr := measureApprovals(r)
	kills := 0
	for _, e := range r.timeline {
		if e.What == "worker killed (SIGKILL)" {
			kills++
		}
	}
	t.Log("\n" + clusterSummary(r, conv, dups, appr))

	assert.False(t, r.timedOut, "the run did not converge within %s", s.maxRun)
	assert.Empty(t, r.rolloutErr, "the rollout failed")
	assert.Positive(t, conv.Units, "no unit was baselined")
	assert.Equal(t, conv.Units, conv.Converged, "units not converged: %v", trim(conv.NotConverged))
	assert.Zero(t, dups.Duplicate, "duplicate writes: %v", trimInts(dups.DupKeys))
	assert.Positive(t, appr.Accepted, "no vote was recorded: the approval path was not exercised")
	assert.Empty(t, appr.Lost, "votes lost")
	assert.Empty(t, appr.Disappeared, "approvals that closed without a decision")
	assert.Equal(t, 1, kills, "one worker killed with SIGKILL")
	assert.Empty(t, r.workerDeaths, "workers exited on their own")
}

// clusterSummary is the figures and the timeline for the test log.
func clusterSummary(r *runResult, conv convergence, dups duplicates, appr approvalsLost) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| figure | target | measured |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| accounts converged | 100%% | %d of %d units (%s); %d of %d remediated findings re-checked compliant |\n",
		conv.Converged, conv.Units, pct(conv.Converged, conv.Units), conv.Rechecked, conv.Wanted)
	fmt.Fprintf(&b, "| duplicate writes | 0 | %d (of %d applied writes; apart: %d client-token retries, %d idempotent get-or-create repeats) |\n",
		dups.Duplicate, dups.Writes, dups.TokenRetries, dups.IdempotentRepeats)
	fmt.Fprintf(&b, "| approvals lost | 0 | %d votes lost, %d requests closed without a decision (of %d requests, %d votes recorded) |\n",
		len(appr.Lost), len(appr.Disappeared), appr.Requests, appr.Accepted)
	fmt.Fprintf(&b, "| wall time | | %s (apply until the rollout and its approvals closed); %d worker processes started |\n\n",
		r.wall.Round(time.Second), r.workers)
	for _, u := range slices.Sorted(maps.Keys(conv.NotConverged))[:min(10, len(conv.NotConverged))] {
		fmt.Fprintf(&b, "not converged: %s: %s\n", u, strings.Join(conv.NotConverged[u], "; "))
	}
	for _, k := range slices.Sorted(maps.Keys(dups.DupKeys)) {
		fmt.Fprintf(&b, "duplicate write: %d × %s\n", dups.DupKeys[k], k)
	}
	for _, l := range slices.Concat(appr.Lost, appr.Disappeared, r.workerDeaths) {
		fmt.Fprintln(&b, l)
	}
	for _, e := range r.timeline {
		fmt.Fprintf(&b, "+%s %s %s\n", e.At, e.What, e.Detail)
	}
	return b.String()
}
