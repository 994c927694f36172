package guardrails

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

type controlBlock struct {
	Kind     hcl.Expression   `hcl:"kind"`
	Settings []*settingsBlock `hcl:"settings,block"`
}

type settingsBlock struct {
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

func (t SettingType) ctyType() cty.Type {
	switch t {
	case SettingString:
		return cty.String
	case SettingNumber:
		return cty.Number
	case SettingBool:
		return cty.Bool
	case SettingStringList:
		return cty.List(cty.String)
	case SettingNumberList:
		return cty.List(cty.Number)
	case SettingStringMap:
		return cty.Map(cty.String)
	}
	return cty.DynamicPseudoType
}

func (l *loader) decodeControl(d *decl, st *guardrailState) bool {
	var cb controlBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(st.common.Remain, nil, &cb)
	l.add(diags...)
	if len(cb.Settings) > 1 {
		l.errorf(cb.Settings[1].DefRange, "Duplicate settings block", "A control has one settings block; another was defined at %s.", rangeString(cb.Settings[0].DefRange))
	}
	if !l.requireAttrs(st.common.Remain, "kind") {
		return false
	}
	kind, ok := l.str(cb.Kind, "kind")
	if !ok {
		return false
	}
	ct, known := ControlTypes[kind]
	if !known {
		l.errorf(cb.Kind.Range(), "Unknown control kind", "%q is not a control kind orgguard implements.%s Known kinds: %s.",
			kind, suggest(kind, ControlTypeNames()), strings.Join(ControlTypeNames(), ", "))
		return false
	}
	c := &Control{Type: kind, Settings: map[string]any{}}
	given := map[string]bool{}
	if len(cb.Settings) > 0 {
		attrs, diags := cb.Settings[0].Body.JustAttributes()
		l.add(diags...)
		var names []string
		for _, s := range ct.Settings {
			names = append(names, s.Name)
		}
		for _, name := range sortedKeys(attrs) {
			a := attrs[name]
			spec, ok := ct.Setting(name)
			if !ok {
				detail := fmt.Sprintf("The %s control has no setting %q.%s", kind, name, suggest(name, names))
				if len(names) == 0 {
					detail = fmt.Sprintf("The %s control takes no settings.", kind)
				} else {
					detail += " Settings: " + strings.Join(names, ", ") + "."
				}
				l.errorf(a.NameRange, "Unsupported setting", "%s", detail)
				continue
			}
			given[name] = true
			if v, ok := l.setting(a, spec); ok {
				c.Settings[name] = v
			}
		}
	}
	for _, s := range ct.Settings {
		if given[s.Name] {
			continue
		}
		if s.Required {
			rng := d.labelRange()
			if len(cb.Settings) > 0 {
				rng = cb.Settings[0].DefRange
			}
			l.errorf(rng, "Missing required setting", "The %s control needs the setting %q: %s", kind, s.Name, s.Description)
			continue
		}
		if s.Default != nil {
			c.Settings[s.Name] = copyValue(s.Default)
		}
	}
	if len(c.Settings) == 0 {
		c.Settings = nil
	}
	g := st.g
	if !st.modeSet {
		switch {
		case !ct.Remediable:
			g.Remediation.Mode = ModeReport
		case ct.ChangesAccess:
			// Never remove someone's access without being told to.
			g.Remediation.Mode = ModeReport
		default:
			g.Remediation.Mode = ModeAuto
		}
	} else if !ct.Remediable && g.Remediation.Mode != ModeReport {
		l.errorf(st.modeExpr.Range(), "Control cannot be remediated",
			"orgguard has no remediation for %s findings (%s), so the mode must be \"report\".", kind, strings.TrimSuffix(ct.Description, "."))
	}
	g.Control = c
	return true
}

// setting converts and checks one setting against its catalogue entry.
func (l *loader) setting(a *hcl.Attribute, spec Setting) (any, bool) {
	v, ok := l.value(a.Expr, spec.Type.ctyType(), spec.Name)
	if !ok {
		return nil, false
	}
	switch spec.Type {
	case SettingString:
		if len(spec.Enum) > 0 && !contains(spec.Enum, v.AsString()) {
			l.errorf(a.Expr.Range(), "Invalid setting value", "%s must be one of %s, not %q.%s",
				spec.Name, quoteList(spec.Enum), v.AsString(), suggest(v.AsString(), spec.Enum))
			return nil, false
		}
	case SettingNumber:
		f := v.AsBigFloat()
		if (spec.Min != nil && f.Cmp(big.NewFloat(*spec.Min)) < 0) || (spec.Max != nil && f.Cmp(big.NewFloat(*spec.Max)) > 0) {
			l.errorf(a.Expr.Range(), "Setting out of range", "%s must be %s.", spec.Name, rangeText(spec))
			return nil, false
		}
	case SettingNumberList:
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			if ev.IsNull() {
				l.errorf(a.Expr.Range(), "Invalid setting value", "%s must not contain null.", spec.Name)
				return nil, false
			}
		}
	case SettingStringList, SettingStringMap:
		if _, err := convert.Convert(v, spec.Type.ctyType()); err != nil {
			return nil, false
		}
	}
	if !finiteNumbers(v) {
		l.errorf(a.Expr.Range(), "Setting out of range", "%s contains a number too large to store.", spec.Name)
		return nil, false
	}
	return ctyToAny(v), true
}

// finiteNumbers reports whether every number in v fits a float64, the JSON
// form settings are stored in.
func finiteNumbers(v cty.Value) bool {
	ok := true
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsKnown() && !x.IsNull() && x.Type() == cty.Number {
			if f, _ := x.AsBigFloat().Float64(); math.IsInf(f, 0) {
				ok = false
			}
		}
		return ok, nil
	})
	return ok
}

func rangeText(s Setting) string {
	switch {
	case s.Min != nil && s.Max != nil:
		return fmt.Sprintf("between %g and %g", *s.Min, *s.Max)
	case s.Min != nil:
		return fmt.Sprintf("at least %g", *s.Min)
	case s.Max != nil:
		return fmt.Sprintf("at most %g", *s.Max)
	}
	return "a number"
}

// copyValue deep-copies a JSON-compatible value so that sets never share
// the catalogue's slices and maps.
func copyValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	}
	return v
}
