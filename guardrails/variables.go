package guardrails

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

type variableBlock struct {
	Type        hcl.Expression     `hcl:"type,optional"`
	Default     hcl.Expression     `hcl:"default,optional"`
	Description hcl.Expression     `hcl:"description,optional"`
	Sensitive   hcl.Expression     `hcl:"sensitive,optional"`
	Validations []*validationBlock `hcl:"validation,block"`
}

type validationBlock struct {
	Condition    hcl.Expression `hcl:"condition"`
	ErrorMessage hcl.Expression `hcl:"error_message"`
	Body         hcl.Body       `hcl:",body"`
}

type variable struct {
	decl  *decl
	typ   cty.Type
	body  *variableBlock
	value cty.Value
	// source says where the value came from, for diagnostics.
	source string
	// rng is the source range of the value, when it came from a file.
	rng *hcl.Range
}

// loadVariables is phase 1: declarations, then values by precedence
// (default < ORGGUARD_VAR_* < -var-file in order < -var), then validations.
func (l *loader) loadVariables() {
	noVars := &hcl.EvalContext{Functions: l.ctx.Functions}
	for _, d := range l.order["variable"] {
		var vb variableBlock
		l.add(gohcl.DecodeBody(d.block.Body, nil, &vb)...)
		v := &variable{decl: d, typ: cty.DynamicPseudoType, body: &vb, value: cty.DynamicVal}
		l.vars[d.name] = v
		if present(vb.Type) {
			ty, diags := typeexpr.TypeConstraint(vb.Type)
			l.add(diags...)
			if !diags.HasErrors() {
				v.typ = ty
			}
		}
		if present(vb.Default) {
			dv, diags := vb.Default.Value(noVars)
			l.add(diags...)
			if !diags.HasErrors() {
				r := vb.Default.Range()
				l.setVar(v, dv, "its default", &r)
			}
		}
	}

	// ORGGUARD_VAR_name=value, sorted for deterministic diagnostics.
	env := append([]string(nil), l.opts.Env...)
	sort.Strings(env)
	for _, kv := range env {
		if !strings.HasPrefix(kv, EnvVarPrefix) {
			continue
		}
		name, raw, _ := strings.Cut(strings.TrimPrefix(kv, EnvVarPrefix), "=")
		if v, ok := l.vars[name]; ok {
			l.setRawVar(v, raw, "environment variable "+EnvVarPrefix+name)
		}
	}

	for _, path := range l.opts.VarFiles {
		l.loadVarFile(path, noVars)
	}

	names := make([]string, 0, len(l.opts.Vars))
	for n := range l.opts.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, ok := l.vars[n]
		if !ok {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("A value was given for %q with -var, but no variable of that name is declared in the pack.%s", n, suggest(n, sortedKeys(l.vars))),
			})
			continue
		}
		l.setRawVar(v, l.opts.Vars[n], "-var "+n)
	}

	for _, d := range l.order["variable"] {
		v := l.vars[d.name]
		if v.source == "" {
			l.errorf(d.labelRange(), "No value for required variable",
				"The variable %q has no default, so it needs a value: -var %s=..., a -var-file, or %s%s.", d.name, d.name, EnvVarPrefix, d.name)
		}
	}
	l.publishVars()

	for _, d := range l.order["variable"] {
		v := l.vars[d.name]
		if v.source == "" || !v.value.IsWhollyKnown() {
			continue
		}
		for _, val := range v.body.Validations {
			l.validateVar(v, val)
		}
	}
}

func (l *loader) publishVars() {
	vals := map[string]cty.Value{}
	for n, v := range l.vars {
		vals[n] = v.value
	}
	l.ctx.Variables["var"] = cty.ObjectVal(vals)
}

// setVar converts a value to the variable's type and records it.
func (l *loader) setVar(v *variable, val cty.Value, source string, rng *hcl.Range) {
	cv, err := convert.Convert(val, v.typ)
	if err != nil {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value of variable %q from %s is not a %s: %s.", v.decl.name, source, v.typ.FriendlyName(), err),
			Subject:  rng,
		}
		if rng == nil {
			r := v.decl.labelRange()
			d.Subject = &r
		}
		l.add(d)
		v.source, v.value, v.rng = source, cty.DynamicVal, rng
		return
	}
	v.source, v.value, v.rng = source, cv, rng
}

// setRawVar parses a value given as text (-var, environment): primitive
// types take the text as is, others parse it as an HCL expression.
func (l *loader) setRawVar(v *variable, raw, source string) {
	if v.typ.IsPrimitiveType() || v.typ == cty.DynamicPseudoType {
		l.setVar(v, cty.StringVal(raw), source, nil)
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "<value for var."+v.decl.name+">", hcl.Pos{Line: 1, Column: 1, Byte: 0})
	if diags.HasErrors() {
		r := v.decl.labelRange()
		l.errorf(r, "Invalid value for variable", "The value of variable %q from %s is not a valid expression: %s", v.decl.name, source, diags.Error())
		v.source, v.value = source, cty.DynamicVal
		return
	}
	val, diags := expr.Value(&hcl.EvalContext{Functions: l.ctx.Functions})
	if diags.HasErrors() {
		r := v.decl.labelRange()
		l.errorf(r, "Invalid value for variable", "The value of variable %q from %s cannot be evaluated: %s", v.decl.name, source, diags.Error())
		v.source, v.value = source, cty.DynamicVal
		return
	}
	l.setVar(v, val, source, nil)
}

func (l *loader) loadVarFile(path string, ctx *hcl.EvalContext) {
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.EqualFold(filepath.Ext(path), ".json") {
		f, diags = l.parser.ParseJSONFile(path)
	} else {
		f, diags = l.parser.ParseHCLFile(path)
	}
	l.add(diags...)
	if f == nil || f.Body == nil {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.add(diags...)
	names := sortedKeys(attrs)
	for _, n := range names {
		a := attrs[n]
		v, ok := l.vars[n]
		if !ok {
			l.warnf(a.NameRange, "Value for undeclared variable",
				"The file sets %q, but the pack declares no such variable; the value is ignored.%s", n, suggest(n, sortedKeys(l.vars)))
			continue
		}
		val, diags := a.Expr.Value(ctx)
		l.add(diags...)
		if diags.HasErrors() {
			continue
		}
		r := a.Expr.Range()
		l.setVar(v, val, path, &r)
	}
}

func (l *loader) validateVar(v *variable, val *validationBlock) {
	if !l.requireAttrs(val.Body, "condition", "error_message") {
		return
	}
	if !l.checkRefs(val.Condition) {
		return
	}
	for _, tr := range val.Condition.Variables() {
		if tr.RootName() == "local" {
			l.errorf(tr.SourceRange(), "Invalid validation condition", "A variable validation may refer to variables only; locals are evaluated after variables.")
			return
		}
	}
	cond, diags := val.Condition.Value(l.ctx)
	l.add(diags...)
	if diags.HasErrors() || !cond.IsWhollyKnown() {
		return
	}
	cond, err := convert.Convert(cond, cty.Bool)
	if err != nil || cond.IsNull() {
		l.errorf(val.Condition.Range(), "Invalid validation condition", "The condition must be true or false.")
		return
	}
	if cond.True() {
		return
	}
	msg := "the validation failed"
	if m, ok := l.str(val.ErrorMessage, "error_message"); ok {
		msg = m
	}
	subject := val.Condition.Range()
	if v.rng != nil {
		subject = *v.rng
	}
	l.errorf(subject, "Invalid value for variable",
		"%s\n\nThe value of var.%s comes from %s; it was checked by the validation rule at %s.",
		msg, v.decl.name, v.source, rangeString(val.Condition.Range()))
}

// loadLocals is phase 2. Locals may refer to variables and to each other in
// any order; cycles are errors.
func (l *loader) loadLocals() {
	var attrsInOrder []*hcl.Attribute
	for _, b := range l.blocks {
		if b.Type != "locals" {
			continue
		}
		attrs, diags := b.Body.JustAttributes()
		l.add(diags...)
		sorted := make([]*hcl.Attribute, 0, len(attrs))
		for _, a := range attrs {
			sorted = append(sorted, a)
		}
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Range.Start.Byte < sorted[j].Range.Start.Byte })
		for _, a := range sorted {
			if prev, ok := l.localDefs[a.Name]; ok {
				l.errorf(a.NameRange, fmt.Sprintf("Duplicate local value %q", a.Name),
					"A local value named %q was already defined at %s.", a.Name, rangeString(prev.Range))
				continue
			}
			l.localDefs[a.Name] = a
			attrsInOrder = append(attrsInOrder, a)
		}
	}
	l.ctx.Variables["local"] = cty.EmptyObjectVal
	pending := attrsInOrder
	for len(pending) > 0 {
		var next []*hcl.Attribute
		progress := false
		for _, a := range pending {
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() != "local" || len(tr) < 2 {
					continue
				}
				if at, ok := tr[1].(hcl.TraverseAttr); ok {
					if _, defined := l.localDefs[at.Name]; defined {
						if _, done := l.locals[at.Name]; !done {
							ready = false
						}
					}
				}
			}
			if !ready {
				next = append(next, a)
				continue
			}
			progress = true
			l.locals[a.Name] = cty.DynamicVal
			if l.checkRefs(a.Expr) {
				v, diags := a.Expr.Value(l.ctx)
				l.add(diags...)
				if !diags.HasErrors() {
					l.locals[a.Name] = v
				}
			}
			l.publishLocals()
		}
		if !progress {
			names := make([]string, len(next))
			for i, a := range next {
				names[i] = "local." + a.Name
			}
			for _, a := range next {
				l.errorf(a.Expr.Range(), "Cycle in local values",
					"local.%s depends on itself through %s.", a.Name, strings.Join(names, ", "))
				l.locals[a.Name] = cty.DynamicVal
			}
			l.publishLocals()
			break
		}
		pending = next
	}
}

func (l *loader) publishLocals() {
	l.ctx.Variables["local"] = cty.ObjectVal(l.locals)
}
