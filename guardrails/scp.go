package guardrails

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// MaxSCPSize is the AWS Organizations limit on an SCP document. AWS counts
// every character it receives, whitespace included; orgguard sends the
// minified document (json.Compact: no whitespace outside strings), so the
// limit applies to that form. Bytes are counted, which equals characters for
// the ASCII policies are made of and errs on the safe side otherwise.
const MaxSCPSize = 5120

type scpBlock struct {
	PolicyName      hcl.Expression `hcl:"policy_name,optional"`
	Policy          hcl.Expression `hcl:"policy"`
	AttachTo        hcl.Expression `hcl:"attach_to"`
	OwnsAttachments hcl.Expression `hcl:"owns_attachments,optional"`
}

func (l *loader) decodeSCP(d *decl, st *guardrailState) bool {
	var sb scpBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(st.common.Remain, nil, &sb)
	l.add(diags...)
	l.requireAttrs(st.common.Remain, "policy", "attach_to")
	g := st.g
	scp := &SCP{PolicyName: "orgguard-" + strings.ReplaceAll(d.name, "_", "-")}
	if s, ok := l.str(sb.PolicyName, "policy_name"); ok {
		if s == "" || len(s) > 128 {
			l.errorf(sb.PolicyName.Range(), "Invalid policy name", "policy_name must have 1 to 128 characters.")
		}
		scp.PolicyName = s
	}
	if doc, ok := l.policyDocument(sb.Policy); ok {
		scp.Policy = doc
	}
	scp.AttachTo = l.attachTo(sb.AttachTo)
	l.countSCPAttachments(scp.AttachTo, d, sb.AttachTo)
	scp.OwnsAttachments = l.boolean(sb.OwnsAttachments, "owns_attachments", false)
	if !st.modeSet {
		g.Remediation.Mode = ModeAuto
	}
	g.SCP = scp
	return true
}

// MaxSCPsPerTarget is AWS Organizations' quota of SCPs attached to one
// root, OU or account, FullAWSAccess included.
const MaxSCPsPerTarget = 5

// countSCPAttachments reports the SCP that takes a target over AWS's quota:
// AttachPolicy would fail with ConstraintViolationException. At exactly the
// quota FullAWSAccess must have been replaced, which is worth a warning.
func (l *loader) countSCPAttachments(targets []string, d *decl, e hcl.Expression) {
	if l.scpTargets == nil {
		l.scpTargets = map[string][]hcl.Range{}
	}
	for _, t := range targets {
		prev := l.scpTargets[t]
		l.scpTargets[t] = append(prev, e.Range())
		switch n := len(prev) + 1; {
		case n == MaxSCPsPerTarget:
			l.warnf(e.Range(), "SCP quota reached",
				"scp %q is the %dth SCP attached to %s: AWS allows %d per target including FullAWSAccess, so FullAWSAccess must be replaced by an allow-list SCP for this to attach.", d.name, n, t, MaxSCPsPerTarget)
		case n > MaxSCPsPerTarget:
			l.errorf(e.Range(), "Too many SCPs on one target",
				"scp %q would be SCP number %d on %s (with FullAWSAccess, %d); AWS Organizations allows %d per root, OU or account. Attach some to OUs instead, or merge policies. The first is at %s.",
				d.name, n, t, n+1, MaxSCPsPerTarget, prev[0])
		}
	}
}

// policyDocument evaluates a policy (a JSON string from jsonencode, file or
// a heredoc; or an object, which is encoded) and returns it minified.
func (l *loader) policyDocument(e hcl.Expression) (string, bool) {
	if !present(e) || !l.checkRefs(e) {
		return "", false
	}
	v, diags := e.Value(l.ctx)
	l.add(diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return "", false
	}
	if v.IsNull() {
		l.errorf(e.Range(), "Missing policy document", "policy must not be null.")
		return "", false
	}
	var raw []byte
	switch ty := v.Type(); {
	case ty == cty.String:
		raw = []byte(v.AsString())
	case ty.IsObjectType() || ty.IsMapType():
		b, err := ctyjson.Marshal(v, ty)
		if err != nil {
			l.errorf(e.Range(), "Invalid policy document", "The policy object cannot be encoded as JSON: %s.", err)
			return "", false
		}
		raw = b
	default:
		l.errorf(e.Range(), "Invalid policy document", "policy must be a JSON string (jsonencode({...}) or file(\"policy.json\")), not a %s.", ty.FriendlyName())
		return "", false
	}
	var buf bytes.Buffer
	var probe any
	if err := json.Unmarshal(raw, &probe); err != nil {
		where := ""
		var se *json.SyntaxError
		if errors.As(err, &se) {
			where = fmt.Sprintf(" at character %d of the document", se.Offset)
		}
		l.errorf(e.Range(), "Invalid policy document", "The policy is not valid JSON%s: %s.", where, err)
		return "", false
	}
	if err := json.Compact(&buf, raw); err != nil {
		l.errorf(e.Range(), "Invalid policy document", "The policy is not valid JSON: %s.", err)
		return "", false
	}
	if problem := checkPolicyGrammar(buf.Bytes()); problem != "" {
		l.errorf(e.Range(), "Invalid policy document", "%s", problem)
		return "", false
	}
	if n := buf.Len(); n > MaxSCPSize {
		l.errorf(e.Range(), "SCP too large",
			"The minified policy has %d characters; AWS Organizations allows %d per SCP (%d over). Use wildcards in actions (\"cloudtrail:Delete*\"), merge statements with the same effect and condition, or split the guardrail into two SCPs.",
			n, MaxSCPSize, n-MaxSCPSize)
		return "", false
	}
	return buf.String(), true
}

// checkPolicyGrammar checks the structure AWS rejects at CreatePolicy time.
func checkPolicyGrammar(doc []byte) string {
	var top map[string]any
	if err := json.Unmarshal(doc, &top); err != nil {
		return "An SCP must be a single JSON object."
	}
	if v, ok := top["Version"]; ok && v != "2012-10-17" && v != "2008-10-17" {
		return fmt.Sprintf("Version is %v; policies use \"2012-10-17\".", v)
	}
	stmts, ok := top["Statement"]
	if !ok {
		return "The policy has no Statement element."
	}
	var list []any
	switch s := stmts.(type) {
	case []any:
		list = s
	case map[string]any:
		list = []any{s}
	default:
		return "Statement must be an object or a list of objects."
	}
	if len(list) == 0 {
		return "Statement must not be empty."
	}
	for i, s := range list {
		m, ok := s.(map[string]any)
		if !ok {
			return fmt.Sprintf("Statement %d is not an object.", i+1)
		}
		if e := m["Effect"]; e != "Allow" && e != "Deny" {
			return fmt.Sprintf("Statement %d: Effect must be \"Allow\" or \"Deny\", not %v.", i+1, e)
		}
		_, hasA := m["Action"]
		_, hasNA := m["NotAction"]
		if !hasA && !hasNA {
			return fmt.Sprintf("Statement %d has neither Action nor NotAction.", i+1)
		}
		if _, ok := m["Principal"]; ok {
			return fmt.Sprintf("Statement %d has a Principal element, which SCPs do not support; use a Condition on aws:PrincipalArn.", i+1)
		}
		if _, ok := m["NotPrincipal"]; ok {
			return fmt.Sprintf("Statement %d has a NotPrincipal element, which SCPs do not support; use a Condition on aws:PrincipalArn.", i+1)
		}
	}
	return ""
}

// attachTo resolves "root", OU ids and paths, account ids and target
// references to the list AWS attachments are made to.
func (l *loader) attachTo(e hcl.Expression) []string {
	if !present(e) {
		return nil
	}
	var out []string
	before := len(l.diags)
	add := func(s string, rng hcl.Range) {
		switch {
		case s == "root" || s == "Root":
			out = append(out, "root")
		case accountRe.MatchString(s) || validOU(s):
			out = append(out, s)
		default:
			l.errorf(rng, "Invalid attachment", "%q is not \"root\", an OU id or path (\"Root/Workloads\"), an account ID, or target.<name>.", s)
		}
	}
	addTarget := func(name string, rng hcl.Range) {
		t, ok := l.target(name)
		if !ok {
			return
		}
		if len(t.OUs) == 0 && len(t.Accounts) == 0 {
			out = append(out, "root")
		}
		out = append(out, t.OUs...)
		out = append(out, t.Accounts...)
		if len(t.AccountTags) > 0 || len(t.ExcludeAccounts) > 0 || len(t.ExcludeOUs) > 0 {
			l.warnf(rng, "Target filters do not apply to SCPs",
				"The SCP is attached to the OUs and accounts of target %q; its account_tags and exclude_* settings cannot narrow an attachment and are ignored here.", name)
		}
	}
	if t, ok := e.(*hclsyntax.TupleConsExpr); ok {
		for _, el := range t.Exprs {
			if isTargetTraversal(el) {
				if _, name, ok := l.ref(el, "attach_to", "target"); ok {
					addTarget(name, el.Range())
				}
				continue
			}
			if s, ok := l.str(el, "attach_to"); ok {
				add(s, el.Range())
			}
		}
	} else if isTargetTraversal(e) {
		if _, name, ok := l.ref(e, "attach_to", "target"); ok {
			addTarget(name, e.Range())
		}
	} else if list, ok := l.strings(e, "attach_to"); ok {
		for i, s := range list {
			add(s, elementRange(e, i))
		}
	}
	out = dedupe(out)
	if len(out) == 0 && !l.diags[before:].HasErrors() {
		l.errorf(e.Range(), "SCP attached nowhere", "attach_to is empty, so the SCP would have no effect.")
	}
	return out
}

func isTargetTraversal(e hcl.Expression) bool {
	tr, diags := hcl.AbsTraversalForExpr(e)
	return !diags.HasErrors() && tr.RootName() == "target"
}
