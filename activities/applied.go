package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/workflows"
)

// ErrRunInProgress is the ApplicationError type of a rollback asked for
// while the run's baseline of the account still runs: what it applies next
// would be missed.
const ErrRunInProgress = "RunInProgress"

// LoadAppliedChanges reads what run in.RunID applied in one account (the
// organization wave's baseline is account "organization"), each change with
// its undo: auto remediations from the baseline's result, approved ones
// from the result of their Remediation workflow. A run without a baseline
// for the account is NotFound, not an error; errors talking to Temporal are
// retried.
func (a *Activities) LoadAppliedChanges(ctx context.Context, in workflows.LoadAppliedInput) (workflows.LoadAppliedOutput, error) {
	var out workflows.LoadAppliedOutput
	if a.Temporal == nil {
		return out, errNoTemporal
	}
	defer a.keepAlive(ctx, in.RunID, in.AccountID)()
	id := workflows.AccountBaselineID(in.RunID, in.AccountID)
	var res workflows.BaselineResult
	found, running, err := a.workflowResult(ctx, id, workflows.QueryBaseline, &res)
	switch {
	case err != nil:
		return out, err
	case !found:
		out.NotFound = fmt.Sprintf("run %s has no baseline for account %s (no workflow %s)", in.RunID, in.AccountID, id)
		return out, nil
	case running:
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("run %s is still running in account %s (workflow %s): roll back once it has ended", in.RunID, in.AccountID, id),
			ErrRunInProgress, nil)
	}
	out.Changes, err = appliedChanges(in, res, func(remID string) (*workflows.RemediationState, error) {
		var st workflows.RemediationState
		found, running, err := a.workflowResult(ctx, remID, workflows.QueryRemediation, &st)
		if err == nil && running {
			// Still waiting for approvers, or applying right now: its
			// state says which.
			err = a.query(ctx, remID, workflows.QueryRemediation, &st)
		}
		if err != nil || !found {
			return nil, err
		}
		return &st, nil
	})
	activity.GetLogger(ctx).Info("loaded applied changes", "run_id", in.RunID, "account_id", in.AccountID, "changes", len(out.Changes))
	return out, err
}

// appliedChanges picks from a baseline's items the changes the run applied
// and can undo. An item that asked for approval points at its Remediation,
// which remediation reads (nil: it does not exist); a remediation counts for
// the run that opened it, so that a later run attaching to the same request
// does not roll it back a second time.
func appliedChanges(in workflows.LoadAppliedInput, res workflows.BaselineResult,
	remediation func(id string) (*workflows.RemediationState, error)) ([]workflows.AppliedChange, error) {
	var out []workflows.AppliedChange
	for _, it := range res.Items {
		f := it.Finding
		if len(in.Guardrails) > 0 && !slices.Contains(in.Guardrails, f.GuardrailID) {
			continue
		}
		if it.RemediationID == "" {
			if it.Undo != nil && (it.Status == workflows.ItemRemediated || it.Status == workflows.ItemNotVerified) {
				out = append(out, workflows.AppliedChange{
					GuardrailID: f.GuardrailID, Region: f.Region, Resource: f.Resource, Undo: *it.Undo, Status: string(it.Status),
				})
			}
			continue
		}
		st, err := remediation(it.RemediationID)
		if err != nil {
			return out, err
		}
		if st == nil || st.Undo == nil || st.RunID != in.RunID || (st.Status != workflows.RemRemediated && st.Status != workflows.RemNotVerified) {
			continue
		}
		var by []string
		for _, v := range st.Votes {
			if v.Approve && !slices.Contains(by, v.Approver) {
				by = append(by, v.Approver)
			}
		}
		out = append(out, workflows.AppliedChange{
			GuardrailID: st.GuardrailID, Region: st.Region, Resource: st.Resource, Undo: *st.Undo,
			RemediationID: it.RemediationID, AppliedBy: by, Status: st.Status,
		})
	}
	return out, nil
}

// workflowResult reads the result of the latest run of workflow id into
// res: a completed run's result, or the result a failed run carries in its
// error's details. A run closed without either (terminated, cancelled,
// timed out) still answers the query from its history. running reports a
// run that has not closed (res is untouched).
func (a *Activities) workflowResult(ctx context.Context, id, query string, res any) (found, running bool, err error) {
	desc, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("describe workflow %s: %w", id, err)
	case desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return true, true, nil
	}
	err = a.Temporal.GetWorkflow(ctx, id, "").Get(ctx, res)
	if err == nil {
		return true, false, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() && app.Details(res) == nil {
		return true, false, nil
	}
	return true, false, a.query(ctx, id, query, res)
}

func (a *Activities) query(ctx context.Context, id, query string, res any) error {
	v, err := a.Temporal.QueryWorkflow(ctx, id, "", query)
	if err != nil {
		return fmt.Errorf("query %s of workflow %s: %w", query, id, err)
	}
	if err := v.Get(res); err != nil {
		return fmt.Errorf("decode %s of workflow %s: %w", query, id, err)
	}
	return nil
}
