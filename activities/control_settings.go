package activities

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// settings reads a native control's settings, falling back to the
// catalogue's defaults so a guardrail that names only what it changes still
// gets a complete configuration.
type settings struct {
	typ guardrails.ControlType
	m   map[string]any
}

func controlSettings(env Env) settings {
	s := settings{}
	if c := env.Guardrail.Control; c != nil {
		s.typ = guardrails.ControlTypes[c.Type]
		s.m = c.Settings
	}
	return s
}

func (s settings) value(name string) any {
	if v, ok := s.m[name]; ok && v != nil {
		return v
	}
	if d, ok := s.typ.Setting(name); ok {
		return d.Default
	}
	return nil
}

func (s settings) str(name string) string {
	v, _ := s.value(name).(string)
	return v
}

func (s settings) boolean(name string) bool {
	v, _ := s.value(name).(bool)
	return v
}

func (s settings) num(name string) float64 {
	f, _ := toFloat(s.value(name))
	return f
}

func (s settings) integer(name string) int { return int(s.num(name)) }

func (s settings) strs(name string) []string {
	switch v := s.value(name).(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if x, ok := e.(string); ok {
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

func (s settings) nums(name string) []float64 {
	switch v := s.value(name).(type) {
	case []float64:
		return v
	case []int:
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = float64(e)
		}
		return out
	case []any:
		out := make([]float64, 0, len(v))
		for _, e := range v {
			if f, ok := toFloat(e); ok {
				out = append(out, f)
			}
		}
		return out
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// param helpers read a planned change's parameters, which went through JSON
// in workflow history (numbers are float64, lists []any).

func paramString(c *workflows.Change, key string) string {
	if c == nil {
		return ""
	}
	v, _ := c.Params[key].(string)
	return v
}

func paramBool(c *workflows.Change, key string) bool {
	if c == nil {
		return false
	}
	v, _ := c.Params[key].(bool)
	return v
}

func paramInt(c *workflows.Change, key string) int {
	if c == nil {
		return 0
	}
	f, _ := toFloat(c.Params[key])
	return int(f)
}

func paramStrings(c *workflows.Change, key string) []string {
	if c == nil {
		return nil
	}
	switch v := c.Params[key].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// anyStrings makes a JSON-compatible list for Change.Params.
func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// apply accumulates what an Apply did.
type applied struct{ workflows.ApplyOutput }

func (a *applied) call(format string, args ...any) {
	a.Changed = true
	a.Calls = append(a.Calls, fmt.Sprintf(format, args...))
}

// finding builders keep the per-control code about the control.

func compliant(resource, evidence string, facts map[string]string) workflows.Finding {
	return workflows.Finding{Resource: resource, Status: workflows.StatusCompliant, Evidence: evidence, Facts: facts}
}

func nonCompliant(resource, evidence string, facts map[string]string, change *workflows.Change) workflows.Finding {
	return workflows.Finding{Resource: resource, Status: workflows.StatusNonCompliant, Evidence: evidence, Facts: facts, Change: change}
}

// matchesResource reports whether a finding's resource is the one a
// verification check asked for ("" asks for all).
func matchesResource(want, resource string) bool {
	return want == "" || want == resource || strings.HasSuffix(resource, "/"+want) || strings.HasSuffix(resource, ":"+want)
}

func filterFindings(want string, fs []workflows.Finding) []workflows.Finding {
	if want == "" {
		return fs
	}
	return slices.DeleteFunc(fs, func(f workflows.Finding) bool { return !matchesResource(want, f.Resource) })
}

// uniq drops repeated strings, keeping the first of each.
func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func sortedStrings(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

// waitFor pauses between polls of an asynchronous AWS job (credential
// reports, drift detection) without outliving the activity's context.
func waitFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// daysSince is the age in whole days of t at now.
func daysSince(now, t time.Time) int { return int(now.Sub(t).Hours() / 24) }
