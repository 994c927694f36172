package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/evidence"
)

// column is one control of the heatmap.
type column struct {
	ref   guardrails.ControlRef
	label string
	// Counts of accounts per state (filled after the first pass).
	count [5]int
}

// row is one account of the heatmap: a status byte per column.
type row struct {
	id, name, ou string
	cells        []state
}

type csfCount struct{ pass, fail, other int }

type heatmap struct {
	cols  []*column
	index map[string]int
	rows  []*row
	csf   map[string]*csfCount // "2.0 PR.AA", "2.0 PR" (function) → counts of findings
	total [5]int               // findings per state
}

func newHeatmap() *heatmap {
	return &heatmap{index: map[string]int{}, csf: map[string]*csfCount{}}
}

func (h *heatmap) col(ref guardrails.ControlRef) int {
	key := ref.Short()
	if i, ok := h.index[key]; ok {
		return i
	}
	h.cols = append(h.cols, &column{ref: ref, label: key})
	h.index[key] = len(h.cols) - 1
	return len(h.cols) - 1
}

// refsOf is the columns a record counts in: its controls, or the
// guardrail itself when it maps to none.
func (r *reader) refsOf(rec evidence.Record) []guardrails.ControlRef {
	refs := r.controls(rec)
	if len(refs) == 0 {
		refs = []guardrails.ControlRef{{Framework: "orgguard", Title: "orgguard guardrail", Version: "", ID: rec.GuardrailID}}
	}
	return refs
}

func (h *heatmap) add(r *reader, acct string, recs []evidence.Record, rems []*evidence.RemediationRecord) {
	rw := &row{id: acct}
	for i, rec := range recs {
		if rw.name == "" {
			rw.name, rw.ou = rec.AccountName, rec.OUPath
		}
		s := classify(rec.Status, remStatus(rems[i]))
		h.total[s]++
		for _, ref := range r.refsOf(rec) {
			c := h.col(ref)
			for len(rw.cells) <= c {
				rw.cells = append(rw.cells, stNone)
			}
			if s > rw.cells[c] {
				rw.cells[c] = s
			}
		}
		if rec.CSF != "" {
			v := guardrails.CSFVersion(rec.CSF)
			fn, cat := rec.CSF, ""
			if len(rec.CSF) >= 5 {
				fn, cat = rec.CSF[:2], rec.CSF[:5]
			}
			for _, k := range []string{v + " " + fn, v + " " + cat} {
				if strings.HasSuffix(k, " ") {
					continue
				}
				cc := h.csf[k]
				if cc == nil {
					cc = &csfCount{}
					h.csf[k] = cc
				}
				switch s {
				case stPass:
					cc.pass++
				case stFail:
					cc.fail++
				default:
					cc.other++
				}
			}
		}
	}
	h.rows = append(h.rows, rw)
}

// order sorts columns (framework, version, natural ID) and rows (OU,
// account), and counts accounts per column state.
func (h *heatmap) order() []int {
	perm := make([]int, len(h.cols))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(a, b int) bool {
		ca, cb := h.cols[perm[a]].ref, h.cols[perm[b]].ref
		if ca.Framework != cb.Framework {
			return frameworkRank(ca.Framework) < frameworkRank(cb.Framework)
		}
		if ca.Version != cb.Version {
			return ca.Version < cb.Version
		}
		return naturalLess(ca.ID, cb.ID)
	})
	sort.SliceStable(h.rows, func(a, b int) bool {
		if h.rows[a].ou != h.rows[b].ou {
			return h.rows[a].ou < h.rows[b].ou
		}
		return h.rows[a].id < h.rows[b].id
	})
	for _, rw := range h.rows {
		for c := range h.cols {
			s := stNone
			if c < len(rw.cells) {
				s = rw.cells[c]
			}
			h.cols[c].count[s]++
		}
	}
	return perm
}

func frameworkRank(f string) int {
	switch f {
	case "CIS":
		return 0
	case "FSBP":
		return 1
	case "PCI":
		return 2
	case "NIST CSF":
		return 3
	}
	return 4
}

// naturalLess orders "1.9" before "1.10" and "EC2.2" before "EC2.13".
func naturalLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil && na != nb:
			return na < nb
		case (ea != nil || eb != nil) && pa[i] != pb[i]:
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

func h(s string) string { return html.EscapeString(s) }

func anchor(acct string, col int) string { return "d-" + acct + "-" + strconv.Itoa(col) }

const css = `
body{font:13px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f23}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.meta td:first-child{font-weight:600}
.hm{font-size:11px}.hm th.c{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500}
.hm td{text-align:center;padding:1px 3px;min-width:14px}.hm td.a{text-align:left;white-space:nowrap}
.pass{background:#d4f4dd}.fail{background:#ffd7d5}.exempt{background:#fff3c4}.na{background:#eef0f2;color:#6a737d}
.fail a{color:#a40e26;text-decoration:none;font-weight:700}.ou td{background:#eaeef2;font-weight:600;text-align:left}
.bar{display:inline-block;height:10px;background:#2da44e}.barf{display:inline-block;height:10px;background:#cf222e}
pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;border:1px solid #eee;margin:4px 0}
.finding{border:1px solid #d0d7de;padding:6px 10px;margin:8px 0;page-break-inside:avoid}
.small{color:#57606a;font-size:12px}
@media print{body{margin:8mm}a{color:inherit}.hm{font-size:8px}h2{page-break-after:avoid}.details{page-break-before:always}}
`

var stateClass = [...]string{"", "na", "exempt", "pass", "fail"}
var stateMark = [...]string{"", "–", "E", "✓", "✗"}

// html writes the self-contained report: two passes over the run's
// records (the heatmap and rollups first, then the failing findings'
// evidence), keeping only the compact heatmap between them.
func (r *reader) html(ctx context.Context, out io.Writer, man evidence.RunManifest, trendN int) error {
	hm := newHeatmap()
	if err := r.each(ctx, func(acct string, recs []evidence.Record, rems []*evidence.RemediationRecord) error {
		hm.add(r, acct, recs, rems)
		return nil
	}); err != nil {
		return err
	}
	perm := hm.order()
	w := bufio.NewWriterSize(out, 64<<10)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	title := "orgguard report — run " + man.RunID
	p("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n", h(title))
	p("<meta name=\"generator\" content=\"orgguard\"><style>%s</style></head><body>\n", css)
	p("<h1>%s</h1>\n", h(title))
	fwName := "every framework"
	if r.framework != "" {
		fwName = r.framework
	}
	p("<p class=\"small\">Generated %s from the evidence store (%s). Framework: %s.</p>\n",
		time.Now().UTC().Format(time.RFC3339), h(r.st.B.Where()), h(fwName))
	p("<table class=\"meta\">")
	meta := [][2]string{
		{"Run", man.RunID}, {"Pack", man.Pack}, {"Pack digest", man.Digest}, {"Mode", string(man.Mode)},
		{"Status", man.Status}, {"Requested by", requester(man)}, {"Reason", man.Reason},
		{"Started", timeString(man.StartedAt)}, {"Finished", timeString(man.FinishedAt)}, {"Stopped", man.Stopped},
		{"Accounts", strconv.Itoa(len(hm.rows))},
		{"Findings", fmt.Sprintf("%d pass, %d fail, %d exempt, %d n/a", hm.total[stPass], hm.total[stFail], hm.total[stExempt], hm.total[stNA])},
	}
	for _, m := range meta {
		if m[1] != "" {
			p("<tr><td>%s</td><td>%s</td></tr>", h(m[0]), h(m[1]))
		}
	}
	p("</table>\n")

	// Rollup per framework: accounts passing and failing each control.
	p("<h2>Rollup per framework and control</h2>\n<table><tr><th>Framework</th><th>Version</th><th>Control</th><th>Accounts pass</th><th>Accounts fail</th><th>Exempt</th><th>N/A</th><th></th></tr>\n")
	for _, c := range perm {
		col := hm.cols[c]
		n := col.count[stPass] + col.count[stFail]
		bar := ""
		if n > 0 {
			bar = fmt.Sprintf("<span class=\"bar\" style=\"width:%dpx\"></span><span class=\"barf\" style=\"width:%dpx\"></span>",
				col.count[stPass]*120/n, col.count[stFail]*120/n)
		}
		p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>\n",
			h(col.ref.Title), h(col.ref.Version), h(col.ref.ID), col.count[stPass], col.count[stFail], col.count[stExempt], col.count[stNA], bar)
	}
	p("</table>\n")

	// NIST CSF functions and categories.
	if len(hm.csf) > 0 {
		p("<h2>NIST Cybersecurity Framework: findings per function and category</h2>\n<table><tr><th>Version</th><th>Function / category</th><th>Name</th><th>Pass</th><th>Fail</th><th>Other</th></tr>\n")
		keys := make([]string, 0, len(hm.csf))
		for k := range hm.csf {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, ref, _ := strings.Cut(k, " ")
			name := guardrails.CSFCategoryName(v, ref)
			if len(ref) == 2 {
				name = guardrails.CSFFunctions[ref]
				ref = "<b>" + h(ref) + "</b>"
			} else {
				ref = "&nbsp;&nbsp;" + h(ref)
			}
			c := hm.csf[k]
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>\n", h(v), ref, h(name), c.pass, c.fail, c.other)
		}
		p("</table>\n")
	}

	if err := r.trend(ctx, p, man, trendN); err != nil {
		return err
	}

	// Heatmap: accounts grouped by OU × controls.
	p("<h2>Compliance heatmap: accounts × controls</h2>\n<p class=\"small\">✓ pass, ✗ fail (links to the evidence), E exempt, – not applicable or not checked, blank: no guardrail of the control ran there.</p>\n")
	p("<table class=\"hm\"><tr><th>Account</th>")
	for _, c := range perm {
		p("<th class=\"c\" title=\"%s\">%s</th>", h(hm.cols[c].ref.String()), h(hm.cols[c].label))
	}
	p("</tr>\n")
	ou := "\x00"
	for _, rw := range hm.rows {
		if rw.ou != ou {
			ou = rw.ou
			name := ou
			if name == "" {
				name = "(no OU recorded)"
			}
			p("<tr class=\"ou\"><td colspan=\"%d\">%s</td></tr>\n", len(perm)+1, h(name))
		}
		label := rw.id
		if rw.name != "" {
			label += " " + rw.name
		}
		p("<tr><td class=\"a\">%s</td>", h(label))
		for _, c := range perm {
			s := stNone
			if c < len(rw.cells) {
				s = rw.cells[c]
			}
			switch s {
			case stNone:
				p("<td></td>")
			case stFail:
				p("<td class=\"fail\"><a href=\"#%s\">✗</a></td>", anchor(rw.id, c))
			default:
				p("<td class=\"%s\">%s</td>", stateClass[s], stateMark[s])
			}
		}
		p("</tr>\n")
	}
	p("</table>\n")
	if err := w.Flush(); err != nil {
		return err
	}

	// Evidence of every failing finding, with its decision trail.
	p("<div class=\"details\"><h2>Failing findings: evidence and decisions</h2>\n")
	if err := r.each(ctx, func(acct string, recs []evidence.Record, rems []*evidence.RemediationRecord) error {
		first := true
		for i, rec := range recs {
			if classify(rec.Status, remStatus(rems[i])) != stFail {
				continue
			}
			if first {
				p("<h3>Account %s %s <span class=\"small\">%s</span></h3>\n", h(acct), h(rec.AccountName), h(rec.OUPath))
				first = false
			}
			ids := ""
			for _, ref := range r.refsOf(rec) {
				ids += fmt.Sprintf("<span id=\"%s\"></span>", anchor(acct, hm.index[ref.Short()]))
			}
			p("<div class=\"finding\">%s<b>%s</b> · %s · <code>%s</code> · status %s", ids, h(rec.GuardrailID), h(rec.Region), h(rec.Resource), h(rec.Status))
			if rec.Severity != "" {
				p(" · severity %s", h(rec.Severity))
			}
			p("<br><span class=\"small\">%s</span>\n", h(strings.Join(controlStrings(r.controls(rec)), " · ")))
			p("<p>%s</p>\n", h(rec.Evidence))
			if len(rec.Facts) > 0 {
				keys := make([]string, 0, len(rec.Facts))
				for k := range rec.Facts {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				p("<table>")
				for _, k := range keys {
					p("<tr><td>%s</td><td>%s</td></tr>", h(k), h(rec.Facts[k]))
				}
				p("</table>\n")
			}
			if rec.Change != nil {
				p("<p>Planned change: %s</p><pre>%s</pre>\n", h(rec.Change.Summary), h(rec.Change.Diff))
			}
			if rec.Error != "" {
				p("<p>Error: %s</p>\n", h(rec.Error))
			}
			if rec.RemediationID != "" {
				writeTrail(p, rec.RemediationID, rems[i])
			}
			p("</div>\n")
		}
		return w.Flush()
	}); err != nil {
		return err
	}
	p("</div></body></html>\n")
	return w.Flush()
}

func writeTrail(p func(string, ...any), id string, rm *evidence.RemediationRecord) {
	if rm == nil {
		p("<p>Remediation <code>%s</code>: no decision recorded yet (still pending, or decided before the evidence store was configured).</p>\n", h(id))
		return
	}
	st := rm.State
	p("<p>Remediation <code>%s</code>: <b>%s</b>; policy %s, quorum %d; requested by %s at %s.</p>\n",
		h(id), h(st.Status), h(st.Policy), st.Quorum, h(st.RequestedBy), h(timeString(st.RequestedAt)))
	if len(st.Votes) > 0 {
		p("<table><tr><th>Approver (verified)</th><th>Decision</th><th>Reason</th><th>At</th><th>Issuer</th><th>Token</th></tr>")
		for _, v := range st.Votes {
			d := "reject"
			if v.Approve {
				d = "approve"
			}
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
				h(v.Approver), d, h(v.Reason), h(timeString(v.At)), h(v.Issuer), h(v.TokenID))
		}
		p("</table>\n")
	}
	if len(st.Calls) > 0 {
		p("<p class=\"small\">Calls: %s</p>\n", h(strings.Join(st.Calls, "; ")))
	}
	if st.Error != "" {
		p("<p>Error: %s</p>\n", h(st.Error))
	}
}

// trend shows the pack's last runs from their manifests.
func (r *reader) trend(ctx context.Context, p func(string, ...any), man evidence.RunManifest, n int) error {
	if man.Pack == "" {
		return nil
	}
	runs, err := r.st.PackRuns(ctx, man.Pack)
	if err != nil {
		return err
	}
	if len(runs) > n {
		runs = runs[len(runs)-n:]
	}
	p("<h2>Trend: the last %d run(s) of pack %s</h2>\n<table><tr><th>Run</th><th>Mode</th><th>Started</th><th>Status</th><th>Compliant</th><th>Non-compliant</th><th>Remediated</th><th>Pending approval</th><th></th></tr>\n", len(runs), h(man.Pack))
	for _, id := range runs {
		m, err := r.st.Run(ctx, id)
		if errors.Is(err, evidence.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		c := m.Counts
		if c == nil {
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td colspan=\"5\">not finished</td></tr>\n", h(id), h(string(m.Mode)), h(timeString(m.StartedAt)), h(m.Status))
			continue
		}
		tot := c.Compliant + c.NonCompliant + c.Remediated
		bar := ""
		if tot > 0 {
			bar = fmt.Sprintf("<span class=\"bar\" style=\"width:%dpx\"></span><span class=\"barf\" style=\"width:%dpx\"></span>",
				(c.Compliant+c.Remediated)*160/tot, c.NonCompliant*160/tot)
		}
		mark := ""
		if id == man.RunID {
			mark = " (this run)"
		}
		p("<tr><td>%s%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>\n",
			h(id), mark, h(string(m.Mode)), h(timeString(m.StartedAt)), h(m.Status), c.Compliant, c.NonCompliant, c.Remediated, c.PendingApproval, bar)
	}
	p("</table>\n")
	return nil
}

func requester(m evidence.RunManifest) string {
	if m.Requester != nil && m.Requester.Name != "" {
		return m.Requester.Name + " (verified, " + m.Requester.Issuer + ")"
	}
	return m.RequestedBy
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
