package console

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/workflows"
)

// Backend is what the console reads and does through Temporal. Temporal is
// the one implementation; tests of the web layer substitute their own.
type Backend interface {
	// Pending lists the remediations waiting for a decision; an
	// *approvals.UnreadError comes with those that could be read.
	Pending(ctx context.Context) ([]workflows.RemediationState, error)
	// Remediation is one remediation's state (approvals.ErrNotFound when
	// there is none).
	Remediation(ctx context.Context, id string) (workflows.RemediationState, error)
	// Trail is a remediation's decision trail from its history.
	Trail(ctx context.Context, id string) ([]audit.TrailEntry, error)
	// Vote sends a vote; the workflow's validator accepts or refuses it.
	Vote(ctx context.Context, id, decision string, req workflows.VoteRequest) (workflows.RemediationState, error)
	// Progress is a rollout's progress query (audit.ErrNoRollout).
	Progress(ctx context.Context, runID string) (workflows.Progress, error)
	// Audit lists audit rows of a visibility query (audit.Filter.Query).
	Audit(ctx context.Context, query string, limit int) ([]audit.Row, error)
}

// Temporal is the Backend of a Temporal client: the same calls as the CLI's
// `approvals`, `approve`/`reject`, `status` and `audit`.
func Temporal(c client.Client) Backend { return temporalBackend{c} }

type temporalBackend struct{ c client.Client }

func (b temporalBackend) Pending(ctx context.Context) ([]workflows.RemediationState, error) {
	return approvals.Pending(ctx, b.c)
}

func (b temporalBackend) Remediation(ctx context.Context, id string) (workflows.RemediationState, error) {
	return approvals.State(ctx, b.c, id)
}

func (b temporalBackend) Trail(ctx context.Context, id string) ([]audit.TrailEntry, error) {
	return audit.DecisionTrail(ctx, b.c, id)
}

func (b temporalBackend) Vote(ctx context.Context, id, decision string, req workflows.VoteRequest) (workflows.RemediationState, error) {
	return approvals.Vote(ctx, b.c, id, decision, req)
}

func (b temporalBackend) Progress(ctx context.Context, runID string) (workflows.Progress, error) {
	return audit.Progress(ctx, b.c, runID)
}

func (b temporalBackend) Audit(ctx context.Context, query string, limit int) ([]audit.Row, error) {
	return audit.Rows(ctx, b.c, query, limit)
}
