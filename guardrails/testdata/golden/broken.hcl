# A pack with the mistakes people make on their first day.
variable "regions" {
  type    = list(string)
  default = ["us-east-1"]
}

target "prod" {
  ous     = ["Root/Workloads/Prod"]
  regions = var.region
}

approval_policy "security-team" {
  approvers = ["alice", "bob"]
  quorum    = 3
}

control "default_sg_closed" {
  kind     = "ec2.default_security_group_close"
  severity = "high"
  csf      = "PR.AC"
  target   = target.prd

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.security-team
  }
}

scp "deny_leave" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = "{\"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"organizations:LeaveOrganization\",}]}"
  attach_to = ["root"]
}

exemption "legacy" {
  guardrail = control.default_sg_closed
  accounts  = ["111122223333"]
  reason    = "legacy VPC peering"
  owner     = "alice@example.com"
  expires   = "2025-06-30"
}
