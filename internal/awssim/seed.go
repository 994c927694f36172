package awssim

import (
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Seed describes the organization a Server starts with. It is read from HCL
// (LoadSeedFile on *.hcl, the format documented in docs/awssim.md) or JSON
// (*.json, same field names), or built in code (GenerateSeed).
//
// Resource ages are given in days before the server's clock so that a seed
// stays "drifted" (keys older than 90 days, ...) no matter when it is loaded.
type Seed struct {
	OrganizationID      string `hcl:"organization_id,optional" json:"organization_id,omitempty"`
	ManagementAccountID string `hcl:"management_account_id" json:"management_account_id"`
	// Regions every account has: a default VPC with its default security
	// group is created in each unless the region block opts out.
	Regions               []string        `hcl:"regions" json:"regions"`
	ManagementCredentials SeedCredentials `hcl:"management_credentials,block" json:"management_credentials"`
	MemberRole            *SeedRole       `hcl:"member_role,block" json:"member_role,omitempty"`
	OUs                   []SeedOU        `hcl:"ou,block" json:"ous,omitempty"`
	Accounts              []SeedAccount   `hcl:"account,block" json:"accounts,omitempty"`
	EnabledPolicyTypes    []string        `hcl:"enabled_policy_types,optional" json:"enabled_policy_types,omitempty"`
	Policies              []SeedPolicy    `hcl:"policy,block" json:"policies,omitempty"`
}

// SeedCredentials are the long-term keys of the management account principal
// that orgguard starts from.
type SeedCredentials struct {
	AccessKeyID     string `hcl:"access_key_id" json:"access_key_id"`
	SecretAccessKey string `hcl:"secret_access_key" json:"secret_access_key"`
	// PrincipalARN is the identity the keys belong to; default the
	// IAM user "arn:aws:iam::<id>:user/orgguard-operator". Root
	// ("arn:aws:iam::<id>:root") works too, but AWS forbids root to assume
	// roles, and so does the simulator.
	PrincipalARN string `hcl:"principal_arn,optional" json:"principal_arn,omitempty"`
}

// SeedRole is an IAM role in an account that may be assumed through STS.
type SeedRole struct {
	Name string `hcl:"name,label" json:"name"`
	// TrustedPrincipals are ARNs allowed to assume the role. An account root
	// ARN ("arn:aws:iam::111122223333:root") trusts every principal of that
	// account, as in an IAM trust policy; "*" trusts everyone.
	TrustedPrincipals []string `hcl:"trusted_principals" json:"trusted_principals"`
	// ExternalID, when set, must be passed to AssumeRole (sts:ExternalId).
	ExternalID string `hcl:"external_id,optional" json:"external_id,omitempty"`
	// MaxSessionDuration in seconds; default 3600.
	MaxSessionDuration int `hcl:"max_session_duration,optional" json:"max_session_duration,omitempty"`
}

// SeedOU is an organizational unit; OUs nest.
type SeedOU struct {
	Name     string            `hcl:"name,label" json:"name"`
	ID       string            `hcl:"id,optional" json:"id,omitempty"`
	Tags     map[string]string `hcl:"tags,optional" json:"tags,omitempty"`
	OUs      []SeedOU          `hcl:"ou,block" json:"ous,omitempty"`
	Accounts []SeedAccount     `hcl:"account,block" json:"accounts,omitempty"`
}

// SeedAccount is a member (or the management) account.
type SeedAccount struct {
	ID     string            `hcl:"id,label" json:"id"`
	Name   string            `hcl:"name" json:"name"`
	Email  string            `hcl:"email,optional" json:"email,omitempty"`
	Status string            `hcl:"status,optional" json:"status,omitempty"` // ACTIVE (default) or SUSPENDED
	Tags   map[string]string `hcl:"tags,optional" json:"tags,omitempty"`
	// NoMemberRole skips the seed-wide member_role in this account.
	NoMemberRole bool         `hcl:"no_member_role,optional" json:"no_member_role,omitempty"`
	Roles        []SeedRole   `hcl:"role,block" json:"roles,omitempty"`
	IAM          *SeedIAM     `hcl:"iam,block" json:"iam,omitempty"`
	Regions      []SeedRegion `hcl:"region,block" json:"regions,omitempty"`
	S3           *SeedS3      `hcl:"s3,block" json:"s3,omitempty"`
	// NotOptedInRegions are opt-in regions (af-south-1, ap-east-1, ...)
	// the account has not enabled, although the seed's regions list them:
	// ec2:DescribeRegions reports them "not-opted-in" and every call the
	// account makes there fails as in AWS. Opt-in regions the seed does not
	// list are not enabled in any account anyway.
	NotOptedInRegions []string `hcl:"not_opted_in_regions,optional" json:"not_opted_in_regions,omitempty"`
}

// SeedIAM is the account-global IAM state.
type SeedIAM struct {
	PasswordPolicy *SeedPasswordPolicy `hcl:"password_policy,block" json:"password_policy,omitempty"`
	RootMFAEnabled bool                `hcl:"root_mfa_enabled,optional" json:"root_mfa_enabled,omitempty"`
	// RootAccessKeysPresent drives GetAccountSummary AccountAccessKeysPresent.
	RootAccessKeysPresent bool       `hcl:"root_access_keys_present,optional" json:"root_access_keys_present,omitempty"`
	Users                 []SeedUser `hcl:"user,block" json:"users,omitempty"`
}

// SeedPasswordPolicy mirrors iam:UpdateAccountPasswordPolicy.
type SeedPasswordPolicy struct {
	MinimumPasswordLength      int  `hcl:"minimum_password_length,optional" json:"minimum_password_length,omitempty"`
	RequireSymbols             bool `hcl:"require_symbols,optional" json:"require_symbols,omitempty"`
	RequireNumbers             bool `hcl:"require_numbers,optional" json:"require_numbers,omitempty"`
	RequireUppercaseCharacters bool `hcl:"require_uppercase_characters,optional" json:"require_uppercase_characters,omitempty"`
	RequireLowercaseCharacters bool `hcl:"require_lowercase_characters,optional" json:"require_lowercase_characters,omitempty"`
	AllowUsersToChangePassword bool `hcl:"allow_users_to_change_password,optional" json:"allow_users_to_change_password,omitempty"`
	MaxPasswordAge             int  `hcl:"max_password_age,optional" json:"max_password_age,omitempty"`
	PasswordReusePrevention    int  `hcl:"password_reuse_prevention,optional" json:"password_reuse_prevention,omitempty"`
	HardExpiry                 bool `hcl:"hard_expiry,optional" json:"hard_expiry,omitempty"`
}

// SeedUser is an IAM user. Ages are days before now; nil "last used" means never.
type SeedUser struct {
	Name                    string          `hcl:"name,label" json:"name"`
	CreatedDaysAgo          int             `hcl:"created_days_ago,optional" json:"created_days_ago,omitempty"`
	ConsolePassword         bool            `hcl:"console_password,optional" json:"console_password,omitempty"`
	PasswordLastUsedDaysAgo *int            `hcl:"password_last_used_days_ago,optional" json:"password_last_used_days_ago,omitempty"`
	MFA                     bool            `hcl:"mfa,optional" json:"mfa,omitempty"`
	AccessKeys              []SeedAccessKey `hcl:"access_key,block" json:"access_keys,omitempty"`
}

// SeedAccessKey is an IAM user's access key. These keys cannot sign requests
// to the simulator; they exist to be inspected and deactivated.
type SeedAccessKey struct {
	ID              string `hcl:"id,label" json:"id"`
	Status          string `hcl:"status,optional" json:"status,omitempty"` // Active (default) or Inactive
	CreatedDaysAgo  int    `hcl:"created_days_ago,optional" json:"created_days_ago,omitempty"`
	LastUsedDaysAgo *int   `hcl:"last_used_days_ago,optional" json:"last_used_days_ago,omitempty"`
	LastUsedService string `hcl:"last_used_service,optional" json:"last_used_service,omitempty"`
}

// SeedRegion is an account's state in one region.
type SeedRegion struct {
	Name                   string `hcl:"name,label" json:"name"`
	EBSEncryptionByDefault bool   `hcl:"ebs_encryption_by_default,optional" json:"ebs_encryption_by_default,omitempty"`
	// IMDSHttpTokens is the account's instance metadata default:
	// "" (no-preference), "optional" or "required".
	IMDSHttpTokens string `hcl:"imds_http_tokens,optional" json:"imds_http_tokens,omitempty"`
	// NoDefaultVPC removes the default VPC AWS creates in every region.
	NoDefaultVPC bool `hcl:"no_default_vpc,optional" json:"no_default_vpc,omitempty"`
	// ClosedDefaultSG gives the default VPC's default security group no
	// rules (AWS creates it with allow-from-self ingress and allow-all egress).
	ClosedDefaultSG    bool           `hcl:"closed_default_sg,optional" json:"closed_default_sg,omitempty"`
	DefaultVPCFlowLogs bool           `hcl:"default_vpc_flow_logs,optional" json:"default_vpc_flow_logs,omitempty"`
	VPCs               []SeedVPC      `hcl:"vpc,block" json:"vpcs,omitempty"`
	Instances          []SeedInstance `hcl:"instance,block" json:"instances,omitempty"`
	// KMSKeys are customer managed symmetric keys (read by the KMS service).
	KMSKeys []SeedKMSKey `hcl:"kms_key,block" json:"kms_keys,omitempty"`
	// CloudFormationStacks are stacks in CREATE_COMPLETE state (read by the
	// CloudFormation service).
	CloudFormationStacks []SeedCloudFormationStack `hcl:"cloudformation_stack,block" json:"cloudformation_stacks,omitempty"`
}

// SeedCloudFormationStack is a CloudFormation stack. DriftStatus is the
// result of its last drift detection: DRIFTED, IN_SYNC or NOT_CHECKED
// (default; a later detection finds it in sync).
type SeedCloudFormationStack struct {
	Name        string `hcl:"name,label" json:"name"`
	DriftStatus string `hcl:"drift_status,optional" json:"drift_status,omitempty"`
	// DriftCheckedDaysAgo is the age of that detection (default 0, now).
	DriftCheckedDaysAgo int `hcl:"drift_checked_days_ago,optional" json:"drift_checked_days_ago,omitempty"`
}

// SeedKMSKey is a customer managed KMS key; the ID is a key ID (UUID).
type SeedKMSKey struct {
	ID          string `hcl:"id,label" json:"id"`
	Description string `hcl:"description,optional" json:"description,omitempty"`
	Rotation    bool   `hcl:"rotation,optional" json:"rotation,omitempty"`
}

// SeedVPC is a non-default VPC; it gets a default security group like in AWS.
type SeedVPC struct {
	ID              string              `hcl:"id,label" json:"id"`
	CIDR            string              `hcl:"cidr" json:"cidr"`
	FlowLogs        bool                `hcl:"flow_logs,optional" json:"flow_logs,omitempty"`
	ClosedDefaultSG bool                `hcl:"closed_default_sg,optional" json:"closed_default_sg,omitempty"`
	Tags            map[string]string   `hcl:"tags,optional" json:"tags,omitempty"`
	SecurityGroups  []SeedSecurityGroup `hcl:"security_group,block" json:"security_groups,omitempty"`
}

// SeedSecurityGroup is a security group in a VPC.
type SeedSecurityGroup struct {
	ID          string     `hcl:"id,label" json:"id"`
	Name        string     `hcl:"name" json:"name"`
	Description string     `hcl:"description,optional" json:"description,omitempty"`
	Ingress     []SeedRule `hcl:"ingress,block" json:"ingress,omitempty"`
	Egress      []SeedRule `hcl:"egress,block" json:"egress,omitempty"`
}

// SeedRule is one IP permission. Protocol "-1" means all traffic.
type SeedRule struct {
	Protocol string   `hcl:"protocol" json:"protocol"`
	FromPort int      `hcl:"from_port,optional" json:"from_port,omitempty"`
	ToPort   int      `hcl:"to_port,optional" json:"to_port,omitempty"`
	CIDRs    []string `hcl:"cidrs,optional" json:"cidrs,omitempty"`
	IPv6     []string `hcl:"ipv6_cidrs,optional" json:"ipv6_cidrs,omitempty"`
	// Groups are source/destination security group IDs.
	Groups []string `hcl:"groups,optional" json:"groups,omitempty"`
}

// SeedInstance is an EC2 instance, placed in the region's default VPC unless VPC is set.
type SeedInstance struct {
	ID         string `hcl:"id,label" json:"id"`
	VPC        string `hcl:"vpc,optional" json:"vpc,omitempty"`
	HTTPTokens string `hcl:"http_tokens,optional" json:"http_tokens,omitempty"` // optional (default) or required
	State      string `hcl:"state,optional" json:"state,omitempty"`             // running (default), stopped
	Type       string `hcl:"instance_type,optional" json:"instance_type,omitempty"`
}

// SeedS3 is account-wide S3 state, for the S3 and S3 Control services.
type SeedS3 struct {
	// AccountPublicAccessBlock: true means all four settings on.
	AccountPublicAccessBlock bool         `hcl:"account_public_access_block,optional" json:"account_public_access_block,omitempty"`
	Buckets                  []SeedBucket `hcl:"bucket,block" json:"buckets,omitempty"`
}

// SeedBucket is an S3 bucket.
type SeedBucket struct {
	Name              string `hcl:"name,label" json:"name"`
	Region            string `hcl:"region,optional" json:"region,omitempty"`
	Encrypted         bool   `hcl:"encrypted,optional" json:"encrypted,omitempty"`
	PublicAccessBlock bool   `hcl:"public_access_block,optional" json:"public_access_block,omitempty"`
	Policy            string `hcl:"policy,optional" json:"policy,omitempty"`
}

// SeedPolicy is an Organizations policy created before the server starts, in
// addition to the built-in p-FullAWSAccess.
type SeedPolicy struct {
	Name        string   `hcl:"name,label" json:"name"`
	ID          string   `hcl:"id,optional" json:"id,omitempty"`
	Type        string   `hcl:"type,optional" json:"type,omitempty"` // SERVICE_CONTROL_POLICY (default)
	Description string   `hcl:"description,optional" json:"description,omitempty"`
	Content     string   `hcl:"content" json:"content"`
	Targets     []string `hcl:"targets,optional" json:"targets,omitempty"` // root, OU or account IDs
}

//go:embed seeds/*.hcl
var seedFS embed.FS

// DemoSeed returns the embedded demo organization (seeds/demo.hcl): a dozen
// accounts over nested OUs, two regions, and drift in every account.
func DemoSeed() (*Seed, error) {
	src, err := seedFS.ReadFile("seeds/demo.hcl")
	if err != nil {
		return nil, err
	}
	return ParseSeed("demo.hcl", src)
}

// LoadSeedFile reads a seed from an .hcl or .json file.
func LoadSeedFile(path string) (*Seed, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	return ParseSeed(path, src)
}

// ParseSeed parses seed source; filename's extension selects JSON (.json) or
// HCL (anything else) and names the file in diagnostics.
func ParseSeed(filename string, src []byte) (*Seed, error) {
	var seed Seed
	if strings.EqualFold(filepath.Ext(filename), ".json") {
		if err := json.Unmarshal(src, &seed); err != nil {
			return nil, fmt.Errorf("parse seed %s: %w", filename, err)
		}
	} else {
		p := hclparse.NewParser()
		f, diags := p.ParseHCL(src, filename)
		if !diags.HasErrors() {
			// jsonencode lets seeds write policy documents as HCL objects.
			ectx := &hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}}
			diags = append(diags, gohcl.DecodeBody(f.Body, ectx, &seed)...)
		}
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse seed: %w", diags)
		}
	}
	if err := seed.validate(); err != nil {
		return nil, fmt.Errorf("seed %s: %w", filename, err)
	}
	return &seed, nil
}

// validate catches seed mistakes that would otherwise surface as confusing
// AWS errors in a test.
func (s *Seed) validate() error {
	if !isAccountID(s.ManagementAccountID) {
		return fmt.Errorf("management_account_id %q is not a 12-digit account ID", s.ManagementAccountID)
	}
	if s.ManagementCredentials.AccessKeyID == "" || s.ManagementCredentials.SecretAccessKey == "" {
		return fmt.Errorf("management_credentials needs access_key_id and secret_access_key")
	}
	if len(s.Regions) == 0 {
		return fmt.Errorf("regions is empty")
	}
	seen := map[string]bool{}
	foundMgmt := false
	var walk func(accts []SeedAccount, ous []SeedOU) error
	walk = func(accts []SeedAccount, ous []SeedOU) error {
		for _, a := range accts {
			if !isAccountID(a.ID) {
				return fmt.Errorf("account %q: ID must be 12 digits", a.ID)
			}
			if seen[a.ID] {
				return fmt.Errorf("account %s declared twice", a.ID)
			}
			seen[a.ID] = true
			if a.ID == s.ManagementAccountID {
				foundMgmt = true
			}
			switch a.Status {
			case "", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE":
			default:
				return fmt.Errorf("account %s: unknown status %q", a.ID, a.Status)
			}
			if err := validateOptIn(&a); err != nil {
				return err
			}
			for _, r := range a.Regions {
				for _, st := range r.CloudFormationStacks {
					switch st.DriftStatus {
					case "", "DRIFTED", "IN_SYNC", "NOT_CHECKED":
					default:
						return fmt.Errorf("account %s: stack %s: unknown drift_status %q", a.ID, st.Name, st.DriftStatus)
					}
				}
			}
		}
		for _, ou := range ous {
			if err := walk(ou.Accounts, ou.OUs); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.Accounts, s.OUs); err != nil {
		return err
	}
	if !foundMgmt {
		return fmt.Errorf("management account %s is not declared as an account", s.ManagementAccountID)
	}
	return nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
