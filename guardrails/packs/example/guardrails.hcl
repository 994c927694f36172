control "no_public_ssh_rdp" {
  kind        = "ec2.no_public_ssh_rdp"
  description = "No security group admits SSH or RDP from anywhere."
  severity    = "high"
  csf         = "PR.AA"
  controls    = ["CIS v3.0.0 5.2", "CIS v3.0.0 5.3", "FSBP EC2.13", "FSBP EC2.14", "PCI.EC2.5"]
  target      = target.prod

  remediation {
    mode            = "approval"
    approval_policy = approval_policy.platform
  }
}

control "ebs_default_encryption" {
  kind        = "ec2.ebs_default_encryption"
  description = "EBS encryption by default, everywhere the rollout goes."
  severity    = "medium"
  csf         = "PR.DS"
  controls    = ["CIS v1.4.0 2.2.1", "FSBP EC2.7"]
  target      = target.dev
  regions     = ["eu-west-1"]
}

scp "deny_leave_organization" {
  description = "Workload accounts cannot leave the organization."
  severity    = "high"
  csf         = "PR.AA"
  policy      = file("policies/deny-leave-organization.json")
  attach_to   = [target.sandbox, local.ou.dev]
}

config_rule "s3_tls_only" {
  description       = "Buckets require TLS."
  severity          = "medium"
  csf               = "PR.DS"
  controls          = ["FSBP S3.5"]
  source_identifier = "S3_BUCKET_SSL_REQUESTS_ONLY"
  target            = target.prod
}

# The legacy bastion keeps SSH open until the migration to Session Manager
# is done; the exemption expires on its own.
exemption "legacy_bastion" {
  guardrail = control.no_public_ssh_rdp
  accounts  = [var.legacy_account]
  resources = ["arn:aws:ec2:*:${var.legacy_account}:security-group/sg-0bastion*"]
  reason    = "Bastion host being replaced by Session Manager (MIGRATE-42)."
  owner     = "carol@example.com"
  ticket    = "SEC-1234"
  expires   = "2027-06-30"
}

exemption "sandbox_tls" {
  guardrail = config_rule.s3_tls_only
  ous       = [local.ou.sandbox]
  reason    = "Sandbox buckets hold no data; TLS enforcement comes with the data classification tags."
  owner     = "platform-team@example.com"
  expires   = "2027-03-31T17:00:00Z"
}
