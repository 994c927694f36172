package awssim

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

const (
	fsbpARN   = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
	cis12ARN  = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
	cis14ARN  = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0"
	pci321ARN = "arn:aws:securityhub:us-east-1::standards/pci-dss/v/3.2.1"
)

func TestSecurityHubStandardsAndControls(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 3})
	c := securityhub.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))

	_, err := c.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	requireCode(t, err, "InvalidAccessException")
	_, err = c.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String(fsbpARN)}}})
	requireCode(t, err, "InvalidAccessException")

	must[*securityhub.EnableSecurityHubOutput](t)(c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}))
	_, err = c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{})
	requireCode(t, err, "ResourceConflictException")
	hub := must[*securityhub.DescribeHubOutput](t)(c.DescribeHub(ctx, &securityhub.DescribeHubInput{}))
	if aws.ToString(hub.HubArn) != "arn:aws:securityhub:us-east-1:100000000007:hub/default" || hub.ControlFindingGenerator != shtypes.ControlFindingGeneratorSecurityControl || aws.ToString(hub.SubscribedAt) == "" {
		t.Errorf("hub = %+v", hub)
	}

	var stds []string
	sp := securityhub.NewDescribeStandardsPaginator(c, &securityhub.DescribeStandardsInput{})
	for sp.HasMorePages() {
		for _, std := range must[*securityhub.DescribeStandardsOutput](t)(sp.NextPage(ctx)).Standards {
			stds = append(stds, aws.ToString(std.StandardsArn))
		}
	}
	for _, want := range []string{fsbpARN, cis12ARN, cis14ARN, pci321ARN,
		"arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
		"arn:aws:securityhub:us-east-1::standards/pci-dss/v/4.0.1",
		"arn:aws:securityhub:us-east-1::standards/nist-800-53/v/5.0.0"} {
		if !slices.Contains(stds, want) {
			t.Errorf("DescribeStandards lacks %s: %v", want, stds)
		}
	}

	en := must[*securityhub.BatchEnableStandardsOutput](t)(c.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{
		{StandardsArn: aws.String(fsbpARN)}, {StandardsArn: aws.String(cis14ARN)}, {StandardsArn: aws.String(pci321ARN)}}}))
	if len(en.StandardsSubscriptions) != 3 || aws.ToString(en.StandardsSubscriptions[0].StandardsSubscriptionArn) != "arn:aws:securityhub:us-east-1:100000000007:subscription/aws-foundational-security-best-practices/v/1.0.0" ||
		en.StandardsSubscriptions[0].StandardsStatus != shtypes.StandardsStatusPending {
		t.Errorf("enabled = %+v", en.StandardsSubscriptions)
	}
	_, err = c.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String("arn:aws:securityhub:us-east-1::standards/nope/v/1")}}})
	requireCode(t, err, "InvalidInputException")

	var subs []string
	gp := securityhub.NewGetEnabledStandardsPaginator(c, &securityhub.GetEnabledStandardsInput{MaxResults: aws.Int32(2)})
	for gp.HasMorePages() {
		for _, sub := range must[*securityhub.GetEnabledStandardsOutput](t)(gp.NextPage(ctx)).StandardsSubscriptions {
			subs = append(subs, aws.ToString(sub.StandardsSubscriptionArn))
			if sub.StandardsStatus != shtypes.StandardsStatusReady {
				t.Errorf("status = %s", sub.StandardsStatus)
			}
		}
	}
	if len(subs) != 3 {
		t.Fatalf("subscriptions = %v", subs)
	}

	pciSub := "arn:aws:securityhub:us-east-1:100000000007:subscription/pci-dss/v/3.2.1"
	var controls []shtypes.StandardsControl
	cp := securityhub.NewDescribeStandardsControlsPaginator(c, &securityhub.DescribeStandardsControlsInput{StandardsSubscriptionArn: aws.String(pciSub)})
	for cp.HasMorePages() {
		controls = append(controls, must[*securityhub.DescribeStandardsControlsOutput](t)(cp.NextPage(ctx)).Controls...)
	}
	i := slices.IndexFunc(controls, func(c shtypes.StandardsControl) bool { return aws.ToString(c.ControlId) == "PCI.EC2.2" })
	if i < 0 || aws.ToString(controls[i].StandardsControlArn) != "arn:aws:securityhub:us-east-1:100000000007:control/pci-dss/v/3.2.1/PCI.EC2.2" ||
		controls[i].ControlStatus != shtypes.ControlStatusEnabled || controls[i].SeverityRating != shtypes.SeverityRatingHigh {
		t.Fatalf("PCI controls = %+v", controls)
	}
	_, err = c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{StandardsControlArn: controls[i].StandardsControlArn, ControlStatus: shtypes.ControlStatusDisabled})
	requireCode(t, err, "InvalidInputException")
	must[*securityhub.UpdateStandardsControlOutput](t)(c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{
		StandardsControlArn: controls[i].StandardsControlArn, ControlStatus: shtypes.ControlStatusDisabled, DisabledReason: aws.String("covered by an SCP")}))
	after := must[*securityhub.DescribeStandardsControlsOutput](t)(c.DescribeStandardsControls(ctx, &securityhub.DescribeStandardsControlsInput{StandardsSubscriptionArn: aws.String(pciSub), MaxResults: aws.Int32(100)}))
	for _, ctl := range after.Controls {
		if aws.ToString(ctl.ControlId) == "PCI.EC2.2" && (ctl.ControlStatus != shtypes.ControlStatusDisabled || aws.ToString(ctl.DisabledReason) != "covered by an SCP") {
			t.Errorf("after update = %+v", ctl)
		}
	}
	_, err = c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{StandardsControlArn: aws.String("arn:aws:securityhub:us-east-1:100000000007:control/pci-dss/v/3.2.1/PCI.Nope"), ControlStatus: shtypes.ControlStatusEnabled})
	requireCode(t, err, "ResourceNotFoundException")

	dis := must[*securityhub.BatchDisableStandardsOutput](t)(c.BatchDisableStandards(ctx, &securityhub.BatchDisableStandardsInput{StandardsSubscriptionArns: []string{pciSub}}))
	if len(dis.StandardsSubscriptions) != 1 || dis.StandardsSubscriptions[0].StandardsStatus != shtypes.StandardsStatusDeleting {
		t.Errorf("disabled = %+v", dis.StandardsSubscriptions)
	}
	_, err = c.DescribeStandardsControls(ctx, &securityhub.DescribeStandardsControlsInput{StandardsSubscriptionArn: aws.String(pciSub)})
	requireCode(t, err, "ResourceNotFoundException")

	must[*securityhub.DisableSecurityHubOutput](t)(c.DisableSecurityHub(ctx, &securityhub.DisableSecurityHubInput{}))
	_, err = c.GetEnabledStandards(ctx, &securityhub.GetEnabledStandardsInput{})
	requireCode(t, err, "InvalidAccessException")
}

func TestSecurityHubFindingsFollowState(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := securityhub.NewFromConfig(cfg)
	// Default standards: FSBP and CIS 1.2.0.
	must[*securityhub.EnableSecurityHubOutput](t)(c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}))
	enabled := must[*securityhub.GetEnabledStandardsOutput](t)(c.GetEnabledStandards(ctx, &securityhub.GetEnabledStandardsInput{}))
	if len(enabled.StandardsSubscriptions) != 2 {
		t.Fatalf("default standards = %+v", enabled.StandardsSubscriptions)
	}

	failed := func(control string) []shtypes.AwsSecurityFinding {
		var out []shtypes.AwsSecurityFinding
		p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
			ComplianceStatus:            []shtypes.StringFilter{{Value: aws.String("FAILED"), Comparison: shtypes.StringFilterComparisonEquals}},
			ComplianceSecurityControlId: []shtypes.StringFilter{{Value: aws.String(control), Comparison: shtypes.StringFilterComparisonEquals}},
		}})
		for p.HasMorePages() {
			out = append(out, must[*securityhub.GetFindingsOutput](t)(p.NextPage(ctx)).Findings...)
		}
		return out
	}
	ebs := failed("EC2.7")
	if len(ebs) != 1 {
		t.Fatalf("EC2.7 findings = %+v", ebs)
	}
	f := ebs[0]
	if aws.ToString(f.GeneratorId) != "security-control/EC2.7" || aws.ToString(f.AwsAccountId) != demoWebProd ||
		f.Severity.Label != shtypes.SeverityLabelMedium || f.Resources[0].Type == nil || aws.ToString(f.Resources[0].Id) != "AWS::::Account:100000000007" ||
		!strings.HasPrefix(aws.ToString(f.Id), "arn:aws:securityhub:us-east-1:100000000007:security-control/EC2.7/finding/") {
		t.Errorf("finding = %+v", f)
	}
	ssh := failed("EC2.13")
	if len(ssh) != 1 || len(ssh[0].Compliance.AssociatedStandards) != 2 ||
		aws.ToString(ssh[0].Resources[0].Id) != "arn:aws:ec2:us-east-1:100000000007:security-group/sg-0a000000000000071" {
		t.Errorf("EC2.13 findings = %+v", ssh)
	}
	must[*ec2.EnableEbsEncryptionByDefaultOutput](t)(ec2.NewFromConfig(cfg).EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
	if got := failed("EC2.7"); len(got) != 0 {
		t.Errorf("EC2.7 still failing after fix: %+v", got)
	}
}

func TestSecurityHubThrottling(t *testing.T) {
	t.Parallel()
	// AWS's quota: BatchEnableStandards and UpdateStandardsControl at 1
	// request per second. A bucket that never refills makes the second call
	// deterministically throttled.
	s := newTestServer(t, Options{Faults: []Fault{
		{Service: "securityhub", Operation: "BatchEnableStandards", Throttle: &Throttle{Burst: 1}},
		{Service: "securityhub", Operation: "UpdateStandardsControl", Throttle: &Throttle{Burst: 1}},
	}})
	c := securityhub.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	must[*securityhub.EnableSecurityHubOutput](t)(c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}))
	req := &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String(pci321ARN)}}}
	must[*securityhub.BatchEnableStandardsOutput](t)(c.BatchEnableStandards(ctx, req))
	_, err := c.BatchEnableStandards(ctx, req)
	requireCode(t, err, "LimitExceededException")
	arn := aws.String("arn:aws:securityhub:us-east-1:100000000007:control/pci-dss/v/3.2.1/PCI.EC2.2")
	must[*securityhub.UpdateStandardsControlOutput](t)(c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{StandardsControlArn: arn, ControlStatus: shtypes.ControlStatusEnabled}))
	_, err = c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{StandardsControlArn: arn, ControlStatus: shtypes.ControlStatusEnabled})
	requireCode(t, err, "LimitExceededException")

	if !slices.ContainsFunc(AWSQuotas(), func(f Fault) bool {
		return f.Service == "securityhub" && f.Operation == "BatchEnableStandards" && f.Throttle != nil && f.Throttle.RatePerSecond == 1
	}) {
		t.Error("AWSQuotas lacks the Security Hub BatchEnableStandards quota")
	}
}

func TestSecurityHubStandardControlFindings(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := securityhub.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	must[*securityhub.EnableSecurityHubOutput](t)(c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{ControlFindingGenerator: shtypes.ControlFindingGeneratorStandardControl}))
	gen := "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.3"
	find := func() []shtypes.AwsSecurityFinding {
		return must[*securityhub.GetFindingsOutput](t)(c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
			GeneratorId:      []shtypes.StringFilter{{Value: aws.String(gen), Comparison: shtypes.StringFilterComparisonEquals}},
			ComplianceStatus: []shtypes.StringFilter{{Value: aws.String("FAILED"), Comparison: shtypes.StringFilterComparisonEquals}},
		}})).Findings
	}
	// Two VPCs in us-east-1, both default groups open.
	if got := find(); len(got) != 2 || got[0].ProductFields["ControlId"] != "4.3" ||
		!strings.HasPrefix(aws.ToString(got[0].Id), "arn:aws:securityhub:us-east-1:100000000007:subscription/cis-aws-foundations-benchmark/v/1.2.0/finding/") {
		t.Fatalf("CIS 4.3 findings = %+v", got)
	}
	must[*securityhub.UpdateStandardsControlOutput](t)(c.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{
		StandardsControlArn: aws.String("arn:aws:securityhub:us-east-1:100000000007:control/cis-aws-foundations-benchmark/v/1.2.0/4.3"),
		ControlStatus:       shtypes.ControlStatusDisabled, DisabledReason: aws.String("checked by orgguard")}))
	if got := find(); len(got) != 0 {
		t.Errorf("findings of a disabled control = %+v", got)
	}
}
