package activities

import (
	"context"

	"github.com/orgguard/orgguard/workflows"
)

// CheckDirect runs one check exactly as the CheckGuardrail activity does
// (same kind code, credentials, caches and error classification) but
// outside Temporal: no heartbeats, no activity logger. The scale harness
// uses it for its bare Go fan-out, the baseline that orgguard's run through
// Temporal is measured against; keep it on the activity's code path.
func (a *Activities) CheckDirect(ctx context.Context, in workflows.CheckInput) (workflows.CheckOutput, error) {
	return a.check(ctx, in)
}
