# Logging and monitoring: CloudTrail, the root activity alarm, AWS Config.

control "cloudtrail" {
  kind        = "cloudtrail.multi_region"
  description = "A multi-region trail that logs, validates log files, is KMS-encrypted and delivers to CloudWatch Logs; its bucket is encrypted, private and TLS-only."
  severity    = "critical"
  csf         = "DE.CM"
  controls = [
    "CIS v1.4.0 3.1", "CIS v1.4.0 3.2", "CIS v1.4.0 3.3", "CIS v1.4.0 3.4", "CIS v1.4.0 3.7",
    "FSBP CloudTrail.1", "FSBP CloudTrail.2", "FSBP CloudTrail.4", "FSBP CloudTrail.5",
  ]

  settings {
    trail_name          = "orgguard-trail"
    log_file_validation = true
    log_retention_days  = 365
  }

  remediation {
    mode = "auto"
  }
}

control "root_activity_alarm" {
  kind        = "cloudwatch.root_activity_alarm"
  description = "A metric filter on root user activity with an alarm to SNS."
  severity    = "high"
  csf         = "DE.CM"
  controls    = ["CIS v1.4.0 1.7", "CIS v1.4.0 4.3", "FSBP CloudWatch.1"]
  regions     = ["us-east-1"] # where the trail's global events arrive

  settings {
    filter_pattern = "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }"
    sns_topic_name = "orgguard-security-alarms"
  }

  remediation {
    mode = "auto"
  }
}

control "config_recorder" {
  kind        = "config.recorder"
  description = "AWS Config records all supported and global resource types to an encrypted, private, TLS-only bucket with lifecycle expiry."
  severity    = "high"
  csf         = "ID.AM"
  controls    = ["CIS v1.4.0 3.5", "FSBP Config.1"]

  settings {
    all_supported                 = true
    include_global_resource_types = true
    lifecycle_expiration_days     = 365
    create_service_linked_roles   = true
  }

  remediation {
    mode = "auto"
  }
}

control "cloudformation_drift" {
  kind        = "cloudformation.drift"
  description = "CloudFormation stacks have not drifted from their templates; drift is reported to the stack owners."
  severity    = "low"
  csf         = "DE.CM"

  remediation {
    mode = "report"
  }
}
