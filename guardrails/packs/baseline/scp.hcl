# Preventive guardrails: Service Control Policies attached at the root.
# Every SCP denies; none allows (FullAWSAccess stays attached).

# AWS allows at most 5 SCPs on one root, OU or account, FullAWSAccess
# included. Four SCPs go on the root; the other four on every top-level OU
# (var.scp_ous), which reaches every member account under them. SCPs never
# restrict the management account, wherever they are attached.

scp "deny_leave_organization" {
  description = "Member accounts cannot leave the organization (and escape its guardrails)."
  severity    = "high"
  csf         = "PR.AA"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "DenyLeaveOrganization"
      Effect   = "Deny"
      Action   = ["organizations:LeaveOrganization"]
      Resource = "*"
    }]
  })
  attach_to = ["root"]
}

scp "protect_audit_trail" {
  description = "Nobody in a member account can stop, delete or reconfigure CloudTrail."
  severity    = "critical"
  csf         = "PR.PS"
  controls    = ["CIS v1.4.0 3.1", "FSBP CloudTrail.1"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ProtectCloudTrail"
      Effect   = "Deny"
      Action   = ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"]
      Resource = "*"
      Condition = {
        ArnNotLike = { "aws:PrincipalArn" = [local.orgguard_role_arn_pattern] }
      }
    }]
  })
  attach_to = ["root"]
}

scp "protect_detective_services" {
  description = "AWS Config, GuardDuty, Security Hub and Access Analyzer cannot be switched off in member accounts."
  severity    = "critical"
  csf         = "DE.CM"
  controls    = ["FSBP Config.1", "FSBP GuardDuty.1"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "ProtectDetectiveServices"
      Effect = "Deny"
      Action = [
        "config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel",
        "guardduty:DeleteDetector", "guardduty:DisassociateFromMasterAccount", "guardduty:UpdateDetector",
        "securityhub:DisableSecurityHub", "securityhub:BatchDisableStandards",
        "access-analyzer:DeleteAnalyzer",
      ]
      Resource = "*"
      Condition = {
        ArnNotLike = { "aws:PrincipalArn" = [local.orgguard_role_arn_pattern] }
      }
    }]
  })
  attach_to = ["root"]
}

scp "deny_root_user" {
  description = "The root user of member accounts can do nothing (the management account is not affected by SCPs)."
  severity    = "critical"
  csf         = "PR.AA"
  controls    = ["CIS v1.4.0 1.7"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyRootUser"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { StringLike = { "aws:PrincipalArn" = ["arn:aws:iam::*:root"] } }
    }]
  })
  attach_to = ["root"]
}

scp "region_allowlist" {
  description = "Requests outside the governed regions are denied, except to global services."
  severity    = "high"
  csf         = "PR.PS"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyOutsideGovernedRegions"
      Effect    = "Deny"
      NotAction = local.global_services
      Resource  = "*"
      Condition = {
        StringNotEquals = { "aws:RequestedRegion" = var.regions }
        ArnNotLike      = { "aws:PrincipalArn" = [local.orgguard_role_arn_pattern] }
      }
    }]
  })
  attach_to = var.scp_ous
}

scp "require_imdsv2" {
  description = "EC2 instances can only be launched with IMDSv2 (session tokens) required."
  severity    = "high"
  csf         = "PR.PS"
  controls    = ["FSBP EC2.8"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RequireImdsV2"
        Effect    = "Deny"
        Action    = "ec2:RunInstances"
        Resource  = "arn:aws:ec2:*:*:instance/*"
        Condition = { StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } }
      },
      {
        Sid       = "DenyImdsV1Reenable"
        Effect    = "Deny"
        Action    = "ec2:ModifyInstanceMetadataOptions"
        Resource  = "*"
        Condition = { StringNotEquals = { "ec2:Attribute/HttpTokens" = "required" } }
      },
    ]
  })
  attach_to = var.scp_ous
}

scp "protect_s3_account_public_access_block" {
  description = "The S3 account-level public access block cannot be changed in member accounts."
  severity    = "high"
  csf         = "PR.DS"
  controls    = ["FSBP S3.1", "CIS v3.0.0 2.1.4"]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ProtectAccountPublicAccessBlock"
      Effect   = "Deny"
      Action   = ["s3:PutAccountPublicAccessBlock"]
      Resource = "*"
      Condition = {
        ArnNotLike = { "aws:PrincipalArn" = [local.orgguard_role_arn_pattern] }
      }
    }]
  })
  attach_to = var.scp_ous
}

scp "protect_orgguard_role" {
  description = "Only orgguard's own management principal can change or delete the role orgguard assumes in member accounts."
  severity    = "critical"
  csf         = "PR.AA"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "ProtectOrgguardExecutionRole"
      Effect = "Deny"
      Action = [
        "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole",
      ]
      Resource  = [local.orgguard_role_arn_pattern]
      Condition = { ArnNotLike = { "aws:PrincipalArn" = [var.orgguard_principal_arn_pattern] } }
    }]
  })
  attach_to = var.scp_ous
}
