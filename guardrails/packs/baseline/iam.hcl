# Identity: password policy, root user, IAM users' credentials.

control "iam_password_policy" {
  kind        = "iam.password_policy"
  description = "The account password policy: at least 14 characters, all character classes, 24 remembered, 90-day maximum age."
  severity    = "medium"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.8", "CIS v1.4.0 1.9", "FSBP IAM.7", "PCI.IAM.8"]

  settings {
    minimum_length            = var.password_min_length
    require_uppercase         = true
    require_lowercase         = true
    require_numbers           = true
    require_symbols           = true
    password_reuse_prevention = 24
    max_password_age          = 90
  }

  remediation {
    mode = "auto" # UpdateAccountPasswordPolicy
  }
}

config_rule "iam_password_policy" {
  description       = "AWS Config's view of the same password policy, for Config-based evidence."
  severity          = "medium"
  csf               = "PR.AA"
  controls          = ["CIS v1.4.0 1.8", "CIS v1.4.0 1.9", "FSBP IAM.7", "PCI.IAM.8"]
  source_identifier = "IAM_PASSWORD_POLICY"
  input_parameters = {
    RequireUppercaseCharacters = true
    RequireLowercaseCharacters = true
    RequireSymbols             = true
    RequireNumbers             = true
    MinimumPasswordLength      = var.password_min_length
    PasswordReusePrevention    = 24
    MaxPasswordAge             = 90
  }
  regions = [var.regions[0]] # a global resource: evaluate it once
}

control "root_mfa" {
  kind        = "iam.root_mfa"
  description = "The root user has (hardware) MFA. Only the root user can fix this, so orgguard reports."
  severity    = "critical"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.5", "CIS v1.4.0 1.6", "FSBP IAM.6"]

  settings {
    require_hardware_mfa = false
  }

  remediation {
    mode = "report"
  }
}

control "root_access_keys" {
  kind        = "iam.root_access_keys"
  description = "The root user has no access keys. Only the root user can delete them, so orgguard reports."
  severity    = "critical"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.4", "FSBP IAM.4"]

  remediation {
    mode = "report"
  }
}

control "password_and_keys_separate" {
  kind        = "iam.password_and_keys_separate"
  description = "No IAM user has both a console password and an active access key; deactivating the keys needs approval."
  severity    = "medium"
  csf         = "PR.AA"

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}

control "unused_credentials" {
  kind        = "iam.unused_credentials"
  description = "Passwords and access keys unused for 90 days are deactivated (never deleted) after approval."
  severity    = "medium"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.12", "FSBP IAM.8"]

  settings {
    max_age_days = 90
  }

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
    max_attempts    = 3
  }
}

config_rule "iam_user_unused_credentials" {
  description       = "AWS Config evidence for unused credentials."
  severity          = "medium"
  csf               = "PR.AA"
  controls          = ["CIS v1.4.0 1.12", "FSBP IAM.8"]
  source_identifier = "IAM_USER_UNUSED_CREDENTIALS_CHECK"
  input_parameters  = { maxCredentialUsageAge = 90 }
  regions           = [var.regions[0]]
}

control "access_key_rotation" {
  kind        = "iam.access_key_rotation"
  description = "Access keys older than 90 days are reported and their owners notified."
  severity    = "medium"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.14", "FSBP IAM.3"]

  settings {
    max_age_days = 90
    notify_owner = true
  }

  remediation {
    mode = "report"
  }
}

config_rule "access_keys_rotated" {
  description       = "AWS Config evidence for access key rotation."
  severity          = "medium"
  csf               = "PR.AA"
  controls          = ["CIS v1.4.0 1.14", "FSBP IAM.3"]
  source_identifier = "ACCESS_KEYS_ROTATED"
  input_parameters  = { maxAccessKeyAge = 90 }
  regions           = [var.regions[0]]
}

control "console_mfa" {
  kind        = "iam.console_mfa"
  description = "Every IAM user with a console password has an MFA device."
  severity    = "high"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.10", "FSBP IAM.5"]

  remediation {
    mode = "report"
  }
}

control "access_analyzer" {
  kind        = "accessanalyzer.analyzer"
  description = "An IAM Access Analyzer analyzer in every governed region."
  severity    = "medium"
  csf         = "ID.RA"
  controls    = ["CIS v1.4.0 1.20", "FSBP IAM.21"]

  remediation {
    mode = "auto"
  }
}
