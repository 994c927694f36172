package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/awssim"
)

// The chaos settings of issue 10 §7.
const (
	throttleRate     = 0.20
	errorRate        = 0.05
	consistencyDelay = 2 * time.Second
	// maxSlowdown: the wall-time target is 2× the clean run; on a shared
	// 2-core machine the test fails only past this.
	maxSlowdown = 4.0
)

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	return n
}

// TestChaosApply applies the baseline pack to a generated organization
// twice: clean (no faults, no kills), then under chaos (20% throttling, 5%
// 5xx before the write, 2 s eventual consistency, five SIGKILLs of the
// worker process, two restarts of the Temporal server, votes while the
// worker is down). It fails when an account does not converge, a write is
// duplicated, an approval is lost, or the chaos run takes more than 4× the
// clean one. See docs/reliability.md.
func TestChaosApply(t *testing.T) {
	if os.Getenv("ORGGUARD_CHAOS") != "1" {
		t.Skip("chaos test (200 accounts, SIGKILLs, server restarts, ~15 min): run it with `make test-chaos` (sets ORGGUARD_CHAOS=1)")
	}
	s := newSettings(t)
	id := newIdentity(t, t.TempDir())
	began := time.Now()

	clean := run(t, id, s, runConfig{name: "clean", delay: -1})
	t.Logf("clean run: %s", clean.wall.Round(time.Second))
	rng := rand.New(rand.NewPCG(s.seed, 0xc4a05))
	plan := newPlan(rng, clean.work)
	faults := []awssim.Fault{{ThrottleRate: throttleRate, ErrorRate: errorRate}}
	chaos := run(t, id, s, runConfig{name: "chaos", faults: faults, delay: consistencyDelay, plan: plan})

	rep := newReport(s, clean, chaos, plan, time.Since(began))
	t.Log("\n" + rep.summary())
	if path := os.Getenv("ORGGUARD_CHAOS_WRITE"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(rep.markdown()), 0o644))
		t.Logf("figures written to %s", path)
	}

	assert.False(t, clean.timedOut, "the clean run did not converge within %s", s.maxRun)
	assert.False(t, chaos.timedOut, "the chaos run did not converge within %s", s.maxRun)
	// The clean run is the yardstick: it must converge too.
	assert.Equal(t, rep.cleanConv.Units, rep.cleanConv.Converged, "clean run: units not converged: %v", trim(rep.cleanConv.NotConverged))
	assert.Equal(t, rep.conv.Units, rep.conv.Converged, "chaos run: units not converged: %v", trim(rep.conv.NotConverged))
	assert.Zero(t, rep.dups.Duplicate, "chaos run: duplicate writes: %v", trimInts(rep.dups.DupKeys))
	assert.Empty(t, rep.approvals.Lost, "chaos run: votes lost")
	assert.Empty(t, rep.approvals.Disappeared, "chaos run: approvals that closed without a decision")
	assert.LessOrEqual(t, rep.slowdown(), maxSlowdown, "chaos run took %.1f× the clean run", rep.slowdown())
	assert.Equal(t, 5, rep.count("worker killed (SIGKILL)"), "five SIGKILLs")
	assert.Equal(t, 2, rep.count("server started"), "two server restarts")
	assert.Positive(t, rep.approvals.DownVotes, "votes while the worker is down")
	assert.Empty(t, chaos.workerDeaths, "the worker exited on its own")
}

// newSettings: the organization, pack, worker binary and knobs the chaos
// and the cluster test share, from the environment (docs/reliability.md).
func newSettings(t *testing.T) settings {
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	if v := os.Getenv("ORGGUARD_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "ORGGUARD_CHAOS_SEED")
		seed = n
	}
	t.Logf("chaos seed %d (ORGGUARD_CHAOS_SEED=%d repeats the organization and the event plan)", seed, seed)
	workerBin := os.Getenv("ORGGUARD_WORKER_BIN")
	if workerBin == "" {
		workerBin = "../../bin/orgguard-worker"
	}
	workerBin, err := filepath.Abs(workerBin)
	require.NoError(t, err)
	_, err = os.Stat(workerBin)
	require.NoError(t, err, "the worker binary: `make test-chaos` builds it (go build -o bin/orgguard-worker ./cmd/worker)")
	logDir := os.Getenv("ORGGUARD_CHAOS_LOGS")
	if logDir == "" {
		logDir = t.TempDir()
	}
	s := settings{
		seed:     seed,
		accounts: envInt(t, "ORGGUARD_CHAOS_ACCOUNTS", 200),
		pack:     "../../guardrails/packs/baseline",
		// The generated organization's top-level OUs, for the SCPs the
		// root has no room for.
		vars:        []string{`scp_ous=["Root/BusinessUnit01","Root/BusinessUnit02","Root/BusinessUnit03","Root/BusinessUnit04"]`},
		concurrency: envInt(t, "ORGGUARD_CHAOS_CONCURRENCY", 20),
		workerBin:   workerBin,
		logDir:      logDir,
		maxRun:      time.Duration(envInt(t, "ORGGUARD_CHAOS_MAX_MINUTES", 60)) * time.Minute,
	}
	s.commit = command("git", "rev-parse", "--short", "HEAD")
	if command("git", "status", "--porcelain", "--untracked-files=no") != "" {
		s.commit += " with uncommitted changes in the tree"
	}
	if st, err := os.Stat(workerBin); err == nil {
		s.commit += fmt.Sprintf("; worker binary built %s", st.ModTime().UTC().Format("2006-01-02 15:04 UTC"))
	}
	return s
}

func trim(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	n := 0
	for k, v := range m {
		if n++; n > 10 {
			break
		}
		out[k] = v[:min(len(v), 3)]
	}
	return out
}

func trimInts(m map[string]int) map[string]int {
	out := map[string]int{}
	n := 0
	for k, v := range m {
		if n++; n > 20 {
			break
		}
		out[k] = v
	}
	return out
}
