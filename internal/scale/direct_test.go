package scale

import (
	"context"
	"testing"
	"time"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
)

const baselinePack = "../../guardrails/packs/baseline"

// TestDirectFanOut runs the bare fan-out over a small generated
// organization: every account is checked, nothing fails, and every call
// after the management account's identity is tagged with its chain.
func TestDirectFanOut(t *testing.T) {
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
	res, err := runDirect(ctx, f, set, "test", 4, 10)
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
	st := callStats(recs)
	t.Logf("stats %+v", st)
	for c, sp := range chainSpans(recs) {
		if d := sp[1].Sub(sp[0]); d > 500*time.Millisecond {
			t.Logf("chain %s spans %s", c, d)
		}
	}
	ops := map[string]int{}
	for _, r := range recs {
		ops[r.service+":"+r.op]++
	}
	t.Logf("ops %v", ops)
}

func chainSpans(recs []record) map[string][2]time.Time {
	out := map[string][2]time.Time{}
	for _, r := range recs {
		s, ok := out[r.chain]
		if !ok {
			s = [2]time.Time{r.at, r.at}
		}
		if r.at.Before(s[0]) {
			s[0] = r.at
		}
		if r.at.After(s[1]) {
			s[1] = r.at
		}
		out[r.chain] = s
	}
	return out
}
