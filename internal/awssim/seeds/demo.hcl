# The demo organization served by `make demo` and `go run ./cmd/awssim`.
# Format: docs/awssim.md. Every account drifts from the orgguard baseline in
# some way, so a first `orgguard plan` has something to show.

organization_id       = "o-demo0rgguard"
management_account_id = "100000000001"
regions               = ["us-east-1", "eu-west-1"]

# The starting credentials (export as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
management_credentials {
  access_key_id     = "AKIAORGGUARDDEMO0001"
  secret_access_key = "orgguard/demo/secret/key/0000000000000000"
  principal_arn     = "arn:aws:iam::100000000001:user/orgguard-operator"
}

# The role orgguard assumes in every account.
member_role "OrgguardExecutionRole" {
  trusted_principals = ["arn:aws:iam::100000000001:root"]
  external_id        = "orgguard-demo"
}

account "100000000001" {
  name  = "management"
  email = "aws-management@example.com"
  tags  = { owner = "ccoe", environment = "management" }
  iam {
    root_mfa_enabled = true
    user "ci-deployer" {
      created_days_ago = 420
      access_key "AKIADEMO0001CIDEPLOY" {
        created_days_ago   = 400
        last_used_days_ago = 2
        last_used_service  = "sts"
      }
    }
  }
}

ou "Security" {
  account "100000000002" {
    name  = "log-archive"
    email = "aws-log-archive@example.com"
    tags  = { owner = "security", environment = "security" }
    iam {
      root_mfa_enabled = true
      # Weak policy: too short, no symbols, no reuse prevention.
      password_policy {
        minimum_password_length        = 8
        require_numbers                = true
        allow_users_to_change_password = true
      }
    }
    region "us-east-1" {
      ebs_encryption_by_default = true
    }
    s3 {
      account_public_access_block = true
      bucket "demo-org-cloudtrail-logs-100000000002" {
        region              = "us-east-1"
        encrypted           = true
        public_access_block = true
      }
    }
  }
  account "100000000003" {
    name  = "security-tooling"
    email = "aws-security-tooling@example.com"
    tags  = { owner = "security", environment = "security" }
    iam {
      root_mfa_enabled = true
      password_policy {
        minimum_password_length        = 14
        require_symbols                = true
        require_numbers                = true
        require_uppercase_characters   = true
        require_lowercase_characters   = true
        allow_users_to_change_password = true
        max_password_age               = 90
        password_reuse_prevention      = 24
      }
    }
    region "us-east-1" {
      ebs_encryption_by_default = true
      closed_default_sg         = true
      default_vpc_flow_logs     = true
      imds_http_tokens          = "required"
    }
    region "eu-west-1" {
      ebs_encryption_by_default = true
    }
  }
}

ou "Infrastructure" {
  account "100000000004" {
    name  = "network"
    email = "aws-network@example.com"
    tags  = { owner = "platform", environment = "shared" }
    iam {
      user "bob" {
        created_days_ago            = 200
        console_password            = true
        password_last_used_days_ago = 3
        mfa                         = true
      }
    }
    region "us-east-1" {
      default_vpc_flow_logs = true
      vpc "vpc-0a000000000000004" {
        cidr      = "10.4.0.0/16"
        flow_logs = true
        tags      = { Name = "transit" }
        security_group "sg-0a000000000000041" {
          name        = "vpn-endpoints"
          description = "VPN endpoints"
          ingress {
            protocol  = "udp"
            from_port = 500
            to_port   = 500
            cidrs     = ["0.0.0.0/0"]
          }
        }
      }
    }
  }
  account "100000000005" {
    name  = "shared-services"
    email = "aws-shared-services@example.com"
    tags  = { owner = "platform", environment = "shared" }
    s3 {
      bucket "demo-shared-artifacts-100000000005" {
        region = "eu-west-1"
      }
    }
  }
}

ou "Workloads" {
  ou "Prod" {
    account "100000000006" {
      name  = "payments-prod"
      email = "aws-payments-prod@example.com"
      tags  = { owner = "payments", environment = "prod", "cost-center" = "cc-1001" }
      iam {
        user "legacy-batch" {
          created_days_ago = 700
          # Never used, older than 90 days: unused and unrotated.
          access_key "AKIADEMO0006LEGACY01" {
            created_days_ago = 500
          }
        }
      }
      region "us-east-1" {
        instance "i-0a000000000000061" {
          http_tokens = "required"
        }
        # Customer managed key without rotation (KMS.4 / CIS 3.8).
        kms_key "1a2b3c4d-0006-4000-8000-000000000061" {
          description = "payments data"
        }
        kms_key "1a2b3c4d-0006-4000-8000-000000000062" {
          description = "payments backups"
          rotation    = true
        }
      }
    }
    account "100000000007" {
      name  = "web-prod"
      email = "aws-web-prod@example.com"
      tags  = { owner = "web", environment = "prod", "cost-center" = "cc-1002" }
      region "us-east-1" {
        vpc "vpc-0a000000000000007" {
          cidr = "10.7.0.0/16"
          tags = { Name = "web-prod" }
          security_group "sg-0a000000000000071" {
            name        = "bastion"
            description = "SSH bastion"
            ingress {
              protocol  = "tcp"
              from_port = 22
              to_port   = 22
              cidrs     = ["0.0.0.0/0"]
            }
          }
          security_group "sg-0a000000000000072" {
            name        = "web"
            description = "public web"
            ingress {
              protocol  = "tcp"
              from_port = 443
              to_port   = 443
              cidrs     = ["0.0.0.0/0"]
              ipv6_cidrs = ["::/0"]
            }
          }
        }
        instance "i-0a000000000000071" {
          vpc         = "vpc-0a000000000000007"
          http_tokens = "optional"
        }
        # CloudFormation drift: one stack changed outside CloudFormation,
        # one in sync.
        cloudformation_stack "web-prod-app" {
          drift_status           = "DRIFTED"
          drift_checked_days_ago = 2
        }
        cloudformation_stack "web-prod-network" {
          drift_status = "IN_SYNC"
        }
      }
    }
  }
  ou "Dev" {
    account "100000000008" {
      name  = "payments-dev"
      email = "aws-payments-dev@example.com"
      tags  = { owner = "payments", environment = "dev" }
      region "eu-west-1" {
        vpc "vpc-0a000000000000008" {
          cidr = "10.8.0.0/16"
          security_group "sg-0a000000000000081" {
            name        = "debug-ssh"
            description = "temporary debugging"
            ingress {
              protocol   = "tcp"
              from_port  = 22
              to_port    = 22
              ipv6_cidrs = ["::/0"]
            }
          }
        }
      }
    }
    account "100000000009" {
      name  = "web-dev"
      email = "aws-web-dev@example.com"
      tags  = { owner = "web", environment = "dev" }
      iam {
        # Console password and an active key, no MFA.
        user "alice" {
          created_days_ago            = 365
          console_password            = true
          password_last_used_days_ago = 120
          access_key "AKIADEMO0009ALICE001" {
            created_days_ago   = 300
            last_used_days_ago = 100
            last_used_service  = "s3"
          }
          access_key "AKIADEMO0009ALICE002" {
            status           = "Inactive"
            created_days_ago = 200
          }
        }
      }
      region "eu-west-1" {
        vpc "vpc-0a000000000000009" {
          cidr = "10.9.0.0/16"
          security_group "sg-0a000000000000091" {
            name        = "windows-admin"
            description = "RDP for admins"
            ingress {
              protocol  = "tcp"
              from_port = 3389
              to_port   = 3389
              cidrs     = ["0.0.0.0/0"]
            }
          }
        }
        instance "i-0a000000000000091" {
          vpc = "vpc-0a000000000000009"
        }
      }
      s3 {
        bucket "demo-web-dev-uploads-100000000009" {
          region = "eu-west-1"
          policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::demo-web-dev-uploads-100000000009/*\"}]}"
        }
      }
    }
  }
}

ou "Sandbox" {
  account "100000000010" {
    name  = "sandbox-alice"
    email = "aws-sandbox-alice@example.com"
    tags  = { owner = "alice", environment = "sandbox" }
    iam {
      root_access_keys_present = true
    }
    region "us-east-1" {
      vpc "vpc-0a000000000000010" {
        cidr = "172.16.0.0/16"
        security_group "sg-0a000000000000101" {
          name        = "anything-goes"
          description = "sandbox"
          ingress {
            protocol  = "tcp"
            from_port = 0
            to_port   = 65535
            cidrs     = ["0.0.0.0/0"]
          }
          ingress {
            protocol  = "tcp"
            from_port = 3389
            to_port   = 3389
            cidrs     = ["0.0.0.0/0"]
          }
        }
      }
    }
  }
  account "100000000011" {
    name   = "sandbox-bob"
    email  = "aws-sandbox-bob@example.com"
    status = "SUSPENDED"
    tags   = { owner = "bob", environment = "sandbox" }
  }
  account "100000000012" {
    name   = "legacy-marketing"
    email  = "aws-legacy-marketing@example.com"
    status = "SUSPENDED"
    tags   = { owner = "marketing", environment = "legacy" }
  }
}
