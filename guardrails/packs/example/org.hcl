target "sandbox" {
  ous     = [local.ou.sandbox]
  regions = var.regions
}

target "dev" {
  ous     = [local.ou.dev]
  regions = var.regions
}

target "prod" {
  ous              = [local.ou.prod]
  account_tags     = { data-classification = "confidential" }
  exclude_accounts = ["999988887777"] # the break-glass account
  regions          = var.regions
}

group "platform-oncall" {
  members = ["carol", "dave", "erin"]
}

group "security-leads" {
  members = ["frank", "grace"]
}

# Two of the on-call engineers approve; after 8 hours the request goes to
# the security leads, who have a day before it expires.
approval_policy "platform" {
  groups               = [group.platform-oncall]
  quorum               = 2
  separation_of_duties = true
  timeout              = "8h"
  on_timeout           = "escalate"
  escalate_to          = approval_policy.security-leads

  notify {
    sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:orgguard-approvals"
    webhook_url   = "https://chat.example.com/hooks/orgguard"
  }
}

approval_policy "security-leads" {
  groups     = [group.security-leads]
  approvers  = ["heidi"]
  quorum     = 1
  timeout    = "1d"
  on_timeout = "expire"
}

rollout "waves" {
  concurrency         = 5
  pause_between_waves = "30m"

  wave "canary" {
    target         = target.sandbox
    failure_budget = 0
  }
  wave "dev" {
    target         = target.dev
    failure_budget = "10%"
  }
  wave "prod" {
    target         = target.prod
    failure_budget = 1
  }
}
