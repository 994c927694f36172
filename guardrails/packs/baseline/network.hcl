# Network: security groups, flow logs, instance metadata.

control "default_sg_closed" {
  kind        = "ec2.default_security_group_closed"
  description = "The default security group of every VPC has no rules; revoking them needs approval."
  severity    = "high"
  csf         = "PR.IR"
  controls    = ["CIS v1.2.0 4.3", "CIS v3.0.0 5.4", "PCI.EC2.2", "FSBP EC2.2"]

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}

config_rule "vpc_default_security_group_closed" {
  description       = "AWS Config evidence for closed default security groups."
  severity          = "high"
  csf               = "PR.IR"
  controls          = ["CIS v1.2.0 4.3", "CIS v3.0.0 5.4", "PCI.EC2.2", "FSBP EC2.2"]
  source_identifier = "VPC_DEFAULT_SECURITY_GROUP_CLOSED"
  resource_types    = ["AWS::EC2::SecurityGroup"]
}

control "no_public_ssh_rdp" {
  kind        = "ec2.no_public_ssh_rdp"
  description = "No security group admits SSH or RDP from anywhere; revoking the rules needs approval."
  severity    = "high"
  csf         = "PR.IR"
  controls    = ["CIS v3.0.0 5.2", "CIS v3.0.0 5.3", "FSBP EC2.13", "FSBP EC2.14", "PCI.EC2.5"]

  settings {
    ports = [22, 3389]
    cidrs = ["0.0.0.0/0", "::/0"]
  }

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}

config_rule "incoming_ssh_disabled" {
  description       = "AWS Config evidence: no unrestricted incoming SSH."
  severity          = "high"
  csf               = "PR.IR"
  controls          = ["CIS v3.0.0 5.2", "FSBP EC2.13", "PCI.EC2.5"]
  source_identifier = "INCOMING_SSH_DISABLED"
  resource_types    = ["AWS::EC2::SecurityGroup"]
}

# A managed rule with an SSM Automation remediation. The document removes
# rules open to the world, so orgguard runs it only after approval
# (automatic = false: AWS Config does not run it on its own).
config_rule "restricted_incoming_traffic" {
  description       = "No security group admits 22 or 3389 from anywhere; AWS-DisablePublicAccessForSecurityGroup fixes it after approval."
  severity          = "high"
  csf               = "PR.IR"
  controls          = ["CIS v3.0.0 5.2", "CIS v3.0.0 5.3", "FSBP EC2.14", "PCI.EC2.5"]
  source_identifier = "RESTRICTED_INCOMING_TRAFFIC"
  input_parameters  = { blockedPort1 = 22, blockedPort2 = 3389 }
  resource_types    = ["AWS::EC2::SecurityGroup"]

  ssm_remediation {
    document_name    = "AWS-DisablePublicAccessForSecurityGroup"
    parameters       = { GroupId = "RESOURCE_ID" }
    automatic        = false
    maximum_attempts = 3
    retry_seconds    = 60
    automation_role  = var.remediation_role_name
  }

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}

control "vpc_flow_logs" {
  kind        = "ec2.vpc_flow_logs"
  description = "Every VPC logs at least rejected traffic."
  severity    = "medium"
  csf         = "DE.CM"
  controls    = ["CIS v1.4.0 3.9", "FSBP EC2.6"]

  settings {
    traffic_type = "REJECT"
  }

  remediation {
    mode = "auto"
  }
}

control "imdsv2" {
  kind        = "ec2.imdsv2"
  description = "The account default requires IMDSv2; switching running instances over needs approval."
  severity    = "high"
  csf         = "PR.PS"
  controls    = ["FSBP EC2.8"]

  settings {
    account_default     = true
    remediate_instances = true
  }

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}
