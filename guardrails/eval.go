package guardrails

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// present reports whether an optional attribute decoded by gohcl into an
// hcl.Expression was written in the file (gohcl fills absent ones with a
// synthetic null expression).
func present(e hcl.Expression) bool {
	if e == nil {
		return false
	}
	_, ok := e.(hclsyntax.Expression)
	return ok
}

// checkRefs reports references to undeclared variables and locals with a
// suggestion, before HCL would report them less helpfully.
func (l *loader) checkRefs(e hcl.Expression) bool {
	ok := true
	for _, tr := range e.Variables() {
		root := tr.RootName()
		var kind string
		var known []string
		switch root {
		case "var":
			kind, known = "input variable", sortedKeys(l.vars)
		case "local":
			kind, known = "local value", sortedKeys(l.localDefs)
		default:
			continue
		}
		if len(tr) < 2 {
			l.errorf(tr.SourceRange(), "Invalid reference", "A reference to %s needs a name, as in %s.example.", root, root)
			ok = false
			continue
		}
		attr, isAttr := tr[1].(hcl.TraverseAttr)
		if !isAttr {
			l.errorf(tr.SourceRange(), "Invalid reference", "Refer to %s values by name, as in %s.example.", root, root)
			ok = false
			continue
		}
		if !contains(known, attr.Name) {
			l.errorf(tr.SourceRange(), "Reference to undeclared "+kind,
				"No %s named %q is declared.%s", kind, attr.Name, suggest(attr.Name, known))
			ok = false
		}
	}
	return ok
}

// value evaluates e and converts it to ty. ok is false when the attribute is
// absent or null, when evaluation failed (diagnostics added), or when the
// value is unknown because of an earlier error (no further diagnostics).
func (l *loader) value(e hcl.Expression, ty cty.Type, name string) (cty.Value, bool) {
	if !present(e) {
		return cty.NilVal, false
	}
	if !l.checkRefs(e) {
		return cty.NilVal, false
	}
	v, diags := e.Value(l.ctx)
	l.add(diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(e.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", name, err)
		return cty.NilVal, false
	}
	if !cv.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return cv, true
}

func (l *loader) str(e hcl.Expression, name string) (string, bool) {
	v, ok := l.value(e, cty.String, name)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (l *loader) boolean(e hcl.Expression, name string, def bool) bool {
	v, ok := l.value(e, cty.Bool, name)
	if !ok {
		return def
	}
	return v.True()
}

// integer evaluates a whole number within [min, max].
func (l *loader) integer(e hcl.Expression, name string, min, max int64) (int, bool) {
	v, ok := l.value(e, cty.Number, name)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		l.errorf(e.Range(), "Invalid value", "%s must be a whole number.", name)
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i < min || i > max {
		l.errorf(e.Range(), "Value out of range", "%s must be between %d and %d.", name, min, max)
		return 0, false
	}
	return int(i), true
}

func (l *loader) strings(e hcl.Expression, name string) ([]string, bool) {
	v, ok := l.value(e, cty.List(cty.String), name)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() {
			l.errorf(e.Range(), "Invalid value", "%s must not contain null elements.", name)
			return nil, false
		}
		out = append(out, ev.AsString())
	}
	return out, true
}

func (l *loader) stringMap(e hcl.Expression, name string) (map[string]string, bool) {
	v, ok := l.value(e, cty.Map(cty.String), name)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if ev.IsNull() {
			l.errorf(e.Range(), "Invalid value", "%s must not contain null values (key %q).", name, k.AsString())
			return nil, false
		}
		out[k.AsString()] = ev.AsString()
	}
	return out, true
}

// elementRange returns the range of the i-th element of a list literal, or
// the whole expression's range when it is not a literal.
func elementRange(e hcl.Expression, i int) hcl.Range {
	if t, ok := e.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return e.Range()
}

// ref resolves a reference to a declared block: either a traversal such as
// target.prod or a string naming the block ("prod" or "target.prod").
// kinds are the block types allowed; the result is (kind, name).
func (l *loader) ref(e hcl.Expression, what string, kinds ...string) (string, string, bool) {
	if !present(e) {
		return "", "", false
	}
	if tr, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() && len(tr) == 2 && contains(kinds, tr.RootName()) {
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			return l.lookupRef(e.Range(), what, tr.RootName(), a.Name, kinds)
		}
	}
	if tr, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() && len(tr) != 2 && contains(kinds, tr.RootName()) {
		l.errorf(e.Range(), "Invalid reference", "Refer to a %s block as %s.<name>.", tr.RootName(), tr.RootName())
		return "", "", false
	}
	// A traversal whose root is a block type that is not allowed here.
	if tr, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() && len(tr) >= 1 {
		if _, isBlock := l.refRoots()[tr.RootName()]; isBlock && !contains(kinds, tr.RootName()) {
			l.errorf(e.Range(), "Invalid reference", "%s must refer to a %s block (%s.<name>), not to a %s block.", what, joinOr(kinds), kinds[0], tr.RootName())
			return "", "", false
		}
	}
	s, ok := l.str(e, what)
	if !ok {
		return "", "", false
	}
	if i := strings.IndexByte(s, '.'); i > 0 && contains(kinds, s[:i]) {
		return l.lookupRef(e.Range(), what, s[:i], s[i+1:], kinds)
	}
	if len(kinds) == 1 {
		return l.lookupRef(e.Range(), what, kinds[0], s, kinds)
	}
	l.errorf(e.Range(), "Invalid reference", "%s must be a reference such as %s.example; %q names no block type.", what, kinds[0], s)
	return "", "", false
}

func (l *loader) refRoots() map[string]bool {
	return map[string]bool{"target": true, "group": true, "approval_policy": true, "scp": true,
		"config_rule": true, "securityhub": true, "control": true, "exemption": true, "rollout": true}
}

func (l *loader) lookupRef(rng hcl.Range, what, kind, name string, kinds []string) (string, string, bool) {
	if _, ok := l.decls[kind][name]; ok {
		return kind, name, true
	}
	var known []string
	for _, k := range kinds {
		for n := range l.decls[k] {
			if k == kind {
				known = append(known, n)
			}
		}
	}
	sort.Strings(known)
	human := strings.ReplaceAll(kind, "_", " ")
	detail := fmt.Sprintf("No %s named %q is declared in this pack.%s", human, name, suggest(name, known))
	if others := otherKinds(l, kinds, kind, name); len(others) > 0 {
		detail += fmt.Sprintf(" Did you mean %s?", others[0])
	}
	l.errorf(rng, "Reference to undeclared "+human, "%s", detail)
	return "", "", false
}

// otherKinds lists "kind.name" of other allowed kinds that declare name.
func otherKinds(l *loader, kinds []string, kind, name string) []string {
	var out []string
	for _, k := range kinds {
		if k != kind {
			if _, ok := l.decls[k][name]; ok {
				out = append(out, k+"."+name)
			}
		}
	}
	return out
}

// refs resolves a list of references (a list literal of traversals or strings).
func (l *loader) refs(e hcl.Expression, what, kind string) ([]string, bool) {
	if !present(e) {
		return nil, false
	}
	if t, ok := e.(*hclsyntax.TupleConsExpr); ok {
		var out []string
		good := true
		for _, el := range t.Exprs {
			_, name, ok := l.ref(el, what, kind)
			if ok {
				out = append(out, name)
			} else {
				good = false
			}
		}
		return out, good
	}
	names, ok := l.strings(e, what)
	if !ok {
		return nil, false
	}
	for _, n := range names {
		if _, _, ok := l.lookupRef(e.Range(), what, kind, n, []string{kind}); !ok {
			return nil, false
		}
	}
	return names, true
}

// suggest returns " Did you mean "x"?" for the closest known name, or "".
func suggest(name string, known []string) string {
	best, bestDist := "", 1<<30
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := max(1, len(name)/3)
	if best == "" || bestDist > limit || bestDist >= len(name) {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 200 || len(rb) > 200 {
		return 1 << 20
	}
	// Optimal string alignment distance: a swap of neighbours ("nmae") costs one.
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// quoteList renders names for a diagnostic: "a", "b", "c".
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// ctyToAny converts a known cty value to plain JSON-compatible Go values.
func ctyToAny(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			out = append(out, ctyToAny(ev))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out[k.AsString()] = ctyToAny(ev)
		}
		return out
	}
	return nil
}

// requireAttrs reports required arguments missing from body. gohcl never
// requires attributes decoded into hcl.Expression, so every decoder checks
// its required arguments here, with HCL's own wording.
func (l *loader) requireAttrs(body hcl.Body, names ...string) bool {
	if body == nil {
		return false
	}
	schema := &hcl.BodySchema{}
	for _, n := range names {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: n, Required: true})
	}
	_, _, diags := body.PartialContent(schema)
	var missing hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == "Missing required argument" {
			missing = append(missing, d)
		}
	}
	l.add(missing...)
	return len(missing) == 0
}
