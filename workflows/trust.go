package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// Error types of refused starts (temporal.ApplicationError.Type).
const (
	ErrTypeRequesterUnverified = "RequesterUnverified"
	ErrTypeGovernanceFloor     = "GovernanceFloor"
	ErrTypeNotAChild           = "NotAChild"
)

// loadTrust runs the LoadTrust activity: the worker's issuers, keys and
// governance floor as data, recorded in history.
func loadTrust(ctx workflow.Context, refresh bool) workflow.Future {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	return workflow.ExecuteActivity(actx, ActivityLoadTrust, LoadTrustInput{Refresh: refresh})
}

// verifyRequester runs before anything else in a new rollout: it verifies
// the requester's token, applies the governance floor to the pack, and
// refuses the start when either fails. A workflow started straight through
// the Temporal API gets no further than a CLI start would.
func (r *rollout) verifyRequester(ctx workflow.Context) error {
	if workflow.GetInfo(ctx).ContinuedExecutionRunID != "" {
		// A continued run: its predecessor verified the requester and
		// enforced the floor, and only a workflow can continue itself.
		return nil
	}
	// Whatever the client put in fields the workflow owns is dropped.
	r.in.Requester = nil
	if r.in.State != nil {
		return temporal.NewNonRetryableApplicationError("a new rollout cannot carry rollout state: only a continued run may", ErrTypeRequesterUnverified, nil)
	}
	var snap identity.Snapshot
	if err := loadTrust(ctx, false).Get(ctx, &snap); err != nil {
		return fmt.Errorf("load trust config: %w", err)
	}
	mode := string(r.in.Mode)
	if snap.Configured {
		// Enforce and Verify are pure functions of their arguments (JSON,
		// SHA-256, signature checks); workflowcheck sees time.Now and maps
		// deep inside encoding/json and go-jose that these calls never reach
		// with the explicit time they are given.
		set, violations := snap.Floor.Enforce(r.in.Set, mode, r.in.PackSignature) //workflowcheck:ignore
		if len(violations) > 0 {
			var lines []string
			for _, v := range violations {
				lines = append(lines, "  - "+v.String())
			}
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("the pack is below the governance floor of the worker's trust config (%s):\n%s", snap.Source, strings.Join(lines, "\n")),
				ErrTypeGovernanceFloor, nil)
		}
		r.in.Set = set
	}
	token := r.in.RequesterToken
	r.in.RequesterToken = "" // not carried into continued runs
	if token == "" {
		if !snap.AllowsUnverified(mode) {
			why := "the trust config requires a verified requester for " + mode
			if !snap.Configured {
				why = "this worker has no trust config (--trust-config), so no requester can be verified"
			}
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("a %s rollout needs a verified requester and none was given: %s. Log in with 'orgguard login' and start it with the orgguard CLI", mode, why),
				ErrTypeRequesterUnverified, nil)
		}
		if r.in.RequestedBy != "" {
			r.in.RequestedBy += " (unverified)"
		}
		return nil
	}
	v, err := identity.Verify(&snap, token, workflow.Now(ctx)) //workflowcheck:ignore
	if err != nil {
		return temporal.NewNonRetryableApplicationError("requester refused: "+err.Error(), ErrTypeRequesterUnverified, nil)
	}
	if want := identity.StartNonce(r.in.RunID, mode, r.in.Set.Digest, r.nonceTargets()...); v.Nonce != want {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("requester refused: the token of %s was not made for this start (run %s, mode %s, pack %s, targets %v): its nonce does not match [%s]",
				v.Principal.Name, r.in.RunID, mode, guardrails.ShortDigest(r.in.Set.Digest), r.in.Targets, identity.ReasonWrongNonce),
			ErrTypeRequesterUnverified, nil)
	}
	p := v.Principal
	r.in.Requester = &p
	r.in.RequestedBy = p.Name
	return nil
}

// requireParent refuses a baseline or remediation started on its own: they
// are only ever children (of a rollout, of a baseline), which a client
// cannot fake — the parent is set by the Temporal server.
func requireParent(ctx workflow.Context, what string) error {
	if workflow.GetInfo(ctx).ParentWorkflowExecution == nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s workflows are started by orgguard rollouts only; this one was started on its own and is refused", what),
			ErrTypeNotAChild, nil)
	}
	return nil
}
