package workflows

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/orgguard/orgguard/guardrails"
)

// Resolution is pure and deterministic: it runs inside workflows.

// DefaultRegions is used when neither the guardrail nor its target names regions.
var DefaultRegions = []string{"us-east-1"}

// ouMatches reports whether an OU selector (id like "ou-…", "r-…", or a path
// like "Root/Workloads") selects the account. A path selects its sub-OUs too.
func ouMatches(sel string, a Account) bool {
	if slices.Contains(a.OUIDs, sel) {
		return true
	}
	sel = strings.TrimSuffix(sel, "/")
	return a.OUPath == sel || strings.HasPrefix(a.OUPath, sel+"/")
}

// TargetMatches reports whether the target selects the account. A target that
// names no OUs, accounts or tags selects every account.
func TargetMatches(t guardrails.Target, a Account) bool {
	for _, id := range t.ExcludeAccounts {
		if id == a.ID {
			return false
		}
	}
	for _, ou := range t.ExcludeOUs {
		if ouMatches(ou, a) {
			return false
		}
	}
	// Every tag must match: the order of the checks cannot change the result.
	//workflowcheck:ignore
	for k, v := range t.AccountTags {
		if a.Tags[k] != v {
			return false
		}
	}
	if len(t.OUs) == 0 && len(t.Accounts) == 0 {
		return true
	}
	if slices.Contains(t.Accounts, a.ID) {
		return true
	}
	for _, ou := range t.OUs {
		if ouMatches(ou, a) {
			return true
		}
	}
	return false
}

// OverrideMatches applies the CLI's --target list (account IDs, OU IDs or paths).
func OverrideMatches(targets []string, a Account) bool {
	if len(targets) == 0 {
		return true
	}
	for _, t := range targets {
		if t == a.ID || ouMatches(t, a) {
			return true
		}
	}
	return false
}

func findTarget(set *guardrails.Set, name string) (guardrails.Target, bool) {
	for _, t := range set.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return guardrails.Target{}, false
}

// AccountGuardrails returns the account-scoped guardrails that apply to the
// account, with their regions filled in. Organization-scoped kinds (SCPs) are
// not part of an account baseline.
func AccountGuardrails(set *guardrails.Set, a Account) []guardrails.Guardrail {
	var out []guardrails.Guardrail
	for _, g := range set.Guardrails {
		if g.Kind == guardrails.KindSCP {
			continue
		}
		regions := g.Regions
		if g.Target != "" {
			t, ok := findTarget(set, g.Target)
			if !ok || !TargetMatches(t, a) {
				continue
			}
			if len(regions) == 0 {
				regions = t.Regions
			}
		}
		if len(regions) == 0 {
			regions = DefaultRegions
		}
		g.Regions = slices.Clone(regions)
		out = append(out, g)
	}
	return out
}

// OrgRegion is the region of organization-wide guardrails (SCPs): they are
// checked once, from the management account.
const OrgRegion = "global"

// OrgGuardrails returns the organization-scoped guardrails (SCPs).
func OrgGuardrails(set *guardrails.Set) []guardrails.Guardrail {
	var out []guardrails.Guardrail
	for _, g := range set.Guardrails {
		if g.Kind == guardrails.KindSCP {
			g.Regions = []string{OrgRegion}
			out = append(out, g)
		}
	}
	return out
}

// Plan orders the selected ACTIVE accounts into waves. Without a rollout
// block there is one wave, "all", with no failure budget. Accounts no wave
// selects go into a last wave, "rest", with the strictest budget of the
// rollout, so nothing silently escapes a rollout.
func Plan(set *guardrails.Set, managementID string, accounts []Account, override []string) (waves []WaveState, skipped []SkippedAccount) {
	var selected []Account
	for _, a := range accounts {
		switch {
		case !OverrideMatches(override, a):
			continue
		case a.Status != "ACTIVE":
			skipped = append(skipped, SkippedAccount{AccountID: a.ID, Name: a.Name, Reason: "account status " + a.Status})
		default:
			selected = append(selected, a)
		}
	}
	// Organization-wide guardrails go first, in a wave of their own: an SCP
	// is the preventive layer every later wave relies on.
	var org []WaveState
	if len(OrgGuardrails(set)) > 0 && len(override) == 0 {
		org = append(org, WaveState{Name: "organization", Org: true, BudgetCount: 0, Total: 1,
			Accounts: []Account{{ID: managementID, Name: "organization", Status: "ACTIVE", OUPath: "Root"}}})
	}
	if set.Rollout == nil || len(set.Rollout.Waves) == 0 {
		return append(org, WaveState{Name: "all", Accounts: selected, Total: len(selected), BudgetCount: -1}), skipped
	}
	waves = org
	taken := map[string]bool{}
	strictest := -1
	for _, w := range set.Rollout.Waves {
		ws := WaveState{Name: w.Name, BudgetCount: w.FailureBudgetCount, BudgetPercent: w.FailureBudgetPercent}
		t, ok := findTarget(set, w.Target)
		for _, a := range selected {
			if !taken[a.ID] && (!ok || TargetMatches(t, a)) {
				ws.Accounts = append(ws.Accounts, a)
				taken[a.ID] = true
			}
		}
		if w.FailureBudgetPercent == 0 && (strictest < 0 || w.FailureBudgetCount < strictest) {
			strictest = w.FailureBudgetCount
		}
		ws.Total = len(ws.Accounts)
		waves = append(waves, ws)
	}
	rest := WaveState{Name: "rest", BudgetCount: max(strictest, 0)}
	for _, a := range selected {
		if !taken[a.ID] {
			rest.Accounts = append(rest.Accounts, a)
		}
	}
	if len(rest.Accounts) > 0 {
		rest.Total = len(rest.Accounts)
		waves = append(waves, rest)
	}
	return waves, skipped
}

// budgetExceeded reports whether failed accounts exceed a wave's budget.
func (w WaveState) budgetExceeded() bool {
	switch {
	case w.BudgetCount < 0:
		return false
	case w.BudgetPercent > 0:
		return w.Total > 0 && float64(w.Failed)*100/float64(w.Total) > w.BudgetPercent
	default:
		return w.Failed > w.BudgetCount
	}
}

// Exempted returns the exemption that covers a finding, if one does and it has
// not expired at now. An exemption that names only accounts or OUs covers the
// whole guardrail there; one that names resources covers matching resources.
func Exempted(exemptions []guardrails.Exemption, a Account, f Finding, now time.Time) (guardrails.Exemption, bool) {
	for _, e := range exemptions {
		if e.Guardrail != f.GuardrailID && e.Guardrail != "*" {
			continue
		}
		if !e.Expires.IsZero() && !now.Before(e.Expires) {
			continue
		}
		if !exemptionScoped(e, a) {
			continue
		}
		if len(e.Resources) == 0 {
			return e, true
		}
		for _, glob := range e.Resources {
			if ok, _ := path.Match(glob, f.Resource); ok || glob == f.Resource {
				return e, true
			}
		}
	}
	return guardrails.Exemption{}, false
}

// exemptionScoped reports whether an exemption's accounts and OUs include
// the account (an exemption that names neither covers every account).
func exemptionScoped(e guardrails.Exemption, a Account) bool {
	if len(e.Accounts) == 0 && len(e.OUs) == 0 {
		return true
	}
	if slices.Contains(e.Accounts, a.ID) {
		return true
	}
	for _, ou := range e.OUs {
		if ouMatches(ou, a) {
			return true
		}
	}
	return false
}

// approvalPolicy returns the named policy and its escalation chain.
func approvalPolicy(set []guardrails.ApprovalPolicy, name string) (guardrails.ApprovalPolicy, []guardrails.ApprovalPolicy, bool) {
	byName := map[string]guardrails.ApprovalPolicy{}
	for _, p := range set {
		byName[p.Name] = p
	}
	p, ok := byName[name]
	if !ok {
		return p, nil, false
	}
	var chain []guardrails.ApprovalPolicy
	seen := map[string]bool{p.Name: true}
	for cur := p; cur.OnTimeout == "escalate" && cur.EscalateTo != "" && !seen[cur.EscalateTo]; {
		next, ok := byName[cur.EscalateTo]
		if !ok {
			break
		}
		chain = append(chain, next)
		seen[next.Name] = true
		cur = next
	}
	return p, chain, true
}
