control "broken" {
  kind = "iam.root_mfa"
  csf      = "PR.AC"
  severity = "high" "low" # ERROR: Missing newline after argument
}
