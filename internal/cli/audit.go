package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// auditRow is one workflow in the audit trail.
type auditRow struct {
	Started    time.Time `json:"started"`
	Closed     time.Time `json:"closed,omitzero"`
	Kind       string    `json:"kind"`
	RunID      string    `json:"run_id"`
	Account    string    `json:"account_id,omitempty"`
	Guardrails []string  `json:"guardrails,omitempty"`
	Controls   []string  `json:"controls,omitempty"`
	Outcome    string    `json:"outcome"`
	Approvers  []string  `json:"approvers,omitempty"`
	Requester  string    `json:"requester,omitempty"`
	Digest     string    `json:"digest,omitempty"`
	WorkflowID string    `json:"workflow_id"`
}

type auditFlags struct {
	account, guardrail, control, outcome, approver, kind, run, format string
	since, until                                                      string
	limit                                                             int
}

// query builds a visibility query from the flags. Values are quoted, and
// quotes inside them escaped, so flags cannot change the query's shape.
func (f auditFlags) query(now time.Time) (string, error) {
	var parts []string
	eq := func(key, val string) {
		if val != "" {
			parts = append(parts, fmt.Sprintf("%s = '%s'", key, strings.ReplaceAll(val, "'", "\\'")))
		}
	}
	eq(workflows.SAAccountID.GetName(), f.account)
	eq(workflows.SAGuardrail.GetName(), f.guardrail)
	if f.control != "" {
		// "CIS 5.4" also finds the versioned forms packs now write ("CIS
		// v3.0.0 5.4"), so an auditor need not know which version a pack used.
		vals := []string{f.control}
		if ref, _, ok := guardrails.ParseControl(f.control); ok && ref.Framework == "CIS" && ref.Version == guardrails.VersionUnspecified {
			for _, v := range guardrails.CISVersions {
				vals = append(vals, "CIS "+v+" "+ref.ID)
			}
		}
		quoted := make([]string, len(vals))
		for i, v := range vals {
			quoted[i] = "'" + strings.ReplaceAll(v, "'", "\\'") + "'"
		}
		parts = append(parts, fmt.Sprintf("%s IN (%s)", workflows.SAControl.GetName(), strings.Join(quoted, ", ")))
	}
	eq(workflows.SAOutcome.GetName(), f.outcome)
	eq(workflows.SAApprover.GetName(), f.approver)
	eq(workflows.SARunID.GetName(), f.run)
	switch {
	case f.kind != "":
		eq(workflows.SAKind.GetName(), f.kind)
	case f.approver != "":
		// Only remediations carry approvers. One kind is an equality the
		// visibility store answers from its index on the attribute, where
		// the IN list over three kinds is evaluated row by row.
		eq(workflows.SAKind.GetName(), workflows.KindRemediation)
	default:
		parts = append(parts, fmt.Sprintf("%s IN ('%s', '%s', '%s')", workflows.SAKind.GetName(), workflows.KindRollout, workflows.KindBaseline, workflows.KindRemediation))
	}
	for _, b := range []struct{ flag, op, val string }{{"--since", ">=", f.since}, {"--until", "<", f.until}} {
		if b.val == "" {
			continue
		}
		t, err := parseWhen(b.val, now)
		if err != nil {
			return "", failf(exitUsage, "%s %q: %v", b.flag, b.val, err)
		}
		parts = append(parts, fmt.Sprintf("StartTime %s '%s'", b.op, t.UTC().Format(time.RFC3339)))
	}
	return strings.Join(parts, " AND "), nil
}

// parseWhen accepts RFC3339, a date (YYYY-MM-DD) or a duration ago ("72h", "7d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC3339, YYYY-MM-DD or a duration ago like 72h or 7d")
	}
	return now.Add(-d), nil
}

func auditCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query the audit trail: which accounts, guardrails and controls, with what outcome, approved by whom",
		Long: `audit queries Temporal visibility (orgguard's search attributes) for rollouts, account baselines
and remediations. Examples:

  orgguard audit --control "CIS 5.4" --outcome non_compliant --since 2026-11-01
  orgguard audit --kind remediation --approver alice --format csv
  orgguard audit history rem-20261124-101500-ab12-111111111111-1a2b3c4d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.limit < 0 {
				return failf(exitUsage, "--limit %d: want 0 (all) or more", f.limit)
			}
			w, err := newAuditWriter(cmd.OutOrStdout(), f.format)
			if err != nil {
				return err
			}
			q, err := f.query(time.Now())
			if err != nil {
				return err
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			n, more, err := auditRows(cmd.Context(), c, q, f.limit, w.row)
			if err != nil {
				return err
			}
			if err := w.close(); err != nil {
				return err
			}
			if more {
				// An auditor must not take the first page for the whole
				// answer: say how much was left out.
				total, err := c.CountWorkflow(cmd.Context(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
				switch {
				case err != nil:
					fmt.Fprintf(cmd.ErrOrStderr(), "orgguard: showing the first %d matching workflows (open first, then the latest closed); more match: --limit 0 lists all\n", n)
				case total.GetCount() > int64(n):
					fmt.Fprintf(cmd.ErrOrStderr(), "orgguard: showing the first %d of %d matching workflows (open first, then the latest closed): --limit 0 lists all\n", n, total.GetCount())
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.account, "account", "", "account ID")
	fl.StringVar(&f.guardrail, "guardrail", "", "guardrail ID, e.g. control.default_sg_closed")
	fl.StringVar(&f.control, "control", "", `framework control ID, e.g. "CIS 5.4" or "FSBP EC2.2"`)
	fl.StringVar(&f.outcome, "outcome", "", "outcome: compliant, non_compliant, failed, pending_approval, remediated, rejected, expired, ...")
	fl.StringVar(&f.approver, "approver", "", "who approved")
	fl.StringVar(&f.kind, "kind", "", "rollout, baseline or remediation (default all)")
	fl.StringVar(&f.run, "run", "", "run ID")
	fl.StringVar(&f.since, "since", "", "started at or after (RFC3339, YYYY-MM-DD, or 72h / 7d ago)")
	fl.StringVar(&f.until, "until", "", "started before")
	fl.StringVar(&f.format, "format", "table", "table, json or csv")
	fl.IntVar(&f.limit, "limit", 1000, "at most this many rows, open first, then the latest closed (0: all); a cut answer says so on stderr")
	cmd.AddCommand(auditHistoryCmd(a))
	return cmd
}

// listExecutions pages through a visibility query, calling fn for each
// execution until fn returns false or the pages end.
func listExecutions(ctx context.Context, c client.Client, query string, fn func(*workflowpb.WorkflowExecutionInfo) bool) error {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return failf(exitFindings, "visibility query %q: %v", query, err)
		}
		for _, e := range resp.Executions {
			if !fn(e) {
				return nil
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return nil
		}
	}
}

func listWorkflowIDs(ctx context.Context, c client.Client, query string) ([]string, error) {
	var ids []string
	err := listExecutions(ctx, c, query, func(e *workflowpb.WorkflowExecutionInfo) bool {
		ids = append(ids, e.Execution.WorkflowId)
		return true
	})
	return ids, err
}

// auditRows lists up to limit rows (0: all) of a visibility query in the
// server's order (open first, then the latest closed), handing each to emit as it arrives, so that a month of audit trail
// never sits in memory. more says that rows were left out, or may have
// been: the last page ended exactly at the limit and the server had more
// pages.
func auditRows(ctx context.Context, c client.Client, query string, limit int, emit func(auditRow) error) (n int, more bool, err error) {
	var token []byte
	for {
		// One row past the limit tells whether the answer was cut without
		// another query, and a small limit keeps the server from reading a
		// whole page. 0 asks for the server's maximum
		// (frontend.visibilityMaxPageSize, 1,000 by default), which also
		// cuts larger asks.
		var size int32
		if limit > 0 {
			size = int32(min(limit-n+1, math.MaxInt32))
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: size})
		if err != nil {
			return n, false, failf(exitFindings, "visibility query %q: %v", query, err)
		}
		for _, e := range resp.Executions {
			if limit > 0 && n == limit {
				return n, true, nil
			}
			if err := emit(auditRowOf(e)); err != nil {
				return n, false, err
			}
			n++
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return n, false, nil
		}
		if limit > 0 && n == limit {
			// The page ended at the limit and the server has another:
			// maybe empty, the caller's count tells.
			return n, true, nil
		}
	}
}

func auditRowOf(e *workflowpb.WorkflowExecutionInfo) auditRow {
	r := auditRow{WorkflowID: e.Execution.WorkflowId, Started: e.StartTime.AsTime()}
	if e.CloseTime != nil {
		r.Closed = e.CloseTime.AsTime()
	}
	sa := e.SearchAttributes.GetIndexedFields()
	r.Kind = saString(sa, workflows.SAKind.GetName())
	r.RunID = saString(sa, workflows.SARunID.GetName())
	r.Account = saString(sa, workflows.SAAccountID.GetName())
	r.Outcome = saString(sa, workflows.SAOutcome.GetName())
	r.Requester = saString(sa, workflows.SARequester.GetName())
	r.Digest = saString(sa, workflows.SADigest.GetName())
	r.Guardrails = saList(sa, workflows.SAGuardrail.GetName())
	r.Controls = saList(sa, workflows.SAControl.GetName())
	r.Approvers = saList(sa, workflows.SAApprover.GetName())
	if r.Outcome == "" && e.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		r.Outcome = strings.ToLower(strings.TrimPrefix(e.Status.String(), "WORKFLOW_EXECUTION_STATUS_"))
	}
	return r
}

func saString(sa map[string]*commonpb.Payload, key string) string {
	var s string
	if p, ok := sa[key]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

func saList(sa map[string]*commonpb.Payload, key string) []string {
	var l []string
	if p, ok := sa[key]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &l)
	}
	return l
}

// auditWriter prints audit rows as they come: JSON (an array, one
// indented object per row) and CSV line by line; the table is aligned, so
// tabwriter holds its text until close.
type auditWriter struct {
	out    io.Writer
	format string
	n      int
	csv    *csv.Writer
	tw     *tabwriter.Writer
}

func newAuditWriter(out io.Writer, format string) (*auditWriter, error) {
	w := &auditWriter{out: out, format: format}
	switch format {
	case "json":
	case "csv":
		w.csv = csv.NewWriter(out)
		if err := w.csv.Write([]string{"started", "closed", "kind", "run_id", "account_id", "guardrails", "controls", "outcome", "approvers", "requester", "digest", "workflow_id"}); err != nil {
			return nil, err
		}
	case "table", "":
		w.format = "table"
		w.tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w.tw, "STARTED\tKIND\tRUN\tACCOUNT\tOUTCOME\tGUARDRAILS\tCONTROLS\tAPPROVERS\tWORKFLOW")
	default:
		return nil, failf(exitUsage, "--format %q: want table, json or csv", format)
	}
	return w, nil
}

func (w *auditWriter) row(r auditRow) error {
	w.n++
	switch w.format {
	case "json":
		b, err := json.MarshalIndent(r, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if w.n == 1 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(w.out, "%s%s", sep, b)
		return err
	case "csv":
		closed := ""
		if !r.Closed.IsZero() {
			closed = r.Closed.UTC().Format(time.RFC3339)
		}
		// csv.Writer buffers and reports a failed write at Flush.
		return w.csv.Write([]string{r.Started.UTC().Format(time.RFC3339), closed, r.Kind, r.RunID, r.Account,
			strings.Join(r.Guardrails, ";"), strings.Join(r.Controls, ";"), r.Outcome, strings.Join(r.Approvers, ";"), r.Requester, r.Digest, r.WorkflowID})
	default:
		_, err := fmt.Fprintf(w.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.UTC().Format(time.RFC3339), r.Kind, r.RunID, dash(r.Account),
			dash(r.Outcome), dash(strings.Join(r.Guardrails, ",")), dash(strings.Join(r.Controls, ",")), dash(strings.Join(r.Approvers, ",")), r.WorkflowID)
		return err
	}
}

func (w *auditWriter) close() error {
	switch w.format {
	case "json":
		end := "\n]\n"
		if w.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(w.out, end)
		return err
	case "csv":
		w.csv.Flush()
		return w.csv.Error()
	default:
		if w.n == 0 {
			fmt.Fprintln(w.out, "No matching workflows.")
			return nil
		}
		return w.tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// trailEntry is one step of a remediation's decision trail.
type trailEntry struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"` // detected, planned, notified, approved, rejected, applied, verified, outcome
	Who    string    `json:"who,omitempty"`
	Detail string    `json:"detail"`
}

func auditHistoryCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Print the decision trail of one remediation from its workflow history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			trail, err := decisionTrail(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, trail)
			}
			fmt.Fprintf(out, "Decision trail of %s\n", args[0])
			for _, e := range trail {
				who := ""
				if e.Who != "" {
					who = " by " + e.Who
				}
				fmt.Fprintf(out, "  %s  %-9s%s\n", e.At.UTC().Format(time.RFC3339), e.Step, who)
				for _, line := range strings.Split(strings.TrimRight(e.Detail, "\n"), "\n") {
					fmt.Fprintf(out, "      %s\n", line)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// decisionTrail reads the history itself (not a query), so it works for
// closed workflows without a worker and shows exactly what was recorded.
func decisionTrail(ctx context.Context, c client.Client, id string) ([]trailEntry, error) {
	dc := converter.GetDefaultDataConverter()
	iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var trail []trailEntry
	scheduled := map[int64]string{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, failf(exitFindings, "history of %s: %v", id, err)
		}
		at := ev.EventTime.AsTime()
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			attrs := ev.GetWorkflowExecutionStartedEventAttributes()
			if attrs.WorkflowType.Name != workflows.WorkflowRemediation {
				return nil, failf(exitFindings, "%s is a %s workflow, not a remediation", id, attrs.WorkflowType.Name)
			}
			var in workflows.RemediationInput
			if err := dc.FromPayloads(attrs.Input, &in); err != nil {
				return nil, failf(exitFindings, "decode %s input: %v", id, err)
			}
			requester := in.RequestedBy
			if in.Requester != nil {
				requester = in.Requester.String()
			}
			trail = append(trail, trailEntry{At: at, Step: "detected",
				Detail: fmt.Sprintf("%s in account %s %s, run %s requested by %s (guardrails digest %s)\n%s\ncontrols: %s",
					in.Guardrail.ID, in.Account.ID, in.Finding.Region, in.RunID, requester, guardrails.ShortDigest(in.Digest), in.Finding.Evidence, strings.Join(in.Guardrail.Controls, ", "))})
			if in.Finding.Change != nil {
				trail = append(trail, trailEntry{At: at, Step: "planned", Detail: in.Finding.Change.Summary + "\n" + in.Finding.Change.Diff})
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			// The recorded vote is the workflow's own (verified) record, not
			// what the client sent: the update's result is the state with
			// the new vote last.
			var st workflows.RemediationState
			if err := dc.FromPayloads(ev.GetWorkflowExecutionUpdateCompletedEventAttributes().GetOutcome().GetSuccess(), &st); err != nil || len(st.Votes) == 0 {
				continue
			}
			v := st.Votes[len(st.Votes)-1]
			step := "approved"
			if !v.Approve {
				step = "rejected"
			}
			detail := "reason: " + v.Reason
			if v.Subject != "" {
				detail += fmt.Sprintf("\nverified: issuer %s, subject %s, token %s, plan digest %s", v.Issuer, v.Subject, v.TokenID, guardrails.ShortDigest(v.ChangeDigest))
			} else {
				detail += "\nunverified: recorded before orgguard verified identities"
			}
			trail = append(trail, trailEntry{At: at, Step: step, Who: v.Approver, Detail: detail})
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.EventId] = ev.GetActivityTaskScheduledEventAttributes().ActivityType.Name
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			attrs := ev.GetActivityTaskCompletedEventAttributes()
			switch scheduled[attrs.ScheduledEventId] {
			case workflows.ActivityNotifyApprovers:
				trail = append(trail, trailEntry{At: at, Step: "notified", Detail: "approvers notified"})
			case workflows.ActivityApplyRemediation:
				var out workflows.ApplyOutput
				_ = dc.FromPayloads(attrs.Result, &out)
				detail := "nothing left to change"
				if len(out.Calls) > 0 {
					detail = strings.Join(out.Calls, "\n")
				}
				trail = append(trail, trailEntry{At: at, Step: "applied", Detail: detail})
			case workflows.ActivityCheckGuardrail:
				var out workflows.CheckOutput
				_ = dc.FromPayloads(attrs.Result, &out)
				detail := "re-check: compliant"
				for _, f := range out.Findings {
					if f.Status == workflows.StatusNonCompliant {
						detail = "re-check: still non-compliant: " + f.Evidence
					}
				}
				trail = append(trail, trailEntry{At: at, Step: "verified", Detail: detail})
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			attrs := ev.GetActivityTaskFailedEventAttributes()
			trail = append(trail, trailEntry{At: at, Step: "error", Detail: scheduled[attrs.ScheduledEventId] + ": " + attrs.Failure.GetMessage()})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			var st workflows.RemediationState
			_ = dc.FromPayloads(ev.GetWorkflowExecutionCompletedEventAttributes().Result, &st)
			trail = append(trail, trailEntry{At: at, Step: "outcome", Detail: st.Status + errSuffix(st.Error)})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
			trail = append(trail, trailEntry{At: at, Step: "outcome", Detail: strings.ToLower(strings.TrimPrefix(ev.EventType.String(), "EVENT_TYPE_WORKFLOW_EXECUTION_"))})
		}
	}
	if len(trail) == 0 {
		return nil, failf(exitFindings, "no history for %s", id)
	}
	return trail, nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}
