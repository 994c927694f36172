package awssim

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Smithy RPC v2 CBOR (CloudWatch since 2025): POST
// /service/<ServiceName>/operation/<Operation>, header Smithy-Protocol:
// rpc-v2-cbor, CBOR maps in both directions, timestamps as tag 1 epoch
// seconds, errors as {"__type", "message"}.

// cborEnc encodes time.Time as tag 1 with epoch seconds, as Smithy expects.
// Encoding modes are immutable, so sharing them is not shared mutable state.
var cborEnc, _ = cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()

// cborDec decodes maps as map[string]any, like encoding/json, so the call
// log flattens CBOR and JSON parameters the same way.
var cborDec, _ = cbor.DecOptions{DefaultMapType: reflect.TypeOf(map[string]any(nil))}.DecMode()

func cborUnmarshal(b []byte, v any) error { return cborDec.Unmarshal(b, v) }

// decodeCBOR decodes an RPC v2 CBOR request body into v; struct fields match
// CBOR map keys by name (or `cbor:"..."` / `json:"..."` tags).
func (r *request) decodeCBOR(v any) error {
	if len(r.Body) == 0 {
		return nil
	}
	if err := cborDec.Unmarshal(r.Body, v); err != nil {
		return errBadRequest("SerializationException", "could not decode CBOR body: %v", err)
	}
	return nil
}

func writeCBOR(w http.ResponseWriter, status int, v any) {
	if v == nil {
		v = map[string]any{}
	}
	b, err := cborEnc.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", "application/cbor")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// parseRPCv2Path splits "/service/<Name>/operation/<Op>".
func parseRPCv2Path(p string) (service, op string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "service" || parts[len(parts)-2] != "operation" {
		return "", "", false
	}
	return parts[len(parts)-3], parts[len(parts)-1], true
}
