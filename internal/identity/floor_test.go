package identity_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

func guardrail(id string, kind guardrails.Kind, controlType string, mode guardrails.Mode, policy string) guardrails.Guardrail {
	g := guardrails.Guardrail{ID: id, Kind: kind, Name: id, Remediation: guardrails.Remediation{Mode: mode, ApprovalPolicy: policy}}
	if controlType != "" {
		g.Control = &guardrails.Control{Type: controlType}
	}
	return g
}

// sealed is a set whose digest matches its content, as the compiler makes it.
func sealed(gs ...guardrails.Guardrail) guardrails.Set {
	s := guardrails.Set{Guardrails: gs, ApprovalPolicies: []guardrails.ApprovalPolicy{
		{Name: "security-team", Approvers: []string{"mallory"}, Quorum: 1},
		{Name: "team-x", Approvers: []string{"xavier"}, Quorum: 1},
	}}
	s.Digest = s.ComputeDigest()
	return s
}

func testFloor() identity.Floor {
	return identity.Floor{
		Policies: []guardrails.ApprovalPolicy{{Name: "security-team", Approvers: []string{"alice", "bob"}, IdPGroups: []string{"sec"}, Quorum: 1, SeparationOfDuties: true}},
		Rules: []identity.ApprovalRule{
			{Kinds: []string{"scp"}, Policies: []string{"security-team"}, Where: "trust.hcl:20:1"},
			{Kinds: []string{"ec2.default_security_group_closed"}, Policies: []string{"security-team"}, Where: "trust.hcl:25:1"},
			{Guardrails: []string{"control.root_mfa"}, Policies: []string{"security-team", "ciso"}, Where: "trust.hcl:30:1"},
		},
	}
}

func TestFloorEnforceGuardrails(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		g     guardrails.Guardrail
		wants []string // substrings of the one violation; none: admitted
	}{
		{"auto on a governed kind", guardrail("scp.deny_leave", guardrails.KindSCP, "", guardrails.ModeAuto, ""),
			[]string{"scp.deny_leave", `remediation mode "auto"`, "trust.hcl:20:1", `mode = "approval"`, "security-team"}},
		{"auto on a governed control type", guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeAuto, ""),
			[]string{"control.default_sg_closed", `"auto"`, "trust.hcl:25:1"}},
		{"auto on a governed guardrail ID", guardrail("control.root_mfa", guardrails.KindControl, "iam.root_mfa", guardrails.ModeAuto, ""),
			[]string{"control.root_mfa", "trust.hcl:30:1", "security-team or ciso"}},
		{"auto, ungoverned", guardrail("control.s3_encryption", guardrails.KindControl, "s3.bucket_encryption", guardrails.ModeAuto, ""), nil},
		{"approval with a policy outside the rule", guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeApproval, "team-x"),
			[]string{"control.default_sg_closed", `approval_policy "team-x"`, "trust.hcl:25:1", "security-team"}},
		{"approval with the floor's policy", guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeApproval, "security-team"), nil},
		{"approval with one of the rule's policies", guardrail("control.root_mfa", guardrails.KindControl, "iam.root_mfa", guardrails.ModeApproval, "ciso"), nil},
		{"report is stricter", guardrail("scp.deny_leave", guardrails.KindSCP, "", guardrails.ModeReport, ""), nil},
		{"no remediation is stricter", guardrail("scp.deny_leave", guardrails.KindSCP, "", "", ""), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := testFloor()
			for _, mode := range []string{"check", "plan", "apply"} {
				_, vs := f.Enforce(sealed(c.g), mode, "")
				if len(c.wants) == 0 {
					assert.Empty(t, vs, mode)
					continue
				}
				require.Len(t, vs, 1, mode)
				assert.Equal(t, c.g.ID, vs[0].Guardrail)
				for _, w := range c.wants {
					assert.Contains(t, vs[0].String(), w, mode)
				}
				assert.True(t, strings.HasPrefix(vs[0].String(), c.g.ID+": "), vs[0].String())
			}
		})
	}
}

func TestFloorEnforceReportsEveryViolation(t *testing.T) {
	t.Parallel()
	f := testFloor()
	set := sealed(
		guardrail("scp.deny_leave", guardrails.KindSCP, "", guardrails.ModeAuto, ""),
		guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeApproval, "team-x"),
		guardrail("control.s3", guardrails.KindControl, "s3.x", guardrails.ModeAuto, ""),
	)
	_, vs := f.Enforce(set, "apply", "")
	require.Len(t, vs, 2)
	assert.Equal(t, "scp.deny_leave", vs[0].Guardrail)
	assert.Equal(t, "control.default_sg_closed", vs[1].Guardrail)
}

func TestFloorPoliciesReplacePackPolicies(t *testing.T) {
	t.Parallel()
	f := testFloor()
	f.Policies = append(f.Policies, guardrails.ApprovalPolicy{Name: "ciso", Approvers: []string{"carol"}, Quorum: 1})
	in := sealed(guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeApproval, "security-team"))
	out, vs := f.Enforce(in, "apply", "")
	require.Empty(t, vs)
	names := []string{}
	for _, p := range out.ApprovalPolicies {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"ciso", "security-team", "team-x"}, names, "the floor's policies added, pack policies kept, sorted by name")
	sec := out.ApprovalPolicies[1]
	assert.Equal(t, []string{"alice", "bob"}, sec.Approvers, "the floor's members, not the pack's")
	assert.Equal(t, []string{"sec"}, sec.IdPGroups)
	assert.True(t, sec.SeparationOfDuties)
	assert.Equal(t, []string{"xavier"}, out.ApprovalPolicies[2].Approvers)
	// The caller's set is not changed behind its back.
	assert.Equal(t, []string{"mallory"}, in.ApprovalPolicies[0].Approvers)
	assert.Equal(t, in.Digest, out.Digest, "the digest names the pack as compiled")
}

func TestFloorEmptyIsNotGoverned(t *testing.T) {
	t.Parallel()
	var f identity.Floor
	assert.False(t, f.Governed())
	in := sealed(guardrail("scp.deny_leave", guardrails.KindSCP, "", guardrails.ModeAuto, ""))
	out, vs := f.Enforce(in, "apply", "")
	assert.Empty(t, vs)
	assert.Equal(t, in, out)
	governed := testFloor()
	assert.True(t, governed.Governed())
	assert.True(t, (&identity.Floor{PackDigests: []string{"x"}}).Governed())
}

func TestFloorTamperedSet(t *testing.T) {
	t.Parallel()
	var f identity.Floor
	set := sealed(guardrail("scp.deny_leave", guardrails.KindSCP, "", guardrails.ModeReport, ""))
	set.Guardrails[0].Remediation.Mode = guardrails.ModeAuto // changed after compiling
	for _, mode := range []string{"check", "plan", "apply"} {
		_, vs := f.Enforce(set, mode, "")
		require.Len(t, vs, 1, mode)
		assert.Contains(t, vs[0].Message, "does not match its content", mode)
		assert.Empty(t, vs[0].Guardrail)
	}
	set.Digest = ""
	_, vs := f.Enforce(set, "check", "")
	assert.Len(t, vs, 1, "an empty digest matches nothing")
}

func TestFloorPackDigests(t *testing.T) {
	t.Parallel()
	set := sealed(guardrail("control.s3", guardrails.KindControl, "s3.x", guardrails.ModeAuto, ""))
	other := identity.Floor{PackDigests: []string{strings.Repeat("0", 64)}}
	_, vs := other.Enforce(set, "apply", "")
	require.Len(t, vs, 1)
	assert.Contains(t, vs[0].Message, "may not be applied")
	assert.Contains(t, vs[0].Message, set.Digest[:12])
	for _, mode := range []string{"check", "plan"} {
		_, vs := other.Enforce(set, mode, "")
		assert.Empty(t, vs, "the allowlist governs apply only (%s)", mode)
	}
	listed := identity.Floor{PackDigests: []string{strings.Repeat("0", 64), set.Digest}}
	_, vs = listed.Enforce(set, "apply", "")
	assert.Empty(t, vs)
}

func ed25519JWK(t *testing.T, kid string) (private, public jose.JSONWebKey, publicJSON string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	private = jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"}
	public = private.Public()
	b, err := public.MarshalJSON()
	require.NoError(t, err)
	return private, public, string(b)
}

func TestFloorSignedPacks(t *testing.T) {
	t.Parallel()
	set := sealed(guardrail("control.s3", guardrails.KindControl, "s3.x", guardrails.ModeAuto, ""))
	priv, _, pubJSON := ed25519JWK(t, "packs-1")
	wrong, _, _ := ed25519JWK(t, "packs-1")
	f := identity.Floor{PackKeys: []string{pubJSON}}

	sig, err := identity.SignPack(set.Digest, priv)
	require.NoError(t, err)
	_, vs := f.Enforce(set, "apply", sig)
	assert.Empty(t, vs, "signed by a trusted key")
	_, vs = f.Enforce(set, "apply", "\n"+sig+"\n")
	assert.Empty(t, vs, "surrounding whitespace (a .sig file) is fine")

	// Also admitted alongside a digest allowlist that does not list it.
	f2 := identity.Floor{PackKeys: []string{pubJSON}, PackDigests: []string{strings.Repeat("0", 64)}}
	_, vs = f2.Enforce(set, "apply", sig)
	assert.Empty(t, vs)

	refused := func(name, signature, want string, floor identity.Floor) {
		t.Helper()
		_, vs := floor.Enforce(set, "apply", signature)
		if assert.Len(t, vs, 1, name) {
			assert.Contains(t, vs[0].Message, want, name)
			assert.Contains(t, vs[0].Message, "may not be applied", name)
		}
		_, vs = floor.Enforce(set, "plan", signature)
		assert.Empty(t, vs, "%s: plan is not gated by pack signatures", name)
	}
	wrongSig, err := identity.SignPack(set.Digest, wrong)
	require.NoError(t, err)
	refused("signed by another key", wrongSig, "not by any of the trust config's 1 pack key(s)", f)

	otherSig, err := identity.SignPack(strings.Repeat("a", 64), priv)
	require.NoError(t, err)
	refused("signature for another pack", otherSig, "is for pack aaaaaaaaaaaa", f)
	refused("unsigned", "", "not signed", f)
	refused("malformed signature", "not-a-jws", "malformed", f)
	refused("no pack keys", sig, "admits no signed packs", identity.Floor{PackDigests: []string{strings.Repeat("0", 64)}})

	// A signature over a tampered set: the digest check refuses it too.
	tampered := set
	tampered.Guardrails = append([]guardrails.Guardrail(nil), set.Guardrails...)
	tampered.Guardrails[0].ID = "control.other"
	_, vs = f.Enforce(tampered, "apply", sig)
	require.NotEmpty(t, vs)
	assert.Contains(t, vs[0].Message, "does not match its content")
}

func TestSignPackDefaultsToEdDSA(t *testing.T) {
	t.Parallel()
	// A key that names no algorithm signs with EdDSA.
	priv, _, pubJSON := ed25519JWK(t, "k")
	priv.Algorithm = ""
	sig, err := identity.SignPack("abc", priv)
	require.NoError(t, err)
	set := sealed()
	f := identity.Floor{PackKeys: []string{pubJSON}}
	_, vs := f.Enforce(set, "apply", sig)
	require.Len(t, vs, 1)
	assert.Contains(t, vs[0].Message, "is for pack abc")
}

// Notify targets are not a trust decision: a floor policy without any keeps
// the pack's; one with its own wins.
func TestFloorPolicyKeepsPackNotifyTargets(t *testing.T) {
	t.Parallel()
	in := sealed(guardrail("control.default_sg_closed", guardrails.KindControl, "ec2.default_security_group_closed", guardrails.ModeApproval, "security-team"))
	in.ApprovalPolicies[0].Notify = guardrails.Notify{WebhookURL: "https://hooks.example.com/pack"}
	in.Digest = in.ComputeDigest()
	f := testFloor()
	out, vs := f.Enforce(in, "apply", "")
	require.Empty(t, vs)
	assert.Equal(t, "https://hooks.example.com/pack", out.ApprovalPolicies[0].Notify.WebhookURL)
	assert.Equal(t, []string{"alice", "bob"}, out.ApprovalPolicies[0].Approvers)

	f.Policies[0].Notify = guardrails.Notify{WebhookURL: "https://hooks.example.com/floor"}
	out, _ = f.Enforce(in, "apply", "")
	assert.Equal(t, "https://hooks.example.com/floor", out.ApprovalPolicies[0].Notify.WebhookURL)
}
