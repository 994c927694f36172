package guardrails

import "time"

// The compiled guardrail set is what workflows receive as input: plain,
// JSON-serialisable structs with a stable order, so that workflow history pins
// exactly which version of the guardrails was applied. Fields are only ever
// added (never renamed or removed): histories of running workflows hold them.

// Kind is the kind of a guardrail block.
type Kind string

const (
	KindSCP         Kind = "scp"
	KindConfigRule  Kind = "config_rule"
	KindSecurityHub Kind = "securityhub"
	KindControl     Kind = "control"
)

// Mode says what happens to a finding that has a remediation.
type Mode string

const (
	ModeAuto     Mode = "auto"     // apply without asking
	ModeApproval Mode = "approval" // apply after the approval policy is satisfied
	ModeReport   Mode = "report"   // record only
)

// Set is a compiled guardrail pack.
type Set struct {
	// Digest is the hex SHA-256 of the canonical JSON of everything below.
	Digest string `json:"digest"`
	// Source is the directory the pack was loaded from (informational).
	Source           string           `json:"source,omitempty"`
	Guardrails       []Guardrail      `json:"guardrails"`
	Targets          []Target         `json:"targets,omitempty"`
	ApprovalPolicies []ApprovalPolicy `json:"approval_policies,omitempty"`
	Exemptions       []Exemption      `json:"exemptions,omitempty"`
	Rollout          *Rollout         `json:"rollout,omitempty"`
	// ExpiredExemptions are exemptions whose expiry has passed at compile
	// time; they no longer apply and are reported.
	ExpiredExemptions []Exemption `json:"expired_exemptions,omitempty"`
}

// Guardrail is one compiled guardrail of any kind.
type Guardrail struct {
	// ID is "<kind>.<name>", unique within a set, e.g. "control.default_sg_closed".
	ID          string `json:"id"`
	Kind        Kind   `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity,omitempty"` // low | medium | high | critical
	CSF         string `json:"csf,omitempty"`      // NIST CSF function/category, e.g. "PR.AC"
	// Controls are framework control IDs: "CIS 5.4", "FSBP EC2.2", "PCI.EC2.2".
	Controls []string `json:"controls,omitempty"`
	// Target names a target block; empty means every ACTIVE account in the
	// regions of the default target.
	Target string `json:"target,omitempty"`
	// Regions resolved from the target (empty for organization-wide kinds such as SCPs).
	Regions     []string    `json:"regions,omitempty"`
	Remediation Remediation `json:"remediation"`

	// Exactly one of the following is set, according to Kind.
	SCP         *SCP         `json:"scp,omitempty"`
	ConfigRule  *ConfigRule  `json:"config_rule,omitempty"`
	SecurityHub *SecurityHub `json:"securityhub,omitempty"`
	Control     *Control     `json:"control,omitempty"`
}

// Remediation settings shared by all kinds.
type Remediation struct {
	Mode           Mode   `json:"mode"`
	ApprovalPolicy string `json:"approval_policy,omitempty"`
	MaxAttempts    int    `json:"max_attempts,omitempty"`
}

// SCP is a Service Control Policy and where it is attached.
type SCP struct {
	PolicyName string `json:"policy_name"`
	// Policy is the policy document as compact JSON.
	Policy string `json:"policy"`
	// AttachTo holds "root", OU ids / paths ("Root/Workloads/Prod"), account ids.
	AttachTo []string `json:"attach_to"`
	// OwnsAttachments: detach from targets that are no longer named.
	OwnsAttachments bool `json:"owns_attachments,omitempty"`
}

// ConfigRule is an AWS Config rule with an optional SSM remediation.
type ConfigRule struct {
	RuleName         string            `json:"rule_name"`
	SourceIdentifier string            `json:"source_identifier"` // managed rule identifier, e.g. VPC_DEFAULT_SECURITY_GROUP_CLOSED
	Owner            string            `json:"owner"`             // AWS | CUSTOM_LAMBDA
	InputParameters  map[string]string `json:"input_parameters,omitempty"`
	ResourceTypes    []string          `json:"resource_types,omitempty"`
	Remediation      *SSMRemediation   `json:"ssm_remediation,omitempty"`
}

// SSMRemediation binds a Config rule to an SSM Automation document.
type SSMRemediation struct {
	DocumentName string `json:"document_name"`
	// DocumentContent is set when orgguard creates the document itself.
	DocumentContent string `json:"document_content,omitempty"`
	// Parameters: static values; the value "RESOURCE_ID" binds the resource id.
	StaticParameters    map[string][]string `json:"static_parameters,omitempty"`
	ResourceIDParameter string              `json:"resource_id_parameter,omitempty"`
	Automatic           bool                `json:"automatic"`
	MaximumAttempts     int                 `json:"maximum_attempts,omitempty"`
	RetrySeconds        int                 `json:"retry_seconds,omitempty"`
	AutomationRole      string              `json:"automation_role,omitempty"`
}

// SecurityHub is the hub with its standards and disabled controls.
type SecurityHub struct {
	EnableDefaultStandards bool              `json:"enable_default_standards"`
	Standards              []Standard        `json:"standards"`
	DisabledControls       []DisabledControl `json:"disabled_controls,omitempty"`
}

// Standard is a Security Hub standard by short name and version.
type Standard struct {
	Name    string `json:"name"`    // fsbp | cis | pci | nist
	Version string `json:"version"` // 1.0.0, 1.4.0, 3.0.0, 3.2.1, 4.0.1, 5.0.0
}

// DisabledControl is a Security Hub control disabled with a reason.
type DisabledControl struct {
	Standard string `json:"standard,omitempty"`
	Control  string `json:"control"` // e.g. "EC2.10"
	Reason   string `json:"reason"`
}

// Control is a check orgguard runs itself, with kind-specific settings.
type Control struct {
	// Type is e.g. "ec2.default_security_group_closed", "iam.password_policy".
	Type string `json:"type"`
	// Settings are the kind-specific settings as JSON-compatible values
	// (string, float64, bool, []any, map[string]any).
	Settings map[string]any `json:"settings,omitempty"`
}

// Target selects accounts and regions.
type Target struct {
	Name string `json:"name"`
	// OUs by id ("ou-ab12-34cd5678") or path ("Root/Workloads/Prod"); a path
	// includes the OUs below it.
	OUs             []string          `json:"ous,omitempty"`
	Accounts        []string          `json:"accounts,omitempty"`
	AccountTags     map[string]string `json:"account_tags,omitempty"`
	Regions         []string          `json:"regions,omitempty"`
	ExcludeAccounts []string          `json:"exclude_accounts,omitempty"`
	ExcludeOUs      []string          `json:"exclude_ous,omitempty"`
}

// ApprovalPolicy says who approves a remediation and how.
type ApprovalPolicy struct {
	Name      string   `json:"name"`
	Approvers []string `json:"approvers,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	// GroupMembers resolves Groups (from the HCL's group definitions).
	GroupMembers map[string][]string `json:"group_members,omitempty"`
	// IdPGroups admit anyone whose verified token lists one of these groups
	// (the issuer's groups claim). Only the trust config's policies set it.
	IdPGroups          []string      `json:"idp_groups,omitempty"`
	Quorum             int           `json:"quorum"`
	SeparationOfDuties bool          `json:"separation_of_duties"`
	Timeout            time.Duration `json:"timeout"`
	OnTimeout          string        `json:"on_timeout"` // expire | escalate
	EscalateTo         string        `json:"escalate_to,omitempty"`
	Notify             Notify        `json:"notify"`
}

// Notify says where approval requests go (besides the log).
type Notify struct {
	SNSTopicArn string `json:"sns_topic_arn,omitempty"`
	WebhookURL  string `json:"webhook_url,omitempty"`
}

// Exemption excludes accounts, OUs or resources from a guardrail until it expires.
type Exemption struct {
	Name      string    `json:"name"`
	Guardrail string    `json:"guardrail"` // guardrail ID
	Accounts  []string  `json:"accounts,omitempty"`
	OUs       []string  `json:"ous,omitempty"`
	Resources []string  `json:"resources,omitempty"` // ARN globs
	Reason    string    `json:"reason"`
	Owner     string    `json:"owner"`
	Ticket    string    `json:"ticket,omitempty"`
	Expires   time.Time `json:"expires"`
}

// Rollout orders accounts into waves.
type Rollout struct {
	Name              string        `json:"name"`
	Waves             []Wave        `json:"waves"`
	Concurrency       int           `json:"concurrency"`
	PauseBetweenWaves time.Duration `json:"pause_between_waves,omitempty"`
	// HoldUntilApproved: a wave's approval-gated remediations must all be
	// decided (and applied) before the next wave starts, and those that
	// fail count against the wave's failure budget.
	HoldUntilApproved bool `json:"hold_until_approved,omitempty"`
}

// Wave is one step of a rollout.
type Wave struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	// FailureBudget: at most this many failed accounts (Count) or this
	// fraction in percent (Percent); zero values mean "no failures allowed".
	FailureBudgetCount   int     `json:"failure_budget_count,omitempty"`
	FailureBudgetPercent float64 `json:"failure_budget_percent,omitempty"`
}
