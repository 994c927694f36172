package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/orgguard/orgguard/workflows"
)

// guardDutyAPI is the part of the GuardDuty client the detector control uses.
type guardDutyAPI interface {
	guardduty.ListDetectorsAPIClient
	GetDetector(context.Context, *guardduty.GetDetectorInput, ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error)
	CreateDetector(context.Context, *guardduty.CreateDetectorInput, ...func(*guardduty.Options)) (*guardduty.CreateDetectorOutput, error)
	UpdateDetector(context.Context, *guardduty.UpdateDetectorInput, ...func(*guardduty.Options)) (*guardduty.UpdateDetectorOutput, error)
}

// guardDutyDetector: a GuardDuty detector is enabled in the region with the
// configured finding publishing frequency (FSBP GuardDuty.1), and, with
// route_findings, an EventBridge rule sends its findings to an SNS topic
// (a second finding).
type guardDutyDetector struct{}

func (guardDutyDetector) Permissions() []string {
	// CreateDetector tags the detector and creates GuardDuty's service-linked role.
	return append([]string{"guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:CreateDetector", "guardduty:UpdateDetector",
		"guardduty:TagResource", "iam:CreateServiceLinkedRole"}, findingsRoutePermissions...)
}

func (guardDutyDetector) api(env Env) guardDutyAPI { return guardduty.NewFromConfig(env.Config) }

type detectorState struct {
	id        string
	enabled   bool
	frequency string
}

// read returns the region's detector (GuardDuty allows one per account and
// region), nil when there is none.
func (c guardDutyDetector) read(ctx context.Context, env Env) (*detectorState, error) {
	api := c.api(env)
	p := guardduty.NewListDetectorsPaginator(api, &guardduty.ListDetectorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, id := range page.DetectorIds {
			d, err := api.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
			if err != nil {
				return nil, err
			}
			return &detectorState{id: id, enabled: d.Status == gdtypes.DetectorStatusEnabled, frequency: string(d.FindingPublishingFrequency)}, nil
		}
	}
	return nil, nil
}

func (c guardDutyDetector) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	out, err := c.checkDetector(ctx, env)
	if err != nil {
		return nil, err
	}
	if s := controlSettings(env); s.boolean("route_findings") {
		f, err := routeFinding(ctx, env, s.str("sns_topic_name"))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if resource != "" && strings.Contains(resource, ":events:") {
		return filterFindings(resource, out), nil
	}
	if resource != "" {
		return out[:1], nil // the detector (its ARN changes once it exists)
	}
	return out, nil
}

func (c guardDutyDetector) checkDetector(ctx context.Context, env Env) ([]workflows.Finding, error) {
	d, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	freq := controlSettings(env).str("finding_publishing_frequency")
	res := env.ARN("guardduty", "detector")
	params := map[string]any{"frequency": freq}
	switch {
	case d == nil:
		return []workflows.Finding{nonCompliant(res, "GuardDuty has no detector in "+env.Region, map[string]string{"detector": ""}, &workflows.Change{
			Summary: "enable GuardDuty in " + env.Region,
			Diff:    fmt.Sprintf("GuardDuty (%s, %s)\n+ detector: enabled, findings published every %s\n", env.AccountID, env.Region, freq),
			Actions: []string{"guardduty:CreateDetector"},
			Params:  params,
		})}, nil
	case !d.enabled || d.frequency != freq:
		res = env.ARN("guardduty", "detector/"+d.id)
		facts := map[string]string{"detector": d.id, "enabled": fmt.Sprint(d.enabled), "frequency": d.frequency}
		ev, diff := "", fmt.Sprintf("GuardDuty detector %s (%s, %s)\n", d.id, env.AccountID, env.Region)
		if !d.enabled {
			ev = "GuardDuty detector " + d.id + " is suspended"
			diff += "- status: DISABLED\n+ status: ENABLED\n"
		} else {
			ev = fmt.Sprintf("GuardDuty detector %s publishes findings every %s, not %s", d.id, d.frequency, freq)
		}
		if d.frequency != freq {
			diff += fmt.Sprintf("- finding publishing frequency: %s\n+ finding publishing frequency: %s\n", d.frequency, freq)
		}
		params["detector_id"] = d.id
		return []workflows.Finding{nonCompliant(res, ev, facts, &workflows.Change{
			Summary: "enable GuardDuty detector " + d.id + " in " + env.Region,
			Diff:    diff,
			Actions: []string{"guardduty:UpdateDetector"},
			Params:  params,
		})}, nil
	}
	return []workflows.Finding{compliant(env.ARN("guardduty", "detector/"+d.id),
		fmt.Sprintf("GuardDuty detector %s is enabled in %s (findings every %s)", d.id, env.Region, d.frequency),
		map[string]string{"detector": d.id, "enabled": "true", "frequency": d.frequency})}, nil
}

func (c guardDutyDetector) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	var out applied
	if paramBool(f.Change, "route") {
		err := applyRoute(ctx, env, paramString(f.Change, "topic"), &out)
		return out.ApplyOutput, err
	}
	freq := gdtypes.FindingPublishingFrequency(paramString(f.Change, "frequency"))
	d, err := c.read(ctx, env)
	if err != nil {
		return out.ApplyOutput, err
	}
	api := c.api(env)
	if d == nil {
		in := &guardduty.CreateDetectorInput{Enable: aws.Bool(true), FindingPublishingFrequency: freq, Tags: map[string]string{"managed-by": "orgguard"}}
		if env.IdempotencyKey != "" {
			in.ClientToken = aws.String(env.IdempotencyKey)
		}
		created, err := api.CreateDetector(ctx, in)
		if err != nil {
			return out.ApplyOutput, err
		}
		out.call("guardduty:CreateDetector %s", aws.ToString(created.DetectorId))
		return out.ApplyOutput, nil
	}
	if d.enabled && d.frequency == string(freq) {
		return out.ApplyOutput, nil
	}
	if _, err := api.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(d.id), Enable: aws.Bool(true), FindingPublishingFrequency: freq}); err != nil {
		return out.ApplyOutput, err
	}
	out.call("guardduty:UpdateDetector %s enable, frequency %s", d.id, freq)
	return out.ApplyOutput, nil
}
