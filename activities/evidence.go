package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

// ErrNoEvidenceStore is the ApplicationError type when the worker has no
// evidence store configured.
const ErrNoEvidenceStore = "NoEvidenceStore"

// RecordBaseline writes one finished baseline's evidence records. It
// reads the baseline's result from Temporal (a failed baseline's result is
// in its error's details), so history carries no further copy of the
// findings. Rewriting the account's object on a retry is harmless: the
// same records replace the same key.
func (a *Activities) RecordBaseline(ctx context.Context, in workflows.RecordBaselineInput) (workflows.RecordBaselineOutput, error) {
	if a.Evidence == nil {
		return workflows.RecordBaselineOutput{}, temporal.NewNonRetryableApplicationError("this worker has no evidence store (--evidence)", ErrNoEvidenceStore, nil)
	}
	if a.Temporal == nil {
		return workflows.RecordBaselineOutput{}, temporal.NewNonRetryableApplicationError(
			"RecordBaseline reads the baseline through Temporal and this worker has no client", ErrNoEvidenceStore, nil)
	}
	var res workflows.BaselineResult
	err := a.Temporal.GetWorkflow(ctx, in.WorkflowID, in.WorkflowRunID).Get(ctx, &res)
	var app *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &app) && app.HasDetails():
		// CheckFailed / RemediationFailed carry the result.
		if derr := app.Details(&res); derr != nil {
			return workflows.RecordBaselineOutput{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("baseline %s: decode the result in its error: %v", in.WorkflowID, derr), "InvalidState", derr)
		}
	case errors.As(err, new(*temporal.CanceledError)), errors.As(err, new(*temporal.TerminatedError)), errors.As(err, new(*temporal.TimeoutError)), errors.As(err, &app):
		// Ended without a result: nothing to record.
		return workflows.RecordBaselineOutput{}, nil
	default:
		// Retryable: the frontend may be restarting.
		return workflows.RecordBaselineOutput{}, fmt.Errorf("read baseline %s for its evidence: %w", in.WorkflowID, err)
	}
	kinds := map[string]guardrails.Guardrail{}
	if in.Digest != "" {
		// The set gives each record its kind; without it the records still
		// carry everything the findings say.
		if set, err := a.guardrailSet(ctx, in.RunID, in.Digest); err == nil {
			for _, g := range set.Guardrails {
				kinds[g.ID] = g
			}
		} else {
			activity.GetLogger(ctx).Warn("evidence without guardrail kinds: guardrail set unavailable", "digest", in.Digest, "error", err)
		}
	}
	recs := BaselineRecords(in, res, kinds, time.Now().UTC())
	if err := a.Evidence.PutAccount(ctx, in.RunID, in.Key, recs); err != nil {
		return workflows.RecordBaselineOutput{}, fmt.Errorf("account %s: %w", in.Key, err)
	}
	return workflows.RecordBaselineOutput{Records: len(recs)}, nil
}

// BaselineRecords turns one account's baseline result into evidence
// records, one per item (account × region × guardrail × resource).
func BaselineRecords(in workflows.RecordBaselineInput, res workflows.BaselineResult, set map[string]guardrails.Guardrail, at time.Time) []evidence.Record {
	out := make([]evidence.Record, 0, len(res.Items))
	for _, it := range res.Items {
		f := it.Finding
		g := set[f.GuardrailID]
		controls, csf, severity := f.Controls, f.CSF, f.Severity
		if len(controls) == 0 {
			controls = g.Controls
		}
		if csf == "" {
			csf = g.CSF
		}
		if severity == "" {
			severity = g.Severity
		}
		region := f.Region
		if region == "" {
			region = "global"
		}
		out = append(out, evidence.Record{
			RunID: in.RunID, PackDigest: in.Digest, Mode: string(in.Mode),
			AccountID: in.Account.ID, AccountName: in.Account.Name, OUPath: in.Account.OUPath,
			Region: region, GuardrailID: f.GuardrailID, Kind: string(g.Kind), Resource: f.Resource,
			Status: string(it.Status), Evidence: f.Evidence, Facts: f.Facts, Change: f.Change,
			RemediationID: it.RemediationID, Calls: it.Calls, Exemption: it.Exemption, Error: it.Error,
			Controls: guardrails.ControlRefs(controls, csf), CSF: csf, Severity: severity,
			RecordedAt: at,
		})
	}
	return out
}

// RecordRun writes a run's manifest.
func (a *Activities) RecordRun(ctx context.Context, in workflows.RecordRunInput) error {
	if a.Evidence == nil {
		activity.GetLogger(ctx).Warn("run manifest not recorded: this worker has no evidence store", "run_id", in.RunID)
		return nil
	}
	return a.Evidence.PutRun(ctx, evidence.RunManifest{RecordRunInput: in})
}

// RecordRemediation writes the calling remediation's state (read through
// its remediation query) to the evidence store.
func (a *Activities) RecordRemediation(ctx context.Context, in workflows.RecordRemediationInput) error {
	if a.Evidence == nil {
		activity.GetLogger(ctx).Warn("remediation not recorded: this worker has no evidence store", "remediation_id", in.ID)
		return nil
	}
	if a.Temporal == nil || !activity.IsActivity(ctx) {
		return temporal.NewNonRetryableApplicationError("RecordRemediation reads the remediation through Temporal and this worker has no client", ErrNoEvidenceStore, nil)
	}
	info := activity.GetInfo(ctx)
	v, err := a.Temporal.QueryWorkflow(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, workflows.QueryRemediation)
	if err != nil {
		return fmt.Errorf("read remediation %s for its evidence: %w", in.ID, err)
	}
	var st workflows.RemediationState
	if err := v.Get(&st); err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("decode remediation %s: %v", in.ID, err), "InvalidState", err)
	}
	if st.ID != in.ID {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("remediation query answered %q, not %q", st.ID, in.ID), "InvalidState", nil)
	}
	err = a.Evidence.PutRemediation(ctx, evidence.RemediationRecord{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, State: st, RecordedAt: time.Now().UTC(),
	})
	return err
}
