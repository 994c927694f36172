# AWS allows 5 SCPs per root, OU or account, FullAWSAccess included.

scp "s1" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"]
}

scp "s2" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"]
}

scp "s3" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"]
}

scp "s4" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"]
}

scp "s5" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"] # WARNING: SCP quota reached
}

scp "s6" {
  severity  = "high"
  csf       = "PR.AC"
  policy    = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "s3:DeleteBucket", Resource = "*" }] })
  attach_to = ["root"] # ERROR: Too many SCPs on one target
}
