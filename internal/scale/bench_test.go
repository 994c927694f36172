package scale

import (
	"context"
	"testing"

	"github.com/orgguard/orgguard/internal/awsclient"
)

// BenchmarkCheckDirect is the bare fan-out (b) of the baseline pack over
// BenchOrg(30) without latency or quotas: what orgguard's own code costs
// per account, and how many AWS calls it makes, in the units of either
// check activity. Its twin through Temporal
// is internal/e2e/bench's BenchmarkCheckThroughTemporal.
func BenchmarkCheckDirect(b *testing.B) {
	for _, unit := range []Unit{UnitGuardrail, UnitAccountRegion} {
		b.Run(string(unit), func(b *testing.B) { benchDirect(b, unit) })
	}
}

func benchDirect(b *testing.B, benchUnit Unit) {
	const accounts = 30
	ctx := context.Background()
	seed, vars := BenchOrg(accounts)
	set, err := loadPack(baselinePack, vars)
	if err != nil {
		b.Fatal(err)
	}
	var calls, repeated, units int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		log := newCallLog()
		sim, err := newSim(seed, nil, 1, log)
		if err != nil {
			b.Fatal(err)
		}
		root, err := rootConfig(ctx, sim, false)
		if err != nil {
			b.Fatal(err)
		}
		f := awsclient.New(root, awsclient.Options{RoleName: seed.MemberRole.Name, ExternalID: seed.MemberRole.ExternalID})
		b.StartTimer()
		res, err := runDirect(ctx, benchUnit, f, set, "bench", 50, 50)
		b.StopTimer()
		_ = sim.Close()
		if err != nil || res.Failed > 0 {
			b.Fatalf("%+v: %v", res, err)
		}
		st := callStats(log.records())
		calls += st.Total
		repeated += st.RepeatedReads
		units += res.Units
		b.StartTimer()
	}
	n := float64(b.N * accounts)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/account")
	b.ReportMetric(float64(calls)/n, "calls/account")
	b.ReportMetric(float64(repeated)/n, "repeated-reads/account")
	b.ReportMetric(float64(units)/n, "checks/account")
}
