package guardrails

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
)

func loadClean(t *testing.T, dir string, opts LoadOptions) *Set {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	set, files, diags := LoadDir(dir, opts)
	if len(diags) > 0 {
		var buf bytes.Buffer
		_ = WriteDiagnostics(&buf, files, diags, false)
		t.Fatalf("%s does not load cleanly:\n%s", dir, buf.String())
	}
	require.NotNil(t, set)
	return set
}

// baselineRows lists every row of ../shared/CONTROLS.md with the guardrails
// that implement it.
var baselineRows = []struct {
	row        string
	id         string
	kind       Kind
	control    string // control type for KindControl, rule identifier for KindConfigRule
	mode       Mode
	frameworks []string // control IDs the guardrail must carry
}{
	// Preventive
	{row: "deny leaving the organization", id: "scp.deny_leave_organization", kind: KindSCP, mode: ModeAuto},
	{row: "protect the audit trail", id: "scp.protect_audit_trail", kind: KindSCP, mode: ModeAuto},
	{row: "protect detective services", id: "scp.protect_detective_services", kind: KindSCP, mode: ModeAuto},
	{row: "deny root user", id: "scp.deny_root_user", kind: KindSCP, mode: ModeAuto},
	{row: "region allow-list", id: "scp.region_allowlist", kind: KindSCP, mode: ModeAuto},
	{row: "require IMDSv2", id: "scp.require_imdsv2", kind: KindSCP, mode: ModeAuto},
	{row: "protect S3 account public access block", id: "scp.protect_s3_account_public_access_block", kind: KindSCP, mode: ModeAuto},
	{row: "protect the orgguard execution role", id: "scp.protect_orgguard_role", kind: KindSCP, mode: ModeAuto},
	// Detective and corrective
	{row: "default security group closed", id: "control.default_sg_closed", kind: KindControl, control: "ec2.default_security_group_closed", mode: ModeApproval,
		frameworks: []string{"CIS 4.3", "CIS 5.4", "PCI.EC2.2", "FSBP EC2.2"}},
	{row: "default security group closed (Config)", id: "config_rule.vpc_default_security_group_closed", kind: KindConfigRule, control: "VPC_DEFAULT_SECURITY_GROUP_CLOSED", mode: ModeAuto},
	{row: "no SSH/RDP from anywhere", id: "control.no_public_ssh_rdp", kind: KindControl, control: "ec2.no_public_ssh_rdp", mode: ModeApproval,
		frameworks: []string{"CIS 5.2", "CIS 5.3", "FSBP EC2.13", "FSBP EC2.14", "PCI.EC2.5"}},
	{row: "no SSH/RDP from anywhere (Config SSH)", id: "config_rule.incoming_ssh_disabled", kind: KindConfigRule, control: "INCOMING_SSH_DISABLED", mode: ModeAuto},
	{row: "no SSH/RDP from anywhere (Config + SSM)", id: "config_rule.restricted_incoming_traffic", kind: KindConfigRule, control: "RESTRICTED_INCOMING_TRAFFIC", mode: ModeApproval},
	{row: "IAM password policy", id: "control.iam_password_policy", kind: KindControl, control: "iam.password_policy", mode: ModeAuto,
		frameworks: []string{"CIS 1.8", "CIS 1.9", "FSBP IAM.7", "PCI.IAM.8"}},
	{row: "IAM password policy (Config)", id: "config_rule.iam_password_policy", kind: KindConfigRule, control: "IAM_PASSWORD_POLICY", mode: ModeAuto},
	{row: "root account MFA", id: "control.root_mfa", kind: KindControl, control: "iam.root_mfa", mode: ModeReport,
		frameworks: []string{"CIS 1.5", "CIS 1.6", "FSBP IAM.6"}},
	{row: "no root access keys", id: "control.root_access_keys", kind: KindControl, control: "iam.root_access_keys", mode: ModeReport,
		frameworks: []string{"CIS 1.4", "FSBP IAM.4"}},
	{row: "console password and access keys kept apart", id: "control.password_and_keys_separate", kind: KindControl, control: "iam.password_and_keys_separate", mode: ModeApproval},
	{row: "unused credentials", id: "control.unused_credentials", kind: KindControl, control: "iam.unused_credentials", mode: ModeApproval,
		frameworks: []string{"CIS 1.12", "FSBP IAM.8"}},
	{row: "unused credentials (Config)", id: "config_rule.iam_user_unused_credentials", kind: KindConfigRule, control: "IAM_USER_UNUSED_CREDENTIALS_CHECK", mode: ModeAuto},
	{row: "access key rotation", id: "control.access_key_rotation", kind: KindControl, control: "iam.access_key_rotation", mode: ModeReport,
		frameworks: []string{"CIS 1.14", "FSBP IAM.3"}},
	{row: "access key rotation (Config)", id: "config_rule.access_keys_rotated", kind: KindConfigRule, control: "ACCESS_KEYS_ROTATED", mode: ModeAuto},
	{row: "MFA for console users", id: "control.console_mfa", kind: KindControl, control: "iam.console_mfa", mode: ModeReport,
		frameworks: []string{"CIS 1.10", "FSBP IAM.5"}},
	{row: "CloudTrail everywhere", id: "control.cloudtrail", kind: KindControl, control: "cloudtrail.multi_region", mode: ModeAuto,
		frameworks: []string{"CIS 3.1", "CIS 3.2", "CIS 3.3", "CIS 3.4", "CIS 3.7", "FSBP CloudTrail.1", "FSBP CloudTrail.2", "FSBP CloudTrail.4", "FSBP CloudTrail.5"}},
	{row: "root activity alarm", id: "control.root_activity_alarm", kind: KindControl, control: "cloudwatch.root_activity_alarm", mode: ModeAuto,
		frameworks: []string{"CIS 4.3", "FSBP CloudWatch.1"}},
	{row: "AWS Config recording", id: "control.config_recorder", kind: KindControl, control: "config.recorder", mode: ModeAuto,
		frameworks: []string{"CIS 3.5", "FSBP Config.1"}},
	{row: "Config rules with automatic remediation", id: "config_rule.s3_bucket_server_side_encryption", kind: KindConfigRule, control: "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", mode: ModeAuto},
	{row: "Security Hub standards", id: "securityhub.hub", kind: KindSecurityHub, mode: ModeAuto},
	{row: "GuardDuty", id: "control.guardduty", kind: KindControl, control: "guardduty.detector", mode: ModeAuto,
		frameworks: []string{"FSBP GuardDuty.1"}},
	{row: "IAM Access Analyzer", id: "control.access_analyzer", kind: KindControl, control: "accessanalyzer.analyzer", mode: ModeAuto,
		frameworks: []string{"CIS 1.20", "FSBP IAM.21"}},
	{row: "S3 account public access block", id: "control.s3_account_public_access_block", kind: KindControl, control: "s3.account_public_access_block", mode: ModeAuto,
		frameworks: []string{"FSBP S3.1", "CIS 2.1.4"}},
	{row: "S3 default encryption", id: "control.s3_bucket_encryption", kind: KindControl, control: "s3.bucket_encryption", mode: ModeAuto,
		frameworks: []string{"FSBP S3.4"}},
	{row: "EBS encryption by default", id: "control.ebs_default_encryption", kind: KindControl, control: "ec2.ebs_default_encryption", mode: ModeAuto,
		frameworks: []string{"CIS 2.2.1", "FSBP EC2.7"}},
	{row: "VPC flow logs", id: "control.vpc_flow_logs", kind: KindControl, control: "ec2.vpc_flow_logs", mode: ModeAuto,
		frameworks: []string{"CIS 3.9", "FSBP EC2.6"}},
	{row: "IMDSv2", id: "control.imdsv2", kind: KindControl, control: "ec2.imdsv2", mode: ModeApproval,
		frameworks: []string{"FSBP EC2.8"}},
	{row: "KMS key rotation", id: "control.kms_key_rotation", kind: KindControl, control: "kms.key_rotation", mode: ModeAuto,
		frameworks: []string{"CIS 3.8", "FSBP KMS.4"}},
	{row: "CloudFormation drift", id: "control.cloudformation_drift", kind: KindControl, control: "cloudformation.drift", mode: ModeReport},
}

func TestBaselineCoversControlsMD(t *testing.T) {
	t.Parallel()
	set := loadClean(t, "packs/baseline", LoadOptions{})
	seen := map[string]bool{}
	for _, row := range baselineRows {
		t.Run(row.row, func(t *testing.T) {
			g, ok := set.Guardrail(row.id)
			require.True(t, ok, "no guardrail %s", row.id)
			seen[row.id] = true
			assert.Equal(t, row.kind, g.Kind)
			assert.Equal(t, row.mode, g.Remediation.Mode)
			assert.NotEmpty(t, g.Description)
			assert.NotEmpty(t, g.Severity)
			assert.NotEmpty(t, g.CSF)
			// CONTROLS.md names IDs without the CIS version; the pack
			// carries them versioned ("CIS v3.0.0 5.4").
			for _, f := range row.frameworks {
				want, _, ok := ParseControl(f)
				require.True(t, ok, f)
				found := false
				for _, c := range g.Controls {
					got, warn, ok := ParseControl(c)
					assert.True(t, ok && warn == "", "%s: %q", g.ID, c)
					found = found || (got.Framework == want.Framework && got.ID == want.ID)
				}
				assert.True(t, found, "%s lacks %s in %v", g.ID, f, g.Controls)
			}
			if g.Remediation.Mode == ModeApproval {
				assert.Equal(t, "security-team", g.Remediation.ApprovalPolicy)
			}
			switch row.kind {
			case KindControl:
				require.NotNil(t, g.Control)
				assert.Equal(t, row.control, g.Control.Type)
			case KindConfigRule:
				require.NotNil(t, g.ConfigRule)
				assert.Equal(t, row.control, g.ConfigRule.SourceIdentifier)
			case KindSCP:
				require.NotNil(t, g.SCP)
				// Root, or every top-level OU when the root is full (AWS: 5 SCPs per target).
				if g.SCP.AttachTo[0] != "root" {
					assert.Equal(t, []string{"Root/Security", "Root/Infrastructure", "Root/Workloads", "Root/Sandbox"}, g.SCP.AttachTo)
				}
				assert.LessOrEqual(t, len(g.SCP.Policy), MaxSCPSize)
				assert.True(t, json.Valid([]byte(g.SCP.Policy)))
			}
			if row.kind != KindSCP {
				assert.NotEmpty(t, g.Regions)
				assert.Equal(t, DefaultTargetName, g.Target)
			}
		})
	}
	for _, g := range set.Guardrails {
		assert.True(t, seen[g.ID], "guardrail %s is not in the CONTROLS.md table of this test", g.ID)
	}
	// Every native control type of the catalogue is used by the baseline.
	used := map[string]bool{}
	for _, g := range set.Guardrails {
		if g.Control != nil {
			used[g.Control.Type] = true
		}
	}
	for _, name := range ControlTypeNames() {
		assert.True(t, used[name], "control type %s is not in the baseline", name)
	}
}

func TestBaselineDetails(t *testing.T) {
	t.Parallel()
	set := loadClean(t, "packs/baseline", LoadOptions{})

	sg, _ := set.Guardrail("control.default_sg_closed")
	assert.Equal(t, []string{"us-east-1", "eu-west-1"}, sg.Regions)

	pw, _ := set.Guardrail("control.iam_password_policy")
	assert.Equal(t, 14.0, pw.Control.Settings["minimum_length"])
	assert.Equal(t, 24.0, pw.Control.Settings["password_reuse_prevention"])
	assert.Equal(t, 90.0, pw.Control.Settings["max_password_age"])
	assert.Equal(t, []string{"us-east-1"}, pw.Regions, "global controls are checked in one region")

	alarm, _ := set.Guardrail("control.root_activity_alarm")
	assert.Equal(t, RootActivityFilterPattern, alarm.Control.Settings["filter_pattern"])

	require.Len(t, set.ApprovalPolicies, 1)
	p := set.ApprovalPolicies[0]
	assert.Equal(t, "security-team", p.Name)
	assert.Equal(t, []string{"alice", "bob"}, p.Approvers)
	assert.Equal(t, 1, p.Quorum)
	assert.True(t, p.SeparationOfDuties)

	hub, _ := set.Guardrail("securityhub.hub")
	assert.Equal(t, []Standard{{"fsbp", "1.0.0"}, {"cis", "3.0.0"}, {"pci", "3.2.1"}}, hub.SecurityHub.Standards)
	for _, dc := range hub.SecurityHub.DisabledControls {
		assert.NotEmpty(t, dc.Reason)
	}

	rit, _ := set.Guardrail("config_rule.restricted_incoming_traffic")
	r := rit.ConfigRule.Remediation
	require.NotNil(t, r)
	assert.Equal(t, "AWS-DisablePublicAccessForSecurityGroup", r.DocumentName)
	assert.Equal(t, "GroupId", r.ResourceIDParameter)
	assert.False(t, r.Automatic)

	region, _ := set.Guardrail("scp.region_allowlist")
	assert.Contains(t, region.SCP.Policy, `"aws:RequestedRegion":["us-east-1","eu-west-1"]`)

	// Variables flow into the compiled set.
	other := loadClean(t, "packs/baseline", LoadOptions{Vars: map[string]string{"regions": `["us-east-1"]`, "cis_version": "1.4.0"}})
	region, _ = other.Guardrail("scp.region_allowlist")
	assert.Contains(t, region.SCP.Policy, `"aws:RequestedRegion":["us-east-1"]`)
	hub, _ = other.Guardrail("securityhub.hub")
	assert.Contains(t, hub.SecurityHub.Standards, Standard{"cis", "1.4.0"})
	assert.NotEqual(t, set.Digest, other.Digest)

	// The validation of the pack's own variables.
	_, _, diags := LoadDir("packs/baseline", LoadOptions{Now: fixedNow, Vars: map[string]string{"regions": `["eu-west-1"]`}})
	require.True(t, diags.HasErrors())
	assert.Contains(t, diags[0].Detail, "Keep us-east-1 governed")
}

func TestExamplePack(t *testing.T) {
	t.Parallel()
	set := loadClean(t, "packs/example", LoadOptions{})
	require.NotNil(t, set.Rollout)
	assert.Equal(t, []Wave{
		{Name: "canary", Target: "sandbox"},
		{Name: "dev", Target: "dev", FailureBudgetPercent: 10},
		{Name: "prod", Target: "prod", FailureBudgetCount: 1},
	}, set.Rollout.Waves)
	assert.Equal(t, 5, set.Rollout.Concurrency)
	assert.Equal(t, 30*time.Minute, set.Rollout.PauseBetweenWaves)
	require.Len(t, set.Exemptions, 2)
	assert.Equal(t, "control.no_public_ssh_rdp", set.Exemptions[0].Guardrail)
	assert.Equal(t, time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC), set.Exemptions[0].Expires)
	assert.Equal(t, []string{"arn:aws:ec2:*:222233334444:security-group/sg-0bastion*"}, set.Exemptions[0].Resources)

	platform := set.ApprovalPolicies[0]
	assert.Equal(t, "platform", platform.Name)
	assert.Equal(t, map[string][]string{"platform-oncall": {"carol", "dave", "erin"}}, platform.GroupMembers)
	assert.Equal(t, "escalate", platform.OnTimeout)
	assert.Equal(t, "security-leads", platform.EscalateTo)
	assert.Equal(t, 8*time.Hour, platform.Timeout)

	// A year later the exemptions have expired: still valid, with warnings.
	later, files, diags := LoadDir("packs/example", LoadOptions{Now: fixedNow.AddDate(1, 0, 0)})
	assert.False(t, diags.HasErrors())
	require.Len(t, diags, 2)
	for _, d := range diags {
		assert.Equal(t, hcl.DiagWarning, d.Severity)
		assert.Equal(t, "Exemption has expired", d.Summary)
		assert.Contains(t, files, d.Subject.Filename)
	}
	require.NotNil(t, later)
	assert.Empty(t, later.Exemptions)
	assert.Len(t, later.ExpiredExemptions, 2)
	assert.Contains(t, Summary(later), "0 active, 2 expired")

	// Variables from the environment.
	env := loadClean(t, "packs/example", LoadOptions{Env: []string{"PATH=/bin", "ORGGUARD_VAR_environment_prefix=Root/Lab"}})
	tgt := env.Targets[0]
	assert.Equal(t, []string{"Root/Lab/Dev"}, tgt.OUs)
}

func TestVariablePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
		return p
	}
	write("main.hcl", `
variable "name" {
  type    = string
  default = "from-default"
}
variable "age" {
  type    = number
  default = 1
}
target "t" {
  account_tags = { name = var.name, age = tostring(var.age) }
}
`)
	hclFile := write("a.vars", `name = "from-file"`+"\n"+`age = 2`+"\n")
	jsonFile := write("b.json", `{"age": 3}`)
	tags := func(opts LoadOptions) map[string]string {
		opts.Now = fixedNow
		set, _, diags := LoadDir(dir, opts)
		require.False(t, diags.HasErrors(), diags.Error())
		return set.Targets[0].AccountTags
	}
	assert.Equal(t, map[string]string{"name": "from-default", "age": "1"}, tags(LoadOptions{}))
	assert.Equal(t, map[string]string{"name": "from-env", "age": "1"}, tags(LoadOptions{Env: []string{"ORGGUARD_VAR_name=from-env"}}))
	assert.Equal(t, map[string]string{"name": "from-file", "age": "3"},
		tags(LoadOptions{Env: []string{"ORGGUARD_VAR_name=from-env"}, VarFiles: []string{hclFile, jsonFile}}))
	assert.Equal(t, map[string]string{"name": "from-flag", "age": "3"},
		tags(LoadOptions{Vars: map[string]string{"name": "from-flag"}, VarFiles: []string{hclFile, jsonFile}}))

	// Problems in var files point into the var file, which the caller can print.
	bad := write("bad.vars", "age = \"old\"\nnmae = \"x\"\n")
	_, files, diags := LoadDir(dir, LoadOptions{Now: fixedNow, VarFiles: []string{bad}})
	require.Len(t, diags, 2)
	assert.Equal(t, "Invalid value for variable", diags[0].Summary)
	assert.Equal(t, "Value for undeclared variable", diags[1].Summary)
	assert.Equal(t, hcl.DiagWarning, diags[1].Severity)
	assert.Contains(t, diags[1].Detail, `Did you mean "name"?`)
	assert.Contains(t, files, bad)
}

func TestDigest(t *testing.T) {
	t.Parallel()
	a := loadClean(t, "packs/example", LoadOptions{})
	b := loadClean(t, "packs/example", LoadOptions{})
	assert.Len(t, a.Digest, 64)
	assert.Equal(t, a.Digest, b.Digest, "same input, same digest")
	assert.Equal(t, a.Digest, a.ComputeDigest())

	// The location of the pack is not part of its content.
	abs, err := filepath.Abs("packs/example")
	require.NoError(t, err)
	assert.Equal(t, a.Digest, loadClean(t, abs, LoadOptions{}).Digest)

	changed := loadClean(t, "packs/example", LoadOptions{Vars: map[string]string{"legacy_account": "555566667777"}})
	assert.NotEqual(t, a.Digest, changed.Digest, "changed input, changed digest")

	// Workflows receive the set as JSON: the digest survives the round trip.
	raw, err := json.Marshal(a)
	require.NoError(t, err)
	var back Set
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, a.Digest, back.ComputeDigest())
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), string(again))

	// File order does not matter.
	entries, err := os.ReadDir("packs/example")
	require.NoError(t, err)
	var srcs []Source
	for i := len(entries) - 1; i >= 0; i-- {
		if strings.HasSuffix(entries[i].Name(), ".hcl") {
			p := filepath.Join("packs/example", entries[i].Name())
			src, err := os.ReadFile(p)
			require.NoError(t, err)
			srcs = append(srcs, Source{Filename: p, Src: src})
		}
	}
	rev, _, diags := LoadSources("packs/example", srcs, LoadOptions{Now: fixedNow})
	require.False(t, diags.HasErrors())
	assert.Equal(t, a.Digest, rev.Digest)
}

func TestCatalogues(t *testing.T) {
	t.Parallel()
	arn := func(name, version string) string {
		s, ok := LookupStandard(name, version)
		require.True(t, ok, "%s %s", name, version)
		return s.ARN("aws", "eu-west-1")
	}
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0", arn("fsbp", "1.0.0"))
	assert.Equal(t, "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0", arn("cis", "1.2.0"))
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/1.4.0", arn("cis", "1.4.0"))
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0", arn("cis", "3.0.0"))
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/pci-dss/v/3.2.1", arn("pci", "3.2.1"))
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/pci-dss/v/4.0.1", arn("pci", "4.0.1"))
	assert.Equal(t, "arn:aws:securityhub:eu-west-1::standards/nist-800-53/v/5.0.0", arn("nist", "5.0.0"))
	s, _ := LookupStandard("pci", "3.2.1")
	assert.Equal(t, "arn:aws-us-gov:securityhub:us-gov-west-1::standards/pci-dss/v/3.2.1", s.ARN("aws-us-gov", "us-gov-west-1"))

	hub := &SecurityHub{Standards: []Standard{{"fsbp", "1.0.0"}, {"cis", "1.2.0"}}}
	arns, err := hub.StandardARNs("aws", "us-east-1")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0",
		"arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0",
	}, arns)

	for name, ct := range ControlTypes {
		assert.Equal(t, name, ct.Name)
		assert.NotEmpty(t, ct.Description, name)
		for _, s := range ct.Settings {
			assert.NotEqual(t, cty.DynamicPseudoType, s.Type.ctyType(), "%s.%s", name, s.Name)
			assert.NotEmpty(t, s.Description, "%s.%s", name, s.Name)
		}
	}
	for _, id := range []string{"VPC_DEFAULT_SECURITY_GROUP_CLOSED", "INCOMING_SSH_DISABLED", "RESTRICTED_INCOMING_TRAFFIC",
		"IAM_PASSWORD_POLICY", "IAM_USER_UNUSED_CREDENTIALS_CHECK", "ACCESS_KEYS_ROTATED", "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"} {
		assert.Contains(t, ManagedConfigRules, id)
	}
	assert.Contains(t, FunctionNames(), "jsonencode")
	assert.Contains(t, FunctionNames(), "templatefile")
	assert.Equal(t, "PCI", FrameworkOf("PCI.EC2.2"))
	assert.Equal(t, "", FrameworkOf("EC2.2"))
}

func TestSummary(t *testing.T) {
	t.Parallel()
	set := loadClean(t, "packs/baseline", LoadOptions{})
	s := Summary(set)
	for _, want := range []string{
		"Guardrails: 37",
		"scp          8",
		"control      21",
		"CIS ", "FSBP ", "PCI ", "NIST CSF",
		"Protect (PR)",
		"security-team",
		"Exemptions: 0 active, 0 expired",
		set.Digest[:12],
	} {
		assert.Contains(t, s, want)
	}
	assert.Equal(t, "no guardrail set\n", Summary(nil))
}

func TestDurationsAndExpiry(t *testing.T) {
	t.Parallel()
	d, err := ParseDuration("1d12h")
	require.NoError(t, err)
	assert.Equal(t, 36*time.Hour, d)
	_, err = ParseDuration("soon")
	assert.Error(t, err)
	e, err := ParseExpiry("2027-01-31")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), e)
	e, err = ParseExpiry("2027-01-31T10:00:00+02:00")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2027, 1, 31, 8, 0, 0, 0, time.UTC), e)
}

func TestLoadDirErrors(t *testing.T) {
	t.Parallel()
	single, _, diags := LoadDir("testdata/valid/functions.hcl", LoadOptions{Now: fixedNow})
	require.False(t, diags.HasErrors())
	assert.Len(t, single.Guardrails, 2)

	vars, err := ParseVars([]string{"a=1", "b=x=y", "c="})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "1", "b": "x=y", "c": ""}, vars)
	_, err = ParseVars([]string{"novalue"})
	assert.Error(t, err)

	_, _, diags = LoadDir(filepath.Join(t.TempDir(), "missing"), LoadOptions{})
	require.True(t, diags.HasErrors())
	assert.Equal(t, "Cannot read guardrail directory", diags[0].Summary)
	_, _, diags = LoadDir(t.TempDir(), LoadOptions{})
	require.True(t, diags.HasErrors())
	assert.Equal(t, "No guardrail files", diags[0].Summary)
	_, _, diags = LoadDir("packs/example", LoadOptions{Now: fixedNow, Vars: map[string]string{"nope": "1"}})
	require.True(t, diags.HasErrors())
	assert.Nil(t, diags[0].Subject)
	assert.Equal(t, "Value for undeclared variable", diags[0].Summary)
}
