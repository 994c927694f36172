// Package bench holds the per-account benchmarks that go through Temporal
// (an embedded server and the real worker in this process), beside the
// end-to-end tests: they link the Temporal server, which the race detector
// makes slow to build (see the Makefile), and `make bench` runs them.
package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orgguard/orgguard/internal/e2e/harness"
	"github.com/orgguard/orgguard/internal/scale"
)

// BenchmarkCheckThroughTemporal checks the baseline pack over
// scale.BenchOrg(30) through Temporal, with no simulated latency or quotas:
// orgguard's cost per account with its orchestration (compare
// internal/scale's BenchmarkCheckDirect, the same checks without
// Temporal), its history events and its AWS calls per account.
func BenchmarkCheckThroughTemporal(b *testing.B) {
	const accounts = 30
	seed, vars := scale.BenchOrg(accounts)
	e := harness.New(b, seed, harness.Options{HTTPProxy: true})
	args := []string{"check", "../../../guardrails/packs/baseline", "--concurrency", "50"}
	for _, v := range vars {
		args = append(args, "--var", v)
	}
	var calls, events, runs int
	var eventsMax int
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		e.Sim.ResetCalls()
		runID := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		b.StartTimer()
		code, out := e.CLI(append(args, "--run-id", runID)...)
		b.StopTimer()
		if code != 0 && code != 1 { // 1: findings
			b.Fatalf("check exited %d:\n%s", code, out)
		}
		calls += len(e.Sim.Calls())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		h, err := scale.ReadHistories(ctx, e.Client, runID, accounts)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		events += h.Events
		runs += h.RolloutRuns
		eventsMax = max(eventsMax, h.RolloutMax)
		b.StartTimer()
	}
	n := float64(b.N * accounts)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/account")
	b.ReportMetric(float64(calls)/n, "calls/account")
	b.ReportMetric(float64(events)/n, "events/account")
	b.ReportMetric(float64(eventsMax), "max-events/rollout-run")
}
