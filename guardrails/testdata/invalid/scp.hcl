locals {
  # 200 actions of 28+ characters: far beyond 5,120 characters minified.
  many_actions = [for i in range(200) : format("ec2:SomeVeryLongActionName%04d", i)]
}

scp "not_json" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = "{ \"Version\": \"2012-10-17\", " # ERROR: Invalid policy document
  attach_to = ["Root/OU1"]
}

scp "too_large" {
  severity = "high"
  csf      = "PR.AC"
  policy = jsonencode({ # ERROR: SCP too large
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Action = local.many_actions, Resource = "*" }]
  })
  attach_to = ["Root/OU2"]
}

scp "no_statement" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17" }) # ERROR: Invalid policy document
  attach_to = ["Root/OU3"]
}

scp "principal" {
  severity = "high"
  csf      = "PR.AC"
  policy = jsonencode({ # ERROR: Invalid policy document
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Principal = "*", Action = "s3:*", Resource = "*" }]
  })
  attach_to = ["Root/OU4"]
}

scp "misplaced" {
  severity  = "high"
  csf       = "PR.AC"
  target    = "prod" # ERROR: Argument not expected for an scp
  policy    = jsonencode({ Statement = [{ Effect = "Deny", Action = "*", Resource = "*" }] })
  attach_to = ["root", "Workloads/Prod", "12345"] # ERROR: Invalid attachment # ERROR: Invalid attachment
}

scp "missing_file" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = file("does-not-exist.json") # ERROR: Error in function call
  attach_to = ["Root/OU5"]
}

scp "escape" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = file("../../../go.mod") # ERROR: Error in function call
  attach_to = ["Root/OU6"]
}
