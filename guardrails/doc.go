// Package guardrails is orgguard's guardrail language: the HCL schema of a
// pack (variable, locals, target, group, approval_policy, scp, config_rule,
// securityhub, control, exemption, rollout), the loader that evaluates it in
// phases (variables, locals, the rest) and reports every problem as
// hcl.Diagnostics, the catalogues of native control types, managed Config
// rules and Security Hub standards, and the compiled Set workflows receive.
//
// One file per guardrail kind: scp.go, config_rule.go, securityhub.go,
// control.go; the language is documented in docs/guardrails.md and the
// shipped packs live in packs/.
package guardrails
