target "prod" { # ERROR: Duplicate target "prod"
  ous = ["Root/Production"]
}

# Same name, different kind: allowed (the IDs differ).
config_rule "root_mfa" {
  severity          = "critical"
  csf               = "PR.AC"
  source_identifier = "ROOT_ACCOUNT_MFA_ENABLED"
}

control "root_mfa" { # ERROR: Duplicate control "root_mfa"
  kind     = "iam.root_mfa"
  severity = "critical"
  csf      = "PR.AC"
}

locals {
  owner = "bob" # ERROR: Duplicate local value "owner"
}

rollout "one" {
  wave "all" {
    target = target.prod
  }
}

rollout "two" { # ERROR: Duplicate rollout block
  wave "all" {
    target = target.prod
  }
}
