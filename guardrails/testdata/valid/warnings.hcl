# Valid packs may still warn.
target "prod" {
  ous          = ["Root/Prod"]
  account_tags = { env = "prod" }
}

approval_policy "ops" {
  approvers   = ["alice"]
  on_timeout  = "expire"
  escalate_to = approval_policy.ops2 # WARNING: escalate_to is ignored
}

approval_policy "ops2" {
  approvers = ["bob"]
}

scp "deny_leave" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Statement = { Effect = "Deny", Action = "organizations:LeaveOrganization", Resource = "*" } })
  attach_to = [target.prod] # WARNING: Target filters do not apply to SCPs
}

control "imdsv2" {
  kind     = "ec2.imdsv2"
  severity = "high"
  csf      = "PR.PT"

  remediation {
    mode            = "auto"
    approval_policy = approval_policy.ops # WARNING: approval_policy is ignored
  }
}

securityhub "empty" { # WARNING: No standards
  severity = "low"
  csf      = "DE.CM"
}

exemption "old" {
  guardrail = control.imdsv2
  accounts  = ["111122223333"]
  reason    = "migration finished last year"
  owner     = "alice"
  expires   = "2025-12-31" # WARNING: Exemption has expired
}

exemption "break_glass" {
  guardrail = "*"
  accounts  = ["999988887777"]
  reason    = "break-glass account, audited separately"
  owner     = "security@example.com"
  expires   = "2027-12-31T23:59:59Z"
}
