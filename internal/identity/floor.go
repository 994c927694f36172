package identity

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orgguard/orgguard/guardrails"
)

// Floor is the governance floor of the trust config: which guardrails must
// be approval-gated and by whom, and which packs may be applied. A pack may
// be stricter (report instead of approval), never looser.
type Floor struct {
	// Policies are approval policies defined by the trust config. A pack
	// policy of the same name is replaced by it: its members, quorum,
	// separation of duties, timeout and escalation are the floor's (the
	// pack's notify targets stay when the floor names none).
	Policies []guardrails.ApprovalPolicy `json:"policies,omitempty"`
	Rules    []ApprovalRule              `json:"rules,omitempty"`
	// PackDigests and PackKeys restrict which packs apply may run. Both
	// empty: any pack.
	PackDigests []string `json:"pack_digests,omitempty"`
	// PackKeys are public keys (JWK JSON) whose signature over a pack's
	// digest admits it (see SignPack).
	PackKeys []string `json:"pack_keys,omitempty"`
}

// ApprovalRule makes guardrails approval-gated.
type ApprovalRule struct {
	// Kinds match a guardrail's kind ("scp", "config_rule", "securityhub",
	// "control") or a control's type ("ec2.default_security_group_closed").
	Kinds []string `json:"kinds,omitempty"`
	// Guardrails match guardrail IDs ("control.default_sg_closed").
	Guardrails []string `json:"guardrails,omitempty"`
	// Policies the matched guardrails must use (floor policies).
	Policies []string `json:"policies"`
	// Where is the rule's file:line in the trust config.
	Where string `json:"where,omitempty"`
}

// Governed reports whether the floor has anything to say.
func (f *Floor) Governed() bool {
	return len(f.Rules) > 0 || len(f.PackDigests) > 0 || len(f.PackKeys) > 0 || len(f.Policies) > 0
}

// Policy returns the floor's policy of that name.
func (f *Floor) Policy(name string) (guardrails.ApprovalPolicy, bool) {
	for _, p := range f.Policies {
		if p.Name == name {
			return p, true
		}
	}
	return guardrails.ApprovalPolicy{}, false
}

// Rule returns the first rule that governs g.
func (f *Floor) Rule(g guardrails.Guardrail) (ApprovalRule, bool) {
	for _, r := range f.Rules {
		if slices.Contains(r.Guardrails, g.ID) || slices.Contains(r.Kinds, string(g.Kind)) ||
			(g.Control != nil && slices.Contains(r.Kinds, g.Control.Type)) {
			return r, true
		}
	}
	return ApprovalRule{}, false
}

// Violation is one way a pack goes below the floor.
type Violation struct {
	Guardrail string `json:"guardrail,omitempty"`
	Message   string `json:"message"`
}

func (v Violation) String() string {
	if v.Guardrail == "" {
		return v.Message
	}
	return v.Guardrail + ": " + v.Message
}

// Enforce checks a compiled set against the floor for a rollout in mode and
// returns the set to run: the floor's approval policies in place of the
// pack's policies of the same name. signature is the pack's signature (may
// be empty). Violations mean the rollout must not start.
func (f *Floor) Enforce(set guardrails.Set, mode, signature string) (guardrails.Set, []Violation) {
	var out []Violation
	digest := set.ComputeDigest()
	if set.Digest != digest {
		out = append(out, Violation{Message: fmt.Sprintf("the pack's digest %s does not match its content (%s): it was changed after it was compiled", guardrails.ShortDigest(set.Digest), guardrails.ShortDigest(digest))})
	}
	if mode == "apply" && (len(f.PackDigests) > 0 || len(f.PackKeys) > 0) && !slices.Contains(f.PackDigests, digest) {
		if err := f.verifyPackSignature(digest, signature); err != nil {
			out = append(out, Violation{Message: fmt.Sprintf("pack %s may not be applied: its digest is not among the trust config's pack digests, and %v", guardrails.ShortDigest(digest), err)})
		}
	}
	for _, g := range set.Guardrails {
		r, ok := f.Rule(g)
		if !ok {
			continue
		}
		switch g.Remediation.Mode {
		case guardrails.ModeApproval:
			if len(r.Policies) > 0 && !slices.Contains(r.Policies, g.Remediation.ApprovalPolicy) {
				out = append(out, Violation{Guardrail: g.ID, Message: fmt.Sprintf("approval_policy %q, but the governance floor (%s) requires one of: %s",
					g.Remediation.ApprovalPolicy, r.Where, strings.Join(r.Policies, ", "))})
			}
		case guardrails.ModeReport, "":
			// Stricter than the floor: nothing is changed.
		default:
			out = append(out, Violation{Guardrail: g.ID, Message: fmt.Sprintf("remediation mode %q, but the governance floor (%s) requires mode = \"approval\" with approval_policy %s",
				g.Remediation.Mode, r.Where, strings.Join(r.Policies, " or "))})
		}
	}
	if len(f.Policies) > 0 {
		byName := map[string]guardrails.ApprovalPolicy{}
		for _, p := range set.ApprovalPolicies {
			byName[p.Name] = p
		}
		for _, p := range f.Policies {
			// Where requests are announced is not a trust decision: a
			// floor policy without notify targets keeps the pack's.
			if old, ok := byName[p.Name]; ok && p.Notify == (guardrails.Notify{}) {
				p.Notify = old.Notify
			}
			byName[p.Name] = p
		}
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		set.ApprovalPolicies = set.ApprovalPolicies[:0:0]
		for _, n := range names {
			set.ApprovalPolicies = append(set.ApprovalPolicies, byName[n])
		}
	}
	return set, out
}

// packSignaturePayload is what a pack signature signs.
type packSignaturePayload struct {
	PackDigest string `json:"orgguard_pack_digest"`
}

func (f *Floor) verifyPackSignature(digest, signature string) error {
	if len(f.PackKeys) == 0 {
		return fmt.Errorf("the trust config admits no signed packs")
	}
	if strings.TrimSpace(signature) == "" {
		return fmt.Errorf("the pack is not signed (orgguard pack sign)")
	}
	obj, err := jose.ParseSigned(strings.TrimSpace(signature), signatureAlgorithms)
	if err != nil {
		return fmt.Errorf("its signature is malformed: %v", err)
	}
	for _, kj := range f.PackKeys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON([]byte(kj)); err != nil {
			continue
		}
		payload, err := obj.Verify(k.Key)
		if err != nil {
			continue
		}
		var p packSignaturePayload
		if err := json.Unmarshal(payload, &p); err != nil {
			return fmt.Errorf("its signature payload is malformed: %v", err)
		}
		if p.PackDigest != digest {
			return fmt.Errorf("its signature is for pack %s, not this one", guardrails.ShortDigest(p.PackDigest))
		}
		return nil
	}
	return fmt.Errorf("its signature is not by any of the trust config's %d pack key(s)", len(f.PackKeys))
}

// SignPack signs a pack digest with a private JWK (EdDSA or ECDSA): the
// result is a compact JWS that the floor's pack_keys verify.
func SignPack(digest string, private jose.JSONWebKey) (string, error) {
	alg := jose.EdDSA
	if private.Algorithm != "" {
		alg = jose.SignatureAlgorithm(private.Algorithm)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: private}, nil)
	if err != nil {
		return "", fmt.Errorf("pack signing key: %w", err)
	}
	payload, _ := json.Marshal(packSignaturePayload{PackDigest: digest})
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
