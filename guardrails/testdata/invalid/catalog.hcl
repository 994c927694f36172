control "typo_kind" {
  kind     = "ec2.default_security_group_close" # ERROR: Unknown control kind
  severity = "high"
  csf      = "PR.AC"
}

control "password" {
  kind     = "iam.password_policy"
  severity = "medium"
  csf      = "PR.AC"

  settings {
    minimum_lenght   = 14 # ERROR: Unsupported setting
    max_password_age = 5000 # ERROR: Setting out of range
    require_symbols  = "sometimes" # ERROR: Incorrect attribute value type
  }
}

control "guardduty" {
  kind     = "guardduty.detector"
  severity = "high"
  csf      = "DE.AE"

  settings {
    finding_publishing_frequency = "HOURLY" # ERROR: Invalid setting value
  }
}

control "no_settings" {
  kind     = "iam.console_mfa"
  severity = "high"
  csf      = "PR.AC"

  settings {
    strict = true # ERROR: Unsupported setting
  }
}

config_rule "typo_rule" {
  severity          = "high"
  csf               = "PR.AC"
  source_identifier = "VPC_DEFAULT_SECURITY_GROUP_CLOSD" # ERROR: Unknown managed Config rule
}

securityhub "hub" {
  severity = "high"
  csf      = "DE.CM"

  standard "fsbp" {
    version = "1.0.0"
  }
  standard "cis" {
    version = "2.0.0" # ERROR: Unknown standard version
  }
  standard "hipaa" { # ERROR: Unknown Security Hub standard
    version = "1.0.0"
  }
  standard "fsbp" { # ERROR: Duplicate standard
    version = "1.0.0"
  }

  disabled_control "EC2.10" {
    standard = "pci" # ERROR: Standard not enabled
    reason   = "not used"
  }
  disabled_control "Macie.1" { # ERROR: Missing required argument
    standard = "fsbp"
  }
  disabled_control "IAM.6" {
    reason = "  " # ERROR: Empty reason
  }
  disabled_control "not a control" { # ERROR: Invalid Security Hub control ID
    reason = "typo"
  }
}

control "trail" {
  kind     = "cloudtrail.multi_region"
  severity = "high"
  csf      = "DE.CM"

  settings {
    log_retention_days = pow(10, 400) # ERROR: Setting out of range
  }
}
