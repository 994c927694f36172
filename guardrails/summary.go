package guardrails

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Summary describes a compiled set for people: guardrails per kind and
// mode, framework controls covered, CSF functions, targets, approval
// policies, exemptions (active and expired) and the rollout.
func Summary(set *Set) string {
	if set == nil {
		return "no guardrail set\n"
	}
	var b strings.Builder
	digest := set.Digest
	if len(digest) > 12 {
		digest = digest[:12]
	}
	src := ""
	if set.Source != "" {
		src = " from " + set.Source
	}
	fmt.Fprintf(&b, "Guardrail set %s%s\n", digest, src)

	byKind := map[Kind]int{}
	byMode := map[Mode]int{}
	for _, g := range set.Guardrails {
		byKind[g.Kind]++
		byMode[g.Remediation.Mode]++
	}
	fmt.Fprintf(&b, "\nGuardrails: %d\n", len(set.Guardrails))
	for _, k := range []Kind{KindSCP, KindConfigRule, KindSecurityHub, KindControl} {
		fmt.Fprintf(&b, "  %-12s %d\n", k, byKind[k])
	}
	fmt.Fprintf(&b, "  remediation: %d auto, %d approval, %d report\n", byMode[ModeAuto], byMode[ModeApproval], byMode[ModeReport])

	covered := map[string]map[string]bool{}
	for _, g := range set.Guardrails {
		for _, c := range g.Controls {
			f := FrameworkOf(c)
			if covered[f] == nil {
				covered[f] = map[string]bool{}
			}
			covered[f][c] = true
		}
	}
	csf := map[string]map[string]bool{}
	for _, g := range set.Guardrails {
		if g.CSF == "" {
			continue
		}
		fn := g.CSF[:2]
		if csf[fn] == nil {
			csf[fn] = map[string]bool{}
		}
		csf[fn][g.CSF] = true
	}
	fmt.Fprintf(&b, "\nControls covered:\n")
	for _, f := range Frameworks {
		ids := sortedKeys(covered[f])
		if f == "NIST CSF" {
			var parts []string
			for _, fn := range []string{"GV", "ID", "PR", "DE", "RS", "RC"} {
				if len(csf[fn]) > 0 {
					parts = append(parts, fmt.Sprintf("%s (%s): %s", CSFFunctions[fn], fn, strings.Join(sortedKeys(csf[fn]), ", ")))
				}
			}
			fmt.Fprintf(&b, "  %-9s %d of 6 functions", f, len(csf))
			if len(ids) > 0 {
				fmt.Fprintf(&b, ", %d control IDs", len(ids))
			}
			b.WriteString("\n")
			for _, p := range parts {
				fmt.Fprintf(&b, "            %s\n", p)
			}
			continue
		}
		fmt.Fprintf(&b, "  %-9s %d", f, len(ids))
		if len(ids) > 0 {
			short := make([]string, len(ids))
			for i, id := range ids {
				short[i] = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(id, f+" "), f+"."), "PCI.")
			}
			sortControlIDs(short)
			fmt.Fprintf(&b, ": %s", strings.Join(short, ", "))
		}
		b.WriteString("\n")
	}
	for _, g := range set.Guardrails {
		if g.SecurityHub == nil {
			continue
		}
		var names []string
		for _, s := range g.SecurityHub.Standards {
			names = append(names, s.Name+" "+s.Version)
		}
		fmt.Fprintf(&b, "  Security Hub standards (%s): %s; %d controls disabled\n", g.ID, strings.Join(names, ", "), len(g.SecurityHub.DisabledControls))
	}

	fmt.Fprintf(&b, "\nTargets: %d\n", len(set.Targets))
	for _, t := range set.Targets {
		var sel []string
		if len(t.OUs) > 0 {
			sel = append(sel, "OUs "+strings.Join(t.OUs, ", "))
		}
		if len(t.Accounts) > 0 {
			sel = append(sel, "accounts "+strings.Join(t.Accounts, ", "))
		}
		if len(t.AccountTags) > 0 {
			var tags []string
			for _, k := range sortedKeys(t.AccountTags) {
				tags = append(tags, k+"="+t.AccountTags[k])
			}
			sel = append(sel, "tags "+strings.Join(tags, ", "))
		}
		if len(sel) == 0 {
			sel = append(sel, "every account")
		}
		if len(t.ExcludeAccounts)+len(t.ExcludeOUs) > 0 {
			sel = append(sel, "excluding "+strings.Join(append(append([]string(nil), t.ExcludeOUs...), t.ExcludeAccounts...), ", "))
		}
		regions := "default regions"
		if len(t.Regions) > 0 {
			regions = strings.Join(t.Regions, ", ")
		}
		fmt.Fprintf(&b, "  %-16s %s; regions %s\n", t.Name, strings.Join(sel, "; "), regions)
	}

	if len(set.ApprovalPolicies) > 0 {
		fmt.Fprintf(&b, "\nApproval policies: %d\n", len(set.ApprovalPolicies))
		for _, p := range set.ApprovalPolicies {
			who := append([]string(nil), p.Approvers...)
			for _, g := range p.Groups {
				who = append(who, "group "+g)
			}
			sod := ""
			if p.SeparationOfDuties {
				sod = ", separation of duties"
			}
			onTimeout := p.OnTimeout
			if p.EscalateTo != "" {
				onTimeout += " to " + p.EscalateTo
			}
			fmt.Fprintf(&b, "  %-16s quorum %d of %s%s; timeout %s then %s\n", p.Name, p.Quorum, strings.Join(who, ", "), sod, p.Timeout, onTimeout)
		}
	}

	fmt.Fprintf(&b, "\nExemptions: %d active, %d expired\n", len(set.Exemptions), len(set.ExpiredExemptions))
	for _, e := range set.Exemptions {
		fmt.Fprintf(&b, "  %-16s %s until %s (owner %s)\n", e.Name, e.Guardrail, e.Expires.Format(time.RFC3339), e.Owner)
	}
	for _, e := range set.ExpiredExemptions {
		fmt.Fprintf(&b, "  %-16s %s EXPIRED %s (owner %s)\n", e.Name, e.Guardrail, e.Expires.Format(time.RFC3339), e.Owner)
	}

	if r := set.Rollout; r != nil {
		fmt.Fprintf(&b, "\nRollout %s: %d waves, concurrency %d, pause %s\n", r.Name, len(r.Waves), r.Concurrency, r.PauseBetweenWaves)
		for i, w := range r.Waves {
			budget := "no failures allowed"
			switch {
			case w.FailureBudgetPercent > 0:
				budget = fmt.Sprintf("failure budget %g%%", w.FailureBudgetPercent)
			case w.FailureBudgetCount > 0:
				budget = fmt.Sprintf("failure budget %d", w.FailureBudgetCount)
			}
			fmt.Fprintf(&b, "  %d. %-12s target %s, %s\n", i+1, w.Name, w.Target, budget)
		}
	}
	return b.String()
}

// sortControlIDs orders "1.10" after "1.9" and "EC2.10" after "EC2.2".
func sortControlIDs(ids []string) {
	key := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ' ' })
	}
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := key(ids[i]), key(ids[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] == b[k] {
				continue
			}
			var na, nb int
			_, ea := fmt.Sscanf(a[k], "%d", &na)
			_, eb := fmt.Sscanf(b[k], "%d", &nb)
			if ea == nil && eb == nil && na != nb {
				return na < nb
			}
			return a[k] < b[k]
		}
		return len(a) < len(b)
	})
}
