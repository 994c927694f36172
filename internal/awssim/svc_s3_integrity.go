package awssim

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"
)

// Integrity of S3 request bodies: Content-MD5, the flexible checksums
// (x-amz-checksum-*) in a header or an aws-chunked trailer, and
// x-amz-content-sha256.

// s3StripAWSChunked removes the aws-chunked transfer coding S3 does not store.
func s3StripAWSChunked(enc string) string {
	var keep []string
	for _, part := range strings.Split(enc, ",") {
		if p := strings.TrimSpace(part); p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// s3DecodePayload returns the object body and any trailing headers. It
// decodes the aws-chunked content encoding aws-sdk-go-v2 uses over HTTPS
// (the body in chunks, then the checksum as a trailer; signed
// STREAMING-UNSIGNED-PAYLOAD-TRAILER, or UNSIGNED-PAYLOAD when payload
// signing is off) and checks a hex x-amz-content-sha256 against the body
// (the signature covers the header, not the body).
func s3DecodePayload(req *request) ([]byte, http.Header, error) {
	h := req.HTTP.Header
	payload := h.Get("X-Amz-Content-Sha256")
	chunked := strings.Contains(strings.ToLower(h.Get("Content-Encoding")), "aws-chunked")
	switch {
	case strings.HasPrefix(payload, "STREAMING-") && payload != "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
		// Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) are
		// what other SDKs send; aws-sdk-go-v2 never does.
		return nil, nil, newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement the %s payload signing mode", payload)
	case chunked || payload == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
		body, trailer, err := decodeAWSChunked(req.Body)
		if err != nil {
			return nil, nil, errBadRequest("IncompleteBody", "The request body is not valid aws-chunked encoding: %v", err)
		}
		if dl := h.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			n, err := strconv.ParseInt(dl, 10, 64)
			if err != nil || n != int64(len(body)) {
				return nil, nil, errBadRequest("IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header (%s, got %d)", dl, len(body))
			}
		}
		for _, name := range strings.Split(h.Get("X-Amz-Trailer"), ",") {
			if name = strings.TrimSpace(name); name != "" && trailer.Get(name) == "" {
				return nil, nil, errBadRequest("MalformedTrailerError", "The request contained trailing data that was not well-formed or did not conform to our published schema: %s is declared in x-amz-trailer but missing", name)
			}
		}
		return body, trailer, nil
	case payload == "" || payload == "UNSIGNED-PAYLOAD":
		return req.Body, nil, nil
	default:
		sum := sha256.Sum256(req.Body)
		if !strings.EqualFold(payload, hex.EncodeToString(sum[:])) {
			return nil, nil, errBadRequest("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		return req.Body, nil, nil
	}
}

// decodeAWSChunked decodes "<hex size>[;ext]\r\n<data>\r\n ... 0\r\n
// <trailer>:<value>\r\n ... \r\n".
func decodeAWSChunked(b []byte) ([]byte, http.Header, error) {
	var body []byte
	trailer := http.Header{}
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, nil, errString("chunk header without CRLF")
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		size, err := strconv.ParseInt(string(bytes.TrimSpace(sizeHex)), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, errString("bad chunk size " + strconv.Quote(string(line)))
		}
		if size == 0 {
			b = rest
			break
		}
		if int64(len(rest)) < size+2 || string(rest[size:size+2]) != "\r\n" {
			return nil, nil, errString("chunk shorter than its size")
		}
		body = append(body, rest[:size]...)
		b = rest[size+2:]
	}
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, nil, errString("trailer without CRLF")
		}
		b = rest
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, nil, errString("malformed trailer " + strconv.Quote(string(line)))
		}
		trailer.Set(strings.TrimSpace(string(k)), strings.TrimSpace(string(v)))
	}
	if len(b) != 0 {
		return nil, nil, errString("data after the final CRLF")
	}
	return body, trailer, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// s3ChecksumAlgorithms are the flexible checksums the simulator computes.
var s3ChecksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5"}

// crc64NVME is the reflected CRC-64/NVME polynomial, as hash/crc64 wants it.
const crc64NVME = 0x9a6c9329ac4bc9b5

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVMETable = crc64.MakeTable(crc64NVME)
)

func s3ChecksumHash(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32cTable)
	case "CRC64NVME":
		return crc64.New(crc64NVMETable)
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	case "SHA512":
		return sha512.New()
	case "MD5":
		return md5.New()
	}
	return nil
}

// s3Checksum is the base64 checksum of body, as in x-amz-checksum-*.
func s3Checksum(alg string, body []byte) string {
	hs := s3ChecksumHash(alg)
	hs.Write(body)
	return base64.StdEncoding.EncodeToString(hs.Sum(nil))
}

// s3RequestChecksum finds the flexible checksum of a PutObject, in a header
// or in the aws-chunked trailer, checks it against the body and returns its
// algorithm and value ("" when none was sent).
func s3RequestChecksum(h, trailer http.Header, body []byte) (alg, value string, err error) {
	type sent struct{ alg, value string }
	var found []sent
	for _, src := range []http.Header{h, trailer} {
		for name, vals := range src {
			a, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-checksum-")
			if !ok || a == "type" || a == "mode" || a == "algorithm" || len(vals) == 0 {
				continue
			}
			found = append(found, sent{strings.ToUpper(a), vals[0]})
		}
	}
	sdkAlg := strings.ToUpper(h.Get("X-Amz-Sdk-Checksum-Algorithm"))
	if len(found) == 0 {
		if sdkAlg != "" {
			return "", "", errBadRequest("InvalidRequest", "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		}
		return "", "", nil
	}
	if len(found) > 1 {
		return "", "", errBadRequest("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	alg, value = found[0].alg, found[0].value
	if sdkAlg != "" && sdkAlg != alg {
		// PutObject API reference: a checksum of another algorithm than
		// x-amz-sdk-checksum-algorithm names fails with BadDigest.
		return "", "", errBadRequest("BadDigest", "The x-amz-sdk-checksum-algorithm %s does not match the x-amz-checksum-%s you specified.", sdkAlg, strings.ToLower(alg))
	}
	hs := s3ChecksumHash(alg)
	if hs == nil {
		if strings.HasPrefix(alg, "XXHASH") {
			return "", "", newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not compute %s checksums (x-amz-checksum-%s)", alg, strings.ToLower(alg))
		}
		return "", "", errBadRequest("InvalidRequest", "The algorithm type you specified in x-amz-checksum-%s header is invalid.", strings.ToLower(alg))
	}
	raw, derr := base64.StdEncoding.DecodeString(value)
	if derr != nil || len(raw) != hs.Size() {
		return "", "", errBadRequest("InvalidRequest", "Value for x-amz-checksum-%s header is invalid.", strings.ToLower(alg))
	}
	if got := s3Checksum(alg, body); got != value {
		return "", "", errBadRequest("BadDigest", "The %s you specified did not match the calculated checksum.", alg)
	}
	return alg, value, nil
}

// s3RequireBodyIntegrity enforces the Content-MD5 / x-amz-checksum-* that S3
// requires on some configuration PUTs (httpChecksumRequired), and checks it.
func s3RequireBodyIntegrity(req *request) error {
	h := req.HTTP.Header
	if md := h.Get("Content-Md5"); md != "" {
		want, err := base64.StdEncoding.DecodeString(md)
		if err != nil || len(want) != md5.Size {
			return errBadRequest("InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if sum := md5.Sum(req.Body); !bytes.Equal(sum[:], want) {
			return errBadRequest("BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
		return nil
	}
	alg, _, err := s3RequestChecksum(h, nil, req.Body)
	if err != nil {
		return err
	}
	if alg == "" {
		return errBadRequest("InvalidRequest", "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
	}
	return nil
}
