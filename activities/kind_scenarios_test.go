package activities

import (
	"slices"
	"strings"
	"testing"

	"github.com/orgguard/orgguard/guardrails"
)

// scenarios lists, per registered kind, the drifted accounts of the demo
// organization it is tested against. Every registered kind needs one.
var scenarios = map[string][]scenario{}

// addScenarios registers scenarios for a kind key; each kind's test file
// calls it from a package-level var so the table lives next to the kind.
func addScenarios(key string, sc ...scenario) bool {
	scenarios[key] = append(scenarios[key], sc...)
	return true
}

// noSimulator lists kinds the simulator cannot serve, with the reason; each
// has a test against its SDK interface instead.
var noSimulator = map[string]string{
	"control:cloudformation.drift": "the simulator has no CloudFormation (see TestCloudFormationDrift)",
}

func kindKey(g guardrails.Guardrail) string {
	if g.Kind == guardrails.KindControl && g.Control != nil {
		return "control:" + g.Control.Type
	}
	return string(g.Kind)
}

// TestKinds runs every scenario of every kind against its own simulator and
// then checks that the generated IAM policies allow every call they made.
func TestKinds(t *testing.T) {
	a := New(nil)
	t.Run("scenarios", func(t *testing.T) {
		for _, key := range sortedKeysOf(scenarios) {
			for _, sc := range scenarios[key] {
				k, ok := a.kinds[key]
				if !ok {
					t.Errorf("scenario %s: kind %s is not registered", sc.name, key)
					continue
				}
				if got := kindKey(sc.guardrail); got != key {
					t.Errorf("scenario %s is filed under %s but its guardrail is %s", sc.name, key, got)
				}
				t.Run(key+"/"+sc.name, func(t *testing.T) {
					t.Parallel()
					runScenario(t, k, sc)
				})
			}
		}
	})
	t.Run("every catalogue control and kind is implemented", func(t *testing.T) {
		keys := []string{string(guardrails.KindSCP), string(guardrails.KindConfigRule), string(guardrails.KindSecurityHub)}
		for _, name := range guardrails.ControlTypeNames() {
			keys = append(keys, "control:"+name)
		}
		for _, key := range keys {
			if _, ok := a.kinds[key]; !ok {
				t.Errorf("%s has no implementation", key)
			}
		}
	})
	t.Run("every kind has a scenario", func(t *testing.T) {
		for _, key := range a.Kinds() {
			if why, ok := noSimulator[key]; ok {
				t.Logf("%s is not tested against the simulator: %s", key, why)
				continue
			}
			if len(scenarios[key]) == 0 {
				t.Errorf("kind %s has no simulator scenario", key)
			}
		}
	})
	t.Run("every kind declares its permissions", func(t *testing.T) {
		perms := a.KindPermissions()
		for _, key := range a.Kinds() {
			if len(perms[key]) == 0 {
				t.Errorf("kind %s does not implement Permissions()", key)
			}
		}
	})
	t.Run("policies cover every call", func(t *testing.T) {
		member, management := a.Policies("OrgguardExecutionRole")
		callsMu.Lock()
		calls := slices.Clone(allCalls)
		callsMu.Unlock()
		if len(calls) == 0 {
			t.Skip("no scenario ran")
		}
		missing := map[string]bool{}
		for _, c := range calls {
			if c.Service == "sts" && c.Operation == "GetCallerIdentity" {
				continue // needs no permission
			}
			action := IAMAction(c.Service, c.Operation, c.Params)
			switch {
			case strings.Contains(c.Principal, ":assumed-role/OrgguardExecutionRole/"):
				if !member.Allows(action) {
					missing["member role: "+action] = true
				}
			case c.AccountID == acctMgmt:
				if !management.Allows(action) {
					missing["management role: "+action] = true
				}
			}
		}
		for _, m := range sortedKeysOf(missing) {
			t.Errorf("%s is called but not in the generated policy (add it to the kind's Permissions)", m)
		}
	})
}
