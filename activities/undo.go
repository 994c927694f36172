package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// ErrUndoRefused is the ApplicationError type of a rollback that found the
// resource changed since orgguard left it: retrying cannot help, and
// overwriting someone's later change is not orgguard's to do.
const ErrUndoRefused = "UndoRefused"

// UndoRefusal is what a Reverter's Undo returns when the resource is no
// longer as Apply left it.
type UndoRefusal struct{ Reason string }

func (e *UndoRefusal) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &UndoRefusal{Reason: fmt.Sprintf(format, args...)}
}

// implKey is the key a guardrail's implementation is registered under.
func implKey(g guardrails.Guardrail) string {
	if g.Kind == guardrails.KindControl && g.Control != nil {
		return "control:" + g.Control.Type
	}
	return string(g.Kind)
}

// reverter finds the implementation of a guardrail that can roll back;
// refused says why there is none.
func (a *Activities) reverter(g guardrails.Guardrail) (r Reverter, refused string) {
	k, notImplemented, _ := a.kindFor(g)
	if notImplemented != "" {
		return nil, notImplemented
	}
	r, ok := k.(Reverter)
	if !ok {
		return nil, fmt.Sprintf("guardrail %s (%s): orgguard cannot roll back this kind of change", g.ID, implKey(g))
	}
	return r, ""
}

// PlanUndo is read-only: it checks that the resource of one applied change
// is still as orgguard left it and returns the reverse change as a
// non-compliant finding, or says why it will not roll back. in.RunID is
// the rollback's run (credentials are cached per run).
func (a *Activities) PlanUndo(ctx context.Context, in workflows.PlanUndoInput) (workflows.PlanUndoOutput, error) {
	defer a.keepAlive(ctx, in.Guardrail.ID)()
	g, err := a.resolveGuardrail(ctx, in.RunID, in.Digest, in.Guardrail)
	if err != nil {
		return workflows.PlanUndoOutput{}, err
	}
	in.Guardrail, in.Digest = g, ""
	r, refused := a.reverter(in.Guardrail)
	if refused != "" {
		return workflows.PlanUndoOutput{Refused: refused}, nil
	}
	env, err := a.env(ctx, in.AccountID, in.Region, in.RunID, "", in.Guardrail)
	if err != nil {
		return workflows.PlanUndoOutput{}, err
	}
	a.bypassReads(&env, in.RunID)
	refused, err = r.PlanUndo(ctx, env, in.Resource, in.Undo)
	if err != nil {
		return workflows.PlanUndoOutput{}, awsclient.Classify(err, env.Where)
	}
	activity.GetLogger(ctx).Info("planned undo", "account_id", in.AccountID, "region", in.Region,
		"guardrail", in.Guardrail.ID, "resource", in.Resource, "refused", refused)
	if refused != "" {
		return workflows.PlanUndoOutput{Refused: refused}, nil
	}
	undo := in.Undo
	return workflows.PlanUndoOutput{Finding: &workflows.Finding{
		GuardrailID: g.ID, AccountID: in.AccountID, Region: in.Region, Resource: in.Resource,
		Status:   workflows.StatusNonCompliant,
		Evidence: fmt.Sprintf("%s is still as orgguard left it", in.Resource),
		Change:   &undo,
		Controls: g.Controls, CSF: g.CSF, Severity: g.Severity,
	}}, nil
}

// applyUndo rolls back one applied change: in.Finding.Change is the undo
// PlanUndo returned. Credentials, SourceIdentity and the idempotency key
// are as for ApplyRemediation.
func (a *Activities) applyUndo(ctx context.Context, in workflows.ApplyInput) (workflows.ApplyOutput, error) {
	if in.Finding.Change == nil {
		return workflows.ApplyOutput{}, temporal.NewNonRetryableApplicationError("rollback has no planned change", "InvalidInput", nil)
	}
	r, refused := a.reverter(in.Guardrail)
	if refused != "" {
		return workflows.ApplyOutput{}, temporal.NewNonRetryableApplicationError(refused, "NotReversible", nil)
	}
	env, err := a.env(ctx, in.Finding.AccountID, in.Finding.Region, in.RunID, in.SourceIdentity, in.Guardrail)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	env.IdempotencyKey = in.IdempotencyKey
	a.bypassReads(&env, in.RunID)
	out, err := r.Undo(ctx, env, in.Finding.Resource, *in.Finding.Change)
	var refusal *UndoRefusal
	if errors.As(err, &refusal) {
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail %s in account %s region %s: %s", in.Guardrail.ID, in.Finding.AccountID, in.Finding.Region, refusal.Reason),
			ErrUndoRefused, nil)
	}
	if err != nil {
		return out, awsclient.Classify(err, env.Where)
	}
	activity.GetLogger(ctx).Info("rolled back change", "account_id", in.Finding.AccountID, "region", in.Finding.Region,
		"guardrail", in.Guardrail.ID, "resource", in.Finding.Resource, "changed", out.Changed, "source_identity", in.SourceIdentity)
	return out, nil
}

// Nested undo parameters ("prior", "left") are maps; after workflow history
// they are map[string]any with float64 numbers.

func paramMap(c workflows.Change, key string) map[string]any {
	m, _ := c.Params[key].(map[string]any)
	return m
}

func mapBool(m map[string]any, key string) bool {
	v, _ := m[key].(bool)
	return v
}

func mapInt(m map[string]any, key string) int {
	f, _ := toFloat(m[key])
	return int(f)
}

// planUndoOf and undoOf hold the decisions every Reverter makes after
// comparing its resource with what apply left: restored (already as before
// apply), drift (changed since, in words) or neither (roll back).

func planUndoOf(what string, restored bool, drift string, err error) (string, error) {
	switch {
	case err != nil:
		return "", err
	case restored:
		return what + " is already as before orgguard changed it", nil
	}
	return drift, nil
}

func undoOf(restored bool, drift string, err error, restore func(out *applied) error) (workflows.ApplyOutput, error) {
	var out applied
	switch {
	case err != nil || restored:
		return out.ApplyOutput, err
	case drift != "":
		return out.ApplyOutput, refuse("%s", drift)
	}
	err = restore(&out)
	return out.ApplyOutput, err
}
