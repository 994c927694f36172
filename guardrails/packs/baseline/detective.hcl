# Detective services: Security Hub, GuardDuty.

securityhub "hub" {
  description              = "Security Hub with FSBP, CIS and PCI DSS subscribed in every governed region."
  severity                 = "high"
  csf                      = "DE.CM"
  enable_default_standards = false

  standard "fsbp" {
    version = "1.0.0"
  }
  standard "cis" {
    version = var.cis_version
  }
  standard "pci" {
    version = "3.2.1"
  }

  disabled_control "EC2.10" {
    standard = "fsbp"
    reason   = "VPC interface endpoints for EC2 are an architecture choice of each workload team, not a baseline requirement."
  }
  disabled_control "Macie.1" {
    standard = "fsbp"
    reason   = "Amazon Macie is run centrally by the data protection team from the audit account."
  }

  remediation {
    mode = "auto"
  }
}

control "guardduty" {
  kind        = "guardduty.detector"
  description = "A GuardDuty detector in every governed region; findings go to SNS through EventBridge."
  severity    = "high"
  csf         = "DE.AE"
  controls    = ["FSBP GuardDuty.1"]

  settings {
    finding_publishing_frequency = "FIFTEEN_MINUTES"
    route_findings               = true
  }

  remediation {
    mode = "auto"
  }
}
