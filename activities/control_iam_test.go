package activities

var _ = addScenarios("control:iam.password_policy",
	scenario{
		name: "weak policy is raised to the baseline", account: acctLogArchive, region: usEast1,
		guardrail: control("iam.password_policy", nil), evidence: "minimum length 8 < 14",
		wantWrites: []string{"iam:UpdateAccountPasswordPolicy"}, compliantAccount: acctSecurity,
	},
	scenario{
		name: "missing policy is created", account: acctWebProd, region: usEast1,
		guardrail: control("iam.password_policy", nil), evidence: "has no password policy",
		wantWrites: []string{"iam:UpdateAccountPasswordPolicy"},
	},
)

var _ = addScenarios("control:iam.root_mfa", scenario{
	name: "root without MFA is reported", account: acctWebProd, region: usEast1,
	guardrail: control("iam.root_mfa", nil), evidence: "has no MFA", reportOnly: true, compliantAccount: acctSecurity,
})

var _ = addScenarios("control:iam.root_access_keys", scenario{
	name: "root access keys are reported", account: acctSandbox, region: usEast1,
	guardrail: control("iam.root_access_keys", nil), evidence: "has access keys", reportOnly: true, compliantAccount: acctWebProd,
})

var _ = addScenarios("control:iam.password_and_keys_separate", scenario{
	name: "console user's active key is deactivated", account: acctWebDev, region: usEast1,
	guardrail: control("iam.password_and_keys_separate", nil), evidence: "AKIADEMO0009ALICE001",
	wantWrites: []string{"iam:UpdateAccessKey"}, compliantAccount: acctNetwork,
})

var _ = addScenarios("control:iam.unused_credentials", scenario{
	name: "never-used key is deactivated, not deleted", account: acctPayProd, region: usEast1,
	guardrail: control("iam.unused_credentials", nil), evidence: "AKIADEMO0006LEGACY01 never used",
	wantWrites: []string{"iam:UpdateAccessKey"}, compliantAccount: acctMgmt,
})

var _ = addScenarios("control:iam.access_key_rotation", scenario{
	name: "old keys are reported", account: acctPayProd, region: usEast1,
	guardrail: control("iam.access_key_rotation", nil), evidence: "AKIADEMO0006LEGACY01", reportOnly: true, compliantAccount: acctNetwork,
})

var _ = addScenarios("control:iam.console_mfa", scenario{
	name: "console user without MFA is reported", account: acctWebDev, region: usEast1,
	guardrail: control("iam.console_mfa", nil), evidence: "alice has no MFA", reportOnly: true, compliantAccount: acctNetwork,
})
