# The engine's end-to-end pack: one control, approval-gated.

target "default" {
  ous     = ["Root"]
  regions = ["us-east-1", "eu-west-1"]
}

approval_policy "security-team" {
  approvers            = ["alice", "bob"]
  quorum               = 1
  separation_of_duties = true
  timeout              = "72h"
  on_timeout           = "expire"
}

control "default_sg_closed" {
  kind        = "ec2.default_security_group_closed"
  description = "The default security group of every VPC has no rules."
  severity    = "high"
  csf         = "PR.IR"
  controls    = ["CIS v3.0.0 5.4", "FSBP EC2.2", "PCI.EC2.2"]

  remediation {
    mode            = var.mode
    approval_policy = approval_policy.security-team
  }
}

variable "mode" {
  type    = string
  default = "approval"
}
