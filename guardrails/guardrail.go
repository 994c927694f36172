package guardrails

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// commonBlock holds the attributes every guardrail kind shares; the rest of
// the body is decoded by the kind.
type commonBlock struct {
	Description hcl.Expression      `hcl:"description,optional"`
	Severity    hcl.Expression      `hcl:"severity,optional"`
	CSF         hcl.Expression      `hcl:"csf,optional"`
	Controls    hcl.Expression      `hcl:"controls,optional"`
	Target      hcl.Expression      `hcl:"target,optional"`
	Regions     hcl.Expression      `hcl:"regions,optional"`
	Remediation []*remediationBlock `hcl:"remediation,block"`
	Remain      hcl.Body            `hcl:",remain"`
}

type remediationBlock struct {
	Mode           hcl.Expression `hcl:"mode,optional"`
	ApprovalPolicy hcl.Expression `hcl:"approval_policy,optional"`
	MaxAttempts    hcl.Expression `hcl:"max_attempts,optional"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

// ssmFields are config_rule SSM settings people put in the wrong block.
var ssmFields = []string{"document_name", "document_content", "parameters", "automatic", "maximum_attempts", "retry_seconds", "automation_role"}

var csfRe = regexp.MustCompile(`^(ID|PR|DE|RS|RC|GV)(\.[A-Z]{2}(-\d{1,2})?)?$`)

// guardrailState is what the kind-specific decoders share.
type guardrailState struct {
	g        *Guardrail
	common   *commonBlock
	modeSet  bool
	modeExpr hcl.Expression
	remRange hcl.Range
}

func (l *loader) loadGuardrail(d *decl) {
	var cb commonBlock
	diags := gohcl.DecodeBody(d.block.Body, nil, &cb)
	for _, diag := range diags {
		if diag.Summary == "Unsupported argument" && d.kind == "config_rule" {
			for _, f := range ssmFields {
				if strings.Contains(diag.Detail, `"`+f+`"`) {
					diag.Detail += " SSM Automation settings go in an ssm_remediation block."
				}
			}
		}
	}
	if len(cb.Remediation) > 1 {
		l.errorf(cb.Remediation[1].DefRange, "Duplicate remediation block",
			"A guardrail has one remediation block; another was defined at %s.", rangeString(cb.Remediation[0].DefRange))
	}
	l.add(diags...)
	if cb.Remain == nil {
		return
	}
	l.requireAttrs(d.block.Body, "severity", "csf")
	g := &Guardrail{ID: d.kind + "." + d.name, Kind: Kind(d.kind), Name: d.name}
	st := &guardrailState{g: g, common: &cb}
	g.Description, _ = l.str(cb.Description, "description")
	if s, ok := l.str(cb.Severity, "severity"); ok {
		if contains(Severities, s) {
			g.Severity = s
		} else {
			l.errorf(cb.Severity.Range(), "Invalid severity", "severity must be one of %s, not %q.%s", quoteList(Severities), s, suggest(s, Severities))
		}
	}
	if s, ok := l.str(cb.CSF, "csf"); ok {
		if csfRe.MatchString(s) {
			g.CSF = s
		} else {
			l.errorf(cb.CSF.Range(), "Invalid NIST CSF reference",
				"csf must be a NIST CSF function or category such as \"PR\", \"PR.AC\" or \"DE.CM-1\" (functions: ID, PR, DE, RS, RC, GV); %q is not.", s)
		}
	}
	if list, ok := l.strings(cb.Controls, "controls"); ok {
		for i, c := range list {
			_, warning, ok := ParseControl(c)
			switch {
			case !ok:
				l.errorf(elementRange(cb.Controls, i), "Unknown framework in control ID",
					"%q names no known framework. Write framework control IDs as \"CIS v3.0.0 5.4\", \"FSBP EC2.2\", \"PCI.EC2.2\" or \"NIST CSF 2.0 PR.AA\".", c)
			case warning != "":
				l.warnf(elementRange(cb.Controls, i), "Control ID without its framework version", "%s", warning)
			}
		}
		g.Controls = nonEmpty(dedupe(list))
	}

	if d.kind == "scp" {
		for _, e := range []struct {
			expr hcl.Expression
			name string
		}{{cb.Target, "target"}, {cb.Regions, "regions"}} {
			if present(e.expr) {
				l.errorf(e.expr.Range(), "Argument not expected for an scp",
					"SCPs are attached in AWS Organizations, not evaluated per account and region: use attach_to (\"root\", OUs, accounts or target.<name>) instead of %s.", e.name)
			}
		}
	} else {
		if _, name, ok := l.ref(cb.Target, "target", "target"); ok {
			g.Target = name
		}
		g.Regions = l.regions(cb.Regions, "regions")
	}

	if len(cb.Remediation) > 0 {
		rb := cb.Remediation[0]
		st.remRange = rb.DefRange
		if s, ok := l.str(rb.Mode, "mode"); ok {
			switch Mode(s) {
			case ModeAuto, ModeApproval, ModeReport:
				g.Remediation.Mode = Mode(s)
				st.modeSet, st.modeExpr = true, rb.Mode
			default:
				l.errorf(rb.Mode.Range(), "Invalid remediation mode", "mode must be \"auto\", \"approval\" or \"report\", not %q.%s", s, suggest(s, []string{"auto", "approval", "report"}))
			}
		}
		if _, name, ok := l.ref(rb.ApprovalPolicy, "approval_policy", "approval_policy"); ok {
			g.Remediation.ApprovalPolicy = name
		}
		if n, ok := l.integer(rb.MaxAttempts, "max_attempts", 1, 100); ok {
			g.Remediation.MaxAttempts = n
		}
		if g.Remediation.Mode == ModeApproval && !present(rb.ApprovalPolicy) {
			l.errorf(rb.Mode.Range(), "Approval mode needs an approval policy",
				"mode = \"approval\" needs approval_policy = approval_policy.<name> in the same block, naming who approves.%s", declaredHint(l, "approval_policy"))
		}
		if present(rb.ApprovalPolicy) && st.modeSet && g.Remediation.Mode != ModeApproval {
			l.warnf(rb.ApprovalPolicy.Range(), "approval_policy is ignored", "The remediation mode is %q, so no approval is requested.", g.Remediation.Mode)
		}
	}

	ok := true
	switch d.kind {
	case "scp":
		ok = l.decodeSCP(d, st)
	case "config_rule":
		ok = l.decodeConfigRule(d, st)
	case "securityhub":
		ok = l.decodeSecurityHub(d, st)
	case "control":
		ok = l.decodeControl(d, st)
	}
	if !ok {
		return
	}
	l.resolveRegions(g)
	l.set.Guardrails = append(l.set.Guardrails, *g)
}

func declaredHint(l *loader, kind string) string {
	names := sortedKeys(l.decls[kind])
	if len(names) == 0 {
		return " This pack declares no " + kind + " blocks."
	}
	return " Declared: " + strings.Join(names, ", ") + "."
}

// resolveRegions fills the target and regions of account-scoped guardrails:
// a guardrail that names no target gets the target "default" when the pack
// declares one; regions are the explicit ones, else the target's. Global control
// types (IAM, account-wide settings) are checked in the first region only.
func (l *loader) resolveRegions(g *Guardrail) {
	if g.Kind == KindSCP {
		return
	}
	if g.Target == "" {
		if _, ok := l.target(DefaultTargetName); ok {
			g.Target = DefaultTargetName
		}
	}
	if len(g.Regions) == 0 && g.Target != "" {
		if t, ok := l.target(g.Target); ok {
			g.Regions = append([]string(nil), t.Regions...)
		}
	}
	if g.Control != nil {
		if ct, ok := ControlTypes[g.Control.Type]; ok && ct.Global && len(g.Regions) > 1 {
			g.Regions = g.Regions[:1]
		}
	}
	g.Regions = nonEmpty(g.Regions)
}
