package guardrails

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The catalogues below are data, exported so that the engine (activities,
// reports) and the parser agree on what exists. Adding an entry is the only
// change needed for the language to accept a new control type, managed rule
// or standard.

// SettingType is the type of a control setting.
type SettingType string

const (
	SettingString     SettingType = "string"
	SettingNumber     SettingType = "number"
	SettingBool       SettingType = "bool"
	SettingStringList SettingType = "list(string)"
	SettingNumberList SettingType = "list(number)"
	SettingStringMap  SettingType = "map(string)"
)

// Setting describes one kind-specific setting of a native control.
type Setting struct {
	Name        string      `json:"name"`
	Type        SettingType `json:"type"`
	Description string      `json:"description"`
	// Default is the JSON-compatible default (string, float64, bool, []any,
	// map[string]any); nil with Required=false means "unset".
	Default  any      `json:"default,omitempty"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	// Min and Max bound numbers (inclusive) when non-nil.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// ControlType is a native check orgguard runs itself.
type ControlType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Remediable is false for checks orgguard can only report (root MFA needs
	// the root user); their remediation mode must be "report".
	Remediable bool `json:"remediable"`
	// ChangesAccess marks remediations that remove someone's access (keys,
	// security group rules); the baseline gates them on approval.
	ChangesAccess bool `json:"changes_access,omitempty"`
	// OrganizationWide types are checked once per account, not per region.
	Global   bool      `json:"global,omitempty"`
	Settings []Setting `json:"settings,omitempty"`
}

// Setting returns the named setting of the type.
func (c ControlType) Setting(name string) (Setting, bool) {
	for _, s := range c.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

func num(f float64) *float64 { return &f }

// RootActivityFilterPattern is the CIS metric filter for root activity.
const RootActivityFilterPattern = `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`

// ControlTypes is the catalogue of native control types, by name.
var ControlTypes = map[string]ControlType{
	"ec2.default_security_group_closed": {
		Description:   "The default security group of every VPC has no ingress and no egress rule.",
		Remediable:    true,
		ChangesAccess: true,
	},
	"ec2.no_public_ssh_rdp": {
		Description:   "No security group allows the given ports from anywhere (0.0.0.0/0 or ::/0).",
		Remediable:    true,
		ChangesAccess: true,
		Settings: []Setting{
			{Name: "ports", Type: SettingNumberList, Description: "Ports that must not be open to the world.", Default: []any{22.0, 3389.0}},
			{Name: "cidrs", Type: SettingStringList, Description: "CIDR ranges that count as \"anywhere\".", Default: []any{"0.0.0.0/0", "::/0"}},
		},
	},
	"iam.password_policy": {
		Description: "The account password policy meets the minimums below.",
		Remediable:  true,
		Global:      true,
		Settings: []Setting{
			{Name: "minimum_length", Type: SettingNumber, Description: "Minimum password length.", Default: 14.0, Min: num(6), Max: num(128)},
			{Name: "require_uppercase", Type: SettingBool, Description: "Require an uppercase letter.", Default: true},
			{Name: "require_lowercase", Type: SettingBool, Description: "Require a lowercase letter.", Default: true},
			{Name: "require_numbers", Type: SettingBool, Description: "Require a number.", Default: true},
			{Name: "require_symbols", Type: SettingBool, Description: "Require a symbol.", Default: true},
			{Name: "password_reuse_prevention", Type: SettingNumber, Description: "Number of previous passwords that cannot be reused.", Default: 24.0, Min: num(1), Max: num(24)},
			{Name: "max_password_age", Type: SettingNumber, Description: "Days before a password expires.", Default: 90.0, Min: num(1), Max: num(1095)},
			{Name: "allow_users_to_change_password", Type: SettingBool, Description: "Users may change their own password.", Default: true},
			{Name: "hard_expiry", Type: SettingBool, Description: "Expired passwords need an administrator reset.", Default: false},
		},
	},
	"iam.root_mfa": {
		Description: "The root user has MFA enabled.",
		Global:      true,
		Settings: []Setting{
			{Name: "require_hardware_mfa", Type: SettingBool, Description: "Require a hardware MFA device (CIS 1.6).", Default: false},
		},
	},
	"iam.root_access_keys": {
		Description: "The root user has no access keys.",
		Global:      true,
	},
	"iam.password_and_keys_separate": {
		Description:   "No IAM user has both a console password and an active access key.",
		Remediable:    true,
		ChangesAccess: true,
		Global:        true,
		Settings: []Setting{
			{Name: "exempt_users", Type: SettingStringList, Description: "User names the check ignores.", Default: []any{}},
		},
	},
	"iam.unused_credentials": {
		Description:   "No password or access key stays unused longer than max_age_days; remediation deactivates (never deletes) keys.",
		Remediable:    true,
		ChangesAccess: true,
		Global:        true,
		Settings: []Setting{
			{Name: "max_age_days", Type: SettingNumber, Description: "Days of non-use after which a credential is unused.", Default: 90.0, Min: num(1), Max: num(3650)},
		},
	},
	"iam.access_key_rotation": {
		Description: "No active access key is older than max_age_days.",
		Global:      true,
		Settings: []Setting{
			{Name: "max_age_days", Type: SettingNumber, Description: "Maximum key age in days.", Default: 90.0, Min: num(1), Max: num(3650)},
			{Name: "notify_owner", Type: SettingBool, Description: "Notify the key owner (by the user's email tag).", Default: true},
		},
	},
	"iam.console_mfa": {
		Description: "Every IAM user with a console password has an MFA device.",
		Global:      true,
	},
	"cloudtrail.multi_region": {
		Description: "A multi-region trail logs, validates log files, is KMS-encrypted and delivers to CloudWatch Logs.",
		Remediable:  true,
		Global:      true,
		Settings: []Setting{
			{Name: "trail_name", Type: SettingString, Description: "Name of the trail orgguard manages.", Default: "orgguard-trail"},
			{Name: "bucket_prefix", Type: SettingString, Description: "Prefix of the log bucket (the account id and region are appended).", Default: "orgguard-cloudtrail"},
			{Name: "kms_key_alias", Type: SettingString, Description: "Alias of the KMS key that encrypts the logs.", Default: "alias/orgguard-cloudtrail"},
			{Name: "log_file_validation", Type: SettingBool, Description: "Enable log file validation.", Default: true},
			{Name: "cloudwatch_log_group", Type: SettingString, Description: "CloudWatch Logs group the trail delivers to.", Default: "orgguard-cloudtrail"},
			{Name: "log_retention_days", Type: SettingNumber, Description: "Retention of the log group in days.", Default: 365.0, Min: num(1)},
			{Name: "include_global_service_events", Type: SettingBool, Description: "Log global services (IAM, STS, CloudFront).", Default: true},
		},
	},
	"cloudwatch.root_activity_alarm": {
		Description: "A metric filter on root activity with an alarm to SNS.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "log_group_name", Type: SettingString, Description: "Log group of the CloudTrail trail.", Default: "orgguard-cloudtrail"},
			{Name: "filter_pattern", Type: SettingString, Description: "Metric filter pattern.", Default: RootActivityFilterPattern},
			{Name: "metric_namespace", Type: SettingString, Description: "Namespace of the metric.", Default: "CISBenchmark"},
			{Name: "alarm_name", Type: SettingString, Description: "Name of the alarm.", Default: "orgguard-root-activity"},
			{Name: "sns_topic_name", Type: SettingString, Description: "SNS topic the alarm notifies.", Default: "orgguard-security-alarms"},
		},
	},
	"config.recorder": {
		Description: "AWS Config records all supported and global resource types to an encrypted, private, TLS-only bucket.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "all_supported", Type: SettingBool, Description: "Record all supported resource types.", Default: true},
			{Name: "include_global_resource_types", Type: SettingBool, Description: "Record global types (IAM).", Default: true},
			{Name: "bucket_prefix", Type: SettingString, Description: "Prefix of the delivery bucket.", Default: "orgguard-config"},
			{Name: "lifecycle_expiration_days", Type: SettingNumber, Description: "Days after which delivered objects expire.", Default: 365.0, Min: num(1)},
			{Name: "delivery_frequency", Type: SettingString, Description: "Snapshot delivery frequency.", Default: "TwentyFour_Hours",
				Enum: []string{"One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"}},
			{Name: "create_service_linked_roles", Type: SettingBool, Description: "Create the config and remediation.config service-linked roles.", Default: true},
		},
	},
	"guardduty.detector": {
		Description: "A GuardDuty detector is enabled; findings are routed to SNS through EventBridge.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "finding_publishing_frequency", Type: SettingString, Description: "How often updated findings are published.", Default: "SIX_HOURS",
				Enum: []string{"FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"}},
			{Name: "route_findings", Type: SettingBool, Description: "Create the EventBridge rule and SNS topic.", Default: true},
			{Name: "sns_topic_name", Type: SettingString, Description: "SNS topic for findings.", Default: "orgguard-guardduty-findings"},
		},
	},
	"accessanalyzer.analyzer": {
		Description: "An IAM Access Analyzer analyzer exists in the region.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "analyzer_name", Type: SettingString, Description: "Name of the analyzer.", Default: "orgguard-analyzer"},
			{Name: "type", Type: SettingString, Description: "Zone of trust.", Default: "ACCOUNT", Enum: []string{"ACCOUNT", "ORGANIZATION"}},
		},
	},
	"s3.account_public_access_block": {
		Description: "The S3 account-level public access block has all four settings on.",
		Remediable:  true,
		Global:      true,
		Settings: []Setting{
			{Name: "block_public_acls", Type: SettingBool, Description: "BlockPublicAcls.", Default: true},
			{Name: "ignore_public_acls", Type: SettingBool, Description: "IgnorePublicAcls.", Default: true},
			{Name: "block_public_policy", Type: SettingBool, Description: "BlockPublicPolicy.", Default: true},
			{Name: "restrict_public_buckets", Type: SettingBool, Description: "RestrictPublicBuckets.", Default: true},
		},
	},
	"s3.bucket_encryption": {
		Description: "Every bucket has default encryption.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "algorithm", Type: SettingString, Description: "SSE algorithm to apply.", Default: "AES256", Enum: []string{"AES256", "aws:kms", "aws:kms:dsse"}},
			{Name: "kms_key_id", Type: SettingString, Description: "KMS key for aws:kms (empty: the AWS managed key).", Default: ""},
		},
	},
	"ec2.ebs_default_encryption": {
		Description: "EBS encryption by default is enabled in the region.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "kms_key_id", Type: SettingString, Description: "Default KMS key (empty: aws/ebs).", Default: ""},
		},
	},
	"ec2.vpc_flow_logs": {
		Description: "Every VPC has a flow log capturing at least rejected traffic.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "traffic_type", Type: SettingString, Description: "Traffic captured when orgguard creates a flow log.", Default: "REJECT", Enum: []string{"ACCEPT", "REJECT", "ALL"}},
			{Name: "log_destination_type", Type: SettingString, Description: "Where flow logs go.", Default: "cloud-watch-logs", Enum: []string{"cloud-watch-logs", "s3"}},
			{Name: "log_group_name", Type: SettingString, Description: "Log group (cloud-watch-logs destination).", Default: "orgguard-vpc-flow-logs"},
		},
	},
	"ec2.imdsv2": {
		Description:   "The account default requires IMDSv2 tokens; instances still allowing IMDSv1 are reported.",
		Remediable:    true,
		ChangesAccess: true,
		Settings: []Setting{
			{Name: "account_default", Type: SettingBool, Description: "Set the account-level instance metadata default.", Default: true},
			{Name: "remediate_instances", Type: SettingBool, Description: "Also modify running instances (approval-gated in the baseline).", Default: true},
			{Name: "http_put_response_hop_limit", Type: SettingNumber, Description: "Hop limit for the metadata PUT response.", Default: 2.0, Min: num(1), Max: num(64)},
		},
	},
	"kms.key_rotation": {
		Description: "Customer managed symmetric KMS keys rotate.",
		Remediable:  true,
		Settings: []Setting{
			{Name: "rotation_period_days", Type: SettingNumber, Description: "Rotation period in days.", Default: 365.0, Min: num(90), Max: num(2560)},
		},
	},
	"cloudformation.drift": {
		Description: "CloudFormation stacks have not drifted.",
		Settings: []Setting{
			{Name: "max_detection_age_hours", Type: SettingNumber, Description: "Start a new drift detection when the last one is older.", Default: 24.0, Min: num(1)},
		},
	},
}

func init() {
	// Fill the Name field from the key so callers may pass ControlType values around.
	for k, v := range ControlTypes {
		v.Name = k
		ControlTypes[k] = v
	}
}

// ControlTypeNames returns the catalogue's names, sorted.
func ControlTypeNames() []string { return sortedKeys(ControlTypes) }

// ManagedConfigRules maps AWS managed Config rule identifiers to a short
// description. The baseline uses the first group; the rest are common rules
// CCoE packs use.
var ManagedConfigRules = map[string]string{
	// used by the baseline
	"VPC_DEFAULT_SECURITY_GROUP_CLOSED":              "The default security group of every VPC allows no traffic.",
	"INCOMING_SSH_DISABLED":                          "Security groups disallow unrestricted incoming SSH.",
	"RESTRICTED_INCOMING_TRAFFIC":                    "Security groups disallow unrestricted traffic to the given ports.",
	"IAM_PASSWORD_POLICY":                            "The account password policy meets the given requirements.",
	"IAM_USER_UNUSED_CREDENTIALS_CHECK":              "IAM users have no credentials unused for maxCredentialUsageAge days.",
	"ACCESS_KEYS_ROTATED":                            "Active access keys are rotated within maxAccessKeyAge days.",
	"CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK":     "CloudFormation stacks have not drifted.",
	"ROOT_ACCOUNT_MFA_ENABLED":                       "The root user has MFA enabled.",
	"IAM_ROOT_ACCESS_KEY_CHECK":                      "The root user has no access keys.",
	"MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS":             "IAM users with a console password have MFA.",
	"MULTI_REGION_CLOUD_TRAIL_ENABLED":               "A multi-region CloudTrail trail exists.",
	"S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC": "The S3 account-level public access block is configured.",
	"EC2_EBS_ENCRYPTION_BY_DEFAULT":                  "EBS encryption by default is enabled.",
	"VPC_FLOW_LOGS_ENABLED":                          "VPC flow logs are enabled.",
	"EC2_IMDSV2_CHECK":                               "EC2 instances require IMDSv2.",
	"CMK_BACKING_KEY_ROTATION_ENABLED":               "KMS customer managed keys rotate.",
	"GUARDDUTY_ENABLED_CENTRALIZED":                  "GuardDuty is enabled.",
	"S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED":       "S3 buckets have default encryption.",
	// commonly used
	"ACCESS_KEYS_ROTATED_PERIODIC":               "Access keys rotated (periodic variant).",
	"ACM_CERTIFICATE_EXPIRATION_CHECK":           "ACM certificates are not about to expire.",
	"ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK":        "ALBs redirect HTTP to HTTPS.",
	"API_GW_CACHE_ENABLED_AND_ENCRYPTED":         "API Gateway caches are encrypted.",
	"CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED":       "Trails deliver to CloudWatch Logs.",
	"CLOUD_TRAIL_ENABLED":                        "CloudTrail is enabled.",
	"CLOUD_TRAIL_ENCRYPTION_ENABLED":             "Trails are KMS-encrypted.",
	"CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED":    "Trails validate log files.",
	"CLOUDTRAIL_S3_DATAEVENTS_ENABLED":           "Trails log S3 data events.",
	"CLOUDWATCH_ALARM_ACTION_CHECK":              "Alarms have actions.",
	"CLOUDWATCH_LOG_GROUP_ENCRYPTED":             "Log groups are KMS-encrypted.",
	"DB_INSTANCE_BACKUP_ENABLED":                 "RDS instances have backups.",
	"DYNAMODB_PITR_ENABLED":                      "DynamoDB tables have point-in-time recovery.",
	"EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK":       "EBS snapshots are not public.",
	"EC2_INSTANCE_NO_PUBLIC_IP":                  "EC2 instances have no public IP.",
	"EC2_INSTANCE_PROFILE_ATTACHED":              "EC2 instances have an instance profile.",
	"EC2_SECURITY_GROUP_ATTACHED_TO_ENI":         "Security groups are attached to ENIs.",
	"EC2_STOPPED_INSTANCE":                       "Stopped instances are removed after a while.",
	"EC2_VOLUME_INUSE_CHECK":                     "EBS volumes are attached.",
	"EFS_ENCRYPTED_CHECK":                        "EFS file systems are encrypted.",
	"EIP_ATTACHED":                               "Elastic IPs are attached.",
	"ELB_LOGGING_ENABLED":                        "Load balancers log.",
	"ENCRYPTED_VOLUMES":                          "Attached EBS volumes are encrypted.",
	"IAM_GROUP_HAS_USERS_CHECK":                  "IAM groups have users.",
	"IAM_NO_INLINE_POLICY_CHECK":                 "IAM identities have no inline policies.",
	"IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS": "Policies do not grant *:*.",
	"IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS":  "Policies do not grant service:*.",
	"IAM_USER_MFA_ENABLED":                       "IAM users have MFA.",
	"IAM_USER_NO_POLICIES_CHECK":                 "IAM users have no policies attached directly.",
	"INSTANCES_IN_VPC":                           "EC2 instances run in a VPC.",
	"KMS_CMK_NOT_SCHEDULED_FOR_DELETION":         "KMS keys are not scheduled for deletion.",
	"LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED":   "Lambda functions are not public.",
	"RDS_INSTANCE_PUBLIC_ACCESS_CHECK":           "RDS instances are not public.",
	"RDS_SNAPSHOTS_PUBLIC_PROHIBITED":            "RDS snapshots are not public.",
	"RDS_STORAGE_ENCRYPTED":                      "RDS storage is encrypted.",
	"REDSHIFT_CLUSTER_PUBLIC_ACCESS_CHECK":       "Redshift clusters are not public.",
	"REQUIRED_TAGS":                              "Resources carry the required tags.",
	"ROOT_ACCOUNT_HARDWARE_MFA_ENABLED":          "The root user has a hardware MFA device.",
	"S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED":   "Buckets block public access.",
	"S3_BUCKET_LOGGING_ENABLED":                  "Buckets log access.",
	"S3_BUCKET_PUBLIC_READ_PROHIBITED":           "Buckets are not publicly readable.",
	"S3_BUCKET_PUBLIC_WRITE_PROHIBITED":          "Buckets are not publicly writable.",
	"S3_BUCKET_SSL_REQUESTS_ONLY":                "Buckets require TLS.",
	"S3_BUCKET_VERSIONING_ENABLED":               "Buckets are versioned.",
	"SECURITYHUB_ENABLED":                        "Security Hub is enabled.",
	"SNS_ENCRYPTED_KMS":                          "SNS topics are KMS-encrypted.",
	"VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS":       "Security groups open to the world only on authorised ports.",
	"VPC_VPN_2_TUNNELS_UP":                       "VPN connections have both tunnels up.",
}

// ManagedConfigRuleNames returns the managed rule identifiers, sorted.
func ManagedConfigRuleNames() []string { return sortedKeys(ManagedConfigRules) }

// StandardInfo describes a Security Hub standard orgguard can subscribe.
type StandardInfo struct {
	Name    string `json:"name"`    // short name used in HCL: fsbp, cis, pci, nist, ...
	Version string `json:"version"` // e.g. "1.4.0"
	Title   string `json:"title"`
	// ARNFormat has %[1]s for the partition and %[2]s for the region. CIS
	// 1.2.0 is a global "ruleset" ARN without region.
	ARNFormat string `json:"arn_format"`
	// Framework is the reporting framework the standard's controls belong to.
	Framework string `json:"framework"`
}

// ARN returns the standard's ARN in a partition and region.
func (s StandardInfo) ARN(partition, region string) string {
	if partition == "" {
		partition = "aws"
	}
	if strings.Contains(s.ARNFormat, "%[2]s") {
		return fmt.Sprintf(s.ARNFormat, partition, region)
	}
	return fmt.Sprintf(s.ARNFormat, partition)
}

// SecurityHubStandards lists the standards by short name and version.
var SecurityHubStandards = []StandardInfo{
	{Name: "fsbp", Version: "1.0.0", Title: "AWS Foundational Security Best Practices v1.0.0", Framework: "FSBP",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/aws-foundational-security-best-practices/v/1.0.0"},
	{Name: "cis", Version: "1.2.0", Title: "CIS AWS Foundations Benchmark v1.2.0", Framework: "CIS",
		ARNFormat: "arn:%[1]s:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"},
	{Name: "cis", Version: "1.4.0", Title: "CIS AWS Foundations Benchmark v1.4.0", Framework: "CIS",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/cis-aws-foundations-benchmark/v/1.4.0"},
	{Name: "cis", Version: "3.0.0", Title: "CIS AWS Foundations Benchmark v3.0.0", Framework: "CIS",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/cis-aws-foundations-benchmark/v/3.0.0"},
	{Name: "pci", Version: "3.2.1", Title: "PCI DSS v3.2.1", Framework: "PCI",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/pci-dss/v/3.2.1"},
	{Name: "pci", Version: "4.0.1", Title: "PCI DSS v4.0.1", Framework: "PCI",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/pci-dss/v/4.0.1"},
	{Name: "nist", Version: "5.0.0", Title: "NIST SP 800-53 Rev. 5", Framework: "NIST",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/nist-800-53/v/5.0.0"},
	{Name: "nist-800-171", Version: "2.0.0", Title: "NIST SP 800-171 Rev. 2", Framework: "NIST",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/nist-800-171/v/2.0.0"},
	{Name: "tagging", Version: "1.0.0", Title: "AWS Resource Tagging Standard v1.0.0", Framework: "",
		ARNFormat: "arn:%[1]s:securityhub:%[2]s::standards/aws-resource-tagging-standard/v/1.0.0"},
}

// LookupStandard finds a standard by short name and version.
func LookupStandard(name, version string) (StandardInfo, bool) {
	for _, s := range SecurityHubStandards {
		if s.Name == name && s.Version == version {
			return s, true
		}
	}
	return StandardInfo{}, false
}

// standardVersions returns the known versions of a standard short name.
func standardVersions(name string) []string {
	var out []string
	for _, s := range SecurityHubStandards {
		if s.Name == name {
			out = append(out, s.Version)
		}
	}
	return out
}

func standardNames() []string {
	var out []string
	for _, s := range SecurityHubStandards {
		if !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// Frameworks are the reporting frameworks, recognised in Guardrail.Controls by prefix.
var Frameworks = []string{"CIS", "FSBP", "PCI", "NIST CSF"}

// FrameworkOf returns the framework of a control ID ("CIS 5.4" -> "CIS",
// "FSBP EC2.2" -> "FSBP", "PCI.EC2.2" -> "PCI"), or "" when unknown.
func FrameworkOf(controlID string) string {
	switch {
	case strings.HasPrefix(controlID, "CIS "):
		return "CIS"
	case strings.HasPrefix(controlID, "FSBP "):
		return "FSBP"
	case strings.HasPrefix(controlID, "PCI.") || strings.HasPrefix(controlID, "PCI "):
		return "PCI"
	case strings.HasPrefix(controlID, "NIST ") || strings.HasPrefix(controlID, "CSF "):
		return "NIST CSF"
	}
	return ""
}

// CSFFunctions are the NIST CSF functions with their short codes.
var CSFFunctions = map[string]string{
	"ID": "Identify",
	"PR": "Protect",
	"DE": "Detect",
	"RS": "Respond",
	"RC": "Recover",
	"GV": "Govern",
}

// Severities in increasing order.
var Severities = []string{"informational", "low", "medium", "high", "critical"}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
