package activities

import "github.com/orgguard/orgguard/guardrails"

var hubGuardrail = guardrails.Guardrail{ID: "securityhub.hub", Kind: guardrails.KindSecurityHub, Name: "hub",
	SecurityHub: &guardrails.SecurityHub{
		Standards: []guardrails.Standard{{Name: "fsbp", Version: "1.0.0"}, {Name: "cis", Version: "1.4.0"}, {Name: "pci", Version: "3.2.1"}},
		DisabledControls: []guardrails.DisabledControl{
			{Standard: "fsbp", Control: "EC2.10", Reason: "VPC endpoints are a workload decision."},
		},
	}}

var _ = addScenarios("securityhub", scenario{
	name: "hub enabled, standards subscribed, named controls disabled", account: acctWebProd, region: usEast1,
	guardrail: hubGuardrail, evidence: "Security Hub is not enabled",
	wantWrites: []string{"securityhub:EnableSecurityHub", "securityhub:BatchEnableStandards", "securityhub:UpdateStandardsControl"},
})
