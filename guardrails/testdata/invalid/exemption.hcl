control "sg" {
  kind     = "ec2.default_security_group_closed"
  severity = "high"
  csf      = "PR.AC"
}

exemption "expired" {
  guardrail = control.sg
  accounts  = ["111122223333"]
  reason    = "legacy VPC"
  owner     = "alice"
  expires   = "2026-11-23" # WARNING: Exemption has expired
}

exemption "bad_date" {
  guardrail = control.sg
  accounts  = ["111122223333"]
  reason    = "legacy VPC"
  owner     = "alice"
  expires   = "31/12/2027" # ERROR: Invalid expiry
}

exemption "nothing" { # ERROR: Exemption exempts nothing
  guardrail = control.sg
  reason    = "why not"
  owner     = "alice"
  expires   = "2027-01-01"
}

exemption "sloppy" {
  guardrail = control.sg
  accounts  = ["1111-2222-3333"] # ERROR: Invalid account ID
  ous       = ["Workloads"] # ERROR: Invalid organizational unit
  resources = ["sg-123", "arn:aws:ec2:*:*:security-group/[sg"] # ERROR: Invalid resource pattern # ERROR: Invalid resource pattern
  reason    = "" # ERROR: Empty reason
  owner     = "alice"
  expires   = "2027-01-01"
}

exemption "no_expiry" { # ERROR: Missing required argument
  guardrail = control.sg
  accounts  = ["111122223333"]
  reason    = "forever"
  owner     = "alice"
}
