name = "baseline" # ERROR: Unsupported argument

remediation { # ERROR: Unsupported block type
  mode = "auto"
}

target "prod" {
  ous      = ["Root/Prod"]
  accounts = [011122223333] # ERROR: Invalid account ID
  regions  = ["us-east-1", "mars-north-1"] # ERROR: Invalid region
  tags     = { env = "prod" } # ERROR: Unsupported argument
}

control "sg" {
  kind     = "ec2.default_security_group_closed"
  severity = "urgent" # ERROR: Invalid severity
  csf      = "Protect" # ERROR: Invalid NIST CSF reference
  controls = ["CIS v3.0.0 5.4", "EC2.2"] # ERROR: Unknown framework in control ID
  mode     = "auto" # ERROR: Unsupported argument
}

control "no_csf" { # ERROR: Missing required argument # ERROR: Missing required argument
  kind = "iam.root_mfa"
}

config_rule "ssm_in_wrong_block" {
  severity          = "high"
  csf               = "PR.AC"
  source_identifier = "INCOMING_SSH_DISABLED"

  remediation {
    document_name = "AWS-DisablePublicAccessForSecurityGroup" # ERROR: Unsupported argument
  }
}

control "123bad" { # ERROR: Invalid name
  kind     = "iam.root_mfa"
  severity = "high"
  csf      = "PR.AC"
}
