package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Webhook headers. The signature covers the timestamp and the body, so a
// receiver that checks the timestamp's age refuses a replayed delivery.
const (
	HeaderTimestamp = "X-Orgguard-Timestamp"
	HeaderSignature = "X-Orgguard-Signature"
	HeaderEvent     = "X-Orgguard-Event"
	HeaderEventID   = "X-Orgguard-Event-Id"
	// HeaderIdempotencyKey is the same on every attempt of one event to one
	// destination.
	HeaderIdempotencyKey = "Idempotency-Key"
	// SignatureVersion prefixes the signature ("v1=<hex>").
	SignatureVersion = "v1"
)

// Sign returns the X-Orgguard-Signature value of a body sent at ts:
// v1=hex(HMAC-SHA256(secret, "<unix seconds>.<body>")).
func Sign(secret []byte, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return timestamp, SignatureVersion + "=" + hex.EncodeToString(m.Sum(nil))
}
