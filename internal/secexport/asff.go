// Package secexport sends orgguard's evidence to AWS Security Hub as
// findings in the AWS Security Finding Format (ASFF): one finding per
// evidence record (account × region × guardrail × resource), imported with
// BatchImportFindings into the member account's own Security Hub under its
// default product, updated in place by later runs (the finding ID does not
// depend on the run), and resolved through BatchUpdateFindings when the
// resource is fixed or no longer there.
package secexport

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

// Names orgguard's findings carry. A custom integration may set
// ProductName and CompanyName itself (ASFF, "ProductName").
const (
	ProductName = "orgguard"
	CompanyName = "orgguard"
	// GeneratorPrefix starts the GeneratorId of every orgguard finding:
	// "orgguard/<guardrail>".
	GeneratorPrefix = "orgguard/"
	// SchemaVersion is the only ASFF version Security Hub accepts.
	SchemaVersion = "2018-10-08"
)

// ProductFields keys orgguard sets on its findings (at most 50 keys of
// 128 characters, values of up to 2048 characters).
const (
	FieldRunID         = "orgguard/run_id"
	FieldPack          = "orgguard/pack"
	FieldPackDigest    = "orgguard/pack_digest"
	FieldMode          = "orgguard/mode"
	FieldGuardrail     = "orgguard/guardrail_id"
	FieldKind          = "orgguard/kind"
	FieldStatus        = "orgguard/status"
	FieldResource      = "orgguard/resource"
	FieldRemediationID = "orgguard/remediation_id"
	FieldExemption     = "orgguard/exemption"
	FieldError         = "orgguard/error"
	FieldCSF           = "orgguard/csf"
	FieldOUPath        = "orgguard/ou_path"
	FieldRecordedAt    = "orgguard/recorded_at"
	// FieldArchivedByRun is set when a run no longer saw the resource and
	// archived its finding.
	FieldArchivedByRun = "orgguard/archived_by_run"
)

// Limits of ASFF attributes (Security Hub refuses longer values).
const (
	maxTitle          = 256
	maxDescription    = 1024
	maxRecommendation = 512
	maxFieldValue     = 2048
	maxRequirements   = 32
)

// FindingID is the finding's ID: stable across runs, so a later run's
// import updates the same finding. The resource is hashed because resource
// ARNs can be long and hold characters that make poor IDs.
func FindingID(r evidence.Record) string {
	sum := sha256.Sum256([]byte(r.Resource))
	return fmt.Sprintf("orgguard/%s/%s/%s/%s", r.AccountID, r.Region, r.GuardrailID, hex.EncodeToString(sum[:])[:16])
}

// GeneratorID is the finding's generator: the guardrail.
func GeneratorID(guardrailID string) string { return GeneratorPrefix + guardrailID }

// DefaultProductARN is the product every account has for its own findings.
// BatchImportFindings accepts findings for it only from that account.
func DefaultProductARN(partition, region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", partition, region, account, account)
}

// Partition is the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// ComplianceStatus maps a record's status (workflows.ItemStatus) to ASFF's
// Compliance.Status:
//
//   - FAILED: the resource is not compliant now (non_compliant, reported,
//     planned, pending_approval, not_verified, rolled_back — a rollback
//     restores the drifted state a run had fixed);
//   - PASSED: compliant, or remediated and verified;
//   - NOT_AVAILABLE: the check said nothing about the resource's state:
//     not_applicable, not_checked, exempted (the exemption is in
//     ProductFields and the description), refused (a rollback that did not
//     touch the resource), and error — ASFF's NOT_AVAILABLE is "check could
//     not be performed due to a service outage, API error, …"; the error is
//     in ProductFields and the description.
func ComplianceStatus(status string) types.ComplianceStatus {
	switch workflows.ItemStatus(status) {
	case workflows.ItemCompliant, workflows.ItemRemediated:
		return types.ComplianceStatusPassed
	case workflows.ItemNonCompliant, workflows.ItemReported, workflows.ItemPlanned, workflows.ItemPendingApproval,
		workflows.ItemNotVerified, workflows.ItemRolledBack:
		return types.ComplianceStatusFailed
	}
	return types.ComplianceStatusNotAvailable
}

// SeverityLabel maps a guardrail's severity (low | medium | high |
// critical) to ASFF's label; a guardrail without one is MEDIUM.
func SeverityLabel(severity string) types.SeverityLabel {
	switch strings.ToLower(severity) {
	case "informational", "info":
		return types.SeverityLabelInformational
	case "low":
		return types.SeverityLabelLow
	case "high":
		return types.SeverityLabelHigh
	case "critical":
		return types.SeverityLabelCritical
	}
	return types.SeverityLabelMedium
}

// Requirement renders a control mapping as a related requirement,
// framework title and version first: "CIS AWS Foundations Benchmark
// v3.0.0/5.4".
func Requirement(c evidence.Control) string {
	name := c.Title
	if name == "" {
		name = c.Framework
	}
	if c.Version != "" && !strings.Contains(name, c.Version) {
		name += " " + c.Version
	}
	return name + "/" + c.ID
}

// Meta is what a finding takes from the run rather than the record.
type Meta struct {
	Pack       string
	PackDigest string
	// Now is the finding's UpdatedAt (and CreatedAt when the record has no
	// time).
	Now time.Time
}

// Finding converts one record to an ASFF finding for the account's own
// Security Hub in region (the record's region, or the home region for
// records of the organization).
func Finding(r evidence.Record, region string, m Meta) types.AwsSecurityFinding {
	partition := Partition(region)
	compliance := ComplianceStatus(r.Status)
	label := SeverityLabel(r.Severity)
	// As Security Hub's own control findings do, a passing check is
	// informational; the guardrail's severity stays in Original.
	if compliance == types.ComplianceStatusPassed {
		label = types.SeverityLabelInformational
	}
	original := strings.ToUpper(r.Severity)
	if original == "" {
		original = "UNSPECIFIED"
	}
	severity := &types.Severity{Label: label, Original: aws.String(original)}
	typ := "Software and Configuration Checks/AWS Security Best Practices"
	if len(r.Controls) > 0 {
		typ = "Software and Configuration Checks/Industry and Regulatory Standards"
	}
	recorded := r.RecordedAt
	if recorded.IsZero() {
		recorded = m.Now
	}
	now := m.Now.UTC().Format(time.RFC3339Nano)

	var reqs []string
	for _, c := range r.Controls {
		if len(reqs) == maxRequirements {
			break
		}
		reqs = append(reqs, Requirement(c))
	}
	fields := map[string]string{
		FieldRunID: r.RunID, FieldPackDigest: nonEmpty(r.PackDigest, m.PackDigest), FieldPack: m.Pack, FieldMode: r.Mode,
		FieldGuardrail: r.GuardrailID, FieldKind: r.Kind, FieldStatus: r.Status, FieldResource: r.Resource,
		FieldRemediationID: r.RemediationID, FieldExemption: r.Exemption, FieldError: r.Error, FieldCSF: r.CSF,
		FieldOUPath: r.OUPath, FieldRecordedAt: recorded.UTC().Format(time.RFC3339),
	}
	for k, v := range fields {
		if v == "" {
			delete(fields, k)
		} else {
			fields[k] = clip(v, maxFieldValue)
		}
	}

	f := types.AwsSecurityFinding{
		SchemaVersion: aws.String(SchemaVersion),
		Id:            aws.String(FindingID(r)),
		ProductArn:    aws.String(DefaultProductARN(partition, region, r.AccountID)),
		ProductName:   aws.String(ProductName),
		CompanyName:   aws.String(CompanyName),
		GeneratorId:   aws.String(GeneratorID(r.GuardrailID)),
		AwsAccountId:  aws.String(r.AccountID),
		Region:        aws.String(region),
		Types:         []string{typ},
		// CreatedAt and FirstObservedAt are the time of this check; the
		// exporter keeps those of a finding Security Hub already has.
		CreatedAt:       aws.String(recorded.UTC().Format(time.RFC3339Nano)),
		FirstObservedAt: aws.String(recorded.UTC().Format(time.RFC3339Nano)),
		UpdatedAt:       aws.String(now),
		LastObservedAt:  aws.String(recorded.UTC().Format(time.RFC3339Nano)),
		Severity:        severity,
		Title:           aws.String(clip(title(r), maxTitle)),
		Description:     aws.String(clip(description(r), maxDescription)),
		Resources:       []types.Resource{resource(r, region, partition)},
		Compliance:      &types.Compliance{Status: compliance, RelatedRequirements: reqs},
		ProductFields:   fields,
		RecordState:     types.RecordStateActive,
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: label, Original: aws.String(original)},
			Types:    []string{typ},
		},
	}
	if r.Change != nil && strings.TrimSpace(r.Change.Summary) != "" {
		text := r.Change.Summary
		if len(r.Change.Actions) > 0 {
			text += " (" + strings.Join(r.Change.Actions, ", ") + ")"
		}
		if r.RemediationID != "" {
			text += "; approval request " + r.RemediationID
		}
		f.Remediation = &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(clip(text, maxRecommendation))}}
	}
	return f
}

func title(r evidence.Record) string {
	if r.Kind != "" && r.Kind != r.GuardrailID {
		return fmt.Sprintf("orgguard guardrail %s (%s)", r.GuardrailID, r.Kind)
	}
	return "orgguard guardrail " + r.GuardrailID
}

func description(r evidence.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s in run %s.", r.Resource, strings.ReplaceAll(r.Status, "_", " "), r.RunID)
	if r.Evidence != "" {
		b.WriteString(" " + r.Evidence)
	}
	if r.Exemption != "" {
		b.WriteString(" Exempted: " + r.Exemption)
	}
	if r.Error != "" {
		b.WriteString(" Error: " + r.Error)
	}
	return b.String()
}

// accountLevel are orgguard resources that are settings of the account
// rather than resources of their own; Security Hub names those
// "AWS::::Account:<id>" with type AwsAccount.
var accountLevel = map[string]bool{
	"iam/root": true, "iam/account-password-policy": true, "ec2/ebs-encryption-by-default": true,
}

// resource maps an orgguard resource (an ARN, or an ARN-like name) to an
// ASFF resource: a known type where the ARN says which, Other otherwise.
func resource(r evidence.Record, region, partition string) types.Resource {
	out := types.Resource{Type: aws.String("Other"), Id: aws.String(nonEmpty(r.Resource, "AWS::::Account:"+r.AccountID)),
		Partition: types.Partition(partition), Region: aws.String(region)}
	a, err := arn.Parse(r.Resource)
	if err != nil {
		return out
	}
	out.Partition = types.Partition(a.Partition)
	kind, _, _ := strings.Cut(a.Resource, "/")
	if i := strings.IndexByte(kind, ':'); i >= 0 {
		kind = kind[:i]
	}
	if accountLevel[a.Service+"/"+a.Resource] {
		out.Type, out.Id = aws.String("AwsAccount"), aws.String("AWS::::Account:"+r.AccountID)
		return out
	}
	typ := map[string]string{
		"ec2/security-group": "AwsEc2SecurityGroup", "ec2/vpc": "AwsEc2Vpc", "ec2/instance": "AwsEc2Instance",
		"ec2/volume": "AwsEc2Volume", "ec2/subnet": "AwsEc2Subnet",
		"iam/user": "AwsIamUser", "iam/role": "AwsIamRole", "iam/policy": "AwsIamPolicy", "iam/group": "AwsIamGroup",
		"kms/key": "AwsKmsKey", "cloudtrail/trail": "AwsCloudTrailTrail", "guardduty/detector": "AwsGuardDutyDetector",
		"cloudwatch/alarm": "AwsCloudWatchAlarm", "lambda/function": "AwsLambdaFunction",
	}[a.Service+"/"+kind]
	switch {
	case a.Service == "s3" && strings.HasSuffix(a.Resource, "/account-public-access-block"):
		typ = "AwsS3AccountPublicAccessBlock"
		out.Id = aws.String("AWS::::Account:" + r.AccountID)
	case a.Service == "s3" && a.Resource != "" && !strings.Contains(a.Resource, "/"):
		typ = "AwsS3Bucket"
	case a.Service == "sns" && a.Resource != "" && !strings.Contains(a.Resource, "/"):
		typ = "AwsSnsTopic"
	}
	if typ != "" {
		out.Type = aws.String(typ)
	}
	return out
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
