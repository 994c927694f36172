# A small pack showing variables, targets, groups, escalating approval
# policies, exemptions and a rollout in waves. Try:
#
#   orgguard validate guardrails/packs/example -var environment_prefix=Root/Lab
#   ORGGUARD_VAR_regions='["eu-central-1"]' orgguard validate guardrails/packs/example

variable "regions" {
  type    = list(string)
  default = ["eu-west-1", "eu-central-1"]
}

variable "environment_prefix" {
  description = "OU path under which the sandbox, dev and prod OUs live."
  type        = string
  default     = "Root/Workloads"

  validation {
    condition     = can(regex("^Root(/[^/]+)*$", var.environment_prefix))
    error_message = "environment_prefix must be an OU path starting at Root, such as \"Root/Workloads\"."
  }
}

variable "legacy_account" {
  description = "The account that still runs the bastion host being migrated."
  type        = string
  default     = "222233334444"
}

locals {
  ou = {
    sandbox = "${var.environment_prefix}/Sandbox"
    dev     = "${var.environment_prefix}/Dev"
    prod    = "${var.environment_prefix}/Prod"
  }
}
