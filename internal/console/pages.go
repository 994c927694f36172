package console

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/report"
	"github.com/orgguard/orgguard/workflows"
)

// auditLimit bounds the rows of one audit search page; runsLimit the runs
// listed.
const (
	auditLimit = 200
	runsLimit  = 50
)

// refreshWhileApplying is how often a page that follows a change in
// progress reloads itself (an approved remediation being applied, a
// running rollout).
const refreshWhileApplying = 2

var pageNames = []string{"login", "error", "approvals", "remediation", "runs", "run", "audit"}

var funcs = template.FuncMap{
	"short": guardrails.ShortDigest,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join": strings.Join,
	// diff splits a readable diff into lines with a class: "add" for
	// lines that add, "del" for lines that remove.
	"diff": func(d string) []diffLine {
		var out []diffLine
		for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			c := ""
			switch {
			case strings.HasPrefix(l, "+"):
				c = "add"
			case strings.HasPrefix(l, "-"):
				c = "del"
			}
			out = append(out, diffLine{Class: c, Text: l})
		}
		return out
	},
	"approvalsOf": approvals.Count,
	"pct": func(n, total int) int {
		if total == 0 {
			return 0
		}
		return n * 100 / total
	},
}

type diffLine struct{ Class, Text string }

func parseTemplates() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// view is what every page gets: who is logged in, the CSRF token for its
// forms, a one-shot message, and where the Temporal Web UI is.
type view struct {
	Title   string
	Nav     string
	Me      *identity.Principal
	CSRF    string
	Flash   *flash
	Refresh int
	Data    any
	s       *Server
}

// WorkflowLink is the Temporal Web UI page of a workflow, or "".
func (v view) WorkflowLink(id string) string { return v.s.workflowLink(id) }

// TemporalUI is the Web UI's base URL, or "".
func (v view) TemporalUI() string { return v.s.o.TemporalUI }

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, ss *session, data any) {
	v := view{Title: page, Nav: page, Data: data, s: s}
	if ss != nil {
		v.Me, v.CSRF, v.Flash = &ss.who, ss.csrf, s.store.takeFlash(ss)
	}
	if m, ok := data.(map[string]any); ok {
		if t, ok := m["Title"].(string); ok {
			v.Title = t
		}
		if n, ok := m["Refresh"].(int); ok {
			v.Refresh = n
		}
	}
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("console: render", zap.String("page", page), zap.Error(err))
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var ss *session
	if c, err := r.Cookie(s.sessionCookie()); err == nil {
		ss, _ = s.store.get(c.Value)
	}
	s.render(w, r, status, "error", ss, map[string]any{"Title": http.StatusText(status), "Message": msg, "Status": status})
}

// backendError shows a failed read: 404 when it is notFound, else 502
// (Temporal, or the worker answering queries, is the upstream).
func (s *Server) backendError(w http.ResponseWriter, r *http.Request, err, notFound error) {
	status := http.StatusBadGateway
	if errors.Is(err, notFound) {
		status = http.StatusNotFound
	}
	s.errorPage(w, r, status, err.Error())
}

// pendingItem is one pending remediation with whether the viewer may vote
// on it (workflows.CanVote, the validator's own rule; the validator still
// decides).
type pendingItem struct {
	workflows.RemediationState
	CannotVote string
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	states, err := s.o.Backend.Pending(r.Context())
	var unread *approvals.UnreadError
	problem := ""
	if err != nil {
		if !errors.As(err, &unread) {
			s.errorPage(w, r, http.StatusBadGateway, "Could not list the pending approvals: "+err.Error())
			return
		}
		problem = unread.Error()
	}
	items := make([]pendingItem, 0, len(states))
	for _, st := range states {
		it := pendingItem{RemediationState: st}
		if err := workflows.CanVote(st, ss.who); err != nil {
			it.CannotVote = err.Error()
		}
		items = append(items, it)
	}
	s.render(w, r, http.StatusOK, "approvals", ss, map[string]any{"Title": "Pending approvals", "Items": items, "Problem": problem})
}

func (s *Server) remediationPage(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		s.errorPage(w, r, http.StatusNotFound, "No such remediation.")
		return
	}
	st, err := s.o.Backend.Remediation(r.Context(), id)
	if err != nil {
		s.backendError(w, r, err, approvals.ErrNotFound)
		return
	}
	trail, terr := s.o.Backend.Trail(r.Context(), id)
	cannot := ""
	if err := workflows.CanVote(st, ss.who); err != nil {
		cannot = err.Error()
	}
	// A vote that reaches the quorum (or rejects) is recorded at once; the
	// status follows when the workflow acts on it.
	decided := st.Status == workflows.RemPending && (approvals.Count(st) >= st.Quorum || rejected(st))
	data := map[string]any{"Title": "Remediation " + id, "S": st, "Trail": trail, "CannotVote": cannot, "Pending": st.Status == workflows.RemPending && !decided}
	if terr != nil {
		data["TrailError"] = terr.Error()
	}
	if st.Status == workflows.RemApproved || decided {
		// The change is being applied and verified: follow it.
		data["Refresh"] = refreshWhileApplying
	}
	s.render(w, r, http.StatusOK, "remediation", ss, data)
}

func rejected(st workflows.RemediationState) bool {
	for _, v := range st.Votes {
		if !v.Approve && v.Policy == st.Policy {
			return true
		}
	}
	return false
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, _ := audit.Filter{Kind: workflows.KindRollout}.Query(s.o.Now())
	rows, err := s.o.Backend.Audit(r.Context(), q, runsLimit)
	if err != nil {
		s.errorPage(w, r, http.StatusBadGateway, "Could not list the runs: "+err.Error())
		return
	}
	s.render(w, r, http.StatusOK, "runs", ss, map[string]any{"Title": "Runs", "Rows": rows, "Limit": runsLimit})
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request, ss *session) {
	run := r.PathValue("run")
	if !idPattern.MatchString(run) {
		s.errorPage(w, r, http.StatusNotFound, "No such run.")
		return
	}
	p, err := s.o.Backend.Progress(r.Context(), run)
	if err != nil {
		s.backendError(w, r, err, audit.ErrNoRollout)
		return
	}
	data := map[string]any{"Title": "Run " + run, "P": p, "Run": run, "RolloutID": workflows.RolloutID(run),
		"Report": "/runs/" + url.PathEscape(run) + "/report"}
	if p.State == "running" || p.State == "discovering" {
		data["Refresh"] = refreshWhileApplying
	}
	s.render(w, r, http.StatusOK, "run", ss, data)
}

// auditFields are the audit search form's fields, in order.
var auditFields = []struct{ Name, Label, Hint string }{
	{"account", "Account", "111122223333"},
	{"guardrail", "Guardrail", "control.default_sg_closed"},
	{"control", "Control", "CIS 5.4"},
	{"outcome", "Outcome", "remediated"},
	{"approver", "Approver", "alice"},
	{"kind", "Kind", "rollout, baseline, remediation"},
	{"run", "Run", "20261124-101500-ab12"},
	{"since", "Since", "72h, 7d, 2026-11-01"},
	{"until", "Until", "2026-12-01"},
}

// auditPage searches the audit trail with the very query `orgguard audit`
// builds from the same fields (audit.Filter).
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q := r.URL.Query()
	f := audit.Filter{Account: q.Get("account"), Guardrail: q.Get("guardrail"), Control: q.Get("control"), Outcome: q.Get("outcome"),
		Approver: q.Get("approver"), Kind: q.Get("kind"), Run: q.Get("run"), Since: q.Get("since"), Until: q.Get("until")}
	type field struct{ Name, Label, Hint, Value string }
	var fields []field
	searched := false
	for _, af := range auditFields {
		fields = append(fields, field{af.Name, af.Label, af.Hint, q.Get(af.Name)})
		searched = searched || q.Has(af.Name)
	}
	data := map[string]any{"Title": "Audit", "Fields": fields, "Searched": searched, "Limit": auditLimit}
	if searched {
		query, err := f.Query(s.o.Now())
		if err != nil {
			data["Problem"] = err.Error()
		} else {
			rows, err := s.o.Backend.Audit(r.Context(), query, auditLimit)
			if err != nil {
				data["Problem"] = err.Error()
			}
			data["Rows"], data["Query"] = rows, query
		}
	}
	s.render(w, r, http.StatusOK, "audit", ss, data)
}

// ─── REPORT ROUTE ──────────────────────────────────────────────────────────
//
// GET /runs/{run}/report serves the run's HTML report (internal/report) from
// the worker's evidence store: the heatmap, the rollups, the trend and the
// drill-down an auditor prints. ?framework=cis|fsbp|pci|csf narrows it. The
// report is self-contained and has no script; its stylesheet is inline, so
// this one page allows inline styles (never scripts).
func (s *Server) report(w http.ResponseWriter, r *http.Request, ss *session) {
	if s.o.Evidence == nil {
		s.errorPage(w, r, http.StatusNotFound, "this worker has no evidence store (--evidence), so there is no report")
		return
	}
	run := r.PathValue("run")
	var buf bytes.Buffer
	err := report.Report(r.Context(), s.o.Evidence, run, &buf, report.Options{Format: report.FormatHTML, Framework: r.URL.Query().Get("framework")})
	switch {
	case errors.Is(err, evidence.ErrNotFound) || (err != nil && strings.Contains(err.Error(), "has no evidence")):
		s.errorPage(w, r, http.StatusNotFound, err.Error())
		return
	case err != nil:
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	_, _ = w.Write(buf.Bytes())
}
