package activities

import (
	"context"
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

// FinishBaseline ends one account's baseline: it writes the account's
// evidence records (the baseline's result, read through the calling
// workflow's baseline query, so history carries no further copy of the
// findings) and drops the run's cached credentials and reads for the
// account. Rewriting the account's object on a retry is harmless: the
// same records replace the same key.
func (a *Activities) FinishBaseline(ctx context.Context, in workflows.FinishBaselineInput) (workflows.FinishBaselineOutput, error) {
	defer func() { _ = a.ReleaseRun(ctx, workflows.ReleaseRunInput{RunID: in.RunID, AccountID: in.Account.ID}) }()
	if a.Evidence == nil {
		return workflows.FinishBaselineOutput{EvidenceError: "this worker has no evidence store (--evidence)"}, nil
	}
	if a.Temporal == nil || !activity.IsActivity(ctx) {
		return workflows.FinishBaselineOutput{}, temporal.NewNonRetryableApplicationError(
			"FinishBaseline reads the baseline through Temporal and this worker has no client", ErrNoEvidenceStore, nil)
	}
	info := activity.GetInfo(ctx)
	v, err := a.Temporal.QueryWorkflow(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, workflows.QueryBaseline)
	if err != nil {
		// Retryable: the frontend or the workflow's worker may be restarting.
		return workflows.FinishBaselineOutput{}, fmt.Errorf("read baseline %s for its evidence: %w", info.WorkflowExecution.ID, err)
	}
	var res workflows.BaselineResult
	if err := v.Get(&res); err != nil {
		return workflows.FinishBaselineOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("decode baseline %s: %v", info.WorkflowExecution.ID, err), "InvalidState", err)
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
	if err := a.Evidence.PutAccount(ctx, in.RunID, in.Account.ID, recs); err != nil {
		return workflows.FinishBaselineOutput{}, fmt.Errorf("account %s: %w", in.Account.ID, err)
	}
	return workflows.FinishBaselineOutput{Records: len(recs)}, nil
}

// BaselineRecords turns one account's baseline result into evidence
// records, one per item (account × region × guardrail × resource).
func BaselineRecords(in workflows.FinishBaselineInput, res workflows.BaselineResult, set map[string]guardrails.Guardrail, at time.Time) []evidence.Record {
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
