group "oncall" {
  members = ["carol", "dave"]
}

approval_policy "too_strict" {
  approvers = ["alice", "bob"]
  groups    = [group.oncall]
  quorum    = 5 # ERROR: Quorum larger than the approver list
}

approval_policy "nobody" { # ERROR: No approvers
  quorum = 1
}

approval_policy "escalating" {
  approvers  = ["alice"]
  on_timeout = "escalate" # ERROR: Missing escalate_to
  timeout    = "two days" # ERROR: Invalid duration
}

approval_policy "typo" {
  approvers  = ["alice"]
  on_timeout = "expired" # ERROR: Invalid on_timeout
  groups     = [group.on-call] # ERROR: Reference to undeclared group
}

approval_policy "ping" {
  approvers   = ["alice"]
  escalate_to = approval_policy.pong # ERROR: Escalation cycle
}

approval_policy "pong" {
  approvers   = ["bob"]
  escalate_to = approval_policy.ping
}

approval_policy "self" {
  approvers   = ["bob"]
  escalate_to = approval_policy.self # ERROR: Policy escalates to itself
  notify {
    sns_topic_arn = "orgguard-approvals" # ERROR: Invalid SNS topic ARN
    webhook_url   = "chat.example.com/hook" # ERROR: Invalid webhook URL
  }
}

control "sg" {
  kind     = "ec2.default_security_group_closed"
  severity = "high"
  csf      = "PR.AC"

  remediation {
    mode = "approval" # ERROR: Approval mode needs an approval policy
  }
}

control "root_keys" {
  kind     = "iam.root_access_keys"
  severity = "critical"
  csf      = "PR.AC"

  remediation {
    mode         = "auto" # ERROR: Control cannot be remediated
    max_attempts = 0 # ERROR: Value out of range
  }
}

control "mode_typo" {
  kind     = "iam.console_mfa"
  severity = "high"
  csf      = "PR.AC"

  remediation {
    mode = "automatic" # ERROR: Invalid remediation mode
  }
  remediation { # ERROR: Duplicate remediation block
    mode = "report"
  }
}
