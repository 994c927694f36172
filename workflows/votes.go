package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// trustRefreshGap bounds reloads of the trust snapshot asked for by the
// refresh signal, which anyone may send: at most one activity a minute.
const trustRefreshGap = time.Minute

// PlannedChangeDigest is the digest of a remediation's planned change,
// which approvers' tokens are bound to.
func PlannedChangeDigest(in RemediationInput) string {
	change := []byte("null")
	if in.Finding.Change != nil {
		// encoding/json writes struct fields in order and map keys sorted:
		// the same change always has the same bytes.
		// (workflowcheck flags json's type cache, which does not change the output.)
		//workflowcheck:ignore
		if b, err := json.Marshal(in.Finding.Change); err == nil {
			change = b
		}
	}
	return identity.ChangeDigest(in.ID, in.Account.ID, in.Finding.Region, in.Guardrail.ID, in.Finding.Resource, in.Digest, string(change))
}

// changeHash is the sha256 of a planned change's canonical JSON: with the
// finding it identifies one approval request across runs.
func changeHash(c *Change) string {
	// encoding/json is deterministic for the same value (see above).
	//workflowcheck:ignore
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// startTrust loads the worker's trust snapshot and serves refresh signals.
// Votes are refused (with "retry") until the first load is done.
func (r *remediation) startTrust(ctx workflow.Context) error {
	var snap identity.Snapshot
	if err := loadTrust(ctx, false).Get(ctx, &snap); err != nil {
		return fmt.Errorf("load trust config: %w", err)
	}
	r.useTrust(ctx, snap)
	// The floor's policy replaces a policy of the same name: the approvers
	// are the trust config's as of now, not as the pack once said.
	if p, ok := snap.Floor.Policy(r.policy.Name); ok && snap.Configured {
		r.policy = p
		r.usePolicy(r.st.RequestedAt)
	}
	refresh := workflow.GetSignalChannel(ctx, SignalRefreshTrust)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			refresh.Receive(ctx, nil)
			for refresh.ReceiveAsync(nil) {
				// Collapse a burst of signals into one reload.
			}
			if workflow.Now(ctx).Sub(r.lastLoad) < trustRefreshGap {
				continue
			}
			var fresh identity.Snapshot
			if err := loadTrust(ctx, true).Get(ctx, &fresh); err != nil {
				workflow.GetLogger(ctx).Warn("reload trust config failed", "error", err)
				continue
			}
			r.useTrust(ctx, fresh)
		}
	})
	return nil
}

func (r *remediation) useTrust(ctx workflow.Context, s identity.Snapshot) {
	r.trust = &s
	r.lastLoad = workflow.Now(ctx)
	r.st.TrustLoadedAt = s.LoadedAt
}

// verifyVote refuses a vote, with the reason, before it enters history, and
// returns the verified approver. It runs in the validator and again in the
// handler, with the same snapshot and clock, so both agree.
func (r *remediation) verifyVote(ctx workflow.Context, v VoteRequest, approve bool) (identity.Principal, error) {
	now := workflow.Now(ctx)
	decision := identity.DecisionReject
	if approve {
		decision = identity.DecisionApprove
	}
	switch {
	case strings.TrimSpace(v.Reason) == "":
		return identity.Principal{}, fmt.Errorf("a reason is required: it is the audit record of this decision")
	case r.st.Status != RemPending:
		return identity.Principal{}, fmt.Errorf("remediation %s is %s: it no longer takes votes", r.st.ID, r.st.Status)
	case !now.Before(r.st.Deadline):
		return identity.Principal{}, fmt.Errorf("the approval deadline %s has passed", r.st.Deadline.UTC().Format(time.RFC3339))
	case r.trust == nil:
		return identity.Principal{}, fmt.Errorf("remediation %s is still loading the worker's trust config; retry in a few seconds [trust_loading]", r.st.ID)
	case v.RemediationID != "" && v.RemediationID != r.st.ID:
		return identity.Principal{}, fmt.Errorf("this vote was made for remediation %s, not %s [%s]", v.RemediationID, r.st.ID, identity.ReasonWrongNonce)
	case v.ChangeDigest != "" && v.ChangeDigest != r.st.ChangeDigest:
		return identity.Principal{}, fmt.Errorf("the planned change is not the one you were shown: you %s plan digest %s, this remediation's plan digest is %s; review it again with 'orgguard approvals show %s' [%s]",
			decision, guardrails.ShortDigest(v.ChangeDigest), guardrails.ShortDigest(r.st.ChangeDigest), r.st.ID, identity.ReasonWrongNonce)
	}
	tok, err := identity.Verify(r.trust, v.Token, now) //workflowcheck:ignore (pure: see verifyRequester)
	if err != nil {
		return identity.Principal{}, err
	}
	p := tok.Principal
	if want := identity.VoteNonce(r.st.ID, decision, r.st.ChangeDigest); tok.Nonce != want {
		return p, fmt.Errorf("the token of %s is not bound to this decision: its nonce is not the one for %s of remediation %s with plan digest %s (a token made for another remediation, decision or plan cannot be used) [%s]",
			p.Name, decision, r.st.ID, guardrails.ShortDigest(r.st.ChangeDigest), identity.ReasonWrongNonce)
	}
	if v.Approver != "" && v.Approver != p.Name {
		return p, fmt.Errorf("the vote names %q, but the token is %s's; the verified name is what counts [%s]", v.Approver, p.Name, identity.ReasonNotInPolicy)
	}
	for _, prev := range r.st.Votes {
		if prev.TokenID == p.TokenID && prev.Issuer == p.Issuer {
			return p, fmt.Errorf("token %s was already used for a vote on %s at %s: each vote needs a fresh token [%s]", p.TokenID, r.st.ID, prev.At.UTC().Format(time.RFC3339), identity.ReasonReplayed)
		}
	}
	return p, CanVote(r.st, p)
}

// CanVote says whether a verified person may vote on a remediation: in the
// policy (by name, or by a group claim), not its requester when separation
// of duties holds, and not voted already. The workflow's validator and the
// CLI's `approvals list --mine` share it.
func CanVote(st RemediationState, p identity.Principal) error {
	inGroup := ""
	for _, g := range p.Groups {
		if slices.Contains(st.IdPGroups, g) {
			inGroup = g
			break
		}
	}
	if !slices.Contains(st.Approvers, p.Name) && inGroup == "" {
		groups := ""
		if len(st.IdPGroups) > 0 {
			groups = " or members of " + strings.Join(st.IdPGroups, ", ")
		}
		return fmt.Errorf("%q (verified: %s) is not an approver under policy %q (approvers: %s%s) [%s]",
			p.Name, p.String(), st.Policy, strings.Join(st.Approvers, ", "), groups, identity.ReasonNotInPolicy)
	}
	if st.SeparationOfDuties {
		if st.Requester != nil && st.Requester.Same(p) {
			return fmt.Errorf("%q requested this change (same subject %s at %s) and cannot approve it (separation of duties, policy %q) [%s]",
				p.Name, p.Subject, p.Issuer, st.Policy, identity.ReasonSeparation)
		}
		if st.Requester == nil && p.Name == st.RequestedBy {
			return fmt.Errorf("%q requested this change and cannot approve it (separation of duties, policy %q) [%s]", p.Name, st.Policy, identity.ReasonSeparation)
		}
	}
	for _, prev := range st.Votes {
		if (prev.Subject != "" && prev.Subject == p.Subject && prev.Issuer == p.Issuer) || (prev.Subject == "" && prev.Approver == p.Name) {
			return fmt.Errorf("%q already voted on %s at %s", p.Name, st.ID, prev.At.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
