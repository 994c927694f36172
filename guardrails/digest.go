package guardrails

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// ComputeDigest returns the hex SHA-256 of the set's canonical JSON with
// Digest and Source cleared. Source is left out so that the same pack has
// the same digest wherever it is checked out; encoding/json writes struct
// fields in declaration order and map keys sorted, so the encoding is
// canonical for a given set.
func (s *Set) ComputeDigest() string {
	c := *s
	c.Digest, c.Source = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		// Only plain values are stored in a Set; this cannot happen for
		// sets built by the loader.
		panic("guardrails: marshal set: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Guardrail returns the guardrail with the given ID.
func (s *Set) Guardrail(id string) (Guardrail, bool) {
	for _, g := range s.Guardrails {
		if g.ID == id {
			return g, true
		}
	}
	return Guardrail{}, false
}

// ShortDigest is the first 12 hex digits of a digest, as people read and
// type it (like a short Git commit ID).
func ShortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
