package activities

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// securityHubAPI is the part of the Security Hub client the kind uses.
type securityHubAPI interface {
	securityhub.GetEnabledStandardsAPIClient
	securityhub.DescribeStandardsControlsAPIClient
	securityhub.GetFindingsAPIClient
	DescribeHub(context.Context, *securityhub.DescribeHubInput, ...func(*securityhub.Options)) (*securityhub.DescribeHubOutput, error)
	EnableSecurityHub(context.Context, *securityhub.EnableSecurityHubInput, ...func(*securityhub.Options)) (*securityhub.EnableSecurityHubOutput, error)
	BatchEnableStandards(context.Context, *securityhub.BatchEnableStandardsInput, ...func(*securityhub.Options)) (*securityhub.BatchEnableStandardsOutput, error)
	UpdateStandardsControl(context.Context, *securityhub.UpdateStandardsControlInput, ...func(*securityhub.Options)) (*securityhub.UpdateStandardsControlOutput, error)
}

// securityHubKind enables Security Hub, subscribes the guardrail's
// standards by their ARNs in the region, disables the named controls with
// the guardrail's reason and re-enables the controls it disabled earlier
// that the guardrail no longer names. BatchEnableStandards and
// UpdateStandardsControl are limited to 1 request/s per account and region
// by the client factory's limiter (internal/awsclient/ratelimit.go).
//
// Check returns one finding for the hub's configuration and one per
// subscribed standard summarising its failed findings (report only).
type securityHubKind struct{}

func (securityHubKind) Permissions() []string {
	return []string{
		"securityhub:DescribeHub", "securityhub:EnableSecurityHub", "securityhub:GetEnabledStandards",
		"securityhub:BatchEnableStandards", "securityhub:DescribeStandardsControls", "securityhub:UpdateStandardsControl",
		"securityhub:GetFindings", "securityhub:TagResource", "iam:CreateServiceLinkedRole",
	}
}

func (securityHubKind) api(env Env) securityHubAPI { return securityhub.NewFromConfig(env.Config) }

// disabledMark prefixes the DisabledReason of controls orgguard disabled, so
// it re-enables only those and never a control someone else switched off.
const disabledMark = "[orgguard] "

type hubWant struct {
	standards map[string]guardrails.StandardInfo // ARN -> standard
	order     []string                           // ARNs in guardrail order
	disabled  map[string]map[string]string       // standard ARN -> control id -> reason
}

func (securityHubKind) want(env Env) (hubWant, error) {
	sh := env.Guardrail.SecurityHub
	if sh == nil {
		return hubWant{}, temporal.NewNonRetryableApplicationError("guardrail "+env.Guardrail.ID+" has no securityhub block", "InvalidInput", nil)
	}
	w := hubWant{standards: map[string]guardrails.StandardInfo{}, disabled: map[string]map[string]string{}}
	for _, s := range sh.Standards {
		info, ok := guardrails.LookupStandard(s.Name, s.Version)
		if !ok {
			return w, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown Security Hub standard %s %s", s.Name, s.Version), "Validation", nil)
		}
		arn := info.ARN(env.Partition, env.Region)
		if _, dup := w.standards[arn]; !dup {
			w.standards[arn] = info
			w.order = append(w.order, arn)
		}
	}
	for _, dc := range sh.DisabledControls {
		for _, arn := range w.order {
			if dc.Standard != "" && w.standards[arn].Name != dc.Standard {
				continue
			}
			if w.disabled[arn] == nil {
				w.disabled[arn] = map[string]string{}
			}
			w.disabled[arn][dc.Control] = disabledMark + dc.Reason
		}
	}
	return w, nil
}

// controlChange is one planned UpdateStandardsControl.
type controlChange struct {
	ARN, ControlID, Standard, Status, Reason string
}

type hubState struct {
	enabled  bool
	subs     map[string]shtypes.StandardsSubscription // standards ARN -> subscription
	missing  []string                                 // wanted standards ARNs not subscribed
	controls []controlChange
	// unknown are disabled controls the guardrail names that the standard
	// does not have (a typo, or a control AWS retired): reported, not drift.
	unknown []string
}

func (k securityHubKind) read(ctx context.Context, env Env, w hubWant) (hubState, error) {
	api := k.api(env)
	st := hubState{subs: map[string]shtypes.StandardsSubscription{}}
	_, err := api.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	switch c := errorCode(err); {
	case c == "InvalidAccessException" || c == "ResourceNotFoundException":
		st.missing = append(st.missing, w.order...)
		return st, nil
	case err != nil:
		return st, err
	}
	st.enabled = true
	p := securityhub.NewGetEnabledStandardsPaginator(api, &securityhub.GetEnabledStandardsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return st, err
		}
		for _, s := range page.StandardsSubscriptions {
			st.subs[aws.ToString(s.StandardsArn)] = s
		}
	}
	for _, arn := range w.order {
		sub, ok := st.subs[arn]
		if !ok || sub.StandardsStatus == shtypes.StandardsStatusDeleting || sub.StandardsStatus == shtypes.StandardsStatusFailed {
			st.missing = append(st.missing, arn)
			continue
		}
		if sub.StandardsStatus != shtypes.StandardsStatusReady && sub.StandardsStatus != shtypes.StandardsStatusIncomplete {
			continue // controls appear once the subscription is ready
		}
		seen := map[string]bool{}
		cp := securityhub.NewDescribeStandardsControlsPaginator(api, &securityhub.DescribeStandardsControlsInput{StandardsSubscriptionArn: sub.StandardsSubscriptionArn})
		for cp.HasMorePages() {
			page, err := cp.NextPage(ctx)
			if err != nil {
				return st, err
			}
			for _, c := range page.Controls {
				id, reason := aws.ToString(c.ControlId), aws.ToString(c.DisabledReason)
				seen[id] = true
				want, disable := w.disabled[arn][id]
				switch {
				case disable && (c.ControlStatus != shtypes.ControlStatusDisabled || reason != want):
					st.controls = append(st.controls, controlChange{aws.ToString(c.StandardsControlArn), id, w.standards[arn].Name, "DISABLED", want})
				case !disable && c.ControlStatus == shtypes.ControlStatusDisabled && strings.HasPrefix(reason, disabledMark):
					st.controls = append(st.controls, controlChange{aws.ToString(c.StandardsControlArn), id, w.standards[arn].Name, "ENABLED", ""})
				}
			}
		}
		for _, id := range sortedKeysOf(w.disabled[arn]) {
			if !seen[id] {
				st.unknown = append(st.unknown, id+" ("+w.standards[arn].Name+")")
			}
		}
	}
	return st, nil
}

func (k securityHubKind) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	w, err := k.want(env)
	if err != nil {
		return nil, err
	}
	st, err := k.read(ctx, env, w)
	if err != nil {
		return nil, err
	}
	hubRes := env.ARN("securityhub", "hub/default")
	var out []workflows.Finding
	if matchesResource(resource, hubRes) {
		out = append(out, k.hubFinding(env, w, st, hubRes))
	}
	if !st.enabled || resource == hubRes {
		return out, nil
	}
	summaries, err := k.failedFindings(ctx, env, w)
	if err != nil {
		return nil, err
	}
	for _, arn := range w.order {
		sub, ok := st.subs[arn]
		if !ok {
			continue
		}
		res := aws.ToString(sub.StandardsSubscriptionArn)
		if !matchesResource(resource, res) {
			continue
		}
		info := w.standards[arn]
		sum := summaries[arn]
		facts := map[string]string{"standard": info.Title, "status": string(sub.StandardsStatus), "failed_findings": fmt.Sprint(sum.total)}
		if sum.total == 0 {
			out = append(out, compliant(res, info.Title+" has no failed findings in "+env.Region, facts))
			continue
		}
		facts["failed_controls"] = strings.Join(sum.top(10), ",")
		out = append(out, nonCompliant(res, fmt.Sprintf("%s has %d failed finding(s) in %s; most failed controls: %s", info.Title, sum.total, env.Region, strings.Join(sum.top(5), ", ")), facts, nil))
	}
	return out, nil
}

func (k securityHubKind) hubFinding(env Env, w hubWant, st hubState, res string) workflows.Finding {
	var problems, actions []string
	var diff strings.Builder
	fmt.Fprintf(&diff, "Security Hub (%s, %s)\n", env.AccountID, env.Region)
	if !st.enabled {
		problems = append(problems, "Security Hub is not enabled")
		diff.WriteString("+ enable Security Hub\n")
		actions = append(actions, "securityhub:EnableSecurityHub")
	}
	if len(st.missing) > 0 {
		var titles []string
		for _, arn := range st.missing {
			titles = append(titles, w.standards[arn].Title)
			fmt.Fprintf(&diff, "+ subscribe %s (%s)\n", w.standards[arn].Title, arn)
		}
		problems = append(problems, "not subscribed to "+strings.Join(titles, ", "))
		actions = append(actions, "securityhub:BatchEnableStandards")
	}
	if !st.enabled {
		// Controls are known only once the standards are subscribed.
		for _, arn := range w.order {
			for _, id := range sortedKeysOf(w.disabled[arn]) {
				fmt.Fprintf(&diff, "+ disable %s in %s: %s\n", id, w.standards[arn].Name, strings.TrimPrefix(w.disabled[arn][id], disabledMark))
			}
		}
	}
	for _, c := range st.controls {
		if c.Status == "DISABLED" {
			problems = append(problems, fmt.Sprintf("control %s of %s is not disabled as the guardrail says", c.ControlID, c.Standard))
			fmt.Fprintf(&diff, "- %s (%s): ENABLED\n+ %s (%s): DISABLED, %s\n", c.ControlID, c.Standard, c.ControlID, c.Standard, strings.TrimPrefix(c.Reason, disabledMark))
		} else {
			problems = append(problems, fmt.Sprintf("control %s of %s was disabled by orgguard and is no longer named", c.ControlID, c.Standard))
			fmt.Fprintf(&diff, "- %s (%s): DISABLED\n+ %s (%s): ENABLED\n", c.ControlID, c.Standard, c.ControlID, c.Standard)
		}
	}
	if len(st.controls) > 0 || (!st.enabled && len(w.disabled) > 0) {
		actions = append(actions, "securityhub:UpdateStandardsControl")
	}
	var titles []string
	for _, arn := range w.order {
		titles = append(titles, w.standards[arn].Title)
	}
	facts := map[string]string{"enabled": fmt.Sprint(st.enabled), "standards": strings.Join(titles, "; ")}
	note := ""
	if len(st.unknown) > 0 {
		facts["unknown_controls"] = strings.Join(st.unknown, ",")
		note = "; the standards have no control " + strings.Join(st.unknown, ", ") + " to disable"
	}
	if len(problems) == 0 {
		return compliant(res, "Security Hub is enabled in "+env.Region+" with "+strings.Join(titles, ", ")+note, facts)
	}
	return nonCompliant(res, "Security Hub in "+env.Region+": "+strings.Join(problems, "; ")+note, facts, &workflows.Change{
		Summary: fmt.Sprintf("configure Security Hub in %s (%d change(s))", env.Region, len(problems)),
		Diff:    diff.String(),
		Actions: uniq(actions),
		Params:  map[string]any{"hub": true},
	})
}

func (k securityHubKind) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	w, err := k.want(env)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	api := k.api(env)
	st, err := k.read(ctx, env, w)
	if err != nil {
		return out.ApplyOutput, err
	}
	if !st.enabled {
		if _, err := api.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{
			EnableDefaultStandards: aws.Bool(env.Guardrail.SecurityHub.EnableDefaultStandards),
			Tags:                   map[string]string{"managed-by": "orgguard"},
		}); err != nil && errorCode(err) != "ResourceConflictException" {
			return out.ApplyOutput, err
		}
		out.call("securityhub:EnableSecurityHub %s", env.Region)
		if st, err = k.read(ctx, env, w); err != nil {
			return out.ApplyOutput, err
		}
	}
	if len(st.missing) > 0 {
		var reqs []shtypes.StandardsSubscriptionRequest
		for _, arn := range st.missing {
			reqs = append(reqs, shtypes.StandardsSubscriptionRequest{StandardsArn: aws.String(arn)})
		}
		if _, err := api.BatchEnableStandards(ctx, &securityhub.BatchEnableStandardsInput{StandardsSubscriptionRequests: reqs}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("securityhub:BatchEnableStandards %s", strings.Join(st.missing, ", "))
		if st, err = k.read(ctx, env, w); err != nil {
			return out.ApplyOutput, err
		}
	}
	for _, c := range st.controls {
		in := &securityhub.UpdateStandardsControlInput{StandardsControlArn: aws.String(c.ARN), ControlStatus: shtypes.ControlStatus(c.Status)}
		if c.Status == "DISABLED" {
			in.DisabledReason = aws.String(c.Reason)
		}
		if _, err := api.UpdateStandardsControl(ctx, in); err != nil {
			return out.ApplyOutput, err
		}
		out.call("securityhub:UpdateStandardsControl %s %s", c.ControlID, c.Status)
	}
	return out.ApplyOutput, nil
}

// failedSummary counts a standard's failed findings by control.
type failedSummary struct {
	total     int
	byControl map[string]int
}

func (s failedSummary) top(n int) []string {
	ids := sortedKeysOf(s.byControl)
	sort.SliceStable(ids, func(i, j int) bool { return s.byControl[ids[i]] > s.byControl[ids[j]] })
	if len(ids) > n {
		ids = ids[:n]
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf("%s (%d)", id, s.byControl[id])
	}
	return out
}

// failedFindings reads the active, failed control findings and counts them
// per standard ARN.
func (k securityHubKind) failedFindings(ctx context.Context, env Env, w hubWant) (map[string]failedSummary, error) {
	eq := func(v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Value: aws.String(v), Comparison: shtypes.StringFilterComparisonEquals}}
	}
	out := map[string]failedSummary{}
	p := securityhub.NewGetFindingsPaginator(k.api(env), &securityhub.GetFindingsInput{
		Filters: &shtypes.AwsSecurityFindingFilters{
			ComplianceStatus: eq("FAILED"), RecordState: eq("ACTIVE"), AwsAccountId: eq(env.AccountID),
		},
		MaxResults: aws.Int32(100),
	})
	add := func(arn, control string) {
		s := out[arn]
		if s.byControl == nil {
			s.byControl = map[string]int{}
		}
		s.total++
		s.byControl[control]++
		out[arn] = s
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			control := ""
			var stds []string
			if f.Compliance != nil {
				control = aws.ToString(f.Compliance.SecurityControlId)
				for _, a := range f.Compliance.AssociatedStandards {
					stds = append(stds, aws.ToString(a.StandardsId))
				}
			}
			if s, ok := f.ProductFields["StandardsArn"]; ok {
				stds = append(stds, s)
			}
			if control == "" {
				control = f.ProductFields["ControlId"]
			}
			for _, arn := range w.order {
				for _, s := range stds {
					// AssociatedStandards name the standard without the
					// region ("standards/aws-foundational-security-best-practices/v/1.0.0").
					if s == arn || strings.HasSuffix(arn, "::"+s) || strings.HasSuffix(arn, ":"+s) {
						add(arn, control)
						break
					}
				}
			}
		}
	}
	return out, nil
}
