# Allow-listed functions, file() and templatefile() relative to the pack.
variable "regions" {
  type    = list(string)
  default = ["us-east-1", "eu-west-1"]
}

variable "team" {
  type    = string
  default = "platform"
}

locals {
  upper_team = upper(var.team)
  all        = concat(var.regions, ["eu-central-1"])
  tags       = merge({ owner = var.team }, { env = "prod" })
  names      = join(",", sort(keys(local.tags)))
  region_cnt = length(local.all)
  decoded    = jsondecode("{\"a\": [1, 2]}")
  has_eu     = contains(local.all, "eu-west-1")
  label      = format("%s-%d", lower(local.upper_team), local.region_cnt)
  first      = try(local.decoded.missing, "fallback")
}

target "prod" {
  regions      = slice(local.all, 0, 2)
  account_tags = local.tags
}

scp "deny_regions" {
  description = "${local.label} ${local.names} ${local.first}"
  severity    = local.has_eu ? "high" : "low"
  csf         = "PR.PT"
  policy      = templatefile("_files/deny-regions.json.tmpl", { global = ["iam:*", "sts:*"], regions = var.regions })
  attach_to   = [target.prod, "Root/Workloads", "ou-ab12-cd34ef56", "111122223333"] # WARNING: Target filters do not apply to SCPs
}

config_rule "ebs_custom" {
  severity          = "medium"
  csf               = "PR.DS"
  controls          = ["FSBP EC2.7"]
  custom_lambda_arn = "arn:aws:lambda:us-east-1:111122223333:function:ebs-check"
  target            = target.prod
  input_parameters  = { threshold = 3, strict = true, name = "x" }

  ssm_remediation {
    document_name    = "Orgguard-EnableEbsEncryption"
    document_content = file("_files/enable-ebs.yaml")
    parameters = {
      AutomationAssumeRole = "arn:aws:iam::111122223333:role/remediation"
      Regions              = var.regions
    }
    automatic = false
  }

  remediation {
    mode         = "auto"
    max_attempts = 2
  }
}
