// Package webhookverify checks the signature of an orgguard webhook.
package webhookverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Tolerance is how far a delivery's timestamp may be from the receiver's
// clock: an older delivery is refused as a replay.
const Tolerance = 5 * time.Minute

// Verify checks one delivery: X-Orgguard-Signature must be
// "v1=" + hex(HMAC-SHA256(secret, X-Orgguard-Timestamp + "." + body)),
// and the timestamp (Unix seconds) within Tolerance of now. Pass the raw
// body, before any JSON decoding.
func Verify(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Orgguard-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or malformed X-Orgguard-Timestamp")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > Tolerance || age < -Tolerance {
		return errors.New("timestamp outside tolerance: replayed or delayed delivery")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(h.Get("X-Orgguard-Signature")), []byte(want)) {
		return errors.New("signature mismatch")
	}
	return nil
}
