package workflows

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// The test issuer: the worker's trust snapshot trusts it; its tokens are
// signed with issuerRSA. forgerRSA is anybody else's key.
const (
	testIssuer   = "https://idp.orgguard.test"
	testAudience = "orgguard-cli"
	testKeyID    = "test-key-1"
)

var testRSAKeys = sync.OnceValues(func() (issuer, forger *rsa.PrivateKey) {
	var err error
	if issuer, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if forger, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	return issuer, forger
})

func issuerJWK() jose.JSONWebKey {
	k, _ := testRSAKeys()
	return jose.JSONWebKey{Key: k, KeyID: testKeyID, Algorithm: string(jose.RS256), Use: "sig"}
}

func forgerJWK(kid string) jose.JSONWebKey {
	_, k := testRSAKeys()
	return jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
}

func publicJWKS(t testing.TB, keys ...jose.JSONWebKey) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return string(b)
}

// trustSnapshot is what LoadTrust returns in these tests: the test issuer,
// check and plan allowed without a token, no governance floor.
func trustSnapshot(t testing.TB) identity.Snapshot {
	t.Helper()
	return identity.Snapshot{
		Configured: true,
		ClockSkew:  time.Minute,
		Issuers: []identity.Issuer{{Name: "test", URL: testIssuer, Audience: testAudience,
			NameClaim: "preferred_username", GroupsClaim: "groups", JWKS: publicJWKS(t, issuerJWK())}},
		Requester: identity.Requester{UnverifiedModes: []string{"check", "plan"}},
		Source:    "trust-test.hcl",
		Digest:    "trust-digest",
	}
}

// tokenSpec is an ID token before it is signed.
type tokenSpec struct {
	claims jwt.Claims
	extra  map[string]any
	key    jose.JSONWebKey
}

var jtiSeq atomic.Int64

// mintToken signs an ID token of the test issuer for name (subject
// "sub-"+name) valid at now, with nonce; edits change it first.
func mintToken(t testing.TB, now time.Time, name, nonce string, edits ...func(*tokenSpec)) string {
	t.Helper()
	s := tokenSpec{
		claims: jwt.Claims{Issuer: testIssuer, Subject: "sub-" + name, Audience: jwt.Audience{testAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			ID: fmt.Sprintf("jti-%d", jtiSeq.Add(1))},
		extra: map[string]any{"preferred_username": name},
		key:   issuerJWK(),
	}
	if nonce != "" {
		s.extra["nonce"] = nonce
	}
	for _, e := range edits {
		e(&s)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	raw, err := jwt.Signed(signer).Claims(s.claims).Claims(s.extra).Serialize()
	require.NoError(t, err)
	return raw
}

func decisionOf(update string) string {
	if update == UpdateReject {
		return identity.DecisionReject
	}
	return identity.DecisionApprove
}

// mintVoteToken is name's token for update on the remediation in.
func mintVoteToken(t testing.TB, now time.Time, name string, in RemediationInput, update string, edits ...func(*tokenSpec)) string {
	t.Helper()
	return mintToken(t, now, name, identity.VoteNonce(in.ID, decisionOf(update), PlannedChangeDigest(in)), edits...)
}

// remediationParent starts a Remediation the way a baseline does, as a
// child with the remediation's ID as its workflow ID, and returns its result.
func remediationParent(ctx workflow.Context, in RemediationInput) (RemediationState, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: in.ID, TaskQueue: TaskQueue})
	var st RemediationState
	err := workflow.ExecuteChildWorkflow(cctx, WorkflowRemediation, in).Get(ctx, &st)
	return st, err
}

func registerRemediationParent(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterWorkflowWithOptions(Remediation, workflow.RegisterOptions{Name: WorkflowRemediation})
	env.RegisterWorkflowWithOptions(remediationParent, workflow.RegisterOptions{Name: "TestRemediationParent"})
}

// voteResult is what became of one update.
type voteResult struct {
	sent     bool
	accepted bool
	err      *error // the rejection (or the send error)
	token    string
}

var updateSeq atomic.Int64

// sendVote sends an update to the remediation workflow id at delay; build
// makes the request on the workflow clock at that moment.
func sendVote(t testing.TB, env *testsuite.TestWorkflowEnvironment, id string, delay time.Duration, update string, build func(now time.Time) VoteRequest, res *voteResult) {
	t.Helper()
	if res.err == nil {
		res.err = new(error)
	}
	env.RegisterDelayedCallback(func() {
		v := build(env.Now())
		res.token, res.sent = v.Token, true
		err := env.UpdateWorkflowByID(id, update, fmt.Sprintf("u-%d", updateSeq.Add(1)), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { *res.err = err },
			OnAccept:   func() { res.accepted = true },
			OnComplete: func(any, error) {},
		}, v)
		if err != nil {
			*res.err = err
		}
	}, delay)
}

func appError(t testing.TB, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	return app
}

// remediationIn is requested by dave (verified); alice, bob and carol
// approve, two of them.
func remediationIn() RemediationInput {
	p := policy
	p.Approvers = []string{"alice", "bob", "carol"}
	p.Quorum = 2
	return RemediationInput{ID: "rem-1", RunID: "r1", Account: Account{ID: "111111111111"}, Guardrail: sgGuardrail,
		Finding: nonCompliant("111111111111"), Policy: p, RequestedBy: "dave", Digest: "pack-digest",
		Requester: &identity.Principal{Name: "dave", Subject: "sub-dave", Issuer: testIssuer, TokenID: "start-token"}}
}

// TestVoteValidator sends votes to a running remediation; the last vote of
// each case differs from an accepted one in one respect only, so each case
// fails if its check is removed.
func TestVoteValidator(t *testing.T) {
	otherDigest := strings.Repeat("f", 64)
	type vote struct {
		update string
		build  func(t testing.TB, now time.Time, in RemediationInput) VoteRequest
	}
	// good is alice's valid approval, edited.
	good := func(name string, edit func(v *VoteRequest), tokenEdits ...func(*tokenSpec)) vote {
		return vote{UpdateApprove, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
			v := VoteRequest{Token: mintVoteToken(t, now, name, in, UpdateApprove, tokenEdits...), RemediationID: in.ID,
				ChangeDigest: PlannedChangeDigest(in), Approver: name, Reason: "looks right"}
			if edit != nil {
				edit(&v)
			}
			return v
		}}
	}
	withNonce := func(nonce func(in RemediationInput) string) vote {
		return vote{UpdateApprove, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
			return VoteRequest{Token: mintToken(t, now, "alice", nonce(in)), RemediationID: in.ID,
				ChangeDigest: PlannedChangeDigest(in), Approver: "alice", Reason: "looks right"}
		}}
	}
	cases := []struct {
		name  string
		in    func(in *RemediationInput)
		snap  func(s *identity.Snapshot)
		votes []vote // all but the last must be accepted
		// want: the last vote is refused with this text and reason; empty:
		// it is accepted.
		want, reason string
		check        func(t *testing.T, st RemediationState)
	}{
		{
			name:  "valid vote accepted and recorded as verified",
			votes: []vote{good("alice", nil)},
			check: func(t *testing.T, st RemediationState) {
				require.Len(t, st.Votes, 1)
				v := st.Votes[0]
				assert.Equal(t, "alice", v.Approver)
				assert.Equal(t, "sub-alice", v.Subject)
				assert.Equal(t, testIssuer, v.Issuer)
				assert.True(t, strings.HasPrefix(v.TokenID, "jti-"), v.TokenID)
				assert.Equal(t, PlannedChangeDigest(remediationIn()), v.ChangeDigest)
				assert.True(t, v.Approve)
				assert.Equal(t, "security-team", v.Policy)
			},
		},
		{
			name:  "approver name optional: the verified name is recorded",
			votes: []vote{good("alice", func(v *VoteRequest) { v.Approver = "" })},
			check: func(t *testing.T, st RemediationState) {
				require.Len(t, st.Votes, 1)
				assert.Equal(t, "alice", st.Votes[0].Approver)
			},
		},
		{
			name:   "vote without token",
			votes:  []vote{good("alice", func(v *VoteRequest) { v.Token = "" })},
			want:   "orgguard login",
			reason: identity.ReasonNoToken,
		},
		{
			name:   "forged signature",
			votes:  []vote{good("alice", nil, func(s *tokenSpec) { s.key = forgerJWK(testKeyID) })},
			want:   "signature does not verify",
			reason: identity.ReasonBadSignature,
		},
		{
			name:   "other issuer",
			votes:  []vote{good("alice", nil, func(s *tokenSpec) { s.claims.Issuer = "https://idp.attacker.test" })},
			want:   "not trusted",
			reason: identity.ReasonUntrustedIssuer,
		},
		{
			name:   "key the issuer never published",
			votes:  []vote{good("alice", nil, func(s *tokenSpec) { s.key = forgerJWK("rotated-key") })},
			want:   "rotated-key",
			reason: identity.ReasonUnknownKey,
		},
		{
			name:   "wrong audience",
			votes:  []vote{good("alice", nil, func(s *tokenSpec) { s.claims.Audience = jwt.Audience{"another-app"} })},
			want:   "another-app",
			reason: identity.ReasonWrongAudience,
		},
		{
			name: "expired",
			votes: []vote{good("alice", nil, func(s *tokenSpec) {
				iat := s.claims.IssuedAt.Time().Add(-20 * time.Minute)
				s.claims.IssuedAt, s.claims.NotBefore = jwt.NewNumericDate(iat), jwt.NewNumericDate(iat)
				s.claims.Expiry = jwt.NewNumericDate(iat.Add(18 * time.Minute)) // 2 minutes ago
			})},
			want:   "expired",
			reason: identity.ReasonExpired,
		},
		{
			name: "not yet valid",
			votes: []vote{good("alice", nil, func(s *tokenSpec) {
				s.claims.NotBefore = jwt.NewNumericDate(s.claims.IssuedAt.Time().Add(5 * time.Minute))
			})},
			want:   "not valid yet",
			reason: identity.ReasonNotYetValid,
		},
		{
			name: "issued in the future",
			votes: []vote{good("alice", nil, func(s *tokenSpec) {
				s.claims.IssuedAt = jwt.NewNumericDate(s.claims.IssuedAt.Time().Add(5 * time.Minute))
			})},
			reason: identity.ReasonNotYetValid,
		},
		{
			name: "replayed token",
			votes: func() []vote {
				var tok string
				first := vote{UpdateApprove, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
					tok = mintVoteToken(t, now, "alice", in, UpdateApprove)
					return VoteRequest{Token: tok, RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "ok"}
				}}
				again := vote{UpdateApprove, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
					return VoteRequest{Token: tok, RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "ok"}
				}}
				return []vote{first, again}
			}(),
			want:   "already used",
			reason: identity.ReasonReplayed,
			check: func(t *testing.T, st RemediationState) {
				assert.Len(t, st.Votes, 1)
			},
		},
		{
			name:  "second vote of one person with a fresh token",
			votes: []vote{good("alice", nil), good("alice", func(v *VoteRequest) { v.Reason = "again" })},
			want:  `"alice" already voted`,
		},
		{
			name: "token bound to another remediation",
			votes: []vote{withNonce(func(in RemediationInput) string {
				return identity.VoteNonce("rem-2", identity.DecisionApprove, PlannedChangeDigest(in))
			})},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
		{
			name: "token made to reject used to approve",
			votes: []vote{withNonce(func(in RemediationInput) string {
				return identity.VoteNonce(in.ID, identity.DecisionReject, PlannedChangeDigest(in))
			})},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
		{
			name:   "token without nonce",
			votes:  []vote{withNonce(func(RemediationInput) string { return "" })},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
		{
			name: "token made for another plan",
			votes: []vote{withNonce(func(in RemediationInput) string {
				return identity.VoteNonce(in.ID, identity.DecisionApprove, otherDigest)
			})},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
		{
			name:   "vote for another remediation",
			votes:  []vote{good("alice", func(v *VoteRequest) { v.RemediationID = "rem-2" })},
			want:   "made for remediation rem-2, not rem-1",
			reason: identity.ReasonWrongNonce,
		},
		{
			name:   "changed plan digest",
			votes:  []vote{good("alice", func(v *VoteRequest) { v.ChangeDigest = otherDigest })},
			want:   "not the one you were shown",
			reason: identity.ReasonWrongNonce,
		},
		{
			name: "plan changed since the token was made",
			// The approver saw (and bound the token to) the change as it was;
			// the remediation plans another one.
			in: func(in *RemediationInput) {
				in.Finding.Change.Diff = "- ingress tcp 22 0.0.0.0/0\n- ingress tcp 3389 0.0.0.0/0"
			},
			votes: []vote{{UpdateApprove, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
				shown := remediationIn()
				return VoteRequest{Token: mintVoteToken(t, now, "alice", shown, UpdateApprove), RemediationID: in.ID, Reason: "ok"}
			}}},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
		{
			name: "requester approving own change with a second token",
			// dave is also an approver of the policy, under another name in
			// his second token: the subject decides.
			in:     func(in *RemediationInput) { in.Policy.Approvers = append(in.Policy.Approvers, "dave.admin") },
			votes:  []vote{good("dave.admin", nil, func(s *tokenSpec) { s.claims.Subject = "sub-dave" })},
			want:   "separation of duties",
			reason: identity.ReasonSeparation,
		},
		{
			name:   "requester approving own change (same name)",
			in:     func(in *RemediationInput) { in.Policy.Approvers = append(in.Policy.Approvers, "dave") },
			votes:  []vote{good("dave", nil)},
			want:   "separation of duties",
			reason: identity.ReasonSeparation,
		},
		{
			name: "requester may approve without separation of duties",
			in: func(in *RemediationInput) {
				in.Policy.Approvers = append(in.Policy.Approvers, "dave")
				in.Policy.SeparationOfDuties = false
			},
			votes: []vote{good("dave", nil)},
		},
		{
			name:   "person not in the policy",
			votes:  []vote{good("mallory", nil)},
			want:   `"mallory" (verified: mallory (sub sub-mallory at ` + testIssuer + `)) is not an approver`,
			reason: identity.ReasonNotInPolicy,
		},
		{
			name:   "person in another IdP group",
			snap:   floorPolicyWithGroup,
			votes:  []vote{good("erin", nil, func(s *tokenSpec) { s.extra["groups"] = []string{"auditors"} })},
			want:   "or members of security-idp",
			reason: identity.ReasonNotInPolicy,
		},
		{
			name:  "person admitted through an IdP group claim",
			snap:  floorPolicyWithGroup,
			votes: []vote{good("erin", nil, func(s *tokenSpec) { s.extra["groups"] = []string{"auditors", "security-idp"} })},
			check: func(t *testing.T, st RemediationState) {
				require.Len(t, st.Votes, 1)
				assert.Equal(t, "erin", st.Votes[0].Approver)
				assert.Equal(t, []string{"auditors", "security-idp"}, st.Votes[0].Groups)
				assert.Equal(t, []string{"security-idp"}, st.IdPGroups)
			},
		},
		{
			name:   "the floor's policy replaces the pack's",
			snap:   floorPolicyWithGroup,
			in:     func(in *RemediationInput) { in.Policy.Approvers = append(in.Policy.Approvers, "mallory") },
			votes:  []vote{good("mallory", nil)},
			want:   `"mallory"`,
			reason: identity.ReasonNotInPolicy,
		},
		{
			name:   "client-typed approver name differs from the verified one",
			votes:  []vote{good("alice", func(v *VoteRequest) { v.Approver = "bob" })},
			want:   `the vote names "bob", but the token is alice's`,
			reason: identity.ReasonNotInPolicy,
		},
		{
			name:  "no reason",
			votes: []vote{good("alice", func(v *VoteRequest) { v.Reason = "  " })},
			want:  "reason is required",
		},
		{
			name:   "worker without trust config",
			snap:   func(s *identity.Snapshot) { *s = identity.Snapshot{} },
			votes:  []vote{good("alice", nil)},
			want:   "no trust config",
			reason: identity.ReasonNotConfigured,
		},
		{
			name: "reject with a reject token",
			votes: []vote{{UpdateReject, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
				return VoteRequest{Token: mintVoteToken(t, now, "bob", in, UpdateReject), RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "freeze"}
			}}},
			check: func(t *testing.T, st RemediationState) {
				assert.Equal(t, RemRejected, st.Status)
				require.Len(t, st.Votes, 1)
				assert.False(t, st.Votes[0].Approve)
				assert.Equal(t, "sub-bob", st.Votes[0].Subject)
			},
		},
		{
			name: "reject with an approve token",
			votes: []vote{{UpdateReject, func(t testing.TB, now time.Time, in RemediationInput) VoteRequest {
				return VoteRequest{Token: mintVoteToken(t, now, "bob", in, UpdateApprove), RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "freeze"}
			}}},
			want:   "not bound to this decision",
			reason: identity.ReasonWrongNonce,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			registerStubs(env)
			registerRemediationParent(env)
			snap := trustSnapshot(t)
			if c.snap != nil {
				c.snap(&snap)
			}
			mockTrust(env, snap)
			env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(nil)
			in := remediationIn()
			in.Finding.Change = &Change{Summary: in.Finding.Change.Summary, Diff: in.Finding.Change.Diff, Actions: in.Finding.Change.Actions}
			if c.in != nil {
				c.in(&in)
			}
			results := make([]*voteResult, len(c.votes))
			for i, v := range c.votes {
				results[i] = &voteResult{}
				sendVote(t, env, in.ID, time.Duration(i+1)*time.Minute, v.update, func(now time.Time) VoteRequest { return v.build(t, now, in) }, results[i])
			}
			env.ExecuteWorkflow(remediationParent, in)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var st RemediationState
			require.NoError(t, env.GetWorkflowResult(&st))

			for i, r := range results[:len(results)-1] {
				require.True(t, r.sent, "vote %d", i)
				require.NoError(t, *r.err, "vote %d is the accepted setup of this case", i)
			}
			last := results[len(results)-1]
			require.True(t, last.sent)
			if c.want == "" && c.reason == "" {
				require.NoError(t, *last.err)
				assert.True(t, last.accepted)
			} else {
				require.Error(t, *last.err, "the vote must be refused")
				assert.False(t, last.accepted)
				if c.want != "" {
					assert.Contains(t, (*last.err).Error(), c.want)
				}
				if c.reason != "" {
					assert.Equal(t, c.reason, identity.ReasonOf(*last.err), "%v", *last.err)
				}
				assert.Len(t, st.Votes, len(results)-1, "a refused vote is not recorded")
			}
			// The state never holds a raw token: votes are recorded by
			// subject, issuer and token ID.
			b, err := json.Marshal(st)
			require.NoError(t, err)
			for _, r := range results {
				if r.token != "" {
					assert.NotContains(t, string(b), r.token)
					assert.NotContains(t, string(b), strings.Split(r.token, ".")[2], "not even the signature")
				}
			}
			assert.True(t, st.Verified)
			assert.Equal(t, PlannedChangeDigest(in), st.ChangeDigest)
			if c.check != nil {
				c.check(t, st)
			}
		})
	}
}

// floorPolicyWithGroup puts a floor policy "security-team" in the snapshot
// that admits alice, bob and the IdP group security-idp.
func floorPolicyWithGroup(s *identity.Snapshot) {
	s.Floor.Policies = []guardrails.ApprovalPolicy{{Name: "security-team", Approvers: []string{"alice", "bob"}, IdPGroups: []string{"security-idp"},
		Quorum: 2, SeparationOfDuties: true, Timeout: 72 * time.Hour, OnTimeout: "expire"}}
}

// The query shows the remediation as approvers see it, without tokens.
func TestRemediationQueryHoldsNoToken(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	registerRemediationParent(env)
	mockTrust(env, trustSnapshot(t))
	env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(nil)
	in := remediationIn()
	res := &voteResult{}
	sendVote(t, env, in.ID, time.Minute, UpdateApprove, func(now time.Time) VoteRequest {
		return VoteRequest{Token: mintVoteToken(t, now, "alice", in, UpdateApprove), RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "ok"}
	}, res)
	var queried string
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflowByID(in.ID, QueryRemediation)
		require.NoError(t, err)
		var st RemediationState
		require.NoError(t, v.Get(&st))
		require.Len(t, st.Votes, 1)
		b, _ := json.Marshal(st)
		queried = string(b)
	}, 2*time.Minute)
	env.ExecuteWorkflow(remediationParent, in)
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, *res.err)
	require.NotEmpty(t, queried)
	assert.NotContains(t, queried, res.token)
	assert.Contains(t, queried, `"subject":"sub-alice"`)
	assert.Contains(t, queried, `"token_id":"jti-`)
}

// After the IdP rotates its key, a token signed with the new key is refused
// until the refresh-trust signal reloads the keys.
func TestRemediationRefreshTrust(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	registerRemediationParent(env)
	rotated := forgerJWK("rotated-key")
	old, fresh := trustSnapshot(t), trustSnapshot(t)
	fresh.Issuers[0].JWKS = publicJWKS(t, issuerJWK(), rotated)
	var loads []LoadTrustInput
	env.OnActivity(ActivityLoadTrust, mock.Anything, mock.Anything).Return(func(_ context.Context, in LoadTrustInput) (identity.Snapshot, error) {
		loads = append(loads, in)
		if in.Refresh {
			return fresh, nil
		}
		return old, nil
	})
	env.OnActivity(ActivityNotifyApprovers, mock.Anything, mock.Anything).Return(nil)
	in := remediationIn()
	build := func(now time.Time) VoteRequest {
		return VoteRequest{Token: mintVoteToken(t, now, "alice", in, UpdateApprove, func(s *tokenSpec) { s.key = rotated }),
			RemediationID: in.ID, ChangeDigest: PlannedChangeDigest(in), Reason: "ok"}
	}
	before, after := &voteResult{}, &voteResult{}
	sendVote(t, env, in.ID, 2*time.Minute, UpdateApprove, build, before)
	env.RegisterDelayedCallback(func() { env.SignalWorkflowByID(in.ID, SignalRefreshTrust, nil) }, 3*time.Minute)
	sendVote(t, env, in.ID, 5*time.Minute, UpdateApprove, build, after)
	env.ExecuteWorkflow(remediationParent, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, identity.ReasonUnknownKey, identity.ReasonOf(*before.err), "%v", *before.err)
	assert.NoError(t, *after.err)
	require.Len(t, loads, 2)
	assert.False(t, loads[0].Refresh)
	assert.True(t, loads[1].Refresh)
}

// Remediations and baselines are children of a rollout only: started
// straight through the Temporal API they refuse to run.
func TestRawStartsAreRefused(t *testing.T) {
	t.Run("Remediation", func(t *testing.T) {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		registerStubs(env)
		mockTrust(env, trustSnapshot(t))
		env.ExecuteWorkflow(Remediation, remediationIn())
		require.True(t, env.IsWorkflowCompleted())
		app := appError(t, env.GetWorkflowError())
		assert.Equal(t, ErrTypeNotAChild, app.Type())
		assert.True(t, app.NonRetryable())
		env.AssertNotCalled(t, ActivityNotifyApprovers, mock.Anything, mock.Anything)
		env.AssertNotCalled(t, ActivityNotifyEvent, mock.Anything, mock.Anything)
		env.AssertNotCalled(t, ActivityApplyRemediation, mock.Anything, mock.Anything)
	})
	t.Run("AccountBaseline", func(t *testing.T) {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		registerStubs(env)
		env.OnActivity(ActivityCheckGuardrail, mock.Anything, mock.Anything).Return(CheckOutput{Findings: []Finding{nonCompliant("111111111111")}}, nil)
		g := sgGuardrail
		g.Remediation.Mode = guardrails.ModeAuto
		env.ExecuteWorkflow(AccountBaseline, BaselineInput{RunID: "r1", Account: Account{ID: "111111111111"}, Guardrails: []guardrails.Guardrail{g},
			Mode: ModeApply, RequestedBy: "mallory", Digest: "d"})
		require.True(t, env.IsWorkflowCompleted())
		app := appError(t, env.GetWorkflowError())
		assert.Equal(t, ErrTypeNotAChild, app.Type())
		env.AssertNotCalled(t, ActivityCheckGuardrail, mock.Anything, mock.Anything)
		env.AssertNotCalled(t, ActivityCheckAccountRegion, mock.Anything, mock.Anything)
		env.AssertNotCalled(t, ActivityApplyRemediation, mock.Anything, mock.Anything)
	})
}

type rolloutRun struct {
	env       *testsuite.TestWorkflowEnvironment
	baselines []BaselineInput
	progress  Progress
}

// runRollout runs a rollout of one account whose baseline is mocked.
func runRollout(t *testing.T, snap identity.Snapshot, in func(now time.Time) RolloutInput) *rolloutRun {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	mockTrust(env, snap)
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: accounts(1, "Root/Prod", 1)}, nil)
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	r := &rolloutRun{env: env}
	env.OnWorkflow(AccountBaseline, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BaselineInput) (BaselineResult, error) {
		r.baselines = append(r.baselines, in)
		return BaselineResult{AccountID: in.Account.ID}, nil
	})
	env.ExecuteWorkflow(OrgRollout, in(env.Now()))
	require.True(t, env.IsWorkflowCompleted())
	if env.GetWorkflowError() == nil {
		var res RolloutResult
		require.NoError(t, env.GetWorkflowResult(&res))
		r.progress = res.Progress
	}
	return r
}

func (r *rolloutRun) refused(t *testing.T, errType string) *temporal.ApplicationError {
	t.Helper()
	app := appError(t, r.env.GetWorkflowError())
	assert.Equal(t, errType, app.Type(), app.Error())
	assert.True(t, app.NonRetryable())
	r.env.AssertNotCalled(t, ActivityDiscoverAccounts, mock.Anything, mock.Anything)
	assert.Empty(t, r.baselines, "a refused rollout starts no baseline")
	return app
}

func TestRolloutRequesterVerification(t *testing.T) {
	t.Parallel()
	set := rolloutSet()
	startToken := func(name, runID string, mode Mode, digest string, edits ...func(*tokenSpec)) func(now time.Time) string {
		return func(now time.Time) string {
			return mintToken(t, now, name, identity.StartNonce(runID, string(mode), digest), edits...)
		}
	}
	cases := []struct {
		name    string
		snap    func(s *identity.Snapshot)
		mode    Mode
		token   func(now time.Time) string
		errType string
		want    string
		check   func(t *testing.T, r *rolloutRun)
	}{
		{
			name: "apply with a verified requester",
			mode: ModeApply, token: startToken("ccoe-operator", "r1", ModeApply, set.Digest),
			check: func(t *testing.T, r *rolloutRun) {
				require.Len(t, r.baselines, 1)
				b := r.baselines[0]
				require.NotNil(t, b.Requester)
				assert.Equal(t, "ccoe-operator", b.Requester.Name)
				assert.Equal(t, "sub-ccoe-operator", b.Requester.Subject)
				assert.Equal(t, testIssuer, b.Requester.Issuer)
				assert.Equal(t, "ccoe-operator", b.RequestedBy, "the verified name, not what the client typed")
				assert.Equal(t, "ccoe-operator", r.progress.RequestedBy)
				require.NotNil(t, r.progress.Requester)
				assert.Equal(t, "sub-ccoe-operator", r.progress.Requester.Subject)
			},
		},
		{
			name: "apply without token", mode: ModeApply,
			errType: ErrTypeRequesterUnverified, want: "orgguard login",
		},
		{
			name: "apply without token, even if the snapshot lists apply", mode: ModeApply,
			snap:    func(s *identity.Snapshot) { s.Requester.UnverifiedModes = []string{"check", "plan", "apply"} },
			errType: ErrTypeRequesterUnverified,
		},
		{
			name: "apply on a worker without trust config", mode: ModeApply,
			token:   startToken("ccoe-operator", "r1", ModeApply, set.Digest),
			snap:    func(s *identity.Snapshot) { *s = identity.Snapshot{} },
			errType: ErrTypeRequesterUnverified, want: "no trust config",
		},
		{
			name: "token made for another run", mode: ModeApply,
			token:   startToken("ccoe-operator", "r2", ModeApply, set.Digest),
			errType: ErrTypeRequesterUnverified, want: "[" + identity.ReasonWrongNonce + "]",
		},
		{
			name: "token made to plan used to apply", mode: ModeApply,
			token:   startToken("ccoe-operator", "r1", ModePlan, set.Digest),
			errType: ErrTypeRequesterUnverified, want: "[" + identity.ReasonWrongNonce + "]",
		},
		{
			name: "token made for another pack", mode: ModeApply,
			token:   startToken("ccoe-operator", "r1", ModeApply, strings.Repeat("0", 64)),
			errType: ErrTypeRequesterUnverified, want: "[" + identity.ReasonWrongNonce + "]",
		},
		{
			name: "forged requester token", mode: ModeApply,
			token:   startToken("ccoe-operator", "r1", ModeApply, set.Digest, func(s *tokenSpec) { s.key = forgerJWK(testKeyID) }),
			errType: ErrTypeRequesterUnverified, want: "[" + identity.ReasonBadSignature + "]",
		},
		{
			name: "expired requester token", mode: ModeApply,
			token: startToken("ccoe-operator", "r1", ModeApply, set.Digest, func(s *tokenSpec) {
				s.claims.Expiry = jwt.NewNumericDate(s.claims.IssuedAt.Time().Add(-5 * time.Minute))
			}),
			errType: ErrTypeRequesterUnverified, want: "[" + identity.ReasonExpired + "]",
		},
		{
			name: "check without token allowed by the trust config", mode: ModeCheck,
			check: func(t *testing.T, r *rolloutRun) {
				require.Len(t, r.baselines, 1)
				assert.Nil(t, r.baselines[0].Requester, "nobody was verified")
				assert.Equal(t, "bob (unverified)", r.baselines[0].RequestedBy)
				assert.Nil(t, r.progress.Requester, "a requester given at start is ignored")
			},
		},
		{
			name: "check without token, trust config requires one", mode: ModeCheck,
			snap:    func(s *identity.Snapshot) { s.Requester.UnverifiedModes = nil },
			errType: ErrTypeRequesterUnverified, want: "requires a verified requester for check",
		},
		{
			name: "plan without token, only check listed", mode: ModePlan,
			snap:    func(s *identity.Snapshot) { s.Requester.UnverifiedModes = []string{"check"} },
			errType: ErrTypeRequesterUnverified,
		},
		{
			name: "check with a verified requester", mode: ModeCheck,
			snap:  func(s *identity.Snapshot) { s.Requester.UnverifiedModes = nil },
			token: startToken("carol", "r1", ModeCheck, set.Digest),
			check: func(t *testing.T, r *rolloutRun) {
				require.Len(t, r.baselines, 1)
				require.NotNil(t, r.baselines[0].Requester)
				assert.Equal(t, "carol", r.baselines[0].RequestedBy)
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			snap := trustSnapshot(t)
			if c.snap != nil {
				c.snap(&snap)
			}
			var raw string
			r := runRollout(t, snap, func(now time.Time) RolloutInput {
				if c.token != nil {
					raw = c.token(now)
				}
				return RolloutInput{RunID: "r1", Set: set, Mode: c.mode, RequestedBy: "bob", RequesterToken: raw,
					Requester: &identity.Principal{Name: "ceo", Subject: "sub-ceo", Issuer: testIssuer}}
			})
			if c.errType != "" {
				app := r.refused(t, c.errType)
				if c.want != "" {
					assert.Contains(t, app.Error(), c.want)
				}
				return
			}
			require.NoError(t, r.env.GetWorkflowError())
			if raw != "" {
				for _, b := range r.baselines {
					j, _ := json.Marshal(b)
					assert.NotContains(t, string(j), raw, "the token is not passed on")
				}
			}
			c.check(t, r)
		})
	}
}

func TestRolloutNewRunCannotCarryState(t *testing.T) {
	t.Parallel()
	r := runRollout(t, trustSnapshot(t), func(time.Time) RolloutInput {
		return RolloutInput{RunID: "r1", Set: rolloutSet(), Mode: ModeCheck, State: &RolloutState{Waves: []WaveState{{Name: "forged"}}}}
	})
	r.refused(t, ErrTypeRequesterUnverified)
}

func TestRolloutGovernanceFloor(t *testing.T) {
	t.Parallel()
	governed := func(s *identity.Snapshot) {
		s.Floor = identity.Floor{
			Policies: []guardrails.ApprovalPolicy{{Name: "security-team", Approvers: []string{"alice"}, IdPGroups: []string{"security-idp"}, Quorum: 1, SeparationOfDuties: true}},
			Rules:    []identity.ApprovalRule{{Kinds: []string{"ec2.default_security_group_closed"}, Policies: []string{"security-team"}, Where: "trust-test.hcl:12:1"}},
		}
	}
	auto := func() guardrails.Set {
		set := rolloutSet()
		set.Guardrails[0].Remediation = guardrails.Remediation{Mode: guardrails.ModeAuto}
		return seal(set)
	}
	t.Run("auto on a governed guardrail", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []Mode{ModeApply, ModePlan} {
			set := auto()
			snap := trustSnapshot(t)
			governed(&snap)
			r := runRollout(t, snap, func(now time.Time) RolloutInput {
				return RolloutInput{RunID: "r1", Set: set, Mode: mode, RequestedBy: "bob",
					RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", string(mode), set.Digest))}
			})
			app := r.refused(t, ErrTypeGovernanceFloor)
			assert.Contains(t, app.Error(), sgGuardrail.ID)
			assert.Contains(t, app.Error(), `remediation mode "auto"`)
			assert.Contains(t, app.Error(), "trust-test.hcl:12:1")
		}
	})
	t.Run("auto without a floor", func(t *testing.T) {
		t.Parallel()
		set := auto()
		r := runRollout(t, trustSnapshot(t), func(now time.Time) RolloutInput {
			return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply,
				RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest))}
		})
		require.NoError(t, r.env.GetWorkflowError())
		require.Len(t, r.baselines, 1)
	})
	t.Run("the floor's policy reaches the baselines", func(t *testing.T) {
		t.Parallel()
		set := rolloutSet() // approval with security-team: alice and bob in the pack
		snap := trustSnapshot(t)
		governed(&snap)
		r := runRollout(t, snap, func(now time.Time) RolloutInput {
			return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply,
				RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest))}
		})
		require.NoError(t, r.env.GetWorkflowError())
		require.Len(t, r.baselines, 1)
		require.Len(t, r.baselines[0].Policies, 1)
		assert.Equal(t, []string{"alice"}, r.baselines[0].Policies[0].Approvers)
		assert.Equal(t, []string{"security-idp"}, r.baselines[0].Policies[0].IdPGroups)
		assert.Equal(t, set.Digest, r.baselines[0].Digest)
	})
	t.Run("tampered pack", func(t *testing.T) {
		t.Parallel()
		set := rolloutSet()
		set.Guardrails[0].Remediation.Mode = guardrails.ModeAuto // after compiling
		r := runRollout(t, trustSnapshot(t), func(time.Time) RolloutInput {
			return RolloutInput{RunID: "r1", Set: set, Mode: ModeCheck}
		})
		app := r.refused(t, ErrTypeGovernanceFloor)
		assert.Contains(t, app.Error(), "does not match its content")
	})
	t.Run("pack not admitted for apply", func(t *testing.T) {
		t.Parallel()
		set := rolloutSet()
		snap := trustSnapshot(t)
		snap.Floor.PackDigests = []string{strings.Repeat("0", 64)}
		r := runRollout(t, snap, func(now time.Time) RolloutInput {
			return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply,
				RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest))}
		})
		app := r.refused(t, ErrTypeGovernanceFloor)
		assert.Contains(t, app.Error(), "may not be applied")
		// plan is not gated by the pack allowlist
		r = runRollout(t, snap, func(time.Time) RolloutInput { return RolloutInput{RunID: "r1", Set: set, Mode: ModePlan} })
		require.NoError(t, r.env.GetWorkflowError())
	})
}

// A baseline passes the verified requester on to its remediations, whose
// separation of duties then holds by subject.
func TestBaselinePassesRequesterToRemediation(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerStubs(env)
	env.RegisterWorkflowWithOptions(Remediation, workflow.RegisterOptions{Name: WorkflowRemediation})
	env.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	acct := Account{ID: "000000000001", Status: "ACTIVE", OUPath: "Root/Prod"}
	env.OnActivity(ActivityDiscoverAccounts, mock.Anything, mock.Anything).Return(DiscoverOutput{ManagementAccountID: "1", Accounts: []Account{acct}}, nil)
	onChecks(env, finds(CheckOutput{Findings: []Finding{nonCompliant(acct.ID)}}))
	mockTrust(env, trustSnapshot(t))
	var remIn RemediationInput
	env.OnWorkflow(WorkflowRemediation, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in RemediationInput) (RemediationState, error) {
		remIn = in
		return RemediationState{ID: in.ID, Status: RemPending}, nil
	})
	set := rolloutSet()
	env.ExecuteWorkflow(OrgRollout, RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, RequestedBy: "someone",
		RequesterToken: mintToken(t, env.Now(), "bob", identity.StartNonce("r1", "apply", set.Digest))})
	require.NoError(t, env.GetWorkflowError())
	require.NotNil(t, remIn.Requester)
	assert.Equal(t, "sub-bob", remIn.Requester.Subject)
	assert.Equal(t, "bob", remIn.RequestedBy)
}

// CanVote is shared by the validator and `approvals list --mine`.
func TestCanVote(t *testing.T) {
	t.Parallel()
	person := func(name string, groups ...string) identity.Principal {
		return identity.Principal{Name: name, Subject: "sub-" + name, Issuer: testIssuer, TokenID: "t-" + name, Groups: groups}
	}
	base := func() RemediationState {
		return RemediationState{ID: "rem-1", Policy: "security-team", Approvers: []string{"alice", "bob"}, IdPGroups: []string{"security-idp"},
			SeparationOfDuties: true, RequestedBy: "bob", Requester: &identity.Principal{Name: "bob", Subject: "sub-bob", Issuer: testIssuer}}
	}
	cases := []struct {
		name   string
		st     func(st *RemediationState)
		p      identity.Principal
		want   string
		reason string
	}{
		{name: "named approver", p: person("alice")},
		{name: "group member", p: person("erin", "security-idp")},
		{name: "outsider", p: person("mallory", "auditors"), want: `"mallory"`, reason: identity.ReasonNotInPolicy},
		{name: "no group claim", p: person("erin"), want: "or members of security-idp", reason: identity.ReasonNotInPolicy},
		{name: "requester", p: person("bob"), want: "separation of duties", reason: identity.ReasonSeparation},
		{
			name: "requester under another name", p: identity.Principal{Name: "alice", Subject: "sub-bob", Issuer: testIssuer},
			want: "same subject sub-bob", reason: identity.ReasonSeparation,
		},
		{
			name: "same subject at another issuer is another person", p: identity.Principal{Name: "alice", Subject: "sub-bob", Issuer: "https://other.test"},
		},
		{
			name: "unverified requester: the name decides", st: func(st *RemediationState) { st.Requester = nil },
			p: person("bob"), want: "separation of duties", reason: identity.ReasonSeparation,
		},
		{name: "no separation of duties", st: func(st *RemediationState) { st.SeparationOfDuties = false }, p: person("bob")},
		{
			name: "voted already", st: func(st *RemediationState) {
				st.Votes = []Vote{{Approver: "Alice A.", Subject: "sub-alice", Issuer: testIssuer, At: time.Unix(0, 0)}}
			},
			p: person("alice"), want: `"alice" already voted`,
		},
		{
			name: "voted already before verification (by name)", st: func(st *RemediationState) {
				st.Votes = []Vote{{Approver: "alice", At: time.Unix(0, 0)}}
			},
			p: person("alice"), want: `"alice" already voted`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := base()
			if c.st != nil {
				c.st(&st)
			}
			err := CanVote(st, c.p)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, c.reason, identity.ReasonOf(err))
		})
	}
}

// The requester's token names the --target override: a token made for
// some accounts starts no rollout of others.
func TestRolloutRequesterTokenBindsTargets(t *testing.T) {
	t.Parallel()
	set := rolloutSet()
	acct := accounts(1, "Root/Prod", 1)[0].ID
	r := runRollout(t, trustSnapshot(t), func(now time.Time) RolloutInput {
		return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, Targets: []string{"Root", acct},
			RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest, acct, "Root"))}
	})
	require.NoError(t, r.env.GetWorkflowError(), "the same targets in another order")
	require.Len(t, r.baselines, 1)

	r = runRollout(t, trustSnapshot(t), func(now time.Time) RolloutInput {
		return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, Targets: []string{"Root"},
			RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest, acct))}
	})
	app := r.refused(t, ErrTypeRequesterUnverified)
	assert.Contains(t, app.Error(), "["+identity.ReasonWrongNonce+"]")

	r = runRollout(t, trustSnapshot(t), func(now time.Time) RolloutInput {
		return RolloutInput{RunID: "r1", Set: set, Mode: ModeApply, Targets: []string{"Root"},
			RequesterToken: mintToken(t, now, "bob", identity.StartNonce("r1", "apply", set.Digest))}
	})
	r.refused(t, ErrTypeRequesterUnverified)
}
