package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

// LoadTrust returns the worker's trust snapshot: the issuers of its trust
// config with their current public keys, and the governance floor. Keys are
// fetched and refreshed here, outside workflow code; workflows verify tokens
// against the returned data.
func (a *Activities) LoadTrust(ctx context.Context, in workflows.LoadTrustInput) (identity.Snapshot, error) {
	snap, err := a.Trust.Snapshot(ctx, in.Refresh)
	if err != nil {
		// An IdP that does not answer may answer later: retryable.
		return snap, temporal.NewApplicationErrorWithCause("load trust config: "+err.Error(), "TrustUnavailable", err)
	}
	return snap, nil
}
