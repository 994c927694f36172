// Package report turns a run's evidence (internal/evidence) into what an
// auditor takes away: CSV and JSON with one row per finding and versioned
// control IDs, and a self-contained, printable HTML report with a
// compliance heatmap of accounts (grouped by OU) × controls, a rollup per
// framework and NIST CSF function and category, the trend across the
// pack's last runs, and the evidence and decision trail behind each
// failing cell.
//
// Reports stream: records are read one account at a time, and what is
// kept across accounts is one compact row per account (a status byte per
// control) and counters, so 10,000 accounts never load into memory at once.
package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

// Formats.
const (
	FormatHTML = "html"
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatASFF = "asff"
)

// Options select what a report shows.
type Options struct {
	Format string
	// Framework restricts the report to one framework: cis, fsbp, pci or
	// csf ("" or "all": every framework).
	Framework string
	// Trend is how many of the pack's runs the HTML trend shows (default 10).
	Trend int
}

// FrameworkFilter maps the --framework values to framework short names.
var FrameworkFilter = map[string]string{"cis": "CIS", "fsbp": "FSBP", "pci": "PCI", "csf": "NIST CSF", "nist": "NIST CSF"}

// frameworkOf resolves Options.Framework; "" means all.
func (o Options) frameworkOf() (string, error) {
	f := strings.ToLower(strings.TrimSpace(o.Framework))
	if f == "" || f == "all" {
		return "", nil
	}
	if short, ok := FrameworkFilter[f]; ok {
		return short, nil
	}
	return "", fmt.Errorf("--framework %q: want cis, fsbp, pci or csf", o.Framework)
}

// Cell states, worst last: a cell shows the worst of its records.
type state uint8

const (
	stNone   state = iota // no record maps to the control
	stNA                  // not applicable or not checked
	stExempt              // exempted
	stPass                // compliant or remediated
	stFail                // non-compliant, planned, pending, not verified, error
)

func (s state) String() string {
	return [...]string{"", "n/a", "exempt", "pass", "fail"}[s]
}

// Classify maps a record's status (and its remediation's final outcome,
// when known) to pass, fail, exempt or n/a.
func Classify(status, remediation string) string { return classify(status, remediation).String() }

func classify(status, remediation string) state {
	switch remediation {
	case "remediated":
		return stPass
	case "rejected", "expired", "failed", "not_verified", "superseded":
		return stFail
	}
	switch status {
	case "compliant", "remediated", "rolled_back":
		return stPass
	case "exempted":
		return stExempt
	case "not_applicable", "not_checked":
		return stNA
	}
	return stFail
}

// Report writes the run's report in the chosen format.
func Report(ctx context.Context, st *evidence.Store, run string, w io.Writer, opt Options) error {
	fw, err := opt.frameworkOf()
	if err != nil {
		return err
	}
	man, err := st.Run(ctx, run)
	if err != nil && !errors.Is(err, evidence.ErrNotFound) {
		return err
	}
	if err != nil {
		// Records without a manifest (a run started before the store was
		// configured, or whose first write failed) still report.
		found := false
		for _, err := range st.Accounts(ctx, run) {
			if err != nil {
				return err
			}
			found = true
			break
		}
		if !found {
			return fmt.Errorf("run %q has no evidence in %s (is it the run ID orgguard printed, and is --evidence the worker's store?)", run, st.B.Where())
		}
		man = evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: run, Status: "unknown (no manifest)"}}
	}
	r := &reader{st: st, run: run, framework: fw, remediations: map[string]remInfo{}}
	switch strings.ToLower(opt.Format) {
	case FormatCSV:
		return r.csv(ctx, w)
	case FormatJSON:
		return r.json(ctx, w, man)
	case "", FormatHTML:
		trend := opt.Trend
		if trend <= 0 {
			trend = 10
		}
		return r.html(ctx, w, man, trend)
	}
	return fmt.Errorf("--format %q: want html, json, csv or asff", opt.Format)
}

// reader walks a run's records with the report's framework filter and a
// cache of remediation outcomes.
type reader struct {
	st           *evidence.Store
	run          string
	framework    string
	remediations map[string]remInfo
}

type remInfo struct {
	found  bool
	record evidence.RemediationRecord
}

// controls returns the record's controls within the filter.
func (r *reader) controls(rec evidence.Record) []guardrails.ControlRef {
	if r.framework == "" {
		return rec.Controls
	}
	var out []guardrails.ControlRef
	for _, c := range rec.Controls {
		if c.Framework == r.framework {
			out = append(out, c)
		}
	}
	return out
}

// remediation returns the latest recorded outcome of a remediation ID.
func (r *reader) remediation(ctx context.Context, id string) (evidence.RemediationRecord, bool, error) {
	if id == "" {
		return evidence.RemediationRecord{}, false, nil
	}
	if ri, ok := r.remediations[id]; ok {
		return ri.record, ri.found, nil
	}
	rec, err := r.st.Remediation(ctx, id)
	switch {
	case errors.Is(err, evidence.ErrNotFound):
		r.remediations[id] = remInfo{}
		return rec, false, nil
	case err != nil:
		return rec, false, err
	}
	if len(r.remediations) > 100000 {
		clear(r.remediations)
	}
	r.remediations[id] = remInfo{found: true, record: rec}
	return rec, true, nil
}

// each calls fn for every record of the run within the filter, one
// account at a time, with the record's remediation outcome.
func (r *reader) each(ctx context.Context, fn func(acct string, recs []evidence.Record, rem []*evidence.RemediationRecord) error) error {
	for acct, err := range r.st.Accounts(ctx, r.run) {
		if err != nil {
			return err
		}
		recs, err := r.st.AccountRecords(ctx, r.run, acct)
		if err != nil {
			return err
		}
		kept := recs[:0]
		for _, rec := range recs {
			if r.framework == "" || len(r.controls(rec)) > 0 {
				kept = append(kept, rec)
			}
		}
		rems := make([]*evidence.RemediationRecord, len(kept))
		for i, rec := range kept {
			rm, ok, err := r.remediation(ctx, rec.RemediationID)
			if err != nil {
				return err
			}
			if ok {
				rems[i] = &rm
			}
		}
		if err := fn(acct, kept, rems); err != nil {
			return err
		}
	}
	return nil
}

// approvers lists the verified approvers of a remediation.
func approvers(rm *evidence.RemediationRecord) []string {
	if rm == nil {
		return nil
	}
	var out []string
	for _, v := range rm.State.Votes {
		if v.Approve && !slices.Contains(out, v.Approver) {
			out = append(out, v.Approver)
		}
	}
	return out
}

func remStatus(rm *evidence.RemediationRecord) string {
	if rm == nil {
		return ""
	}
	return rm.State.Status
}

func controlStrings(cs []guardrails.ControlRef) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Short()
	}
	return out
}
