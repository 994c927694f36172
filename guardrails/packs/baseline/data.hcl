# Data protection: S3, EBS, KMS.

control "s3_account_public_access_block" {
  kind        = "s3.account_public_access_block"
  description = "All four S3 account-level public access block settings are on."
  severity    = "high"
  csf         = "PR.DS"
  controls    = ["FSBP S3.1", "CIS v3.0.0 2.1.4"]

  remediation {
    mode = "auto"
  }
}

control "s3_bucket_encryption" {
  kind        = "s3.bucket_encryption"
  description = "Every bucket has default encryption."
  severity    = "medium"
  csf         = "PR.DS"
  controls    = ["FSBP S3.4"]

  settings {
    algorithm = "AES256"
  }

  remediation {
    mode = "auto"
  }
}

# A managed rule whose SSM Automation remediation AWS Config runs on its
# own: turning on default encryption removes nobody's access.
config_rule "s3_bucket_server_side_encryption" {
  description       = "AWS Config enables default encryption on non-compliant buckets with AWS-EnableS3BucketEncryption."
  severity          = "medium"
  csf               = "PR.DS"
  controls          = ["FSBP S3.4"]
  source_identifier = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"
  resource_types    = ["AWS::S3::Bucket"]

  ssm_remediation {
    document_name = "AWS-EnableS3BucketEncryption"
    parameters = {
      BucketName   = "RESOURCE_ID"
      SSEAlgorithm = "AES256"
    }
    automatic        = true
    maximum_attempts = 5
    retry_seconds    = 60
    automation_role  = var.remediation_role_name
  }

  remediation {
    mode = "auto"
  }
}

control "ebs_default_encryption" {
  kind        = "ec2.ebs_default_encryption"
  description = "EBS encryption by default is on in every governed region."
  severity    = "medium"
  csf         = "PR.DS"
  controls    = ["CIS v1.4.0 2.2.1", "FSBP EC2.7"]

  remediation {
    mode = "auto"
  }
}

control "kms_key_rotation" {
  kind        = "kms.key_rotation"
  description = "Customer managed symmetric KMS keys rotate yearly."
  severity    = "medium"
  csf         = "PR.DS"
  controls    = ["CIS v1.4.0 3.8", "FSBP KMS.4"]

  settings {
    rotation_period_days = 365
  }

  remediation {
    mode = "auto"
  }
}
