config_rule "both" {
  severity          = "high"
  csf               = "PR.AC"
  source_identifier = "INCOMING_SSH_DISABLED"
  custom_lambda_arn = "arn:aws:lambda:us-east-1:111122223333:function:x" # ERROR: Conflicting rule source
}

config_rule "neither" { # ERROR: Missing rule source
  severity = "high"
  csf      = "PR.AC"
}

config_rule "auto_without_document" {
  severity          = "high"
  csf               = "PR.AC"
  source_identifier = "INCOMING_SSH_DISABLED"
  resource_types    = ["AWS::EC2::SecurityGroup", "SecurityGroup"] # ERROR: Invalid resource type

  remediation {
    mode = "auto"
  }
}

approval_policy "sec" {
  approvers = ["alice"]
}

config_rule "automatic_but_gated" {
  severity          = "high"
  csf               = "PR.AC"
  source_identifier = "RESTRICTED_INCOMING_TRAFFIC"
  input_parameters  = { blockedPort1 = [22] } # ERROR: Incorrect attribute value type

  ssm_remediation {
    document_name    = "AWS-DisablePublicAccessForSecurityGroup" # ERROR: Reserved SSM document name
    document_content = "{}"
    parameters       = { GroupId = "RESOURCE_ID", SecurityGroupId = "RESOURCE_ID" } # ERROR: Two resource ID parameters
    automatic        = true
    maximum_attempts = 50 # ERROR: Value out of range
    automation_role  = "arn:aws:iam::123:role/x" # ERROR: Invalid automation role
  }

  remediation {
    mode            = "approval" # ERROR: Conflicting remediation settings
    approval_policy = approval_policy.sec
  }
}

config_rule "bad_lambda" {
  severity          = "high"
  csf               = "PR.AC"
  custom_lambda_arn = "my-function" # ERROR: Invalid Lambda ARN

  ssm_remediation { # ERROR: Missing required argument
    automatic = false
  }
}
