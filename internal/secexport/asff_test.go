package secexport

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

var (
	t0   = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	meta = Meta{Pack: "baseline", PackDigest: "sha256:abc", Now: t0.Add(time.Hour)}
)

func sgRecord(run, status string) evidence.Record {
	return evidence.Record{
		RunID: run, PackDigest: "sha256:abc", Mode: "plan", AccountID: "100000000007", Region: "us-east-1",
		GuardrailID: "default-sg-closed", Kind: "ec2.default_security_group_closed",
		Resource: "arn:aws:ec2:us-east-1:100000000007:security-group/sg-0a1", Status: status,
		Evidence: "2 ingress rules", Severity: "high", RecordedAt: t0,
		Controls: []evidence.Control{
			{Framework: "CIS", Title: "CIS AWS Foundations Benchmark", Version: "v3.0.0", ID: "5.4"},
			{Framework: "FSBP", Title: "AWS Foundational Security Best Practices", Version: "v1.0.0", ID: "EC2.2"},
			{Framework: "PCI", Version: "v3.2.1", ID: "PCI.EC2.2"},
		},
		Change:        &workflows.Change{Summary: "Remove all rules of the default security group", Actions: []string{"ec2:RevokeSecurityGroupIngress"}},
		RemediationID: "rem-123",
	}
}

func TestFindingIDIsStableAcrossRuns(t *testing.T) {
	t.Parallel()
	a, b := sgRecord("run-1", "non_compliant"), sgRecord("run-2", "remediated")
	b.PackDigest, b.Evidence = "sha256:def", "no rules"
	if FindingID(a) != FindingID(b) {
		t.Fatalf("IDs differ across runs: %s, %s", FindingID(a), FindingID(b))
	}
	if id := FindingID(a); !strings.HasPrefix(id, "orgguard/100000000007/us-east-1/default-sg-closed/") || len(id) != len("orgguard/100000000007/us-east-1/default-sg-closed/")+16 {
		t.Errorf("id = %s", id)
	}
	for _, other := range []func(*evidence.Record){
		func(r *evidence.Record) { r.Resource += "2" },
		func(r *evidence.Record) { r.Region = "eu-west-1" },
		func(r *evidence.Record) { r.AccountID = "100000000008" },
		func(r *evidence.Record) { r.GuardrailID = "other" },
	} {
		c := sgRecord("run-1", "non_compliant")
		other(&c)
		if FindingID(c) == FindingID(a) {
			t.Errorf("different finding, same ID %s", FindingID(c))
		}
	}
}

func TestComplianceStatusOfEveryItemStatus(t *testing.T) {
	t.Parallel()
	want := map[workflows.ItemStatus]types.ComplianceStatus{
		workflows.ItemCompliant: types.ComplianceStatusPassed, workflows.ItemRemediated: types.ComplianceStatusPassed,
		workflows.ItemNonCompliant: types.ComplianceStatusFailed, workflows.ItemPlanned: types.ComplianceStatusFailed,
		workflows.ItemPendingApproval: types.ComplianceStatusFailed, workflows.ItemNotVerified: types.ComplianceStatusFailed,
		workflows.ItemReported: types.ComplianceStatusFailed, workflows.ItemRolledBack: types.ComplianceStatusFailed,
		workflows.ItemError: types.ComplianceStatusNotAvailable, workflows.ItemNotApplicable: types.ComplianceStatusNotAvailable,
		workflows.ItemNotChecked: types.ComplianceStatusNotAvailable, workflows.ItemExempted: types.ComplianceStatusNotAvailable,
		workflows.ItemRefused: types.ComplianceStatusNotAvailable,
	}
	for st, w := range want {
		if got := ComplianceStatus(string(st)); got != w {
			t.Errorf("%s -> %s, want %s", st, got, w)
		}
	}
}

func TestFindingFromRecord(t *testing.T) {
	t.Parallel()
	f := Finding(sgRecord("run-1", "pending_approval"), "us-east-1", meta)
	checks := map[string]bool{
		"schema":     aws.ToString(f.SchemaVersion) == "2018-10-08",
		"product":    aws.ToString(f.ProductArn) == "arn:aws:securityhub:us-east-1:100000000007:product/100000000007/default",
		"generator":  aws.ToString(f.GeneratorId) == "orgguard/default-sg-closed",
		"account":    aws.ToString(f.AwsAccountId) == "100000000007",
		"names":      aws.ToString(f.ProductName) == "orgguard" && aws.ToString(f.CompanyName) == "orgguard",
		"types":      len(f.Types) == 1 && f.Types[0] == "Software and Configuration Checks/Industry and Regulatory Standards",
		"times":      aws.ToString(f.CreatedAt) == "2026-12-01T10:00:00Z" && aws.ToString(f.UpdatedAt) == "2026-12-01T11:00:00Z",
		"severity":   f.Severity.Label == types.SeverityLabelHigh && aws.ToString(f.Severity.Original) == "HIGH" && f.FindingProviderFields.Severity.Label == types.SeverityLabelHigh,
		"compliance": f.Compliance.Status == types.ComplianceStatusFailed,
		"requirements": strings.Join(f.Compliance.RelatedRequirements, "|") ==
			"CIS AWS Foundations Benchmark v3.0.0/5.4|AWS Foundational Security Best Practices v1.0.0/EC2.2|PCI v3.2.1/PCI.EC2.2",
		"resource": aws.ToString(f.Resources[0].Type) == "AwsEc2SecurityGroup" &&
			aws.ToString(f.Resources[0].Id) == "arn:aws:ec2:us-east-1:100000000007:security-group/sg-0a1" &&
			aws.ToString(f.Resources[0].Region) == "us-east-1" && f.Resources[0].Partition == types.PartitionAws,
		"fields": f.ProductFields[FieldRunID] == "run-1" && f.ProductFields[FieldPackDigest] == "sha256:abc" && f.ProductFields[FieldPack] == "baseline" &&
			f.ProductFields[FieldRemediationID] == "rem-123" && f.ProductFields[FieldStatus] == "pending_approval" && f.ProductFields[FieldExemption] == "",
		"remediation": f.Remediation != nil &&
			aws.ToString(f.Remediation.Recommendation.Text) == "Remove all rules of the default security group (ec2:RevokeSecurityGroupIngress); approval request rem-123",
		"state":       f.RecordState == types.RecordStateActive && f.Workflow == nil,
		"description": strings.Contains(aws.ToString(f.Description), "pending approval in run run-1. 2 ingress rules"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: finding = %+v", name, f)
		}
	}
	passed := Finding(sgRecord("run-2", "remediated"), "us-east-1", meta)
	if passed.Compliance.Status != types.ComplianceStatusPassed || passed.Severity.Label != types.SeverityLabelInformational ||
		aws.ToString(passed.Severity.Original) != "HIGH" {
		t.Errorf("remediated finding: compliance %s severity %+v", passed.Compliance.Status, passed.Severity)
	}
	ex := sgRecord("run-1", "exempted")
	ex.Exemption, ex.Change, ex.Controls = "sandbox accounts keep their default group (CCOE-12)", nil, nil
	exf := Finding(ex, "us-east-1", meta)
	if exf.Compliance.Status != types.ComplianceStatusNotAvailable || exf.ProductFields[FieldExemption] == "" || exf.Remediation != nil ||
		!strings.Contains(aws.ToString(exf.Description), "Exempted: sandbox accounts") || exf.Types[0] != "Software and Configuration Checks/AWS Security Best Practices" {
		t.Errorf("exempted finding = %+v", exf)
	}
}

func TestFindingLimits(t *testing.T) {
	t.Parallel()
	r := sgRecord("run-1", "non_compliant")
	r.Evidence = strings.Repeat("é", 2000)
	r.Change.Summary = strings.Repeat("x", 1000)
	r.Error = strings.Repeat("e", 5000)
	for range 40 {
		r.Controls = append(r.Controls, evidence.Control{Framework: "NIST", ID: "x"})
	}
	f := Finding(r, "us-east-1", meta)
	if n := len(aws.ToString(f.Description)); n > maxDescription || !strings.HasSuffix(aws.ToString(f.Description), "…") {
		t.Errorf("description of %d bytes", n)
	}
	if n := len(aws.ToString(f.Remediation.Recommendation.Text)); n > maxRecommendation {
		t.Errorf("recommendation of %d bytes", n)
	}
	if len(f.Compliance.RelatedRequirements) != maxRequirements {
		t.Errorf("%d related requirements", len(f.Compliance.RelatedRequirements))
	}
	if n := len(f.ProductFields[FieldError]); n > maxFieldValue {
		t.Errorf("error field of %d bytes", n)
	}
}

func TestResourceTypes(t *testing.T) {
	t.Parallel()
	acct := "100000000007"
	cases := []struct{ resource, typ, id string }{
		{"arn:aws:ec2:us-east-1:" + acct + ":vpc/vpc-1", "AwsEc2Vpc", ""},
		{"arn:aws:ec2:us-east-1:" + acct + ":instance/i-1", "AwsEc2Instance", ""},
		{"arn:aws:ec2:us-east-1:" + acct + ":ebs-encryption-by-default", "AwsAccount", "AWS::::Account:" + acct},
		{"arn:aws:iam::" + acct + ":root", "AwsAccount", "AWS::::Account:" + acct},
		{"arn:aws:iam::" + acct + ":account-password-policy", "AwsAccount", "AWS::::Account:" + acct},
		{"arn:aws:iam::" + acct + ":user/bob", "AwsIamUser", ""},
		{"arn:aws:iam::" + acct + ":role/admin", "AwsIamRole", ""},
		{"arn:aws:s3:::logs-bucket", "AwsS3Bucket", ""},
		{"arn:aws:s3:::" + acct + "/account-public-access-block", "AwsS3AccountPublicAccessBlock", "AWS::::Account:" + acct},
		{"arn:aws:kms:us-east-1:" + acct + ":key/k-1", "AwsKmsKey", ""},
		{"arn:aws:cloudtrail:us-east-1:" + acct + ":trail/org", "AwsCloudTrailTrail", ""},
		{"arn:aws:guardduty:us-east-1:" + acct + ":detector/d1", "AwsGuardDutyDetector", ""},
		{"arn:aws:logs:us-east-1:" + acct + ":log-group:trail:*", "Other", ""},
		{"arn:aws-cn:ec2:cn-north-1:" + acct + ":security-group/sg-1", "AwsEc2SecurityGroup", ""},
		{"password-policy", "Other", ""},
	}
	for _, c := range cases {
		r := sgRecord("run-1", "compliant")
		r.Resource = c.resource
		got := resource(r, "us-east-1", "aws")
		id := c.id
		if id == "" {
			id = c.resource
		}
		if aws.ToString(got.Type) != c.typ || aws.ToString(got.Id) != id {
			t.Errorf("%s -> %s %s, want %s %s", c.resource, aws.ToString(got.Type), aws.ToString(got.Id), c.typ, id)
		}
	}
	if got := resource(sgRecord("r", "compliant"), "cn-north-1", "aws-cn"); got.Partition != types.PartitionAws {
		t.Errorf("partition of an aws ARN = %s", got.Partition)
	}
	if p := DefaultProductARN(Partition("cn-north-1"), "cn-north-1", "1"); p != "arn:aws-cn:securityhub:cn-north-1:1:product/1/default" {
		t.Errorf("China product ARN = %s", p)
	}
}
