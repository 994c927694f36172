package guardrails

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// DefaultTargetName is the target whose regions apply to guardrails that
// name no target.
const DefaultTargetName = "default"

type targetBlock struct {
	OUs             hcl.Expression `hcl:"ous,optional"`
	Accounts        hcl.Expression `hcl:"accounts,optional"`
	AccountTags     hcl.Expression `hcl:"account_tags,optional"`
	Regions         hcl.Expression `hcl:"regions,optional"`
	ExcludeAccounts hcl.Expression `hcl:"exclude_accounts,optional"`
	ExcludeOUs      hcl.Expression `hcl:"exclude_ous,optional"`
}

var (
	accountRe = regexp.MustCompile(`^\d{12}$`)
	ouIDRe    = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$`)
)

func (l *loader) loadTarget(d *decl) {
	var tb targetBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(d.block.Body, nil, &tb)
	l.add(diags...)
	t := Target{Name: d.name}
	t.OUs = l.ous(tb.OUs, "ous")
	t.Accounts = l.accounts(tb.Accounts, "accounts")
	if m, ok := l.stringMap(tb.AccountTags, "account_tags"); ok && len(m) > 0 {
		t.AccountTags = m
	}
	t.Regions = l.regions(tb.Regions, "regions")
	t.ExcludeAccounts = l.accounts(tb.ExcludeAccounts, "exclude_accounts")
	t.ExcludeOUs = l.ous(tb.ExcludeOUs, "exclude_ous")
	l.set.Targets = append(l.set.Targets, t)
}

func (l *loader) target(name string) (Target, bool) {
	for _, t := range l.set.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// accounts evaluates a list of 12-digit account IDs.
func (l *loader) accounts(e hcl.Expression, name string) []string {
	list, ok := l.strings(e, name)
	if !ok {
		return nil
	}
	for i, a := range list {
		if !accountRe.MatchString(a) {
			l.errorf(elementRange(e, i), "Invalid account ID", "%q is not an AWS account ID: account IDs are exactly 12 digits (quote them so leading zeros survive).", a)
		}
	}
	return nonEmpty(list)
}

// ous evaluates a list of OU selectors: ids (ou-…, r-…) or paths from "Root".
func (l *loader) ous(e hcl.Expression, name string) []string {
	list, ok := l.strings(e, name)
	if !ok {
		return nil
	}
	for i, o := range list {
		if !validOU(o) {
			l.errorf(elementRange(e, i), "Invalid organizational unit",
				"%q is neither an OU id (ou-xxxx-xxxxxxxx, or the root r-xxxx) nor a path from the root such as \"Root/Workloads/Prod\".", o)
		}
	}
	return nonEmpty(list)
}

func validOU(o string) bool {
	if ouIDRe.MatchString(o) {
		return true
	}
	if o != "Root" && !strings.HasPrefix(o, "Root/") {
		return false
	}
	for _, part := range strings.Split(strings.TrimSuffix(o, "/"), "/") {
		if part == "" {
			return false
		}
	}
	return true
}

func (l *loader) regions(e hcl.Expression, name string) []string {
	list, ok := l.strings(e, name)
	if !ok {
		return nil
	}
	for i, r := range list {
		if !regionRe.MatchString(r) {
			l.errorf(elementRange(e, i), "Invalid region", "%q is not an AWS region name such as \"us-east-1\" or \"eu-west-1\".", r)
		}
	}
	return nonEmpty(list)
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
