package guardrails

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

type securityHubBlock struct {
	EnableDefaultStandards hcl.Expression          `hcl:"enable_default_standards,optional"`
	Standards              []*standardBlock        `hcl:"standard,block"`
	Disabled               []*disabledControlBlock `hcl:"disabled_control,block"`
}

type standardBlock struct {
	Name     string         `hcl:"name,label"`
	Version  hcl.Expression `hcl:"version,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
	Body     hcl.Body       `hcl:",body"`
}

type disabledControlBlock struct {
	Control  string         `hcl:"control,label"`
	Standard hcl.Expression `hcl:"standard,optional"`
	Reason   hcl.Expression `hcl:"reason,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
	Body     hcl.Body       `hcl:",body"`
}

var securityHubControlRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*\.\d+$|^\d+(\.\d+)+$`)

func (l *loader) decodeSecurityHub(d *decl, st *guardrailState) bool {
	var sb securityHubBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(st.common.Remain, nil, &sb)
	l.add(diags...)
	hub := &SecurityHub{Standards: []Standard{}}
	hub.EnableDefaultStandards = l.boolean(sb.EnableDefaultStandards, "enable_default_standards", false)
	enabled := map[string]hcl.Range{}
	for _, b := range sb.Standards {
		known := standardNames()
		if !contains(known, b.Name) {
			l.errorf(b.DefRange, "Unknown Security Hub standard",
				"%q is not a standard orgguard knows; use one of %s.%s", b.Name, quoteList(known), suggest(b.Name, known))
			continue
		}
		l.requireAttrs(b.Body, "version")
		v, ok := l.str(b.Version, "version")
		if !ok {
			continue
		}
		if _, ok := LookupStandard(b.Name, v); !ok {
			l.errorf(b.Version.Range(), "Unknown standard version",
				"The %s standard has no version %q; known versions: %s.", b.Name, v, strings.Join(standardVersions(b.Name), ", "))
			continue
		}
		key := b.Name + "/" + v
		if prev, dup := enabled[key]; dup {
			l.errorf(b.DefRange, "Duplicate standard", "The standard %s %s was already listed at %s.", b.Name, v, rangeString(prev))
			continue
		}
		enabled[key] = b.DefRange
		hub.Standards = append(hub.Standards, Standard{Name: b.Name, Version: v})
	}
	seen := map[string]hcl.Range{}
	for _, b := range sb.Disabled {
		dc := DisabledControl{Control: b.Control}
		l.requireAttrs(b.Body, "reason")
		if !securityHubControlRe.MatchString(b.Control) {
			l.errorf(b.DefRange, "Invalid Security Hub control ID",
				"%q is not a control ID such as \"EC2.10\" (consolidated controls) or \"1.14\" (CIS numbering).", b.Control)
		}
		if s, ok := l.str(b.Standard, "standard"); ok {
			found := false
			for key := range enabled {
				if key == s || strings.HasPrefix(key, s+"/") {
					found = true
				}
			}
			if !found {
				l.errorf(b.Standard.Range(), "Standard not enabled",
					"The control is disabled in the %q standard, which this securityhub block does not enable.", s)
			}
			dc.Standard = s
		}
		if r, ok := l.str(b.Reason, "reason"); ok {
			if strings.TrimSpace(r) == "" {
				l.errorf(b.Reason.Range(), "Empty reason", "Disabling a control needs a reason an auditor can read.")
			}
			dc.Reason = r
		}
		key := dc.Standard + "/" + dc.Control
		if prev, dup := seen[key]; dup {
			l.errorf(b.DefRange, "Duplicate disabled control", "%s was already disabled at %s.", dc.Control, rangeString(prev))
			continue
		}
		seen[key] = b.DefRange
		hub.DisabledControls = append(hub.DisabledControls, dc)
	}
	if len(hub.Standards) == 0 && !hub.EnableDefaultStandards && len(sb.Standards) == 0 {
		l.warnf(d.labelRange(), "No standards", "The hub is enabled without any standard: add standard blocks or enable_default_standards = true.")
	}
	if !st.modeSet {
		st.g.Remediation.Mode = ModeAuto
	}
	st.g.SecurityHub = hub
	return true
}

// StandardARNs returns the ARNs of a hub's standards in a partition and region.
func (h *SecurityHub) StandardARNs(partition, region string) ([]string, error) {
	var out []string
	for _, s := range h.Standards {
		info, ok := LookupStandard(s.Name, s.Version)
		if !ok {
			return nil, fmt.Errorf("unknown standard %s %s", s.Name, s.Version)
		}
		out = append(out, info.ARN(partition, region))
	}
	return out, nil
}
