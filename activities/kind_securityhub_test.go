package activities

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

func hubGuardrail(disabled ...guardrails.DisabledControl) guardrails.Guardrail {
	return guardrails.Guardrail{ID: "securityhub.hub", Kind: guardrails.KindSecurityHub, Name: "hub",
		SecurityHub: &guardrails.SecurityHub{
			Standards:        []guardrails.Standard{{Name: "fsbp", Version: "1.0.0"}, {Name: "cis", Version: "1.4.0"}, {Name: "pci", Version: "3.2.1"}},
			DisabledControls: disabled,
		}}
}

var disableIMDS = guardrails.DisabledControl{Standard: "fsbp", Control: "EC2.8", Reason: "Legacy AMIs need IMDSv1 until Q3."}

// withHub enables the hub with FSBP, and disables IAM.6 the way orgguard
// does, as an earlier version of the guardrail asked.
func withHub(account, region string) func(t *testing.T, s *sim) {
	return func(t *testing.T, s *sim) {
		t.Helper()
		env := s.env(t, account, region, hubGuardrail())
		api := securityhub.NewFromConfig(env.Config)
		if _, err := api.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		fsbp, _ := guardrails.LookupStandard("fsbp", "1.0.0")
		subs, err := api.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String(fsbp.ARN("aws", region))}}})
		if err != nil {
			t.Fatal(err)
		}
		controls, err := api.DescribeStandardsControls(ctx, &securityhub.DescribeStandardsControlsInput{StandardsSubscriptionArn: subs.StandardsSubscriptions[0].StandardsSubscriptionArn})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range controls.Controls {
			if aws.ToString(c.ControlId) == "IAM.6" {
				if _, err := api.UpdateStandardsControl(ctx, &securityhub.UpdateStandardsControlInput{StandardsControlArn: c.StandardsControlArn,
					ControlStatus: shtypes.ControlStatusDisabled, DisabledReason: aws.String(disabledMark + "hardware MFA is rolled out later")}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

var _ = addScenarios("securityhub",
	scenario{
		name: "hub enabled, standards subscribed, named controls disabled", account: acctWebProd, region: usEast1,
		guardrail:  hubGuardrail(disableIMDS, guardrails.DisabledControl{Standard: "fsbp", Control: "NoSuch.1", Reason: "typo"}),
		evidence:   "Security Hub is not enabled",
		wantWrites: []string{"securityhub:EnableSecurityHub", "securityhub:BatchEnableStandards", "securityhub:UpdateStandardsControl"},
	},
	scenario{
		name: "controls orgguard disabled and no longer named are re-enabled", account: acctWebDev, region: euWest1,
		guardrail: hubGuardrail(disableIMDS), prepare: withHub(acctWebDev, euWest1),
		evidence:   "control IAM.6 of fsbp was disabled by orgguard and is no longer named",
		wantWrites: []string{"securityhub:BatchEnableStandards", "securityhub:UpdateStandardsControl"},
	},
)

// Each subscribed standard's failed findings are summarised as a finding of
// the guardrail, with the most failed controls as evidence.
func TestSecurityHubSummarisesFailedFindings(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	defer s.flush(true)
	withHub(acctWebProd, usEast1)(t, s)
	env := s.env(t, acctWebProd, usEast1, hubGuardrail())
	fs, err := securityHubKind{}.Check(ctx, env, "")
	if err != nil {
		t.Fatal(err)
	}
	var summary *workflows.Finding
	for i, f := range fs {
		if strings.Contains(f.Resource, "subscription/aws-foundational-security-best-practices") {
			summary = &fs[i]
		}
	}
	if summary == nil {
		t.Fatalf("no FSBP summary finding: %s", describe(fs))
	}
	if summary.Status != workflows.StatusNonCompliant || summary.Change != nil || summary.Facts["failed_findings"] == "0" ||
		!strings.Contains(summary.Evidence, "failed finding(s)") || !strings.Contains(summary.Evidence, "EC2.") {
		t.Errorf("FSBP summary = %+v", *summary)
	}
}
