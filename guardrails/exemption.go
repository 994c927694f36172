package guardrails

import (
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

type exemptionBlock struct {
	Guardrail hcl.Expression `hcl:"guardrail"`
	Accounts  hcl.Expression `hcl:"accounts,optional"`
	OUs       hcl.Expression `hcl:"ous,optional"`
	Resources hcl.Expression `hcl:"resources,optional"`
	Reason    hcl.Expression `hcl:"reason"`
	Owner     hcl.Expression `hcl:"owner"`
	Ticket    hcl.Expression `hcl:"ticket,optional"`
	Expires   hcl.Expression `hcl:"expires"`
}

// AllGuardrails as an exemption's guardrail exempts from every guardrail.
const AllGuardrails = "*"

var guardrailKinds = []string{"scp", "config_rule", "securityhub", "control"}

func (l *loader) loadExemption(d *decl) {
	var eb exemptionBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(d.block.Body, nil, &eb)
	l.add(diags...)
	before := len(l.diags)
	l.requireAttrs(d.block.Body, "guardrail", "reason", "owner", "expires")
	ex := Exemption{Name: d.name}
	// "*" exempts the accounts, OUs or resources from every guardrail.
	if v, diags := eb.Guardrail.Value(l.ctx); present(eb.Guardrail) && !diags.HasErrors() && v.Type() == cty.String &&
		v.IsKnown() && !v.IsNull() && v.AsString() == AllGuardrails {
		ex.Guardrail = AllGuardrails
	} else if kind, name, ok := l.ref(eb.Guardrail, "guardrail", guardrailKinds...); ok {
		ex.Guardrail = kind + "." + name
	}
	ex.Accounts = l.accounts(eb.Accounts, "accounts")
	ex.OUs = l.ous(eb.OUs, "ous")
	if list, ok := l.strings(eb.Resources, "resources"); ok {
		for i, r := range list {
			if !strings.HasPrefix(r, "arn:") {
				l.errorf(elementRange(eb.Resources, i), "Invalid resource pattern", "%q must be an ARN or ARN glob starting with \"arn:\", such as \"arn:aws:ec2:*:111122223333:security-group/sg-*\".", r)
			} else if _, err := path.Match(r, ""); err != nil {
				l.errorf(elementRange(eb.Resources, i), "Invalid resource pattern", "%q is not a valid glob: %s.", r, err)
			}
		}
		ex.Resources = nonEmpty(list)
	}
	if len(ex.Accounts) == 0 && len(ex.OUs) == 0 && len(ex.Resources) == 0 && !l.diags[before:].HasErrors() {
		l.errorf(d.labelRange(), "Exemption exempts nothing",
			"An exemption names the accounts, OUs or resources (ARN globs) it exempts; to switch a guardrail off everywhere, remove it instead.")
	}
	if s, ok := l.str(eb.Reason, "reason"); ok {
		if strings.TrimSpace(s) == "" {
			l.errorf(eb.Reason.Range(), "Empty reason", "An exemption needs a reason an auditor can read.")
		}
		ex.Reason = s
	}
	if s, ok := l.str(eb.Owner, "owner"); ok {
		if strings.TrimSpace(s) == "" {
			l.errorf(eb.Owner.Range(), "Empty owner", "An exemption needs an owner who answers for it.")
		}
		ex.Owner = s
	}
	ex.Ticket, _ = l.str(eb.Ticket, "ticket")
	expired := false
	if s, ok := l.str(eb.Expires, "expires"); ok {
		t, err := ParseExpiry(s)
		if err != nil {
			l.errorf(eb.Expires.Range(), "Invalid expiry", "expires must be a date (\"2026-03-31\", valid through that day, UTC) or an RFC 3339 time (\"2026-03-31T17:00:00Z\"), not %q.", s)
		} else {
			ex.Expires = t
			if !t.After(l.now) {
				expired = true
				l.warnf(eb.Expires.Range(), "Exemption has expired",
					"The exemption %q of %s expired on %s; it no longer applies and is listed under expired exemptions. Renew it with a new date or remove it.",
					d.name, ex.Guardrail, t.Format(time.RFC3339))
			}
		}
	}
	if l.diags[before:].HasErrors() {
		return
	}
	if expired {
		l.set.ExpiredExemptions = append(l.set.ExpiredExemptions, ex)
		return
	}
	l.set.Exemptions = append(l.set.Exemptions, ex)
}

// ParseExpiry parses an RFC 3339 time, or a date that stays valid through
// the whole day (UTC): "2026-03-31" expires at 2026-04-01T00:00:00Z.
func ParseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.AddDate(0, 0, 1).UTC(), nil
}
