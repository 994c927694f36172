// Package identity verifies who asks orgguard to act: OIDC ID tokens of
// requesters and approvers, checked against the issuers and keys of the
// worker's trust config, and the governance floor that packs cannot lower.
//
// The worker fetches keys (see Provider); workflows receive them as data in a
// Snapshot, and everything in this file, verify.go, nonce.go and floor.go is
// pure computation on that data: deterministic, no I/O, no clock but the one
// passed in. That is what lets update validators run it.
package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// DefaultClockSkew is how far token times (exp, nbf, iat) may be off the
// workflow's clock: a minute covers NTP-synchronised hosts and an IdP's own
// rounding, and is short next to an ID token's usual 5-60 minute lifetime.
const DefaultClockSkew = time.Minute

// Snapshot is everything a workflow needs to verify identities and apply
// the governance floor, as plain data. It is the result of the LoadTrust
// activity and so lands in workflow history; it holds public keys only.
type Snapshot struct {
	// Configured is false when the worker runs without a trust config: then
	// nothing can be verified, so apply and votes are refused.
	Configured bool          `json:"configured"`
	Issuers    []Issuer      `json:"issuers,omitempty"`
	ClockSkew  time.Duration `json:"clock_skew"`
	Requester  Requester     `json:"requester"`
	Floor      Floor         `json:"floor"`
	// Source names the trust config file and its digest, for the audit trail.
	Source string `json:"source,omitempty"`
	Digest string `json:"digest,omitempty"`
	// LoadedAt is when the worker last fetched the keys (informational).
	LoadedAt time.Time `json:"loaded_at"`
}

// Issuer is one trusted OIDC issuer.
type Issuer struct {
	Name     string `json:"name"`
	URL      string `json:"url"`      // the exact "iss" value
	Audience string `json:"audience"` // the client ID tokens must be issued to
	// NameClaim names the person: "email", "preferred_username", "upn" ...
	NameClaim string `json:"name_claim"`
	// GroupsClaim, when set, holds the person's groups ("groups", "roles").
	GroupsClaim string `json:"groups_claim,omitempty"`
	// JWKS is the issuer's JSON Web Key Set as fetched (public keys).
	JWKS string `json:"jwks"`
}

// Requester says who may start rollouts without a verified token.
type Requester struct {
	// UnverifiedModes lists rollout modes ("check", "plan") that may run
	// without a token. apply never may.
	UnverifiedModes []string `json:"unverified_modes,omitempty"`
}

// Principal is a verified person: what the audit trail records of a token.
type Principal struct {
	Name    string   `json:"name"`
	Subject string   `json:"subject"`
	Issuer  string   `json:"issuer"`
	TokenID string   `json:"token_id"`
	Groups  []string `json:"groups,omitempty"`
}

// Same reports whether two principals are the same person: the same subject
// at the same issuer. Names are not compared: two tokens with different
// display names and one subject are one person.
func (p Principal) Same(o Principal) bool {
	return p.Subject != "" && p.Subject == o.Subject && p.Issuer == o.Issuer
}

// String is "name (sub at issuer)".
func (p Principal) String() string {
	if p.Subject == "" {
		return p.Name
	}
	return fmt.Sprintf("%s (sub %s at %s)", p.Name, p.Subject, p.Issuer)
}

// Issuer returns the trusted issuer whose URL is iss.
func (s *Snapshot) Issuer(iss string) (Issuer, bool) {
	for _, i := range s.Issuers {
		if i.URL == iss {
			return i, true
		}
	}
	return Issuer{}, false
}

// AllowsUnverified reports whether mode may run without a requester token.
func (s *Snapshot) AllowsUnverified(mode string) bool {
	if mode == "apply" {
		return false
	}
	if !s.Configured {
		// Without a trust config nothing is verified; read-only modes keep
		// working so that a worker can be deployed before its IdP is wired.
		return true
	}
	for _, m := range s.Requester.UnverifiedModes {
		if m == mode {
			return true
		}
	}
	return false
}

// ChangeDigest is the digest of what an approver approves: the remediation,
// where it applies, the exact planned change and the pack it comes from. It
// is hex SHA-256 over length-prefixed fields, so no field can run into the
// next.
func ChangeDigest(remediationID, accountID, region, guardrailID, resource, packDigest, changeJSON string) string {
	h := sha256.New()
	for _, f := range []string{"orgguard-change-v1", remediationID, accountID, region, guardrailID, resource, packDigest, changeJSON} {
		// Not fmt.Fprintf: workflowcheck cannot tell a hash from I/O.
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
