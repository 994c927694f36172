// Package audit answers auditors' questions from Temporal: which
// rollouts, account baselines and remediations match a filter (visibility
// over orgguard's search attributes), the decision trail of one remediation
// (its workflow history), and a rollout's progress. `orgguard audit`,
// `orgguard status` and the web console share it, so a filter means the
// same query in both.
package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// Row is one workflow in the audit trail.
type Row struct {
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

// Filter selects audit rows; empty fields match everything. Since and
// Until take RFC3339, a date (YYYY-MM-DD) or a duration ago ("72h", "7d").
type Filter struct {
	Account, Guardrail, Control, Outcome, Approver, Kind, Run string
	Since, Until                                              string
}

// WhenError is a Since or Until that could not be read.
type WhenError struct {
	Field, Value string
	Err          error
}

func (e *WhenError) Error() string { return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err) }
func (e *WhenError) Unwrap() error { return e.Err }

// Query builds the visibility query of f. Values are quoted, and quotes
// inside them escaped, so a filter cannot change the query's shape. The
// only error is a *WhenError.
func (f Filter) Query(now time.Time) (string, error) {
	var parts []string
	eq := func(key, val string) {
		if val != "" {
			parts = append(parts, fmt.Sprintf("%s = '%s'", key, quote(val)))
		}
	}
	eq(workflows.SAAccountID.GetName(), f.Account)
	eq(workflows.SAGuardrail.GetName(), f.Guardrail)
	if f.Control != "" {
		// "CIS 5.4" also finds the versioned forms packs now write ("CIS
		// v3.0.0 5.4"), so an auditor need not know which version a pack used.
		vals := []string{f.Control}
		if ref, _, ok := guardrails.ParseControl(f.Control); ok && ref.Framework == "CIS" && ref.Version == guardrails.VersionUnspecified {
			for _, v := range guardrails.CISVersions {
				vals = append(vals, "CIS "+v+" "+ref.ID)
			}
		}
		quoted := make([]string, len(vals))
		for i, v := range vals {
			quoted[i] = "'" + quote(v) + "'"
		}
		parts = append(parts, fmt.Sprintf("%s IN (%s)", workflows.SAControl.GetName(), strings.Join(quoted, ", ")))
	}
	eq(workflows.SAOutcome.GetName(), f.Outcome)
	eq(workflows.SAApprover.GetName(), f.Approver)
	eq(workflows.SARunID.GetName(), f.Run)
	switch {
	case f.Kind != "":
		eq(workflows.SAKind.GetName(), f.Kind)
	case f.Approver != "":
		// Only remediations carry approvers. One kind is an equality the
		// visibility store answers from its index on the attribute, where
		// the IN list over three kinds is evaluated row by row.
		eq(workflows.SAKind.GetName(), workflows.KindRemediation)
	default:
		parts = append(parts, fmt.Sprintf("%s IN ('%s', '%s', '%s')", workflows.SAKind.GetName(), workflows.KindRollout, workflows.KindBaseline, workflows.KindRemediation))
	}
	for _, b := range []struct{ field, op, val string }{{"since", ">=", f.Since}, {"until", "<", f.Until}} {
		if b.val == "" {
			continue
		}
		t, err := ParseWhen(b.val, now)
		if err != nil {
			return "", &WhenError{Field: b.field, Value: b.val, Err: err}
		}
		parts = append(parts, fmt.Sprintf("StartTime %s '%s'", b.op, t.UTC().Format(time.RFC3339)))
	}
	return strings.Join(parts, " AND "), nil
}

// quote escapes a value for a single-quoted visibility literal: a
// backslash first, so that an escaped quote cannot be un-escaped by one
// the value brings.
func quote(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`)
}

// ParseWhen accepts RFC3339, a date (YYYY-MM-DD) or a duration ago ("72h", "7d").
func ParseWhen(s string, now time.Time) (time.Time, error) {
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

// ListExecutions pages through a visibility query, calling fn for each
// execution until fn returns false or the pages end.
func ListExecutions(ctx context.Context, c client.Client, query string, fn func(*workflowpb.WorkflowExecutionInfo) bool) error {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return fmt.Errorf("visibility query %q: %w", query, err)
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

// ListWorkflowIDs lists the workflow IDs a visibility query matches.
func ListWorkflowIDs(ctx context.Context, c client.Client, query string) ([]string, error) {
	var ids []string
	err := ListExecutions(ctx, c, query, func(e *workflowpb.WorkflowExecutionInfo) bool {
		ids = append(ids, e.Execution.WorkflowId)
		return true
	})
	return ids, err
}

// Rows lists at most limit audit rows matching a visibility query (from
// Filter.Query), open first, then the latest closed, as visibility orders
// them.
func Rows(ctx context.Context, c client.Client, query string, limit int) ([]Row, error) {
	var rows []Row
	if limit <= 0 {
		return rows, nil
	}
	_, _, err := Stream(ctx, c, query, limit, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// Stream lists up to limit rows (0: all) of a visibility query in the
// server's order (open first, then the latest closed), handing each to
// emit as it arrives, so that a month of audit trail never sits in
// memory. more says that rows were left out, or may have been: the last
// page ended exactly at the limit and the server had more pages.
func Stream(ctx context.Context, c client.Client, query string, limit int, emit func(Row) error) (n int, more bool, err error) {
	var token []byte
	for {
		// One row past the limit tells whether the answer was cut without
		// another query, and a small limit keeps the server from reading a
		// whole page. 0 asks for the server's maximum
		// (frontend.visibilityMaxPageSize), which also cuts larger asks.
		var size int32
		if limit > 0 {
			size = int32(min(limit-n+1, math.MaxInt32))
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: size})
		if err != nil {
			return n, false, fmt.Errorf("visibility query %q: %w", query, err)
		}
		for _, e := range resp.Executions {
			if limit > 0 && n == limit {
				return n, true, nil
			}
			if err := emit(RowOf(e)); err != nil {
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

// RowOf is the audit row of one visibility record.
func RowOf(e *workflowpb.WorkflowExecutionInfo) Row {
	r := Row{WorkflowID: e.Execution.WorkflowId, Started: e.StartTime.AsTime()}
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

// ErrNoRollout: no rollout has this run ID.
var ErrNoRollout = errors.New("no such rollout")

// Progress asks a rollout for its progress (the progress query): state,
// counts per wave, failures. It wraps ErrNoRollout when there is no such run.
func Progress(ctx context.Context, c client.Client, runID string) (workflows.Progress, error) {
	var p workflows.Progress
	v, err := c.QueryWorkflow(ctx, workflows.RolloutID(runID), "", workflows.QueryProgress)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return p, fmt.Errorf("no rollout with run ID %s: %w", runID, ErrNoRollout)
		}
		return p, fmt.Errorf("query rollout %s: %w", runID, err)
	}
	return p, v.Get(&p)
}

// TrailEntry is one step of a remediation's decision trail.
type TrailEntry struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"` // detected, planned, notified, approved, rejected, applied, verified, outcome
	Who    string    `json:"who,omitempty"`
	Detail string    `json:"detail"`
}

// DecisionTrail reads the decision trail of one remediation from its
// history (not a query), so it works for closed workflows without a
// worker and shows exactly what was recorded.
func DecisionTrail(ctx context.Context, c client.Client, id string) ([]TrailEntry, error) {
	dc := converter.GetDefaultDataConverter()
	iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var trail []TrailEntry
	scheduled := map[int64]string{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		at := ev.EventTime.AsTime()
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			attrs := ev.GetWorkflowExecutionStartedEventAttributes()
			if attrs.WorkflowType.Name != workflows.WorkflowRemediation {
				return nil, fmt.Errorf("%s is a %s workflow, not a remediation", id, attrs.WorkflowType.Name)
			}
			var in workflows.RemediationInput
			if err := dc.FromPayloads(attrs.Input, &in); err != nil {
				return nil, fmt.Errorf("decode %s input: %w", id, err)
			}
			requester := in.RequestedBy
			if in.Requester != nil {
				requester = in.Requester.String()
			}
			trail = append(trail, TrailEntry{At: at, Step: "detected",
				Detail: fmt.Sprintf("%s in account %s %s, run %s requested by %s (guardrails digest %s)\n%s\ncontrols: %s",
					in.Guardrail.ID, in.Account.ID, in.Finding.Region, in.RunID, requester, guardrails.ShortDigest(in.Digest), in.Finding.Evidence, strings.Join(in.Guardrail.Controls, ", "))})
			if in.Finding.Change != nil {
				trail = append(trail, TrailEntry{At: at, Step: "planned", Detail: in.Finding.Change.Summary + "\n" + in.Finding.Change.Diff})
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
			trail = append(trail, TrailEntry{At: at, Step: step, Who: v.Approver, Detail: detail})
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.EventId] = ev.GetActivityTaskScheduledEventAttributes().ActivityType.Name
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			attrs := ev.GetActivityTaskCompletedEventAttributes()
			switch scheduled[attrs.ScheduledEventId] {
			case workflows.ActivityNotifyApprovers:
				trail = append(trail, TrailEntry{At: at, Step: "notified", Detail: "approvers notified"})
			case workflows.ActivityNotifyEvent:
				var out workflows.NotifyEventOutput
				_ = dc.FromPayloads(attrs.Result, &out)
				for _, d := range out.Deliveries {
					trail = append(trail, TrailEntry{At: at, Step: "notified", Detail: d.String()})
				}
			case workflows.ActivityApplyRemediation:
				var out workflows.ApplyOutput
				_ = dc.FromPayloads(attrs.Result, &out)
				detail := "nothing left to change"
				if len(out.Calls) > 0 {
					detail = strings.Join(out.Calls, "\n")
				}
				trail = append(trail, TrailEntry{At: at, Step: "applied", Detail: detail})
			case workflows.ActivityCheckGuardrail:
				var out workflows.CheckOutput
				_ = dc.FromPayloads(attrs.Result, &out)
				detail := "re-check: compliant"
				for _, f := range out.Findings {
					if f.Status == workflows.StatusNonCompliant {
						detail = "re-check: still non-compliant: " + f.Evidence
					}
				}
				trail = append(trail, TrailEntry{At: at, Step: "verified", Detail: detail})
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			attrs := ev.GetActivityTaskFailedEventAttributes()
			trail = append(trail, TrailEntry{At: at, Step: "error", Detail: scheduled[attrs.ScheduledEventId] + ": " + attrs.Failure.GetMessage()})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			var st workflows.RemediationState
			_ = dc.FromPayloads(ev.GetWorkflowExecutionCompletedEventAttributes().Result, &st)
			trail = append(trail, TrailEntry{At: at, Step: "outcome", Detail: st.Status + errSuffix(st.Error)})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
			trail = append(trail, TrailEntry{At: at, Step: "outcome", Detail: strings.ToLower(strings.TrimPrefix(ev.EventType.String(), "EVENT_TYPE_WORKFLOW_EXECUTION_"))})
		}
	}
	if len(trail) == 0 {
		return nil, fmt.Errorf("no history for %s", id)
	}
	return trail, nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}
