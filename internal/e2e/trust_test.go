package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

// rawVote sends the approve Update straight through the Temporal SDK, as
// anyone with namespace access could, bypassing the CLI.
func (e *env) rawVote(id string, v workflows.VoteRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateApprove, Args: []any{v}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}

func alice() devidp.User {
	for _, u := range devidp.Users {
		if u.Name == "alice" {
			return u
		}
	}
	panic("no alice")
}

func (e *env) pending(t require.TestingT) []workflows.RemediationState {
	code, out := e.CLI("approvals", "list", "--json")
	require.Equal(t, 0, code, out)
	var pending []workflows.RemediationState
	require.NoError(t, json.Unmarshal([]byte(out), &pending))
	return pending
}

// waitPending waits until `approvals list` shows at least n remediations,
// as visibility may lag their start, and returns them.
func (e *env) waitPending(t *testing.T, n int) []workflows.RemediationState {
	t.Helper()
	var pending []workflows.RemediationState
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := e.pending(c)
		require.GreaterOrEqual(c, len(p), n)
		pending = p
	}, 30*time.Second, 200*time.Millisecond)
	return pending
}

// Forged, misdirected and foreign-key votes sent through the raw API are
// refused by the workflow, nothing is applied, and the real approval works.
func TestTrustRawApprovalsAreRefused(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)

	// Without a login the CLI refuses, and says how to log in.
	code, out := e.CLI("apply", pack, "--reason", "no login")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "orgguard login --as alice")
	code, out = e.CLI("approve", "rem-anything", "--reason", "r")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "not logged in")
	require.Contains(t, out, "orgguard login --issuer")

	e.Login("bob")
	code, out = e.CLI("apply", pack, "--reason", "trust e2e")
	require.Equal(t, 0, code, out)
	// Visibility may lag the remediations' start.
	pending := e.waitPending(t, 2)
	rem, other := pending[0], pending[1]
	require.True(t, rem.Verified)
	require.NotEmpty(t, rem.ChangeDigest)
	require.Equal(t, "dev|bob", rem.Requester.Subject)

	// 1. A made-up name and no token.
	err = e.rawVote(rem.ID, workflows.VoteRequest{Approver: "alice", Reason: "forged"})
	require.ErrorContains(t, err, "no identity token")

	// 2. A valid token of alice, made for another remediation.
	tok, err := e.Issuer.Mint(alice(), identity.VoteNonce(other.ID, identity.DecisionApprove, other.ChangeDigest), time.Now())
	require.NoError(t, err)
	err = e.rawVote(rem.ID, workflows.VoteRequest{Token: tok, Reason: "misdirected"})
	require.ErrorContains(t, err, "not bound to this decision")
	err = e.rawVote(rem.ID, workflows.VoteRequest{Token: tok, RemediationID: other.ID, ChangeDigest: other.ChangeDigest, Reason: "misdirected"})
	require.ErrorContains(t, err, "was made for remediation "+other.ID)

	// 3. A token signed by a key the trust config does not hold, claiming
	// the trusted issuer.
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rogue, KeyID: "rogue"}}, nil)
	require.NoError(t, err)
	now := time.Now()
	forged, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: e.Issuer.URL(), Subject: "dev|alice", Audience: jwt.Audience{devidp.Audience},
		Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "forged-1"}).
		Claims(map[string]any{"preferred_username": "alice", "nonce": identity.VoteNonce(rem.ID, identity.DecisionApprove, rem.ChangeDigest)}).Serialize()
	require.NoError(t, err)
	err = e.rawVote(rem.ID, workflows.VoteRequest{Token: forged, Reason: "rogue key"})
	require.ErrorContains(t, err, "signed with key \"rogue\"")

	// The requester under a second login is still the requester.
	e.Login("bob")
	code, out = e.CLI("approve", rem.ID, "--as", "bob", "--reason", "mine again")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "separation of duties")

	require.Empty(t, e.Writes(), "no refused vote applied anything")
	v, err := e.Client.QueryWorkflow(context.Background(), rem.ID, "", workflows.QueryRemediation)
	require.NoError(t, err)
	var st workflows.RemediationState
	require.NoError(t, v.Get(&st))
	require.Equal(t, workflows.RemPending, st.Status)
	require.Empty(t, st.Votes, "no refused vote was recorded")

	// The real approval.
	e.Login("alice")
	code, out = e.CLI("approve", rem.ID, "--as", "alice", "--digest", rem.ChangeDigest, "--reason", "reviewed the diff")
	require.Equal(t, 0, code, out)
	var final workflows.RemediationState
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.Client.GetWorkflow(ctx, rem.ID, "").Get(ctx, &final))
	require.Equal(t, workflows.RemRemediated, final.Status, final.Error)
	require.Len(t, final.Votes, 1)
	vote := final.Votes[0]
	require.Equal(t, "alice", vote.Approver)
	require.Equal(t, "dev|alice", vote.Subject)
	require.Equal(t, e.Issuer.URL(), vote.Issuer)
	require.NotEmpty(t, vote.TokenID)
	for _, c := range e.Writes() {
		require.Equal(t, rem.AccountID, c.AccountID, "only the approved remediation changed anything")
		require.Equal(t, "alice", c.SourceIdentity)
	}
	code, out = e.CLI("audit", "history", rem.ID)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "verified: issuer "+e.Issuer.URL()+", subject dev|alice")
}

// The governance floor: a pack that makes a governed guardrail auto is
// refused at validate and at start, and a raw start without a requester
// token is refused by the workflow itself.
func TestTrustGovernanceFloorAndRawStart(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)
	e.Login("ccoe-operator")
	trust := filepath.Join(e.StateDir, "trust.hcl")

	code, out := e.CLI("validate", pack, "--var", "mode=auto", "--trust-config", trust)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `control.default_sg_closed: remediation mode "auto", but the governance floor`)
	code, out = e.CLI("validate", pack, "--trust-config", trust)
	require.Equal(t, 0, code, out)

	code, out = e.CLI("apply", pack, "--var", "mode=auto", "--reason", "sneak it in")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "below the governance floor")

	// Straight through the Temporal API: no requester token.
	set, _, diags := guardrails.LoadDir(pack, guardrails.LoadOptions{})
	require.False(t, diags.HasErrors())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.RolloutID("raw"), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowOrgRollout, workflows.RolloutInput{RunID: "raw", Set: *set, Mode: workflows.ModeApply, RequestedBy: "alice",
			Requester: &identity.Principal{Name: "alice", Subject: "dev|alice", Issuer: e.Issuer.URL()}})
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, workflows.ErrTypeRequesterUnverified, app.Type())
	require.Contains(t, app.Message(), "needs a verified requester")

	// A child workflow started on its own is refused too.
	run, err = e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "raw-remediation", TaskQueue: workflows.TaskQueue},
		workflows.WorkflowRemediation, workflows.RemediationInput{ID: "raw-remediation", RequestedBy: "mallory"})
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.ErrorAs(t, err, &app)
	require.Equal(t, workflows.ErrTypeNotAChild, app.Type())
	require.Empty(t, e.Writes())
}
