package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/workflows"
)

// errNoTemporal is returned by the activities that read other workflows
// when the worker was built without a Temporal client.
var errNoTemporal = temporal.NewNonRetryableApplicationError("this worker has no Temporal client for reading other workflows", "NotConfigured", nil)

// PendingForFinding lists the running approval requests of one finding,
// whatever their plan: the baseline that opens a request for a changed plan
// supersedes them. Visibility is eventually consistent, so a request opened
// a moment ago may be missed here; the next run supersedes it then.
func (a *Activities) PendingForFinding(ctx context.Context, in workflows.PendingForFindingInput) (workflows.PendingForFindingOutput, error) {
	var out workflows.PendingForFindingOutput
	if a.Temporal == nil {
		return out, errNoTemporal
	}
	if !strings.HasPrefix(in.Prefix, "rem-") || strings.ContainsAny(in.Prefix+in.AccountID+in.GuardrailID, "'\"\\") {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("invalid finding prefix %q", in.Prefix), "InvalidInput", nil)
	}
	q := fmt.Sprintf("%s = '%s' AND %s = '%s' AND %s = '%s' AND ExecutionStatus = 'Running'",
		workflows.SAKind.GetName(), workflows.KindRemediation, workflows.SAAccountID.GetName(), in.AccountID,
		workflows.SAGuardrail.GetName(), in.GuardrailID)
	var token []byte
	for {
		resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return out, fmt.Errorf("list pending remediations of %s: %w", in.Prefix, err)
		}
		for _, e := range resp.Executions {
			if id := e.GetExecution().GetWorkflowId(); strings.HasPrefix(id, in.Prefix) {
				out.IDs = append(out.IDs, id)
			}
		}
		activity.RecordHeartbeat(ctx, len(out.IDs))
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// RemediationOutcomes reads the status of approval requests: RemPending
// while one runs, its final status once closed, "unknown" when it does not
// exist. Errors talking to Temporal are retried.
func (a *Activities) RemediationOutcomes(ctx context.Context, in workflows.RemediationOutcomesInput) (workflows.RemediationOutcomesOutput, error) {
	out := workflows.RemediationOutcomesOutput{Status: map[string]string{}}
	if a.Temporal == nil {
		return out, errNoTemporal
	}
	for _, id := range in.IDs {
		st, err := a.remediationStatus(ctx, id)
		if err != nil {
			return out, err
		}
		out.Status[id] = st
		activity.RecordHeartbeat(ctx, id)
	}
	return out, nil
}

func (a *Activities) remediationStatus(ctx context.Context, id string) (string, error) {
	desc, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return "unknown", nil
	case err != nil:
		return "", fmt.Errorf("describe remediation %s: %w", id, err)
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return workflows.RemPending, nil
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return workflows.RemFailed, nil
	default:
		// Terminated, cancelled or timed out: closed by a person or the
		// server, not a remediation that failed.
		return strings.ToLower(strings.TrimPrefix(desc.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")), nil
	}
	var st workflows.RemediationState
	if err := a.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		return "", fmt.Errorf("read remediation %s: %w", id, err)
	}
	return st.Status, nil
}
