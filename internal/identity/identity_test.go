package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/identity"
)

const (
	testIssuer   = "https://idp.example.test"
	testAudience = "orgguard-cli"
	testKID      = "key-1"
)

// testNow is the verifier's clock in these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var rsaKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

// issuerKey is the trusted issuer's signing key; otherKey is anybody's.
func issuerKey(t *testing.T) jose.JSONWebKey {
	t.Helper()
	k, _ := rsaKeys()
	return jose.JSONWebKey{Key: k, KeyID: testKID, Algorithm: string(jose.RS256), Use: "sig"}
}

func otherKey(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	_, k := rsaKeys()
	return jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
}

// jwksOf is the public JWKS of keys, as the Provider stores it.
func jwksOf(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return string(b)
}

// testSnapshot trusts testIssuer with issuerKey.
func testSnapshot(t *testing.T) *identity.Snapshot {
	t.Helper()
	return &identity.Snapshot{
		Configured: true,
		ClockSkew:  time.Minute,
		Issuers: []identity.Issuer{{
			Name: "test", URL: testIssuer, Audience: testAudience, NameClaim: "email", GroupsClaim: "groups",
			JWKS: jwksOf(t, issuerKey(t)),
		}},
	}
}

// mint signs an ID token with key (RS256, key's KeyID in the header).
func mint(t *testing.T, key jose.JSONWebKey, claims jwt.Claims, extra map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	b := jwt.Signed(signer).Claims(claims)
	if extra != nil {
		b = b.Claims(extra)
	}
	raw, err := b.Serialize()
	require.NoError(t, err)
	return raw
}

func baseClaims() (jwt.Claims, map[string]any) {
	return jwt.Claims{
			Issuer: testIssuer, Subject: "sub-alice", Audience: jwt.Audience{testAudience},
			Expiry: jwt.NewNumericDate(testNow.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(testNow),
			NotBefore: jwt.NewNumericDate(testNow), ID: "jti-1",
		}, map[string]any{
			"email": "alice@example.com", "nonce": "the-nonce",
		}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	type tc struct {
		name string
		// claims edits the standard and custom claims of the token.
		claims func(c *jwt.Claims, extra map[string]any)
		// key signs the token (default issuerKey).
		key func(t *testing.T) jose.JSONWebKey
		// raw replaces the token.
		raw func(t *testing.T) string
		// snap edits the snapshot.
		snap       func(s *identity.Snapshot)
		wantReason string
		wantMsg    string
		check      func(t *testing.T, v identity.Verified)
	}
	cases := []tc{
		{
			name: "valid",
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, identity.Principal{Name: "alice@example.com", Subject: "sub-alice", Issuer: testIssuer, TokenID: "jti-1"}, v.Principal)
				assert.Equal(t, "the-nonce", v.Nonce)
				assert.True(t, v.Expiry.Equal(testNow.Add(10*time.Minute)))
				assert.True(t, v.IssuedAt.Equal(testNow))
			},
		},
		{name: "no token", raw: func(*testing.T) string { return "" }, wantReason: identity.ReasonNoToken, wantMsg: "orgguard login"},
		{name: "blank token", raw: func(*testing.T) string { return " \n\t" }, wantReason: identity.ReasonNoToken},
		{name: "not configured", snap: func(s *identity.Snapshot) { s.Configured = false }, wantReason: identity.ReasonNotConfigured},
		{name: "malformed", raw: func(*testing.T) string { return "not.a.jwt" }, wantReason: identity.ReasonMalformed},
		{name: "garbage", raw: func(*testing.T) string { return "hello" }, wantReason: identity.ReasonMalformed},
		{
			// A shared-secret signature proves nothing: HS256 is refused
			// before any key is looked at.
			name: "HS256 refused",
			raw: func(t *testing.T) string {
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
				require.NoError(t, err)
				c, extra := baseClaims()
				raw, err := jwt.Signed(signer).Claims(c).Claims(extra).Serialize()
				require.NoError(t, err)
				return raw
			},
			wantReason: identity.ReasonMalformed,
		},
		{
			name:       "untrusted issuer",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.Issuer = "https://evil.example.test" },
			wantReason: identity.ReasonUntrustedIssuer, wantMsg: "https://evil.example.test",
		},
		{
			name:       "issuer URL must match exactly",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.Issuer = testIssuer + "/" },
			wantReason: identity.ReasonUntrustedIssuer,
		},
		{
			name:       "unknown kid",
			key:        func(t *testing.T) jose.JSONWebKey { k := issuerKey(t); k.KeyID = "key-2"; return k },
			wantReason: identity.ReasonUnknownKey, wantMsg: `"key-2"`,
		},
		{
			name:       "no keys loaded",
			snap:       func(s *identity.Snapshot) { s.Issuers[0].JWKS = `{"keys":[]}` },
			wantReason: identity.ReasonUnknownKey,
		},
		{
			// Signed by another key that claims the issuer's key ID.
			name:       "forged signature",
			key:        func(t *testing.T) jose.JSONWebKey { return otherKey(t, testKID) },
			wantReason: identity.ReasonBadSignature,
		},
		{
			name: "forged signature without kid",
			key: func(t *testing.T) jose.JSONWebKey {
				k := otherKey(t, "")
				return k
			},
			wantReason: identity.ReasonBadSignature,
		},
		{
			name:       "wrong audience",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.Audience = jwt.Audience{"some-other-app"} },
			wantReason: identity.ReasonWrongAudience, wantMsg: "some-other-app",
		},
		{
			name: "one of several audiences",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.Audience = jwt.Audience{"some-other-app", testAudience}
			},
		},
		{
			name: "expired beyond skew",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.IssuedAt, c.NotBefore = jwt.NewNumericDate(testNow.Add(-15*time.Minute)), jwt.NewNumericDate(testNow.Add(-15*time.Minute))
				c.Expiry = jwt.NewNumericDate(testNow.Add(-61 * time.Second))
			},
			wantReason: identity.ReasonExpired, wantMsg: "log in again",
		},
		{
			name: "expired within skew accepted",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.IssuedAt, c.NotBefore = jwt.NewNumericDate(testNow.Add(-15*time.Minute)), jwt.NewNumericDate(testNow.Add(-15*time.Minute))
				c.Expiry = jwt.NewNumericDate(testNow.Add(-30 * time.Second))
			},
		},
		{
			name: "expired within a larger configured skew accepted",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.IssuedAt, c.NotBefore = jwt.NewNumericDate(testNow.Add(-15*time.Minute)), jwt.NewNumericDate(testNow.Add(-15*time.Minute))
				c.Expiry = jwt.NewNumericDate(testNow.Add(-3 * time.Minute))
			},
			snap: func(s *identity.Snapshot) { s.ClockSkew = 5 * time.Minute },
		},
		{
			name: "zero skew means the default minute",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.Expiry = jwt.NewNumericDate(testNow.Add(-30 * time.Second))
				c.IssuedAt, c.NotBefore = nil, nil
			},
			snap: func(s *identity.Snapshot) { s.ClockSkew = 0 },
		},
		{
			name: "zero skew: beyond the default minute",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.Expiry = jwt.NewNumericDate(testNow.Add(-2 * time.Minute))
				c.IssuedAt, c.NotBefore = nil, nil
			},
			snap:       func(s *identity.Snapshot) { s.ClockSkew = 0 },
			wantReason: identity.ReasonExpired,
		},
		{
			name:       "no expiry",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.Expiry = nil },
			wantReason: identity.ReasonMalformed, wantMsg: "no expiry",
		},
		{
			name:       "not yet valid (nbf)",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.NotBefore = jwt.NewNumericDate(testNow.Add(5 * time.Minute)) },
			wantReason: identity.ReasonNotYetValid,
		},
		{
			name:       "not yet valid (iat in the future)",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.IssuedAt = jwt.NewNumericDate(testNow.Add(5 * time.Minute)) },
			wantReason: identity.ReasonNotYetValid,
		},
		{
			name: "nbf and iat within skew accepted",
			claims: func(c *jwt.Claims, _ map[string]any) {
				c.NotBefore = jwt.NewNumericDate(testNow.Add(30 * time.Second))
				c.IssuedAt = jwt.NewNumericDate(testNow.Add(30 * time.Second))
			},
		},
		{
			name:       "missing name claim",
			claims:     func(_ *jwt.Claims, extra map[string]any) { delete(extra, "email") },
			wantReason: identity.ReasonNoName, wantMsg: `"email"`,
		},
		{
			name:       "blank name claim",
			claims:     func(_ *jwt.Claims, extra map[string]any) { extra["email"] = "  " },
			wantReason: identity.ReasonNoName,
		},
		{
			name:       "name claim not a string",
			claims:     func(_ *jwt.Claims, extra map[string]any) { extra["email"] = []string{"alice@example.com"} },
			wantReason: identity.ReasonNoName,
		},
		{
			name:       "missing subject",
			claims:     func(c *jwt.Claims, _ map[string]any) { c.Subject = "" },
			wantReason: identity.ReasonNoName, wantMsg: "(sub)",
		},
		{
			name:   "issuer's name claim",
			claims: func(_ *jwt.Claims, extra map[string]any) { extra["preferred_username"] = "alice" },
			snap:   func(s *identity.Snapshot) { s.Issuers[0].NameClaim = "preferred_username" },
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, "alice", v.Principal.Name)
			},
		},
		{
			name:   "groups claim as a string",
			claims: func(_ *jwt.Claims, extra map[string]any) { extra["groups"] = "security-team" },
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, []string{"security-team"}, v.Principal.Groups)
			},
		},
		{
			name:   "groups claim as a list",
			claims: func(_ *jwt.Claims, extra map[string]any) { extra["groups"] = []any{"z-team", "security-team", 42} },
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, []string{"security-team", "z-team"}, v.Principal.Groups, "sorted, non-strings dropped")
			},
		},
		{
			name:   "groups ignored without a groups claim",
			claims: func(_ *jwt.Claims, extra map[string]any) { extra["groups"] = []any{"security-team"} },
			snap:   func(s *identity.Snapshot) { s.Issuers[0].GroupsClaim = "" },
			check: func(t *testing.T, v identity.Verified) {
				assert.Empty(t, v.Principal.Groups)
			},
		},
		{
			name: "groups from another claim",
			claims: func(_ *jwt.Claims, extra map[string]any) {
				extra["roles"] = []any{"approver"}
				extra["groups"] = []any{"x"}
			},
			snap: func(s *identity.Snapshot) { s.Issuers[0].GroupsClaim = "roles" },
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, []string{"approver"}, v.Principal.Groups)
			},
		},
		{
			name:   "no nonce",
			claims: func(_ *jwt.Claims, extra map[string]any) { delete(extra, "nonce") },
			check: func(t *testing.T, v identity.Verified) {
				assert.Empty(t, v.Nonce, "Verify does not check the nonce; callers do")
			},
		},
		{
			name: "second issuer",
			snap: func(s *identity.Snapshot) {
				first := s.Issuers[0]
				first.URL, first.Name, first.JWKS = "https://first.example.test", "first", jwksOf(t, otherKey(t, "k-first"))
				s.Issuers = append([]identity.Issuer{first}, s.Issuers...)
			},
			check: func(t *testing.T, v identity.Verified) {
				assert.Equal(t, testIssuer, v.Principal.Issuer)
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			snap := testSnapshot(t)
			if c.snap != nil {
				c.snap(snap)
			}
			var raw string
			if c.raw != nil {
				raw = c.raw(t)
			} else {
				claims, extra := baseClaims()
				if c.claims != nil {
					c.claims(&claims, extra)
				}
				key := issuerKey(t)
				if c.key != nil {
					key = c.key(t)
				}
				raw = mint(t, key, claims, extra)
			}
			v, err := identity.Verify(snap, raw, testNow)
			if c.wantReason != "" {
				require.Error(t, err)
				assert.Equal(t, c.wantReason, identity.ReasonOf(err), "%v", err)
				var ie *identity.Error
				require.True(t, errors.As(err, &ie))
				assert.True(t, strings.HasSuffix(err.Error(), "["+c.wantReason+"]"), err.Error())
				if c.wantMsg != "" {
					assert.Contains(t, err.Error(), c.wantMsg)
				}
				assert.Empty(t, v.Principal.Subject, "a refused token names nobody")
				return
			}
			require.NoError(t, err)
			assert.Empty(t, identity.ReasonOf(err))
			if c.check != nil {
				c.check(t, v)
			}
		})
	}
}

func TestVerifyTokenIDWithoutJTI(t *testing.T) {
	t.Parallel()
	snap := testSnapshot(t)
	claims, extra := baseClaims()
	claims.ID = ""
	raw := mint(t, issuerKey(t), claims, extra)
	v1, err := identity.Verify(snap, raw, testNow)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v1.Principal.TokenID, "sha256:"), v1.Principal.TokenID)
	assert.Len(t, v1.Principal.TokenID, len("sha256:")+32)
	assert.NotContains(t, v1.Principal.TokenID, raw)

	v2, err := identity.Verify(snap, "  "+raw+"\n", testNow.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, v1.Principal.TokenID, v2.Principal.TokenID, "the same token has the same ID (replay detection)")

	extra["nonce"] = "another"
	v3, err := identity.Verify(snap, mint(t, issuerKey(t), claims, extra), testNow)
	require.NoError(t, err)
	assert.NotEqual(t, v1.Principal.TokenID, v3.Principal.TokenID, "another token has another ID")
}

func TestReasonOf(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", identity.ReasonOf(nil))
	assert.Equal(t, "", identity.ReasonOf(errors.New("plain")))
	_, err := identity.Verify(testSnapshot(t), "", testNow)
	assert.Equal(t, identity.ReasonNoToken, identity.ReasonOf(fmt.Errorf("wrapped: %w", err)))
	// Errors that crossed Temporal arrive as text.
	assert.Equal(t, identity.ReasonReplayed, identity.ReasonOf(errors.New("token x was already used [replayed]")))
	assert.Equal(t, identity.ReasonExpired, identity.ReasonOf(errors.New("activity error: the token expired at ... [expired]")))
}

func TestNonces(t *testing.T) {
	t.Parallel()
	base := identity.VoteNonce("rem-1", identity.DecisionApprove, "digest-1")
	assert.Equal(t, base, identity.VoteNonce("rem-1", identity.DecisionApprove, "digest-1"), "deterministic")
	assert.NotContains(t, base, "=", "URL-safe, unpadded")
	for name, other := range map[string]string{
		"another remediation": identity.VoteNonce("rem-2", identity.DecisionApprove, "digest-1"),
		"another decision":    identity.VoteNonce("rem-1", identity.DecisionReject, "digest-1"),
		"another plan":        identity.VoteNonce("rem-1", identity.DecisionApprove, "digest-2"),
		"fields run together": identity.VoteNonce("rem-1"+identity.DecisionApprove, "", "digest-1"),
		"a start nonce":       identity.StartNonce("rem-1", identity.DecisionApprove, "digest-1"),
	} {
		assert.NotEqual(t, base, other, name)
	}
	start := identity.StartNonce("r1", "apply", "d1")
	assert.Equal(t, start, identity.StartNonce("r1", "apply", "d1"))
	assert.Equal(t, identity.StartNonce("r1", "apply", "d1", "a", "b"), identity.StartNonce("r1", "apply", "d1", "b", "a"), "targets are a set")
	assert.NotEqual(t, identity.StartNonce("r1", "apply", "d1", "a"), identity.StartNonce("r1", "apply", "d1", "a", "b"))
	for name, other := range map[string]string{
		"another run":  identity.StartNonce("r2", "apply", "d1"),
		"another mode": identity.StartNonce("r1", "plan", "d1"),
		"another pack": identity.StartNonce("r1", "apply", "d2"),
		"shifted":      identity.StartNonce("r1a", "pply", "d1"),
		"with targets": identity.StartNonce("r1", "apply", "d1", "Root/Prod"),
	} {
		assert.NotEqual(t, start, other, name)
	}
}

func TestChangeDigest(t *testing.T) {
	t.Parallel()
	fields := []string{"rem-1", "111111111111", "us-east-1", "control.sg", "arn:sg-1", "pack", `{"a":1}`}
	d := identity.ChangeDigest(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6])
	assert.Len(t, d, 64)
	for i := range fields {
		f := append([]string(nil), fields...)
		f[i] += "x"
		assert.NotEqual(t, d, identity.ChangeDigest(f[0], f[1], f[2], f[3], f[4], f[5], f[6]), "field %d", i)
	}
	assert.NotEqual(t, d, identity.ChangeDigest("rem-1111111111111", "", fields[2], fields[3], fields[4], fields[5], fields[6]), "no field runs into the next")
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	a := identity.Principal{Name: "alice", Subject: "s1", Issuer: testIssuer}
	assert.True(t, a.Same(identity.Principal{Name: "Alice Smith", Subject: "s1", Issuer: testIssuer}), "one subject, two display names: one person")
	assert.False(t, a.Same(identity.Principal{Name: "alice", Subject: "s2", Issuer: testIssuer}))
	assert.False(t, a.Same(identity.Principal{Name: "alice", Subject: "s1", Issuer: "https://other.example.test"}), "subjects are per issuer")
	assert.False(t, identity.Principal{Name: "x"}.Same(identity.Principal{Name: "x"}), "no subject: not verified, never the same")
	assert.Equal(t, "alice (sub s1 at "+testIssuer+")", a.String())
}

func TestAllowsUnverified(t *testing.T) {
	t.Parallel()
	unconfigured := identity.Snapshot{}
	assert.True(t, unconfigured.AllowsUnverified("check"))
	assert.True(t, unconfigured.AllowsUnverified("plan"))
	assert.False(t, unconfigured.AllowsUnverified("apply"), "apply never runs unverified")
	s := testSnapshot(t)
	assert.False(t, s.AllowsUnverified("check"))
	s.Requester.UnverifiedModes = []string{"check", "apply"}
	assert.True(t, s.AllowsUnverified("check"))
	assert.False(t, s.AllowsUnverified("plan"))
	assert.False(t, s.AllowsUnverified("apply"), "apply never runs unverified, whatever the snapshot says")
}
