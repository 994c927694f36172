package guardrails

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// FileExt is the extension of guardrail files. Files ending in ".og.hcl" are
// guardrail files too (they end in ".hcl").
const FileExt = ".hcl"

// LoadOptions are the inputs of a load besides the pack directory.
type LoadOptions struct {
	// Vars are -var name=value pairs; they win over everything else.
	Vars map[string]string
	// VarFiles are -var-file paths (HCL, or JSON when they end in .json),
	// applied in order.
	VarFiles []string
	// Env is the process environment (os.Environ()); ORGGUARD_VAR_<name>
	// entries set variables with the lowest precedence after defaults.
	Env []string
	// Now decides which exemptions have expired; zero means time.Now().
	Now time.Time
}

// EnvVarPrefix prefixes environment variables that set input variables.
const EnvVarPrefix = "ORGGUARD_VAR_"

// LoadDir parses every *.hcl file of dir (not recursive) and compiles the
// guardrail set. It returns the parsed files (keyed by the file name used in
// diagnostics) so callers can print source snippets, and every problem found
// as diagnostics. The set is nil when the diagnostics contain errors.
//
// dir may also name a single .hcl file, which is then loaded alone (file()
// paths are relative to its directory).
func LoadDir(dir string, opts LoadOptions) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() && strings.HasSuffix(dir, FileExt) {
		src, err := os.ReadFile(dir)
		if err != nil {
			return nil, map[string]*hcl.File{}, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read guardrail file",
				Detail:   fmt.Sprintf("Reading %s failed: %s.", dir, err),
			}}
		}
		return LoadSources(filepath.Dir(dir), []Source{{Filename: dir, Src: src}}, opts)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, map[string]*hcl.File{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read guardrail directory",
			Detail:   fmt.Sprintf("Reading %s failed: %s.", dir, err),
		}}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), FileExt) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	srcs := make([]Source, 0, len(names))
	var diags hcl.Diagnostics
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read guardrail file",
				Detail:   fmt.Sprintf("Reading %s failed: %s.", p, err),
			})
			continue
		}
		srcs = append(srcs, Source{Filename: p, Src: b})
	}
	if len(srcs) == 0 && len(diags) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No guardrail files",
			Detail:   fmt.Sprintf("The directory %s contains no *%s files.", dir, FileExt),
		})
	}
	set, files, more := LoadSources(dir, srcs, opts)
	diags = append(diags, more...)
	sortDiagnostics(diags)
	if diags.HasErrors() {
		set = nil
	}
	return set, files, diags
}

// Source is one guardrail file's content.
type Source struct {
	Filename string
	Src      []byte
}

// LoadSources compiles in-memory sources as if they were the files of dir
// (dir resolves file() and templatefile()). The set is nil when the
// diagnostics contain errors.
func LoadSources(dir string, srcs []Source, opts LoadOptions) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	l := newLoader(dir, opts)
	for _, s := range srcs {
		l.parseFile(s.Filename, s.Src)
	}
	set := l.compile()
	sortDiagnostics(l.diags)
	if l.diags.HasErrors() {
		set = nil
	}
	return set, l.parser.Files(), l.diags
}

// topSchema is the top level of a guardrail file.
var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "target", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "approval_policy", LabelNames: []string{"name"}},
		{Type: "scp", LabelNames: []string{"name"}},
		{Type: "config_rule", LabelNames: []string{"name"}},
		{Type: "securityhub", LabelNames: []string{"name"}},
		{Type: "control", LabelNames: []string{"name"}},
		{Type: "exemption", LabelNames: []string{"name"}},
		{Type: "rollout", LabelNames: []string{"name"}},
	},
}

// nestedHints explain blocks that are valid only inside another block.
var nestedHints = map[string]string{
	"remediation":      "A remediation block belongs inside a guardrail block (scp, config_rule, securityhub or control).",
	"ssm_remediation":  "An ssm_remediation block belongs inside a config_rule block.",
	"settings":         "A settings block belongs inside a control block.",
	"standard":         "A standard block belongs inside a securityhub block.",
	"disabled_control": "A disabled_control block belongs inside a securityhub block.",
	"wave":             "A wave block belongs inside a rollout block.",
	"notify":           "A notify block belongs inside an approval_policy block.",
	"validation":       "A validation block belongs inside a variable block.",
	"resource":         "orgguard is not Terraform: guardrails are scp, config_rule, securityhub and control blocks.",
	"module":           "orgguard packs have no modules: put every file of the pack in one directory.",
}

// decl is a declared, labelled top-level block.
type decl struct {
	kind  string
	name  string
	block *hcl.Block
}

func (d *decl) labelRange() hcl.Range {
	if len(d.block.LabelRanges) > 0 {
		return d.block.LabelRanges[0]
	}
	return d.block.DefRange
}

type loader struct {
	dir    string
	opts   LoadOptions
	now    time.Time
	parser *hclparse.Parser
	diags  hcl.Diagnostics
	ctx    *hcl.EvalContext

	blocks []*hcl.Block // top-level blocks in file order
	// declared names per block type, for references and duplicates.
	decls map[string]map[string]*decl
	// declaration order per block type.
	order map[string][]*decl

	vars      map[string]*variable
	locals    map[string]cty.Value
	localDefs map[string]*hcl.Attribute

	escalations map[string]policyRef
	// scpTargets counts the SCPs attached to each target, against AWS's
	// quota of 5 per root, OU or account.
	scpTargets map[string][]hcl.Range

	set *Set
}

func newLoader(dir string, opts LoadOptions) *loader {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &loader{
		dir:       dir,
		opts:      opts,
		now:       now,
		parser:    hclparse.NewParser(),
		decls:     map[string]map[string]*decl{},
		order:     map[string][]*decl{},
		vars:      map[string]*variable{},
		locals:    map[string]cty.Value{},
		localDefs: map[string]*hcl.Attribute{},
		set:       &Set{Source: dir},
	}
}

func (l *loader) add(d ...*hcl.Diagnostic) { l.diags = append(l.diags, d...) }

func (l *loader) errorf(subject hcl.Range, summary, detailFmt string, args ...any) {
	r := subject
	l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detailFmt, args...), Subject: &r})
}

func (l *loader) warnf(subject hcl.Range, summary, detailFmt string, args ...any) {
	r := subject
	l.add(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(detailFmt, args...), Subject: &r})
}

func (l *loader) parseFile(name string, src []byte) {
	f, diags := l.parser.ParseHCL(src, name)
	l.add(diags...)
	if f == nil || f.Body == nil {
		return
	}
	content, diags := f.Body.Content(topSchema)
	for _, d := range diags {
		if d.Summary == "Unsupported block type" {
			for typ, hint := range nestedHints {
				if strings.Contains(d.Detail, `"`+typ+`"`) {
					d.Detail += " " + hint
				}
			}
		}
		if d.Summary == "Unsupported argument" {
			d.Detail += " The top level of a guardrail file holds blocks only; put values in a locals block."
		}
	}
	l.add(diags...)
	if content != nil {
		l.blocks = append(l.blocks, content.Blocks...)
	}
}

// declare records every labelled block and reports duplicates, pointing at
// both definitions.
func (l *loader) declare() {
	for _, b := range l.blocks {
		if len(b.Labels) == 0 {
			continue
		}
		d := &decl{kind: b.Type, name: b.Labels[0], block: b}
		if !hclsyntax.ValidIdentifier(d.name) {
			l.errorf(d.labelRange(), "Invalid name",
				"A %s name must start with a letter or underscore and may contain letters, digits, underscores and dashes; %q does not.", b.Type, d.name)
			continue
		}
		m := l.decls[b.Type]
		if m == nil {
			m = map[string]*decl{}
			l.decls[b.Type] = m
		}
		if prev, ok := m[d.name]; ok {
			l.errorf(d.labelRange(), fmt.Sprintf("Duplicate %s %q", b.Type, d.name),
				"A %s named %q was already defined at %s. Names must be unique within a block type across all files of the pack.",
				b.Type, d.name, rangeString(prev.block.DefRange))
			continue
		}
		if b.Type == "rollout" {
			if prevs := l.order["rollout"]; len(prevs) > 0 {
				l.errorf(d.labelRange(), "Duplicate rollout block",
					"A pack has at most one rollout; %q was already defined at %s.", prevs[0].name, rangeString(prevs[0].block.DefRange))
				continue
			}
		}
		m[d.name] = d
		l.order[b.Type] = append(l.order[b.Type], d)
	}
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}

func (l *loader) compile() *Set {
	l.declare()
	l.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functions(l.dir)}

	// Phase 1: variables; phase 2: locals; phase 3: everything else.
	l.loadVariables()
	l.loadLocals()

	for _, d := range l.order["target"] {
		l.loadTarget(d)
	}
	groups := map[string][]string{}
	for _, d := range l.order["group"] {
		if members, ok := l.loadGroup(d); ok {
			groups[d.name] = members
		}
	}
	for _, d := range l.order["approval_policy"] {
		l.loadApprovalPolicy(d, groups)
	}
	l.checkEscalations()
	for _, kind := range []string{"scp", "config_rule", "securityhub", "control"} {
		for _, d := range l.order[kind] {
			l.loadGuardrail(d)
		}
	}
	for _, d := range l.order["exemption"] {
		l.loadExemption(d)
	}
	for _, d := range l.order["rollout"] {
		l.loadRollout(d)
	}

	s := l.set
	sort.Slice(s.Guardrails, func(i, j int) bool { return s.Guardrails[i].ID < s.Guardrails[j].ID })
	sort.Slice(s.Targets, func(i, j int) bool { return s.Targets[i].Name < s.Targets[j].Name })
	sort.Slice(s.ApprovalPolicies, func(i, j int) bool { return s.ApprovalPolicies[i].Name < s.ApprovalPolicies[j].Name })
	sort.Slice(s.Exemptions, func(i, j int) bool { return s.Exemptions[i].Name < s.Exemptions[j].Name })
	sort.Slice(s.ExpiredExemptions, func(i, j int) bool { return s.ExpiredExemptions[i].Name < s.ExpiredExemptions[j].Name })
	if s.Guardrails == nil {
		s.Guardrails = []Guardrail{}
	}
	s.Digest = s.ComputeDigest()
	return s
}

// sortDiagnostics orders diagnostics by file and position; diagnostics
// without a subject (command-line values) come first. The sort is stable so
// diagnostics at the same position keep their order.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// ParseVars turns -var flags ("name=value") into LoadOptions.Vars.
func ParseVars(flags []string) (map[string]string, error) {
	vars := map[string]string{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid -var %q: use -var name=value", f)
		}
		vars[name] = value
	}
	return vars, nil
}
