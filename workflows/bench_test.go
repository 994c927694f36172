package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/orgguard/orgguard/guardrails"
)

func benchSet() *guardrails.Set {
	set := rolloutSet(guardrails.Wave{Name: "dev", Target: "dev"}, guardrails.Wave{Name: "prod", Target: "prod"})
	for i := 0; i < 30; i++ {
		g := sgGuardrail
		g.ID, g.Target = fmt.Sprintf("control.c%02d", i), "prod"
		set.Guardrails = append(set.Guardrails, g)
	}
	for i := 0; i < 50; i++ {
		set.Exemptions = append(set.Exemptions, guardrails.Exemption{Name: fmt.Sprint(i), Guardrail: "control.c01",
			Resources: []string{fmt.Sprintf("arn:aws:ec2:*:%012d:security-group/*", i)}, Expires: time.Now().Add(time.Hour)})
	}
	return &set
}

// Planning waves and resolving every account's guardrails for a 10,000-account
// organization happens inside the rollout workflow task: it must stay cheap.
func BenchmarkPlan10000Accounts(b *testing.B) {
	set := benchSet()
	org := append(accounts(5000, "Root/Dev/Team", 1), accounts(5000, "Root/Prod/Team", 100000)...)
	b.ReportAllocs()
	for b.Loop() {
		waves, _ := Plan(set, "1", org, nil)
		for _, w := range waves {
			for _, a := range w.Accounts {
				_ = AccountGuardrails(set, a)
			}
		}
	}
}

func BenchmarkExempted(b *testing.B) {
	set := benchSet()
	a := Account{ID: "000000000049", OUPath: "Root/Prod"}
	f := Finding{GuardrailID: "control.c01", Resource: "arn:aws:ec2:us-east-1:000000000049:security-group/sg-1"}
	now := time.Now()
	for b.Loop() {
		if _, ok := Exempted(set.Exemptions, a, f, now); !ok {
			b.Fatal("not exempted")
		}
	}
}
