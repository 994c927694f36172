# Inputs of the baseline pack. Override with -var, -var-file or
# ORGGUARD_VAR_<name>, e.g. ORGGUARD_VAR_regions='["eu-central-1"]'.

variable "regions" {
  description = "Regions orgguard governs; every other region is denied by the region allow-list SCP."
  type        = list(string)
  default     = ["us-east-1", "eu-west-1"]

  validation {
    condition     = length(var.regions) > 0
    error_message = "Name at least one governed region."
  }
  validation {
    condition     = contains(var.regions, "us-east-1")
    error_message = "Keep us-east-1 governed: IAM, Organizations and CloudFront live there, and the root activity alarm needs it."
  }
}

variable "scp_ous" {
  description = "Top-level OUs that receive the SCPs the root has no room for (AWS allows 5 SCPs per target, FullAWSAccess included)."
  type        = list(string)
  default     = ["Root/Security", "Root/Infrastructure", "Root/Workloads", "Root/Sandbox"]
}

variable "excluded_accounts" {
  description = "Accounts the baseline skips entirely (e.g. a break-glass account). Prefer exemptions, which expire."
  type        = list(string)
  default     = []
}

variable "orgguard_role_name" {
  description = "Role orgguard assumes in every member account; the protect_orgguard_role SCP guards it."
  type        = string
  default     = "OrgguardExecutionRole"
}

variable "orgguard_principal_arn_pattern" {
  description = "Principal allowed to change the orgguard role (orgguard's own management role)."
  type        = string
  default     = "arn:aws:iam::*:role/OrgguardManagementRole"
}

variable "remediation_role_name" {
  description = "Role AWS Config assumes to run SSM Automation remediations (resolved per account)."
  type        = string
  default     = "OrgguardConfigRemediationRole"
}

variable "cis_version" {
  description = "CIS AWS Foundations Benchmark version subscribed in Security Hub."
  type        = string
  default     = "3.0.0"

  validation {
    condition     = contains(["1.4.0", "3.0.0"], var.cis_version)
    error_message = "cis_version must be \"1.4.0\" or \"3.0.0\"."
  }
}

variable "password_min_length" {
  description = "Minimum IAM password length (CIS asks for 14)."
  type        = number
  default     = 14

  validation {
    condition     = var.password_min_length >= 14
    error_message = "CIS 1.8 requires a minimum password length of at least 14."
  }
}

locals {
  # Services whose API endpoints are global (us-east-1): the region
  # allow-list must not deny them.
  global_services = [
    "a4b:*", "access-analyzer:*", "account:*", "acm:*", "aws-marketplace:*", "aws-portal:*", "budgets:*",
    "ce:*", "chatbot:*", "cloudfront:*", "config:*", "cur:*", "directconnect:*", "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways", "ec2:DescribeVpnGateways", "fms:*", "globalaccelerator:*", "health:*",
    "iam:*", "importexport:*", "kms:*", "mobileanalytics:*", "networkmanager:*", "organizations:*",
    "pricing:*", "route53:*", "route53domains:*", "route53-recovery-cluster:*", "route53-recovery-control-config:*",
    "route53-recovery-readiness:*", "s3:GetAccountPublic*", "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*", "shield:*", "sts:*", "support:*", "trustedadvisor:*", "waf-regional:*", "waf:*",
    "wafv2:*", "wellarchitected:*",
  ]

  orgguard_role_arn_pattern = "arn:aws:iam::*:role/${var.orgguard_role_name}"
}

# Every ACTIVE account of the organization in the governed regions.
# Guardrails that name no target use this target's regions.
target "default" {
  ous              = ["Root"]
  regions          = var.regions
  exclude_accounts = var.excluded_accounts
}

# Remediations that remove access (access keys, security group rules,
# instance metadata options) wait for one of these approvers. The person who
# requested a change cannot approve it.
approval_policy "security-team" {
  approvers            = ["alice", "bob"]
  quorum               = 1
  separation_of_duties = true
  timeout              = "72h"
  on_timeout           = "expire"
}
