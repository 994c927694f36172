package scale

import (
	"context"
	"slices"
	"testing"

	"github.com/orgguard/orgguard/guardrails"
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

// TestUnitsOf: a guardrail unit per guardrail × region, an account ×
// region unit per region with every guardrail there; regions the account
// has not enabled get none.
func TestUnitsOf(t *testing.T) {
	t.Parallel()
	gs := []guardrails.Guardrail{
		{ID: "a", Regions: []string{"us-east-1", "eu-west-1"}},
		{ID: "b", Regions: []string{"us-east-1"}},
		{ID: "c", Regions: []string{"eu-west-1", "af-south-1"}},
	}
	off := map[string]bool{"af-south-1": true}
	shape := func(us []unit, kind Unit) []string {
		var out []string
		for _, u := range us {
			ids := ""
			for _, g := range u.guardrails {
				ids += g.ID
			}
			out = append(out, u.chain(kind)+"="+ids)
		}
		return out
	}
	got := shape(unitsOf(UnitGuardrail, "1", "1", gs, off), UnitGuardrail)
	want := []string{"unit/1/us-east-1/a=a", "unit/1/eu-west-1/a=a", "unit/1/us-east-1/b=b", "unit/1/eu-west-1/c=c"}
	if !slices.Equal(got, want) {
		t.Errorf("guardrail units %v, want %v", got, want)
	}
	got = shape(unitsOf(UnitAccountRegion, "1", "1", gs, off), UnitAccountRegion)
	want = []string{"unit/1/us-east-1=ab", "unit/1/eu-west-1=ac"}
	if !slices.Equal(got, want) {
		t.Errorf("account × region units %v, want %v", got, want)
	}
}
