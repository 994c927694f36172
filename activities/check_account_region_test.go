package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// baselinePack is the shipped baseline pack, compiled.
func baselinePack(t *testing.T) *guardrails.Set {
	t.Helper()
	set, _, diags := guardrails.LoadDir("../guardrails/packs/baseline", guardrails.LoadOptions{})
	require.False(t, diags.HasErrors(), diags.Error())
	return set
}

// demoMembers are the demo organization's member accounts, as a rollout
// sees them.
func demoMembers(t *testing.T) (*awssim.Seed, []workflows.Account) {
	t.Helper()
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	var out []workflows.Account
	for _, id := range []string{acctLogArchive, acctSecurity, acctNetwork, acctShared, acctPayProd, acctWebProd, acctPayDev, acctWebDev, acctSandbox} {
		out = append(out, workflows.Account{ID: id, Status: "ACTIVE", OUPath: "Root"})
	}
	return seed, out
}

// findingKeys lists the outcome of every check: guardrail, region,
// resource, status (or the error).
type findingKeys []string

func (k *findingKeys) add(g, region string, out workflows.CheckOutput, err error) {
	if err != nil {
		*k = append(*k, fmt.Sprintf("%s %s: error %v", g, region, err))
		return
	}
	if out.NotChecked != "" {
		*k = append(*k, fmt.Sprintf("%s %s: not checked", g, region))
	}
	for _, f := range out.Findings {
		*k = append(*k, fmt.Sprintf("%s %s %s: %s", g, region, f.Resource, f.Status))
	}
}

// callsPerAccount counts the calls made as each account, by operation.
func callsPerAccount(calls []awssim.Call, accounts []workflows.Account) (total int, byOp map[string]int) {
	in := map[string]bool{}
	for _, a := range accounts {
		in[a.ID] = true
	}
	byOp = map[string]int{}
	for _, c := range calls {
		if in[c.AccountID] && c.Service != "sts" {
			byOp[c.Service+":"+c.Operation]++
			total++
		}
	}
	return total, byOp
}

// The baseline pack in check mode on the demo organization's member
// accounts, checked as before issue 11 (CheckGuardrail per guardrail ×
// region, through CheckDirect) and with CheckAccountRegion (per account ×
// region, through CheckAccountRegionDirect): the same findings, with far
// fewer calls, and no successful read made twice in one account and region
// (global services: once per account).
func TestCheckAccountRegionReadsOnceOnBaselinePack(t *testing.T) {
	set := baselinePack(t)
	seed, accounts := demoMembers(t)

	before := newSim(t, awssim.Options{Seed: seed})
	old := New(before.factory)
	var want findingKeys
	for _, acct := range accounts {
		for _, g := range workflows.AccountGuardrails(set, acct) {
			for _, region := range g.Regions {
				out, err := old.CheckDirect(ctx, workflows.CheckInput{RunID: "before", AccountID: acct.ID, Region: region, Guardrail: g})
				want.add(g.ID, region, out, err)
			}
		}
	}

	after := newSim(t, awssim.Options{Seed: seed})
	lean := New(after.factory)
	require.NoError(t, lean.RegisterSet(set))
	var got findingKeys
	for _, acct := range accounts {
		byRegion := map[string][]string{}
		var regions []string
		for _, g := range workflows.AccountGuardrails(set, acct) {
			for _, r := range g.Regions {
				if byRegion[r] == nil {
					regions = append(regions, r)
				}
				byRegion[r] = append(byRegion[r], g.ID)
			}
		}
		for _, region := range regions {
			out, err := lean.CheckAccountRegionDirect(ctx, workflows.CheckAccountRegionInput{
				RunID: "after", AccountID: acct.ID, Region: region, Digest: set.Digest, GuardrailIDs: byRegion[region]})
			require.NoError(t, err)
			require.Len(t, out.Results, len(byRegion[region]))
			for _, r := range out.Results {
				var err error
				if r.Error != nil {
					err = errors.New(r.Error.Message)
				}
				got.add(r.GuardrailID, region, workflows.CheckOutput{Findings: r.Findings, NotChecked: r.NotChecked}, err)
			}
		}
		require.NoError(t, lean.ReleaseRun(ctx, workflows.ReleaseRunInput{RunID: "after", AccountID: acct.ID}))
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got, "the same findings, guardrail by guardrail")
	require.NotContains(t, strings.Join(got, "\n"), "error", "every check runs against the simulator")

	n := len(accounts)
	totalBefore, opsBefore := callsPerAccount(before.srv.Calls(), accounts)
	totalAfter, opsAfter := callsPerAccount(after.srv.Calls(), accounts)
	var ops []string
	for op := range opsBefore {
		ops = append(ops, op)
	}
	for op := range opsAfter {
		if _, ok := opsBefore[op]; !ok {
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if opsBefore[ops[i]] != opsBefore[ops[j]] {
			return opsBefore[ops[i]] > opsBefore[ops[j]]
		}
		return ops[i] < ops[j]
	})
	var table strings.Builder
	fmt.Fprintf(&table, "AWS calls per member account, baseline pack, check mode, %d demo accounts × 2 regions:\n", n)
	fmt.Fprintf(&table, "  %-45s %7s %7s\n", "operation", "before", "after")
	for _, op := range ops {
		fmt.Fprintf(&table, "  %-45s %7.1f %7.1f\n", op, float64(opsBefore[op])/float64(n), float64(opsAfter[op])/float64(n))
	}
	fmt.Fprintf(&table, "  %-45s %7.1f %7.1f\n", "total", float64(totalBefore)/float64(n), float64(totalAfter)/float64(n))
	fmt.Fprintf(&table, "read cache: %+v", lean.ReadCacheStats())
	t.Log(table.String())

	perAccount := func(op string) float64 { return float64(opsAfter[op]) / float64(n) }
	require.LessOrEqual(t, perAccount("config:DescribeConfigRules"), 2.0, "one listing per region")
	require.LessOrEqual(t, perAccount("iam:GenerateCredentialReport"), 1.0, "one credential report per account")
	require.LessOrEqual(t, perAccount("iam:GetCredentialReport"), 1.0, "one credential report per account")
	require.LessOrEqual(t, totalAfter*10, totalBefore*7, "at least 30% fewer calls")

	// No successful read twice where the cache could have answered it.
	seen := map[string]int{}
	for _, c := range after.srv.Calls() {
		if c.ErrorCode != "" || !readOnly(c.Operation) || c.Service == "sts" {
			continue
		}
		region := c.Region
		if c.Service == "iam" {
			region = "global"
		}
		seen[strings.Join([]string{c.AccountID, region, c.Service, c.Operation, c.ParamsDigest}, " ")]++
	}
	var twice []string
	for k, v := range seen {
		if v > 1 {
			twice = append(twice, fmt.Sprintf("%s ×%d", k, v))
		}
	}
	sort.Strings(twice)
	require.Empty(t, twice, "reads repeated in one account and region")
	require.Zero(t, lean.ReadCacheStats().Entries, "ReleaseRun dropped every account's reads")
}

// testKind is a kind whose Check a test scripts.
type testKind struct {
	mu     sync.Mutex
	calls  map[string]int
	checks func(g string) ([]workflows.Finding, error)
}

func (k *testKind) Check(_ context.Context, env Env, _ string) ([]workflows.Finding, error) {
	k.mu.Lock()
	if k.calls == nil {
		k.calls = map[string]int{}
	}
	k.calls[env.Guardrail.ID]++
	k.mu.Unlock()
	return k.checks(env.Guardrail.ID)
}

func (k *testKind) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, nil
}

func (k *testKind) called(g string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls[g]
}

func scripted(ids ...string) []guardrails.Guardrail {
	var out []guardrails.Guardrail
	for _, id := range ids {
		typ := "test.scripted"
		if id == "unimplemented" {
			typ = "test.none"
		}
		out = append(out, guardrails.Guardrail{ID: id, Kind: guardrails.KindControl, Controls: []string{"CIS 1.1"}, Severity: "high",
			Control: &guardrails.Control{Type: typ}})
	}
	return out
}

// Each guardrail's outcome is its own: a failing check is that
// guardrail's error, classified as its own activity's would be, and the
// others are reported.
func TestCheckAccountRegionKeepsEachGuardrailsOutcome(t *testing.T) {
	s := newSim(t, awssim.Options{})
	a := New(s.factory)
	k := &testKind{checks: func(g string) ([]workflows.Finding, error) {
		switch g {
		case "denied":
			return nil, temporal.NewNonRetryableApplicationError("ec2:DescribeVpcs denied", "AccessDenied", nil)
		case "opt-in":
			return nil, temporal.NewNonRetryableApplicationError("OptInRequired", "RegionNotEnabled", nil)
		case "throttled":
			return nil, temporal.NewApplicationError("Throttling: rate exceeded", "Throttling")
		}
		return []workflows.Finding{{Resource: "r-" + g, Status: workflows.StatusCompliant}}, nil
	}}
	a.Register("control:test.scripted", k)
	in := workflows.CheckAccountRegionInput{RunID: "r1", AccountID: acctPayProd, Region: usEast1,
		Guardrails: scripted("ok", "denied", "unimplemented", "opt-in", "throttled", "ok2")}

	// An attempt that is not the last leaves the retryable check to the
	// next one, with the finished results in its details.
	_, err := a.checkAccountRegion(ctx, in, &regionProgress{}, regionRun{beat: func() {}})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.False(t, app.NonRetryable())
	require.Contains(t, app.Message(), "throttled: Throttling: rate exceeded")
	var partial workflows.CheckAccountRegionOutput
	require.NoError(t, app.Details(&partial))
	require.Len(t, partial.Results, 5)

	// The last attempt reports it as that guardrail's error.
	out, err := a.CheckAccountRegionDirect(ctx, in)
	require.NoError(t, err)
	byID := map[string]workflows.GuardrailResult{}
	var order []string
	for _, r := range out.Results {
		byID[r.GuardrailID] = r
		order = append(order, r.GuardrailID)
	}
	require.Equal(t, []string{"ok", "denied", "unimplemented", "opt-in", "throttled", "ok2"}, order, "in the order asked")
	require.Equal(t, &workflows.CheckError{Message: "ec2:DescribeVpcs denied", Type: "AccessDenied", NonRetryable: true}, byID["denied"].Error)
	require.Equal(t, "RegionNotEnabled", byID["opt-in"].Error.Type)
	require.Contains(t, byID["unimplemented"].NotChecked, "no implementation of control:test.none")
	require.False(t, byID["throttled"].Error.NonRetryable)
	for _, id := range []string{"ok", "ok2"} {
		require.Nil(t, byID[id].Error)
		require.Equal(t, []workflows.Finding{{GuardrailID: id, AccountID: acctPayProd, Region: usEast1, Resource: "r-" + id,
			Status: workflows.StatusCompliant, Controls: []string{"CIS 1.1"}, Severity: "high"}}, byID[id].Findings)
	}
}

// A retried attempt resumes after what the last one finished: the
// guardrails in its heartbeat are not checked again.
func TestCheckAccountRegionResumesFromHeartbeat(t *testing.T) {
	s := newSim(t, awssim.Options{})
	a := New(s.factory)
	k := &testKind{checks: func(g string) ([]workflows.Finding, error) {
		return []workflows.Finding{{Resource: "r-" + g, Status: workflows.StatusCompliant}}, nil
	}}
	a.Register("control:test.scripted", k)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.CheckAccountRegion)
	done := workflows.GuardrailResult{GuardrailID: "a", Findings: []workflows.Finding{{Resource: "from-attempt-1", Status: workflows.StatusNonCompliant}}}
	env.SetHeartbeatDetails(workflows.CheckAccountRegionOutput{Results: []workflows.GuardrailResult{done}})
	val, err := env.ExecuteActivity(a.CheckAccountRegion, workflows.CheckAccountRegionInput{RunID: "r1", AccountID: acctPayProd, Region: usEast1,
		Guardrails: scripted("a", "b", "c")})
	require.NoError(t, err)
	var out workflows.CheckAccountRegionOutput
	require.NoError(t, val.Get(&out))
	require.Len(t, out.Results, 3)
	require.Equal(t, done, out.Results[0], "the earlier attempt's result")
	require.Zero(t, k.called("a"))
	require.Equal(t, 1, k.called("b"))
	require.Equal(t, 1, k.called("c"))
}

// Guardrails named by digest come from the registered set; an ID the set
// does not have is that guardrail's error; an unknown digest fails the
// activity, non-retryably.
func TestCheckAccountRegionLoadsGuardrailsByDigest(t *testing.T) {
	s := newSim(t, awssim.Options{})
	a := New(s.factory)
	a.Register("control:test.scripted", &testKind{checks: func(g string) ([]workflows.Finding, error) {
		return []workflows.Finding{{Resource: g, Status: workflows.StatusCompliant}}, nil
	}})
	set := &guardrails.Set{Guardrails: scripted("a", "b")}
	set.Digest = set.ComputeDigest()
	tampered := *set
	tampered.Guardrails = scripted("a")
	require.Error(t, a.RegisterSet(&tampered), "a set that does not match its digest")
	require.NoError(t, a.RegisterSet(set))

	out, err := a.CheckAccountRegionDirect(ctx, workflows.CheckAccountRegionInput{RunID: "r1", AccountID: acctPayProd, Region: usEast1,
		Digest: set.Digest, GuardrailIDs: []string{"b", "gone", "a"}})
	require.NoError(t, err)
	require.Len(t, out.Results, 3)
	require.Equal(t, "b", out.Results[0].Findings[0].Resource)
	require.Equal(t, ErrSetUnavailable, out.Results[1].Error.Type)
	require.Equal(t, "a", out.Results[2].Findings[0].Resource)

	_, err = a.CheckAccountRegionDirect(ctx, workflows.CheckAccountRegionInput{RunID: "r1", AccountID: acctPayProd, Region: usEast1,
		Digest: "0123456789abcdef", GuardrailIDs: []string{"a"}})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.True(t, app.NonRetryable())
	require.Equal(t, ErrSetUnavailable, app.Type())
	require.True(t, slices.Contains([]string{ErrSetUnavailable}, app.Type()))
}
