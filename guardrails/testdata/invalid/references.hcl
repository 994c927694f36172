variable "region" {
  type    = string
  default = "us-east-1"
}

locals {
  prefix = "orgguard"
}

target "production" {
  ous     = ["Root/Prod"]
  regions = [var.regoin] # ERROR: Reference to undeclared input variable
}

approval_policy "security-team" {
  approvers = ["alice", "bob"]
}

control "default_sg_closed" {
  kind     = "ec2.default_security_group_closed"
  severity = "high"
  csf      = "PR.AC"
  target   = target.prodution # ERROR: Reference to undeclared target

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-teem # ERROR: Reference to undeclared approval policy
  }
}

control "imdsv2" {
  kind        = "ec2.imdsv2"
  description = "${local.prefx} IMDSv2" # ERROR: Reference to undeclared local value
  severity    = "high"
  csf         = "PR.PT"
  target      = approval_policy.security-team # ERROR: Invalid reference
}

exemption "legacy" {
  guardrail = control.default_sg_close # ERROR: Reference to undeclared control
  accounts  = ["111122223333"]
  reason    = "legacy"
  owner     = "alice"
  expires   = "2027-01-01"
}

exemption "wrong_kind" {
  guardrail = scp.default_sg_closed # ERROR: Reference to undeclared scp
  accounts  = ["111122223333"]
  reason    = "legacy"
  owner     = "alice"
  expires   = "2027-01-01"
}

rollout "waves" {
  wave "first" {
    target = target.canary # ERROR: Reference to undeclared target
  }
}

control "deep_ref" {
  kind     = "ec2.imdsv2"
  severity = "high"
  csf      = "PR.PT"
  target   = target.production.regions # ERROR: Invalid reference
}

control "bare_ref" {
  kind     = "ec2.imdsv2"
  severity = "high"
  csf      = "PR.PT"
  target   = target # ERROR: Invalid reference
}

control "string_ref" {
  kind     = "ec2.imdsv2"
  severity = "high"
  csf      = "PR.PT"
  target   = "production"
  regions  = [for r in ["us-east-1", "eu-west-1"] : r if r != var.region]
}

exemption "ambiguous" {
  guardrail = "imdsv2" # ERROR: Invalid reference
  accounts  = ["111122223333"]
  reason    = "legacy"
  owner     = "alice"
  expires   = "2027-01-01"
}

exemption "by_string" {
  guardrail = "control.imdsv2"
  accounts  = ["111122223333"]
  reason    = "legacy"
  owner     = "alice"
  expires   = "2027-01-01"
}
