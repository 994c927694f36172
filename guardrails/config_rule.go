package guardrails

import (
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// ResourceIDParameter is the parameter value that binds the non-compliant
// resource's id in an SSM remediation.
const ResourceIDParameter = "RESOURCE_ID"

type configRuleBlock struct {
	RuleName         hcl.Expression         `hcl:"rule_name,optional"`
	SourceIdentifier hcl.Expression         `hcl:"source_identifier,optional"`
	CustomLambdaArn  hcl.Expression         `hcl:"custom_lambda_arn,optional"`
	InputParameters  hcl.Expression         `hcl:"input_parameters,optional"`
	ResourceTypes    hcl.Expression         `hcl:"resource_types,optional"`
	SSM              []*ssmRemediationBlock `hcl:"ssm_remediation,block"`
}

type ssmRemediationBlock struct {
	DocumentName    hcl.Expression `hcl:"document_name"`
	DocumentContent hcl.Expression `hcl:"document_content,optional"`
	Parameters      hcl.Expression `hcl:"parameters,optional"`
	Automatic       hcl.Expression `hcl:"automatic,optional"`
	MaximumAttempts hcl.Expression `hcl:"maximum_attempts,optional"`
	RetrySeconds    hcl.Expression `hcl:"retry_seconds,optional"`
	AutomationRole  hcl.Expression `hcl:"automation_role,optional"`
	DefRange        hcl.Range      `hcl:",def_range"`
	Body            hcl.Body       `hcl:",body"`
}

var (
	resourceTypeRe = regexp.MustCompile(`^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$`)
	lambdaArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`)
	roleArnRe      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	roleNameRe     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	ssmDocNameRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,128}$`)
)

func (l *loader) decodeConfigRule(d *decl, st *guardrailState) bool {
	var cb configRuleBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(st.common.Remain, nil, &cb)
	l.add(diags...)
	if len(cb.SSM) > 1 {
		l.errorf(cb.SSM[1].DefRange, "Duplicate ssm_remediation block",
			"A config_rule has one ssm_remediation block; another was defined at %s.", rangeString(cb.SSM[0].DefRange))
	}
	g := st.g
	rule := &ConfigRule{RuleName: "orgguard-" + strings.ReplaceAll(d.name, "_", "-")}
	if s, ok := l.str(cb.RuleName, "rule_name"); ok {
		if s == "" || len(s) > 128 {
			l.errorf(cb.RuleName.Range(), "Invalid rule name", "rule_name must have 1 to 128 characters.")
		}
		rule.RuleName = s
	}
	switch {
	case present(cb.SourceIdentifier) && present(cb.CustomLambdaArn):
		l.errorf(cb.CustomLambdaArn.Range(), "Conflicting rule source", "A config_rule is either managed (source_identifier) or custom (custom_lambda_arn), not both.")
	case present(cb.SourceIdentifier):
		if s, ok := l.str(cb.SourceIdentifier, "source_identifier"); ok {
			if _, known := ManagedConfigRules[s]; !known {
				l.errorf(cb.SourceIdentifier.Range(), "Unknown managed Config rule",
					"%q is not an AWS managed Config rule identifier orgguard knows.%s For a rule of your own, set custom_lambda_arn instead.",
					s, suggest(s, ManagedConfigRuleNames()))
			}
			rule.SourceIdentifier, rule.Owner = s, "AWS"
		}
	case present(cb.CustomLambdaArn):
		if s, ok := l.str(cb.CustomLambdaArn, "custom_lambda_arn"); ok {
			if !lambdaArnRe.MatchString(s) {
				l.errorf(cb.CustomLambdaArn.Range(), "Invalid Lambda ARN", "%q is not a Lambda function ARN such as arn:aws:lambda:us-east-1:111122223333:function:my-rule.", s)
			}
			rule.SourceIdentifier, rule.Owner = s, "CUSTOM_LAMBDA"
		}
	default:
		l.errorf(d.labelRange(), "Missing rule source", "A config_rule needs source_identifier (an AWS managed rule such as \"VPC_DEFAULT_SECURITY_GROUP_CLOSED\") or custom_lambda_arn.")
	}
	if m, ok := l.scalarMap(cb.InputParameters, "input_parameters"); ok && len(m) > 0 {
		rule.InputParameters = m
	}
	if list, ok := l.strings(cb.ResourceTypes, "resource_types"); ok {
		for i, t := range list {
			if !resourceTypeRe.MatchString(t) {
				l.errorf(elementRange(cb.ResourceTypes, i), "Invalid resource type", "%q is not a resource type such as \"AWS::EC2::SecurityGroup\".", t)
			}
		}
		rule.ResourceTypes = nonEmpty(list)
	}
	if len(cb.SSM) > 0 {
		rule.Remediation = l.ssmRemediation(cb.SSM[0])
		if rule.Remediation != nil && rule.Remediation.Automatic && st.modeSet && g.Remediation.Mode != ModeAuto {
			l.errorf(st.modeExpr.Range(), "Conflicting remediation settings",
				"ssm_remediation has automatic = true, so AWS Config runs it without asking orgguard; mode %q cannot gate it. Set automatic = false to let orgguard run the document.", g.Remediation.Mode)
		}
	}
	// The mode gates what orgguard changes: putting the rule (a detective
	// control, harmless to deploy) and its remediation configuration. A
	// rule with no remediation is deployed automatically by default; one
	// with a document orgguard runs is too, unless the pack says otherwise.
	if !st.modeSet {
		g.Remediation.Mode = ModeAuto
	}
	g.ConfigRule = rule
	return true
}

// scalarMap evaluates a map of strings, numbers and bools into strings, the
// form Config's InputParameters take.
func (l *loader) scalarMap(e hcl.Expression, name string) (map[string]string, bool) {
	v, ok := l.value(e, cty.DynamicPseudoType, name)
	if !ok {
		return nil, false
	}
	if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		l.errorf(e.Range(), "Incorrect attribute value type", "%s must be a map, such as { maxAccessKeyAge = 90 }.", name)
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		sv, err := convert.Convert(ev, cty.String)
		if err != nil || sv.IsNull() {
			l.errorf(e.Range(), "Incorrect attribute value type", "%s[%q] must be a string, number or bool.", name, k.AsString())
			return nil, false
		}
		out[k.AsString()] = sv.AsString()
	}
	return out, true
}

func (l *loader) ssmRemediation(b *ssmRemediationBlock) *SSMRemediation {
	r := &SSMRemediation{}
	l.requireAttrs(b.Body, "document_name")
	if s, ok := l.str(b.DocumentName, "document_name"); ok {
		if !ssmDocNameRe.MatchString(s) {
			l.errorf(b.DocumentName.Range(), "Invalid SSM document name", "%q is not a valid SSM document name (3-128 letters, digits, _ . -).", s)
		}
		r.DocumentName = s
	}
	if s, ok := l.str(b.DocumentContent, "document_content"); ok {
		if strings.TrimSpace(s) == "" {
			l.errorf(b.DocumentContent.Range(), "Empty SSM document", "document_content is empty.")
		}
		lower := strings.ToLower(r.DocumentName)
		if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "amazon") {
			l.errorf(b.DocumentName.Range(), "Reserved SSM document name",
				"orgguard creates this document from document_content, but names starting with \"AWS\", \"aws\" or \"Amazon\" are reserved for AWS-owned documents. Choose another name, or drop document_content to use the AWS document.")
		}
		r.DocumentContent = s
	}
	if present(b.Parameters) {
		v, ok := l.value(b.Parameters, cty.DynamicPseudoType, "parameters")
		if ok {
			if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
				l.errorf(b.Parameters.Range(), "Incorrect attribute value type", "parameters must be a map such as { GroupId = \"RESOURCE_ID\" }.")
			} else {
				keys := []string{}
				vals := map[string]cty.Value{}
				for it := v.ElementIterator(); it.Next(); {
					k, ev := it.Element()
					keys = append(keys, k.AsString())
					vals[k.AsString()] = ev
				}
				sort.Strings(keys)
				for _, k := range keys {
					ev := vals[k]
					if sv, err := convert.Convert(ev, cty.String); err == nil && !sv.IsNull() {
						if sv.AsString() == ResourceIDParameter {
							if r.ResourceIDParameter != "" {
								l.errorf(b.Parameters.Range(), "Two resource ID parameters",
									"Both %q and %q are RESOURCE_ID; AWS Config binds the resource id to one parameter.", r.ResourceIDParameter, k)
							}
							r.ResourceIDParameter = k
							continue
						}
						if r.StaticParameters == nil {
							r.StaticParameters = map[string][]string{}
						}
						r.StaticParameters[k] = []string{sv.AsString()}
						continue
					}
					lv, err := convert.Convert(ev, cty.List(cty.String))
					if err != nil || lv.IsNull() {
						l.errorf(b.Parameters.Range(), "Incorrect attribute value type", "parameters[%q] must be a string, \"RESOURCE_ID\", or a list of strings.", k)
						continue
					}
					var list []string
					for it := lv.ElementIterator(); it.Next(); {
						_, x := it.Element()
						if x.IsNull() {
							continue
						}
						list = append(list, x.AsString())
					}
					if r.StaticParameters == nil {
						r.StaticParameters = map[string][]string{}
					}
					r.StaticParameters[k] = list
				}
			}
		}
	}
	r.Automatic = l.boolean(b.Automatic, "automatic", false)
	// AWS Config allows 1-25 automatic attempts and up to 2678000 seconds (31 days) between them.
	if n, ok := l.integer(b.MaximumAttempts, "maximum_attempts", 1, 25); ok {
		r.MaximumAttempts = n
	} else if r.Automatic {
		r.MaximumAttempts = 5
	}
	if n, ok := l.integer(b.RetrySeconds, "retry_seconds", 1, 2678000); ok {
		r.RetrySeconds = n
	} else if r.Automatic {
		r.RetrySeconds = 60
	}
	// automation_role is a role ARN, or a role name that the engine turns into
	// arn:<partition>:iam::<account>:role/<name> in each account.
	if s, ok := l.str(b.AutomationRole, "automation_role"); ok {
		isArn := strings.HasPrefix(s, "arn:")
		if (isArn && !roleArnRe.MatchString(s)) || (!isArn && !roleNameRe.MatchString(s)) {
			l.errorf(b.AutomationRole.Range(), "Invalid automation role",
				"%q is neither an IAM role ARN (arn:aws:iam::111122223333:role/orgguard-remediation) nor a role name (orgguard-remediation).", s)
		}
		r.AutomationRole = s
		if _, set := r.StaticParameters["AutomationAssumeRole"]; !set && isArn {
			if r.StaticParameters == nil {
				r.StaticParameters = map[string][]string{}
			}
			r.StaticParameters["AutomationAssumeRole"] = []string{s}
		}
	}
	return r
}
