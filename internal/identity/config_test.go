package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/hcl/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/identity"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

const validTrustConfig = `clock_skew = "30s"

issuer "corp" {
  url          = "https://login.example.com/tenant"
  audience     = "orgguard"
  name_claim   = "preferred_username"
  groups_claim = "groups"
  jwks_file    = "corp-jwks.json"
}

issuer "dev" {
  url      = "http://127.0.0.1:5556"
  audience = "orgguard-cli"
}

requester {
  unverified_modes = ["check", "plan"]
}

approval_policy "security-team" {
  approvers   = ["alice", "bob"]
  idp_groups  = ["sec"]
  quorum      = 2
  timeout     = "24h"
  on_timeout  = "escalate"
  escalate_to = "ciso"
}

approval_policy "ciso" {
  approvers            = ["carol"]
  separation_of_duties = false
}

require_approval {
  kinds    = ["scp", "ec2.default_security_group_closed"]
  policies = ["security-team"]
}

require_approval {
  guardrails = ["control.root_mfa"]
  policies   = ["security-team", "ciso"]
}

packs {
  digests           = ["0000000000000000000000000000000000000000000000000000000000000000"]
  signing_key_files = ["keys/pack.pub.jwk"]
}
`

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, pubJSON := ed25519JWK(t, "packs-1")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o700))
	writeFile(t, dir, "keys/pack.pub.jwk", pubJSON+"\n")
	path := writeFile(t, dir, "trust.hcl", validTrustConfig)

	c, diags := identity.LoadConfig(path)
	require.False(t, diags.HasErrors(), "%v", diags)
	require.NotNil(t, c)
	sum := sha256.Sum256([]byte(validTrustConfig))
	assert.Equal(t, path, c.Path)
	assert.Equal(t, hex.EncodeToString(sum[:]), c.Digest)
	assert.Equal(t, 30*time.Second, c.ClockSkew)

	require.Len(t, c.Issuers, 2)
	corp := c.Issuers[0]
	assert.Equal(t, identity.Issuer{Name: "corp", URL: "https://login.example.com/tenant", Audience: "orgguard", NameClaim: "preferred_username", GroupsClaim: "groups"}, corp.Issuer)
	assert.Equal(t, filepath.Join(dir, "corp-jwks.json"), corp.JWKSFile, "relative to the trust config")
	assert.Equal(t, path+":3:1", corp.Where)
	dev := c.Issuers[1]
	assert.Equal(t, "email", dev.NameClaim, "the default name claim")
	assert.Empty(t, dev.GroupsClaim)
	assert.Equal(t, path+":11:1", dev.Where)

	assert.Equal(t, []string{"check", "plan"}, c.Requester.UnverifiedModes)

	sec, ok := c.Floor.Policy("security-team")
	require.True(t, ok)
	assert.Equal(t, guardrails.ApprovalPolicy{Name: "security-team", Approvers: []string{"alice", "bob"}, IdPGroups: []string{"sec"},
		Quorum: 2, SeparationOfDuties: true, Timeout: 24 * time.Hour, OnTimeout: "escalate", EscalateTo: "ciso"}, sec)
	ciso, ok := c.Floor.Policy("ciso")
	require.True(t, ok)
	assert.Equal(t, guardrails.ApprovalPolicy{Name: "ciso", Approvers: []string{"carol"}, Quorum: 1, SeparationOfDuties: false,
		Timeout: guardrails.DefaultApprovalTimeout, OnTimeout: "expire"}, ciso, "defaults")

	require.Len(t, c.Floor.Rules, 2)
	assert.Equal(t, identity.ApprovalRule{Kinds: []string{"scp", "ec2.default_security_group_closed"}, Policies: []string{"security-team"}, Where: path + ":34:1"}, c.Floor.Rules[0])
	assert.Equal(t, []string{"control.root_mfa"}, c.Floor.Rules[1].Guardrails)
	assert.Equal(t, []string{strings.Repeat("0", 64)}, c.Floor.PackDigests)
	assert.Equal(t, []string{pubJSON}, c.Floor.PackKeys)
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "trust.hcl", `issuer "x" {
  url      = "https://idp.example.com"
  audience = "orgguard"
}
`)
	c, diags := identity.LoadConfig(path)
	require.False(t, diags.HasErrors(), "%v", diags)
	assert.Equal(t, identity.DefaultClockSkew, c.ClockSkew)
	assert.Empty(t, c.Requester.UnverifiedModes, "no unverified modes unless configured")
	assert.False(t, c.Floor.Governed())
}

// diagAt asserts that one error diagnostic is at file:line and mentions want.
func diagAt(t *testing.T, diags hcl.Diagnostics, path string, line int, want string) {
	t.Helper()
	require.True(t, diags.HasErrors(), "want an error diagnostic")
	var all []string
	for _, d := range diags {
		all = append(all, d.Error())
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		if d.Subject.Filename == path && (line == 0 || d.Subject.Start.Line == line) &&
			strings.Contains(d.Summary+"; "+d.Detail, want) {
			prefix := fmt.Sprintf("%s:%d,", path, d.Subject.Start.Line)
			assert.True(t, strings.HasPrefix(d.Error(), prefix), "%q names file:line", d.Error())
			return
		}
	}
	t.Errorf("no error diagnostic at %s:%d mentioning %q; got:\n%s", path, line, want, strings.Join(all, "\n"))
}

func TestLoadConfigInvalid(t *testing.T) {
	t.Parallel()
	issuerOK := "issuer \"corp\" {\n  url      = \"https://idp.example.com\"\n  audience = \"orgguard\"\n}\n"
	policyOK := "approval_policy \"security-team\" {\n  approvers = [\"alice\", \"bob\"]\n}\n"
	cases := []struct {
		name string
		src  string
		line int // 0: any line of the file
		want string
	}{
		{"plain http, not loopback", "issuer \"corp\" {\n  url      = \"http://idp.example.com\"\n  audience = \"orgguard\"\n}\n", 1, "plain http"},
		{"not an http URL", "issuer \"corp\" {\n  url      = \"ftp://idp.example.com\"\n  audience = \"orgguard\"\n}\n", 1, "not an http(s) URL"},
		{"no host", "issuer \"corp\" {\n  url      = \"https://\"\n  audience = \"orgguard\"\n}\n", 1, "not an http(s) URL"},
		{"duplicate issuer", issuerOK + "\n" + strings.Replace(issuerOK, `"corp"`, `"corp2"`, 1), 6, "already configured"},
		{"empty audience", "\n\nissuer \"corp\" {\n  url      = \"https://idp.example.com\"\n  audience = \"  \"\n}\n", 3, "Missing audience"},
		{"missing audience", "\nissuer \"corp\" {\n  url = \"https://idp.example.com\"\n}\n", 2, "\"audience\" is required"},
		{"no issuer", policyOK, 0, "at least one issuer"},
		{"unknown policy in require_approval", issuerOK + policyOK + "\nrequire_approval {\n  kinds    = [\"scp\"]\n  policies = [\"security\"]\n}\n", 9, `policy "security" is not an approval_policy`},
		{"require_approval names nothing", issuerOK + policyOK + "require_approval {\n  policies = [\"security-team\"]\n}\n", 8, "names no kinds and no guardrails"},
		{"require_approval without policies", issuerOK + policyOK + "require_approval {\n  kinds    = [\"scp\"]\n  policies = []\n}\n", 8, "No policies"},
		{"unverified apply", issuerOK + "requester {\n  unverified_modes = [\"apply\"]\n}\n", 0, `"apply"`},
		{"policy without approvers", issuerOK + "approval_policy \"empty\" {\n  quorum = 1\n}\n", 5, "names no approvers"},
		{"quorum above approvers", issuerOK + "approval_policy \"p\" {\n  approvers = [\"alice\"]\n  quorum    = 2\n}\n", 5, "quorum = 2"},
		{"quorum zero", issuerOK + "approval_policy \"p\" {\n  approvers = [\"alice\"]\n  quorum    = 0\n}\n", 5, "quorum = 0"},
		{"duplicate policy", issuerOK + policyOK + policyOK, 8, "defined twice"},
		{"escalation to an unknown policy", issuerOK + "approval_policy \"p\" {\n  approvers   = [\"alice\"]\n  escalate_to = \"nobody\"\n}\n", 5, `escalate_to = "nobody"`},
		{"bad on_timeout", issuerOK + "approval_policy \"p\" {\n  approvers  = [\"alice\"]\n  on_timeout = \"approve\"\n}\n", 5, "on_timeout"},
		{"bad timeout", issuerOK + "approval_policy \"p\" {\n  approvers = [\"alice\"]\n  timeout   = \"soon\"\n}\n", 5, "timeout"},
		{"bad clock skew", "clock_skew = \"1h\"\n" + issuerOK, 0, "clock_skew"},
		{"unknown attribute", issuerOK + "\ntrust_everyone = true\n", 6, "trust_everyone"},
		{"syntax error", issuerOK + "issuer \"x\" {\n", 0, ""},
		{"unreadable pack key", issuerOK + "packs {\n  signing_key_files = [\"missing.jwk\"]\n}\n", 5, "missing.jwk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "trust.hcl", c.src)
			cfg, diags := identity.LoadConfig(path)
			assert.Nil(t, cfg, "an invalid trust config is not used")
			diagAt(t, diags, path, c.line, c.want)
		})
	}
}

func TestLoadConfigPackKeyMustBePublic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, _, _ := ed25519JWK(t, "k")
	b, err := priv.MarshalJSON()
	require.NoError(t, err)
	writeFile(t, dir, "pack.jwk", string(b))
	path := writeFile(t, dir, "trust.hcl", "issuer \"corp\" {\n  url      = \"https://idp.example.com\"\n  audience = \"orgguard\"\n}\n\npacks {\n  signing_key_files = [\"pack.jwk\"]\n}\n")
	_, diags := identity.LoadConfig(path)
	diagAt(t, diags, path, 6, "not a public JWK")
}

func TestLoadConfigMissingFile(t *testing.T) {
	t.Parallel()
	cfg, diags := identity.LoadConfig(filepath.Join(t.TempDir(), "nope.hcl"))
	assert.Nil(t, cfg)
	require.True(t, diags.HasErrors())
	assert.Contains(t, diags.Error(), "Cannot read trust config")
}

// A trust config that pins keys in a file: the provider reads them, keeps
// public keys only, and tokens signed with the key verify.
func TestProviderWithJWKSFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := issuerKey(t)
	// The file holds the private key too (a careless export): the snapshot,
	// which lands in workflow history, must not.
	privJSON, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key,
		{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: string(jose.HS256)},
		{Key: []byte("secret"), KeyID: "enc-key", Use: "enc"}}})
	require.NoError(t, err)
	writeFile(t, dir, "jwks.json", string(privJSON))
	path := writeFile(t, dir, "trust.hcl", fmt.Sprintf(`issuer "test" {
  url          = %q
  audience     = %q
  groups_claim = "groups"
  jwks_file    = "jwks.json"
}

requester {
  unverified_modes = ["check"]
}
`, testIssuer, testAudience))
	cfg, diags := identity.LoadConfig(path)
	require.False(t, diags.HasErrors(), "%v", diags)
	p := identity.NewProvider(cfg, nil, nil)
	assert.Same(t, cfg, p.Config())
	snap, err := p.Snapshot(context.Background(), false)
	require.NoError(t, err)
	assert.True(t, snap.Configured)
	assert.Equal(t, path, snap.Source)
	assert.Equal(t, cfg.Digest, snap.Digest)
	assert.Equal(t, []string{"check"}, snap.Requester.UnverifiedModes)
	require.Len(t, snap.Issuers, 1)
	assert.NotContains(t, snap.Issuers[0].JWKS, `"d"`, "no private key material in the snapshot")
	assert.NotContains(t, snap.Issuers[0].JWKS, "hmac", "symmetric keys dropped")
	assert.NotContains(t, snap.Issuers[0].JWKS, "enc-key", "encryption keys dropped")

	claims, extra := baseClaims()
	now := time.Now()
	claims.IssuedAt, claims.NotBefore, claims.Expiry = jwt.NewNumericDate(now), jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(5*time.Minute))
	extra["groups"] = []string{"sec"}
	v, err := identity.Verify(&snap, mint(t, key, claims, extra), now)
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", v.Principal.Name)
	assert.Equal(t, []string{"sec"}, v.Principal.Groups)

	none, err := identity.NewProvider(nil, nil, nil).Snapshot(context.Background(), false)
	require.NoError(t, err)
	assert.False(t, none.Configured)
}

func TestDevIssuerTokensVerify(t *testing.T) {
	t.Parallel()
	iss, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = iss.Close() })

	resp, err := http.Get(iss.URL() + "/jwks")
	require.NoError(t, err)
	jwks, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(jwks))
	assert.NotContains(t, string(jwks), `"d"`, "the JWKS publishes the public key only")

	snap := &identity.Snapshot{Configured: true, Issuers: []identity.Issuer{{
		Name: "orgguard-dev", URL: iss.URL(), Audience: devidp.Audience, NameClaim: "preferred_username", GroupsClaim: "groups", JWKS: string(jwks),
	}}}
	now := time.Now()
	nonce := identity.VoteNonce("rem-1", identity.DecisionApprove, "digest")
	tok, err := iss.Mint(devidp.Users[0], nonce, now)
	require.NoError(t, err)
	v, err := identity.Verify(snap, tok, now)
	require.NoError(t, err)
	assert.Equal(t, "alice", v.Principal.Name)
	assert.Equal(t, "dev|alice", v.Principal.Subject)
	assert.Equal(t, iss.URL(), v.Principal.Issuer)
	assert.Equal(t, []string{"security-team"}, v.Principal.Groups)
	assert.Len(t, v.Principal.TokenID, 32)
	assert.Equal(t, nonce, v.Nonce)

	// Its tokens expire like a real IdP's.
	_, err = identity.Verify(snap, tok, now.Add(devidp.TokenLifetime+2*time.Minute))
	assert.Equal(t, identity.ReasonExpired, identity.ReasonOf(err))
	// Two tokens for one person: one subject, two token IDs.
	tok2, err := iss.Mint(devidp.Users[0], nonce, now)
	require.NoError(t, err)
	v2, err := identity.Verify(snap, tok2, now)
	require.NoError(t, err)
	assert.True(t, v.Principal.Same(v2.Principal))
	assert.NotEqual(t, v.Principal.TokenID, v2.Principal.TokenID)

	// Another dev issuer (another key, another port) is not this one.
	other, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	forged, err := other.Mint(devidp.Users[0], nonce, now)
	require.NoError(t, err)
	_, err = identity.Verify(snap, forged, now)
	assert.Equal(t, identity.ReasonUntrustedIssuer, identity.ReasonOf(err))
}

// The dev worker's trust config loads, and its provider discovers the dev
// issuer's keys over OIDC discovery.
func TestDevIssuerTrustConfig(t *testing.T) {
	t.Parallel()
	iss, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = iss.Close() })
	path := writeFile(t, t.TempDir(), "trust.hcl", iss.TrustConfig())
	cfg, diags := identity.LoadConfig(path)
	require.False(t, diags.HasErrors(), "%v", diags)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := identity.NewProvider(cfg, nil, nil).Snapshot(ctx, false)
	require.NoError(t, err)
	assert.True(t, snap.AllowsUnverified("plan"))
	assert.False(t, snap.AllowsUnverified("apply"))
	now := time.Now()
	tok, err := iss.Mint(devidp.Users[1], "n", now)
	require.NoError(t, err)
	v, err := identity.Verify(&snap, tok, now)
	require.NoError(t, err)
	assert.Equal(t, "bob", v.Principal.Name)
	r, ok := snap.Floor.Rule(guardrails.Guardrail{ID: "control.x", Kind: guardrails.KindControl, Control: &guardrails.Control{Type: "ec2.no_public_ssh_rdp"}})
	require.True(t, ok)
	assert.Equal(t, []string{"security-team"}, r.Policies)
}
