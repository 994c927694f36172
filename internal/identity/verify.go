package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Reasons a token is refused. They are part of the error text and let
// callers (the CLI) react, e.g. refresh keys after ReasonUnknownKey.
const (
	ReasonNoToken          = "no_token"
	ReasonNotConfigured    = "not_configured"
	ReasonMalformed        = "malformed"
	ReasonUntrustedIssuer  = "untrusted_issuer"
	ReasonUnknownKey       = "unknown_key"
	ReasonBadSignature     = "bad_signature"
	ReasonWrongAudience    = "wrong_audience"
	ReasonExpired          = "expired"
	ReasonNotYetValid      = "not_yet_valid"
	ReasonNoName           = "no_name"
	ReasonWrongNonce       = "wrong_nonce"
	ReasonReplayed         = "replayed"
	ReasonNotInPolicy      = "not_in_policy"
	ReasonSeparation       = "separation_of_duties"
	ReasonNoRequesterToken = "requester_unverified"
)

// Error is a refused token, with a machine-readable reason.
type Error struct {
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg + " [" + e.Reason + "]" }

func refuse(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a refused token, or "".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	// Errors that crossed Temporal arrive as text.
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, " ["); i >= 0 && strings.HasSuffix(msg, "]") {
			return msg[i+2 : len(msg)-1]
		}
	}
	return ""
}

// signatureAlgorithms are the asymmetric algorithms IdPs sign ID tokens
// with. HS256 is not among them: a shared secret would let anyone who holds
// the client secret mint tokens.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Verified is a token that passed Verify.
type Verified struct {
	Principal Principal `json:"principal"`
	Nonce     string    `json:"nonce,omitempty"`
	Expiry    time.Time `json:"expiry"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
}

// Verify checks a compact-serialised ID token against the snapshot at time
// now: a trusted issuer, a signature by one of its pinned keys, the
// audience, and exp/nbf/iat within the snapshot's clock skew. It returns the
// verified person. It does not check the nonce: callers compare it with
// what the token must be bound to.
func Verify(s *Snapshot, raw string, now time.Time) (Verified, error) {
	var v Verified
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return v, refuse(ReasonNoToken, "no identity token: log in with 'orgguard login' (see docs/security.md)")
	}
	if !s.Configured {
		return v, refuse(ReasonNotConfigured, "this worker has no trust config (--trust-config), so no identity can be verified")
	}
	tok, err := jwt.ParseSigned(raw, signatureAlgorithms)
	if err != nil {
		return v, refuse(ReasonMalformed, "the identity token is not a signed JWT with an asymmetric algorithm: %v", err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return v, refuse(ReasonMalformed, "the identity token's claims cannot be read: %v", err)
	}
	iss, ok := s.Issuer(unverified.Issuer)
	if !ok {
		return v, refuse(ReasonUntrustedIssuer, "the token's issuer %q is not trusted by this worker (trusted: %s)", unverified.Issuer, s.issuerList())
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(iss.JWKS), &set); err != nil || len(set.Keys) == 0 {
		return v, refuse(ReasonUnknownKey, "no keys of issuer %s are loaded", iss.URL)
	}
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys := set.Keys
	if kid != "" {
		keys = set.Key(kid)
		if len(keys) == 0 {
			return v, refuse(ReasonUnknownKey, "the token is signed with key %q, which issuer %s has not published (keys loaded %s); if the IdP rotated its keys, retry: the keys are refreshed", kid, iss.URL, s.LoadedAt.UTC().Format(time.RFC3339))
		}
	}
	var std jwt.Claims
	var custom map[string]any
	var sigErr error
	verified := false
	for _, k := range keys {
		if k.Use == "enc" {
			continue
		}
		if err := tok.Claims(k.Key, &std, &custom); err != nil {
			sigErr = err
			continue
		}
		verified = true
		break
	}
	if !verified {
		return v, refuse(ReasonBadSignature, "the token's signature does not verify with the keys of issuer %s: %v", iss.URL, sigErr)
	}
	if std.Expiry == nil {
		return v, refuse(ReasonMalformed, "the token has no expiry (exp)")
	}
	skew := s.ClockSkew
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: iss.URL, AnyAudience: jwt.Audience{iss.Audience}, Time: now}, skew)
	switch {
	case errors.Is(err, jwt.ErrInvalidAudience):
		return v, refuse(ReasonWrongAudience, "the token was issued to %s, not to orgguard's client %q at %s", strings.Join(std.Audience, ", "), iss.Audience, iss.URL)
	case errors.Is(err, jwt.ErrExpired):
		return v, refuse(ReasonExpired, "the token expired at %s (now %s, skew %s): log in again", std.Expiry.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return v, refuse(ReasonNotYetValid, "the token is not valid yet (nbf/iat after %s, skew %s)", now.UTC().Format(time.RFC3339), skew)
	case err != nil:
		return v, refuse(ReasonMalformed, "the token's claims are invalid: %v", err)
	}
	if std.Subject == "" {
		return v, refuse(ReasonNoName, "the token has no subject (sub)")
	}
	name, _ := custom[iss.NameClaim].(string)
	if strings.TrimSpace(name) == "" {
		return v, refuse(ReasonNoName, "the token has no %q claim, which names the person for issuer %s", iss.NameClaim, iss.URL)
	}
	v.Principal = Principal{Name: name, Subject: std.Subject, Issuer: iss.URL, TokenID: std.ID}
	if v.Principal.TokenID == "" {
		// Google and Entra ID tokens carry no jti: the token's own hash is
		// just as unique for replay detection.
		sum := sha256.Sum256([]byte(raw))
		v.Principal.TokenID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	if iss.GroupsClaim != "" {
		v.Principal.Groups = stringList(custom[iss.GroupsClaim])
	}
	v.Nonce, _ = custom["nonce"].(string)
	v.Expiry = std.Expiry.Time()
	if std.IssuedAt != nil {
		v.IssuedAt = std.IssuedAt.Time()
	}
	return v, nil
}

func (s *Snapshot) issuerList() string {
	var out []string
	for _, i := range s.Issuers {
		out = append(out, i.URL)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// stringList reads a claim that is a string or a list of strings.
func stringList(v any) []string {
	var out []string
	switch t := v.(type) {
	case string:
		out = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}
