package activities

var _ = addScenarios("control:ec2.default_security_group_closed", scenario{
	name: "default groups with AWS's default rules are closed", account: acctWebProd, region: usEast1,
	guardrail: control("ec2.default_security_group_closed", nil), evidence: "ingress and",
	wantWrites:       []string{"ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"},
	compliantAccount: acctSecurity,
})

var _ = addScenarios("control:ec2.no_public_ssh_rdp",
	scenario{
		name: "world-open SSH is revoked, HTTPS stays", account: acctWebProd, region: usEast1,
		guardrail: control("ec2.no_public_ssh_rdp", nil), evidence: "tcp 22 from 0.0.0.0/0",
		wantWrites: []string{"ec2:RevokeSecurityGroupIngress"}, compliantAccount: acctNetwork,
	},
	scenario{
		name: "port ranges and IPv6 count", account: acctSandbox, region: usEast1,
		guardrail: control("ec2.no_public_ssh_rdp", map[string]any{"ports": []any{22.0, 3389.0}}), evidence: "tcp 0-65535 from 0.0.0.0/0",
		wantWrites: []string{"ec2:RevokeSecurityGroupIngress"},
	},
	scenario{
		name: "IPv6 anywhere counts", account: acctPayDev, region: euWest1,
		guardrail: control("ec2.no_public_ssh_rdp", nil), evidence: "::/0",
		wantWrites: []string{"ec2:RevokeSecurityGroupIngress"},
	},
)

var _ = addScenarios("control:ec2.ebs_default_encryption", scenario{
	name: "EBS encryption by default is enabled", account: acctWebProd, region: usEast1,
	guardrail: control("ec2.ebs_default_encryption", nil), evidence: "disabled in us-east-1",
	wantWrites: []string{"ec2:EnableEbsEncryptionByDefault"}, compliantAccount: acctLogArchive,
})

var _ = addScenarios("control:ec2.vpc_flow_logs", scenario{
	name: "VPCs without flow logs get one", account: acctWebProd, region: usEast1,
	guardrail: control("ec2.vpc_flow_logs", nil), evidence: "has no flow log capturing rejected traffic",
	wantWrites: []string{"ec2:CreateFlowLogs"}, compliantAccount: acctNetwork,
})

var _ = addScenarios("control:ec2.imdsv2", scenario{
	name: "account default and IMDSv1 instances require tokens", account: acctWebProd, region: usEast1,
	guardrail: control("ec2.imdsv2", nil), evidence: "accepts IMDSv1",
	wantWrites: []string{"ec2:ModifyInstanceMetadataDefaults", "ec2:ModifyInstanceMetadataOptions"}, compliantAccount: acctSecurity,
})
