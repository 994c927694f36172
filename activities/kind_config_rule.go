package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// configRuleAPI is the part of the AWS Config client the config_rule kind uses.
type configRuleAPI interface {
	configservice.GetComplianceDetailsByConfigRuleAPIClient
	configservice.DescribeRemediationExecutionStatusAPIClient
	DescribeConfigRules(context.Context, *configservice.DescribeConfigRulesInput, ...func(*configservice.Options)) (*configservice.DescribeConfigRulesOutput, error)
	PutConfigRule(context.Context, *configservice.PutConfigRuleInput, ...func(*configservice.Options)) (*configservice.PutConfigRuleOutput, error)
	DescribeRemediationConfigurations(context.Context, *configservice.DescribeRemediationConfigurationsInput, ...func(*configservice.Options)) (*configservice.DescribeRemediationConfigurationsOutput, error)
	PutRemediationConfigurations(context.Context, *configservice.PutRemediationConfigurationsInput, ...func(*configservice.Options)) (*configservice.PutRemediationConfigurationsOutput, error)
	StartRemediationExecution(context.Context, *configservice.StartRemediationExecutionInput, ...func(*configservice.Options)) (*configservice.StartRemediationExecutionOutput, error)
}

// ssmDocumentAPI is the part of the SSM client that manages custom
// remediation documents.
type ssmDocumentAPI interface {
	DescribeDocument(context.Context, *ssm.DescribeDocumentInput, ...func(*ssm.Options)) (*ssm.DescribeDocumentOutput, error)
	GetDocument(context.Context, *ssm.GetDocumentInput, ...func(*ssm.Options)) (*ssm.GetDocumentOutput, error)
	CreateDocument(context.Context, *ssm.CreateDocumentInput, ...func(*ssm.Options)) (*ssm.CreateDocumentOutput, error)
	UpdateDocument(context.Context, *ssm.UpdateDocumentInput, ...func(*ssm.Options)) (*ssm.UpdateDocumentOutput, error)
	UpdateDocumentDefaultVersion(context.Context, *ssm.UpdateDocumentDefaultVersionInput, ...func(*ssm.Options)) (*ssm.UpdateDocumentDefaultVersionOutput, error)
}

// configRuleKind puts an AWS Config managed rule, binds it to an SSM
// Automation remediation (an AWS-owned document, or a custom one orgguard
// creates from the guardrail), and reads compliance back per resource.
//
// Check returns one finding for the rule's setup (rule, remediation
// configuration, document) and one per evaluated resource. Non-compliant
// resources of a rule whose remediation is not automatic carry a change that
// starts the remediation for that resource (after approval, in the
// baseline); automatic remediations are AWS Config's to run, so those
// resources are reported.
type configRuleKind struct{}

func (configRuleKind) Permissions() []string {
	p := []string{
		"config:DescribeConfigRules", "config:PutConfigRule", "config:DescribeRemediationConfigurations",
		"config:PutRemediationConfigurations", "config:GetComplianceDetailsByConfigRule", "config:StartRemediationExecution",
		"config:DescribeRemediationExecutionStatus",
		"ssm:DescribeDocument", "ssm:GetDocument", "ssm:CreateDocument", "ssm:AddTagsToResource", "ssm:UpdateDocument", "ssm:UpdateDocumentDefaultVersion",
	}
	return append(p, rolePermissions...)
}

func (configRuleKind) config(env Env) configRuleAPI { return configservice.NewFromConfig(env.Config) }
func (configRuleKind) ssm(env Env) ssmDocumentAPI   { return ssm.NewFromConfig(env.Config) }

// ruleSpec is the rule and remediation as AWS should hold them.
type ruleSpec struct {
	rule   cfgtypes.ConfigRule
	remedy *cfgtypes.RemediationConfiguration
	doc    string // custom document content, "" for AWS-owned documents
	// role is the automation role orgguard creates in the account when the
	// guardrail names it (not an ARN): trusted by SSM, allowed what the
	// document calls.
	role *serviceRole
}

// automationActions are what AWS-owned remediation documents call.
var automationActions = map[string][]string{
	"AWS-DisablePublicAccessForSecurityGroup":                 {"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress"},
	"AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules": {"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"},
	"AWS-EnableS3BucketEncryption":                            {"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
	"AWSConfigRemediation-EnableEbsEncryptionByDefault":       {"ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault"},
}

// documentActions lists the "service:Api" calls of a custom document's
// aws:executeAwsApi steps.
func documentActions(content string) []string {
	var doc struct {
		MainSteps []struct {
			Action string         `json:"action"`
			Inputs map[string]any `json:"inputs"`
		} `json:"mainSteps"`
	}
	if json.Unmarshal([]byte(content), &doc) != nil {
		return nil
	}
	var out []string
	for _, st := range doc.MainSteps {
		if st.Action != "aws:executeAwsApi" {
			continue
		}
		svc, _ := st.Inputs["Service"].(string)
		api, _ := st.Inputs["Api"].(string)
		if svc != "" && api != "" {
			out = append(out, strings.ToLower(svc)+":"+api)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func (configRuleKind) spec(env Env) (*guardrails.ConfigRule, ruleSpec, error) {
	cr := env.Guardrail.ConfigRule
	if cr == nil {
		return nil, ruleSpec{}, temporal.NewNonRetryableApplicationError("guardrail "+env.Guardrail.ID+" has no config_rule block", "InvalidInput", nil)
	}
	owner := cfgtypes.Owner(cr.Owner)
	if owner == "" {
		owner = cfgtypes.OwnerAws
	}
	s := ruleSpec{rule: cfgtypes.ConfigRule{
		ConfigRuleName: aws.String(cr.RuleName),
		Source:         &cfgtypes.Source{Owner: owner, SourceIdentifier: aws.String(cr.SourceIdentifier)},
	}}
	if env.Guardrail.Description != "" {
		s.rule.Description = aws.String(truncate(env.Guardrail.Description, 256))
	}
	if len(cr.InputParameters) > 0 {
		b, _ := json.Marshal(cr.InputParameters)
		s.rule.InputParameters = aws.String(string(b))
	}
	if len(cr.ResourceTypes) > 0 {
		s.rule.Scope = &cfgtypes.Scope{ComplianceResourceTypes: sortedStrings(cr.ResourceTypes)}
	}
	if r := cr.Remediation; r != nil {
		params := map[string]cfgtypes.RemediationParameterValue{}
		for k, v := range r.StaticParameters {
			params[k] = cfgtypes.RemediationParameterValue{StaticValue: &cfgtypes.StaticValue{Values: v}}
		}
		if r.AutomationRole != "" {
			role := r.AutomationRole
			if !strings.HasPrefix(role, "arn:") {
				actions := automationActions[r.DocumentName]
				if r.DocumentContent != "" {
					actions = documentActions(r.DocumentContent)
				}
				s.role = &serviceRole{Name: role, Service: "ssm.amazonaws.com", Actions: actions, PolicyName: rulePolicyName(cr.RuleName)}
				role = s.role.arn(env)
			}
			if _, set := params["AutomationAssumeRole"]; !set {
				params["AutomationAssumeRole"] = cfgtypes.RemediationParameterValue{StaticValue: &cfgtypes.StaticValue{Values: []string{role}}}
			}
		}
		if r.ResourceIDParameter != "" {
			params[r.ResourceIDParameter] = cfgtypes.RemediationParameterValue{ResourceValue: &cfgtypes.ResourceValue{Value: cfgtypes.ResourceValueTypeResourceId}}
		}
		rc := &cfgtypes.RemediationConfiguration{
			ConfigRuleName: aws.String(cr.RuleName), TargetType: cfgtypes.RemediationTargetTypeSsmDocument,
			TargetId: aws.String(r.DocumentName), Parameters: params, Automatic: r.Automatic,
		}
		if r.MaximumAttempts > 0 {
			rc.MaximumAutomaticAttempts = aws.Int32(int32(r.MaximumAttempts))
		}
		if r.RetrySeconds > 0 {
			rc.RetryAttemptSeconds = aws.Int64(int64(r.RetrySeconds))
		}
		if len(cr.ResourceTypes) == 1 {
			rc.ResourceType = aws.String(cr.ResourceTypes[0])
		}
		s.remedy = rc
		s.doc = r.DocumentContent
	}
	return cr, s, nil
}

// rulePolicyName names a rule's inline policy on its automation role, which
// other rules may share (the baseline pack's rules all name one role): the
// rule name after rolePolicyName, within IAM's 128 characters (a longer
// rule name is cut and told apart by a digest of the whole).
func rulePolicyName(rule string) string {
	name := rolePolicyName + "-" + rule
	if len(name) <= 128 {
		return name
	}
	sum := sha256.Sum256([]byte(rule))
	return name[:128-17] + "-" + hex.EncodeToString(sum[:8])
}

// ruleKey renders what orgguard compares of a rule.
func ruleKey(r cfgtypes.ConfigRule) string {
	var params map[string]any
	if p := aws.ToString(r.InputParameters); p != "" {
		_ = json.Unmarshal([]byte(p), &params)
		for k, v := range params {
			params[k] = fmt.Sprint(v) // Config keeps parameters as strings
		}
	}
	var types []string
	if r.Scope != nil {
		types = sortedStrings(r.Scope.ComplianceResourceTypes)
	}
	src := ""
	if r.Source != nil {
		src = string(r.Source.Owner) + "/" + aws.ToString(r.Source.SourceIdentifier)
	}
	b, _ := json.Marshal(map[string]any{"source": src, "params": params, "types": types})
	return string(b)
}

// remedyLines renders a remediation configuration for comparison and diffs.
func remedyLines(rc *cfgtypes.RemediationConfiguration) []string {
	if rc == nil {
		return nil
	}
	out := []string{
		"document: " + aws.ToString(rc.TargetId),
		fmt.Sprintf("automatic: %v", rc.Automatic),
		fmt.Sprintf("maximum automatic attempts: %d", aws.ToInt32(rc.MaximumAutomaticAttempts)),
		fmt.Sprintf("retry attempt seconds: %d", aws.ToInt64(rc.RetryAttemptSeconds)),
	}
	for _, k := range slices.Sorted(maps.Keys(rc.Parameters)) {
		v := rc.Parameters[k]
		switch {
		case v.ResourceValue != nil:
			out = append(out, fmt.Sprintf("parameter %s = %s", k, v.ResourceValue.Value))
		case v.StaticValue != nil:
			out = append(out, fmt.Sprintf("parameter %s = %s", k, strings.Join(v.StaticValue.Values, ",")))
		}
	}
	return out
}

// setupState is what exists of the rule's setup.
type setupState struct {
	rule      *cfgtypes.ConfigRule
	remedy    *cfgtypes.RemediationConfiguration
	docExists bool
	docSame   bool
	// roleOK: the automation role exists and carries orgguard's policy;
	// roleExists: it exists (with or without the policy).
	roleOK, roleExists bool
}

func (k configRuleKind) readSetup(ctx context.Context, env Env, s ruleSpec) (setupState, error) {
	var st setupState
	api := k.config(env)
	name := aws.ToString(s.rule.ConfigRuleName)
	// Every rule of the region, not the one by name: the read is the same
	// for every Config rule guardrail of the account and region, so the
	// read cache answers all of them with one listing.
	rules := configservice.NewDescribeConfigRulesPaginator(api, &configservice.DescribeConfigRulesInput{})
	for rules.HasMorePages() && st.rule == nil {
		page, err := rules.NextPage(ctx)
		if err != nil {
			return st, err
		}
		for i := range page.ConfigRules {
			if aws.ToString(page.ConfigRules[i].ConfigRuleName) == name {
				st.rule = &page.ConfigRules[i]
				break
			}
		}
	}
	if s.remedy != nil {
		rcs, err := api.DescribeRemediationConfigurations(ctx, &configservice.DescribeRemediationConfigurationsInput{ConfigRuleNames: []string{name}})
		if err != nil {
			return st, err
		}
		if len(rcs.RemediationConfigurations) > 0 {
			st.remedy = &rcs.RemediationConfigurations[0]
		}
	}
	st.roleOK, st.roleExists = true, true
	if s.role != nil {
		// The policy too, not only the role: an apply that stopped between
		// CreateRole and PutRolePolicy left a role SSM cannot remediate with.
		roles := iam.NewFromConfig(env.Config)
		var err error
		if st.roleOK, err = rolePolicyCurrent(ctx, roles, *s.role); err != nil {
			return st, err
		}
		if !st.roleOK {
			if st.roleExists, err = roleExists(ctx, roles, s.role.Name); err != nil {
				return st, err
			}
		}
	}
	if s.doc != "" {
		docName := aws.ToString(s.remedy.TargetId)
		_, err := k.ssm(env).DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String(docName)})
		switch {
		case errorCode(err) == "InvalidDocument":
		case err != nil:
			return st, err
		default:
			st.docExists = true
			got, err := k.ssm(env).GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String(docName)})
			if err != nil {
				return st, err
			}
			st.docSame = sameDocument(aws.ToString(got.Content), s.doc)
		}
	}
	return st, nil
}

// sameDocument compares document contents, as JSON when both are JSON.
func sameDocument(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil {
		xa, _ := json.Marshal(x)
		yb, _ := json.Marshal(y)
		return string(xa) == string(yb)
	}
	return strings.TrimSpace(a) == strings.TrimSpace(b)
}

func (k configRuleKind) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	cr, s, err := k.spec(env)
	if err != nil {
		return nil, err
	}
	st, err := k.readSetup(ctx, env, s)
	if err != nil {
		return nil, err
	}
	ruleRes := env.ARN("config", "config-rule/"+cr.RuleName)
	var out []workflows.Finding
	if resource == "" || resource == ruleRes {
		out = append(out, k.setupFinding(env, cr, s, st, ruleRes))
	}
	if st.rule == nil || resource == ruleRes {
		return out, nil // nothing evaluated yet
	}
	results, err := k.compliance(ctx, env, cr.RuleName)
	if err != nil {
		return nil, err
	}
	var unevaluated map[string]cfgtypes.RemediationExecutionStatus
	if s.remedy != nil && !s.remedy.Automatic {
		results = slices.DeleteFunc(results, func(r cfgtypes.EvaluationResult) bool {
			q := r.EvaluationResultIdentifier.EvaluationResultQualifier
			return !matchesResource(resource, env.ARN("config", "config-rule/"+cr.RuleName+"/"+aws.ToString(q.ResourceType)+"/"+aws.ToString(q.ResourceId)))
		})
		if unevaluated, err = k.unevaluatedRemediations(ctx, env, cr.RuleName, results); err != nil {
			return nil, err
		}
	}
	for _, r := range results {
		q := r.EvaluationResultIdentifier.EvaluationResultQualifier
		typ, id := aws.ToString(q.ResourceType), aws.ToString(q.ResourceId)
		res := env.ARN("config", "config-rule/"+cr.RuleName+"/"+typ+"/"+id)
		if !matchesResource(resource, res) {
			continue
		}
		facts := map[string]string{"rule": cr.RuleName, "resource_type": typ, "resource_id": id, "compliance": string(r.ComplianceType)}
		ev := fmt.Sprintf("AWS Config rule %s: %s %s is %s", cr.RuleName, typ, id, r.ComplianceType)
		if a := aws.ToString(r.Annotation); a != "" {
			ev += ": " + a
		}
		switch r.ComplianceType {
		case cfgtypes.ComplianceTypeCompliant:
			out = append(out, compliant(res, ev, facts))
		case cfgtypes.ComplianceTypeNonCompliant:
			if x, ok := unevaluated[typ+"/"+id]; ok {
				ev += fmt.Sprintf(" (remediation %s %s at %s; AWS Config has not evaluated the resource since)",
					aws.ToString(s.remedy.TargetId), strings.ToLower(string(x.State)), aws.ToTime(x.LastUpdatedTime).UTC().Format(time.RFC3339))
				if resource != "" {
					// Verification: the stale result proves nothing either
					// way, so the check is retried until Config has
					// evaluated the remediated resource.
					return nil, awsclient.Propagating(ev)
				}
				// Reported, without a change: starting the remediation
				// again would repeat its write.
				facts["remediation"] = string(x.State)
				out = append(out, nonCompliant(res, ev, facts, nil))
				continue
			}
			var ch *workflows.Change
			if s.remedy != nil && !s.remedy.Automatic {
				ch = &workflows.Change{
					Summary: fmt.Sprintf("run %s on %s %s", aws.ToString(s.remedy.TargetId), typ, id),
					Diff:    fmt.Sprintf("%s %s (%s, %s)\n~ remediation %s via AWS Config rule %s\n", typ, id, env.AccountID, env.Region, aws.ToString(s.remedy.TargetId), cr.RuleName),
					Actions: []string{"config:StartRemediationExecution"},
					Params:  map[string]any{"step": "remediate", "rule": cr.RuleName, "resource_type": typ, "resource_id": id},
				}
			} else if s.remedy != nil {
				ev += " (AWS Config remediates it automatically with " + aws.ToString(s.remedy.TargetId) + ")"
			}
			out = append(out, nonCompliant(res, ev, facts, ch))
		default:
			out = append(out, workflows.Finding{Resource: res, Status: workflows.StatusNotApplicable, Evidence: ev, Facts: facts})
		}
	}
	return out, nil
}

func (k configRuleKind) compliance(ctx context.Context, env Env, rule string) ([]cfgtypes.EvaluationResult, error) {
	var out []cfgtypes.EvaluationResult
	p := configservice.NewGetComplianceDetailsByConfigRulePaginator(k.config(env), &configservice.GetComplianceDetailsByConfigRuleInput{
		ConfigRuleName:  aws.String(rule),
		ComplianceTypes: []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeCompliant, cfgtypes.ComplianceTypeNonCompliant},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.EvaluationResults {
			if r.EvaluationResultIdentifier != nil && r.EvaluationResultIdentifier.EvaluationResultQualifier != nil {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].EvaluationResultIdentifier.EvaluationResultQualifier, out[j].EvaluationResultIdentifier.EvaluationResultQualifier
		return aws.ToString(a.ResourceType)+aws.ToString(a.ResourceId) < aws.ToString(b.ResourceType)+aws.ToString(b.ResourceId)
	})
	return out, nil
}

// unevaluatedRemediations finds, per non-compliant result ("type/id"), the
// latest remediation execution AWS Config has not evaluated the resource
// since: one queued or running, or one that succeeded no earlier than the
// result was recorded. Config re-evaluates a remediated resource
// asynchronously (on AWS, minutes after the change is recorded), and until
// then the NON_COMPLIANT result is stale.
func (k configRuleKind) unevaluatedRemediations(ctx context.Context, env Env, rule string, results []cfgtypes.EvaluationResult) (map[string]cfgtypes.RemediationExecutionStatus, error) {
	recorded := map[string]time.Time{}
	var keys []cfgtypes.ResourceKey
	for _, r := range results {
		if r.ComplianceType != cfgtypes.ComplianceTypeNonCompliant {
			continue
		}
		q := r.EvaluationResultIdentifier.EvaluationResultQualifier
		typ, id := aws.ToString(q.ResourceType), aws.ToString(q.ResourceId)
		recorded[typ+"/"+id] = aws.ToTime(r.ResultRecordedTime)
		keys = append(keys, cfgtypes.ResourceKey{ResourceType: cfgtypes.ResourceType(typ), ResourceId: aws.String(id)})
	}
	latest := map[string]cfgtypes.RemediationExecutionStatus{}
	// DescribeRemediationExecutionStatus takes at most 100 resource keys.
	for batch := range slices.Chunk(keys, 100) {
		p := configservice.NewDescribeRemediationExecutionStatusPaginator(k.config(env), &configservice.DescribeRemediationExecutionStatusInput{
			ConfigRuleName: aws.String(rule), ResourceKeys: batch,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, x := range page.RemediationExecutionStatuses {
				if x.ResourceKey == nil {
					continue
				}
				key := string(x.ResourceKey.ResourceType) + "/" + aws.ToString(x.ResourceKey.ResourceId)
				if prev, ok := latest[key]; !ok || aws.ToTime(prev.InvocationTime).Before(aws.ToTime(x.InvocationTime)) {
					latest[key] = x
				}
			}
		}
	}
	out := map[string]cfgtypes.RemediationExecutionStatus{}
	for key, x := range latest {
		switch x.State {
		case cfgtypes.RemediationExecutionStateQueued, cfgtypes.RemediationExecutionStateInProgress:
			out[key] = x
		case cfgtypes.RemediationExecutionStateSucceeded:
			// A tie counts as not evaluated: the remediation is not
			// started twice on a guess.
			if !aws.ToTime(x.LastUpdatedTime).Before(recorded[key]) {
				out[key] = x
			}
		}
	}
	return out, nil
}

func (k configRuleKind) setupFinding(env Env, cr *guardrails.ConfigRule, s ruleSpec, st setupState, res string) workflows.Finding {
	var problems, actions []string
	var diff strings.Builder
	fmt.Fprintf(&diff, "AWS Config rule %s (%s, %s)\n", cr.RuleName, env.AccountID, env.Region)
	ruleOff := st.rule == nil || ruleKey(*st.rule) != ruleKey(s.rule)
	switch {
	case st.rule == nil:
		problems = append(problems, "rule "+cr.RuleName+" does not exist")
		fmt.Fprintf(&diff, "+ rule %s: %s\n", cr.RuleName, ruleKey(s.rule))
	case ruleOff:
		problems = append(problems, "rule "+cr.RuleName+" differs from the guardrail")
		fmt.Fprintf(&diff, "- rule %s: %s\n+ rule %s: %s\n", cr.RuleName, ruleKey(*st.rule), cr.RuleName, ruleKey(s.rule))
	}
	if ruleOff {
		actions = append(actions, "config:PutConfigRule")
	}
	docOff := s.doc != "" && !st.docSame
	if docOff {
		if st.docExists {
			problems = append(problems, "document "+aws.ToString(s.remedy.TargetId)+" differs from the guardrail")
			fmt.Fprintf(&diff, "~ SSM document %s: new version from the guardrail\n", aws.ToString(s.remedy.TargetId))
			actions = append(actions, "ssm:UpdateDocument")
		} else {
			problems = append(problems, "document "+aws.ToString(s.remedy.TargetId)+" does not exist")
			fmt.Fprintf(&diff, "+ SSM Automation document %s\n", aws.ToString(s.remedy.TargetId))
			actions = append(actions, "ssm:CreateDocument")
		}
	}
	switch {
	case !st.roleExists:
		problems = append(problems, "automation role "+s.role.Name+" does not exist")
		fmt.Fprintf(&diff, "+ role %s trusted by ssm.amazonaws.com, allowed %s\n", s.role.Name, strings.Join(s.role.Actions, ", "))
		actions = append(actions, "iam:CreateRole", "iam:PutRolePolicy")
	case !st.roleOK:
		problems = append(problems, "automation role "+s.role.Name+" lacks orgguard's policy")
		fmt.Fprintf(&diff, "~ role %s: policy %s allowing %s\n", s.role.Name, s.role.policyName(), strings.Join(s.role.Actions, ", "))
		actions = append(actions, "iam:PutRolePolicy")
	}
	remedyOff := s.remedy != nil && (st.remedy == nil || !slices.Equal(remedyLines(st.remedy), remedyLines(s.remedy)))
	if remedyOff {
		if st.remedy == nil {
			problems = append(problems, "no remediation configuration")
		} else {
			problems = append(problems, "the remediation configuration differs from the guardrail")
		}
		if st.remedy == nil {
			fmt.Fprintf(&diff, "+ remediation configuration\n")
			for _, l := range remedyLines(s.remedy) {
				fmt.Fprintf(&diff, "+   %s\n", l)
			}
		} else {
			fmt.Fprintf(&diff, "~ remediation configuration\n")
			for _, l := range lineDiff(strings.Join(remedyLines(st.remedy), "\n"), strings.Join(remedyLines(s.remedy), "\n")) {
				diff.WriteString(l + "\n")
			}
		}
		actions = append(actions, "config:PutRemediationConfigurations")
	}
	facts := map[string]string{"rule": cr.RuleName, "source": cr.SourceIdentifier}
	if s.remedy != nil {
		facts["document"] = aws.ToString(s.remedy.TargetId)
		facts["automatic"] = fmt.Sprint(s.remedy.Automatic)
	}
	if len(problems) == 0 {
		ev := fmt.Sprintf("AWS Config rule %s (%s) is in place", cr.RuleName, cr.SourceIdentifier)
		if s.remedy != nil {
			ev += " with remediation " + aws.ToString(s.remedy.TargetId)
		}
		return compliant(res, ev, facts)
	}
	return nonCompliant(res, "AWS Config rule setup: "+strings.Join(problems, "; "), facts, &workflows.Change{
		Summary: fmt.Sprintf("put AWS Config rule %s and its remediation in %s", cr.RuleName, env.Region),
		Diff:    diff.String(),
		Actions: uniq(actions),
		Params:  map[string]any{"step": "setup", "rule": cr.RuleName},
	})
}

func (k configRuleKind) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	_, s, err := k.spec(env)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	if paramString(f.Change, "step") == "remediate" {
		return k.remediate(ctx, env, f.Change)
	}
	var out applied
	st, err := k.readSetup(ctx, env, s)
	if err != nil {
		return out.ApplyOutput, err
	}
	api := k.config(env)
	if st.rule == nil || ruleKey(*st.rule) != ruleKey(s.rule) {
		if _, err := api.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &s.rule}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("config:PutConfigRule %s", aws.ToString(s.rule.ConfigRuleName))
	}
	if !st.roleOK {
		wrote, err := env.Roles.ensure(ctx, iam.NewFromConfig(env.Config), env, *s.role)
		if err != nil {
			return out.ApplyOutput, err
		}
		switch {
		case wrote && st.roleExists:
			out.call("iam:PutRolePolicy %s %s", s.role.Name, s.role.policyName())
		case wrote:
			out.call("iam:CreateRole %s", s.role.Name)
		}
	}
	if s.doc != "" && !st.docSame {
		name := aws.ToString(s.remedy.TargetId)
		format := ssmtypes.DocumentFormatYaml
		if strings.HasPrefix(strings.TrimSpace(s.doc), "{") {
			format = ssmtypes.DocumentFormatJson
		}
		if !st.docExists {
			if _, err := k.ssm(env).CreateDocument(ctx, &ssm.CreateDocumentInput{
				Name: aws.String(name), Content: aws.String(s.doc), DocumentType: ssmtypes.DocumentTypeAutomation, DocumentFormat: format,
				Tags: []ssmtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("orgguard")}},
			}); err != nil {
				return out.ApplyOutput, err
			}
			out.call("ssm:CreateDocument %s", name)
		} else {
			up, err := k.ssm(env).UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String(name), Content: aws.String(s.doc), DocumentFormat: format, DocumentVersion: aws.String("$LATEST")})
			if err != nil {
				return out.ApplyOutput, err
			}
			out.call("ssm:UpdateDocument %s", name)
			if up.DocumentDescription != nil && up.DocumentDescription.DocumentVersion != nil {
				if _, err := k.ssm(env).UpdateDocumentDefaultVersion(ctx, &ssm.UpdateDocumentDefaultVersionInput{Name: aws.String(name), DocumentVersion: up.DocumentDescription.DocumentVersion}); err != nil {
					return out.ApplyOutput, err
				}
				out.call("ssm:UpdateDocumentDefaultVersion %s %s", name, aws.ToString(up.DocumentDescription.DocumentVersion))
			}
		}
	}
	if s.remedy != nil && (st.remedy == nil || !slices.Equal(remedyLines(st.remedy), remedyLines(s.remedy))) {
		res, err := api.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cfgtypes.RemediationConfiguration{*s.remedy}})
		if err != nil {
			return out.ApplyOutput, err
		}
		if len(res.FailedBatches) > 0 {
			return out.ApplyOutput, fmt.Errorf("put remediation configuration of %s: %s", aws.ToString(s.rule.ConfigRuleName), aws.ToString(res.FailedBatches[0].FailureMessage))
		}
		out.call("config:PutRemediationConfigurations %s -> %s", aws.ToString(s.rule.ConfigRuleName), aws.ToString(s.remedy.TargetId))
	}
	return out.ApplyOutput, nil
}

// remediate starts the rule's remediation for one resource unless the
// resource is no longer non-compliant.
func (k configRuleKind) remediate(ctx context.Context, env Env, c *workflows.Change) (workflows.ApplyOutput, error) {
	var out applied
	api := k.config(env)
	rule, typ, id := paramString(c, "rule"), paramString(c, "resource_type"), paramString(c, "resource_id")
	results, err := k.compliance(ctx, env, rule)
	if err != nil {
		return out.ApplyOutput, err
	}
	results = slices.DeleteFunc(results, func(r cfgtypes.EvaluationResult) bool {
		q := r.EvaluationResultIdentifier.EvaluationResultQualifier
		return aws.ToString(q.ResourceType) != typ || aws.ToString(q.ResourceId) != id || r.ComplianceType != cfgtypes.ComplianceTypeNonCompliant
	})
	if len(results) == 0 {
		return out.ApplyOutput, nil
	}
	// Remediated (or being remediated) already, by an earlier attempt
	// whose answer was lost: AWS Config has not evaluated it since.
	unevaluated, err := k.unevaluatedRemediations(ctx, env, rule, results)
	if err != nil || len(unevaluated) > 0 {
		return out.ApplyOutput, err
	}
	key := cfgtypes.ResourceKey{ResourceType: cfgtypes.ResourceType(typ), ResourceId: aws.String(id)}
	res, err := api.StartRemediationExecution(ctx, &configservice.StartRemediationExecutionInput{ConfigRuleName: aws.String(rule), ResourceKeys: []cfgtypes.ResourceKey{key}})
	if err != nil {
		return out.ApplyOutput, err
	}
	if len(res.FailedItems) > 0 {
		// Typically a remediation of this resource is still running: the
		// activity retries, and the next attempt finds it compliant.
		return out.ApplyOutput, temporal.NewApplicationError(fmt.Sprintf("start remediation of %s %s: %s", typ, id, aws.ToString(res.FailureMessage)), "RemediationNotStarted")
	}
	out.call("config:StartRemediationExecution %s %s %s", rule, typ, id)
	return out.ApplyOutput, nil
}
