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

// CheckAccountRegionDirect runs the CheckAccountRegion activity's code
// outside Temporal: the same guardrail loading (register the compiled set
// with RegisterSet first, or pass Guardrails), credentials, read cache,
// parallelism and error classification, as a single last attempt: a check
// that failed retryably is reported in its result (CheckError.NonRetryable
// false) rather than retried. Call ReleaseRun when an account is done, as
// the workflow does, to drop its cached reads.
func (a *Activities) CheckAccountRegionDirect(ctx context.Context, in workflows.CheckAccountRegionInput) (workflows.CheckAccountRegionOutput, error) {
	return a.checkAccountRegion(ctx, in, &regionProgress{}, regionRun{beat: func() {}, final: true})
}
