package scale

import (
	"context"
	"testing"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
)

const baselinePack = "../../guardrails/packs/baseline"

// TestDirectFanOut runs the bare fan-out over a small generated
// organization in the units of either check activity: every account is
// checked, nothing fails, and every call is tagged with its chain.
func TestDirectFanOut(t *testing.T) {
	for _, unit := range []Unit{UnitGuardrail, UnitAccountRegion} {
		t.Run(string(unit), func(t *testing.T) {
			t.Parallel()
			testDirectFanOut(t, unit)
		})
	}
}

func testDirectFanOut(t *testing.T, unit Unit) {
	ctx := context.Background()
	set, err := loadPack(baselinePack, GeneratedOrgVars)
	if err != nil {
		t.Fatal(err)
	}
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: 6, RandSeed: 1})
	log := newCallLog()
	sim, err := newSim(seed, nil, 1, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	root, err := rootConfig(ctx, sim, true)
	if err != nil {
		t.Fatal(err)
	}
	f := awsclient.New(root, awsclient.Options{RoleName: seed.MemberRole.Name, ExternalID: seed.MemberRole.ExternalID})
	res, err := runDirect(ctx, unit, f, set, "test", 4, 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed > 0 || res.Units == 0 || res.Baselines != 7 {
		t.Fatalf("result %+v", res)
	}
	recs := log.records()
	untagged := 0
	for _, r := range recs {
		if r.chain == "" {
			untagged++
		}
	}
	t.Logf("%+v; %d calls, %d untagged", res, len(recs), untagged)
	if untagged > 0 {
		t.Errorf("%d calls carry no chain", untagged)
	}
	if st := callStats(recs); st.Reads == 0 || st.Throttled > 0 {
		t.Errorf("call stats %+v", st)
	}
}
