package guardrails

import (
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// DefaultConcurrency bounds the accounts baselined at once when a rollout
// names no concurrency: low enough to stay under Organizations and STS
// throttling with the default rate limits.
const DefaultConcurrency = 10

type rolloutBlock struct {
	Concurrency       hcl.Expression `hcl:"concurrency,optional"`
	PauseBetweenWaves hcl.Expression `hcl:"pause_between_waves,optional"`
	HoldUntilApproved hcl.Expression `hcl:"hold_until_approved,optional"`
	Waves             []*waveBlock   `hcl:"wave,block"`
}

type waveBlock struct {
	Name          string         `hcl:"name,label"`
	Target        hcl.Expression `hcl:"target"`
	FailureBudget hcl.Expression `hcl:"failure_budget,optional"`
	DefRange      hcl.Range      `hcl:",def_range"`
	Body          hcl.Body       `hcl:",body"`
}

func (l *loader) loadRollout(d *decl) {
	var rb rolloutBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(d.block.Body, nil, &rb)
	l.add(diags...)
	r := &Rollout{Name: d.name, Concurrency: DefaultConcurrency, Waves: []Wave{}}
	if n, ok := l.integer(rb.Concurrency, "concurrency", 1, 1000); ok {
		r.Concurrency = n
	}
	if s, ok := l.str(rb.PauseBetweenWaves, "pause_between_waves"); ok {
		dur, err := ParseDuration(s)
		if err != nil || dur < 0 {
			l.errorf(rb.PauseBetweenWaves.Range(), "Invalid duration", "pause_between_waves must be a duration such as \"30m\", \"4h\" or \"1d\", not %q.", s)
		} else {
			r.PauseBetweenWaves = dur
		}
	}
	r.HoldUntilApproved = l.boolean(rb.HoldUntilApproved, "hold_until_approved", false)
	if len(rb.Waves) == 0 {
		l.errorf(d.labelRange(), "Rollout without waves", "A rollout needs at least one wave block: wave \"canary\" { target = target.sandbox }.")
	}
	seen := map[string]hcl.Range{}
	for _, wb := range rb.Waves {
		if prev, dup := seen[wb.Name]; dup {
			l.errorf(wb.DefRange, "Duplicate wave", "A wave named %q was already defined at %s.", wb.Name, rangeString(prev))
			continue
		}
		seen[wb.Name] = wb.DefRange
		w := Wave{Name: wb.Name}
		l.requireAttrs(wb.Body, "target")
		if _, name, ok := l.ref(wb.Target, "target", "target"); ok {
			w.Target = name
		}
		l.failureBudget(wb.FailureBudget, &w)
		r.Waves = append(r.Waves, w)
	}
	l.set.Rollout = r
}

// failureBudget reads a count (3) or a percentage ("10%").
func (l *loader) failureBudget(e hcl.Expression, w *Wave) {
	v, ok := l.value(e, cty.DynamicPseudoType, "failure_budget")
	if !ok {
		return
	}
	switch v.Type() {
	case cty.Number:
		if n, ok := l.integer(e, "failure_budget", 0, 100000); ok {
			w.FailureBudgetCount = n
		}
	case cty.String:
		s := strings.TrimSpace(v.AsString())
		if pct, found := strings.CutSuffix(s, "%"); found {
			f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
				l.errorf(e.Range(), "Invalid failure budget", "A percentage failure budget must be between \"0%%\" and \"100%%\", not %q.", s)
				return
			}
			w.FailureBudgetPercent = f
			return
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			w.FailureBudgetCount = n
			return
		}
		l.errorf(e.Range(), "Invalid failure budget", "failure_budget is a number of accounts (2) or a percentage (\"10%%\"), not %q.", s)
	default:
		l.errorf(e.Range(), "Invalid failure budget", "failure_budget is a number of accounts (2) or a percentage (\"10%%\").")
	}
}
