target "prod" {
  ous = ["Root/Prod"]
}

control "root_mfa" {
  kind     = "iam.root_mfa"
  severity = "critical"
  csf      = "PR.AC"
}

locals {
  owner = "alice"
}
