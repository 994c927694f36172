package awssim

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// S3 objects: PutObject, GetObject, HeadObject, DeleteObject and
// ListObjectsV2, with versioning (GetBucketVersioning, PutBucketVersioning),
// Object Lock (CreateBucket's x-amz-bucket-object-lock-enabled,
// Get/PutObjectLockConfiguration, per-object retention and legal hold),
// SSE-S3 / SSE-KMS with the bucket's default encryption, Content-MD5 and the
// flexible checksums (x-amz-checksum-*, in a header or as an aws-chunked
// trailer) that aws-sdk-go-v2 sends by default.
//
// Objects live in memory, so the simulator bounds them: an object body is at
// most s3MaxObjectSize and a bucket holds at most s3MaxBucketBytes over all
// its versions. Past either, PutObject answers EntityTooLarge (the code S3
// uses for a single PUT over 5 GiB) with a message naming the limit.

const (
	s3MaxObjectSize  = 16 << 20
	s3MaxBucketBytes = 256 << 20
	s3MaxKeyLength   = 1024
	// s3ListMaxKeys is ListObjectsV2's page size limit (and default).
	s3ListMaxKeys = 1000
)

// s3ObjectRoutes are the object and object-related bucket routes. The
// sub-resource routes come before the plain bucket and object routes.
func s3ObjectRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/{Bucket}", Query: "versioning", Op: "GetBucketVersioning", Handler: s3GetBucketVersioning},
		{Method: "PUT", Pattern: "/{Bucket}", Query: "versioning", Op: "PutBucketVersioning", Handler: s3PutBucketVersioning},
		{Method: "GET", Pattern: "/{Bucket}", Query: "object-lock", Op: "GetObjectLockConfiguration", Handler: s3GetObjectLockConfiguration},
		{Method: "PUT", Pattern: "/{Bucket}", Query: "object-lock", Op: "PutObjectLockConfiguration", Handler: s3PutObjectLockConfiguration},
		{Method: "GET", Pattern: "/{Bucket}", Query: "list-type", Op: "ListObjectsV2", Handler: s3ListObjectsV2},
		{Method: "PUT", Pattern: "/{Bucket}/{Key+}", Op: "PutObject", Handler: s3PutObject},
		{Method: "GET", Pattern: "/{Bucket}/{Key+}", Op: "GetObject", Handler: s3GetObject},
		{Method: "HEAD", Pattern: "/{Bucket}/{Key+}", Op: "HeadObject", Handler: s3HeadObject},
		{Method: "DELETE", Pattern: "/{Bucket}/{Key+}", Op: "DeleteObject", Handler: s3DeleteObject},
	}
}

// s3Object is one key of a bucket: its versions, oldest first. The last
// one is the current version (possibly a delete marker).
type s3Object struct {
	versions []*s3Version
}

func (o *s3Object) current() *s3Version {
	if o == nil || len(o.versions) == 0 {
		return nil
	}
	return o.versions[len(o.versions)-1]
}

func (o *s3Object) version(id string) *s3Version {
	if o == nil {
		return nil
	}
	for _, v := range o.versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// s3Version is one version of an object, or a delete marker.
type s3Version struct {
	// ID is the version ID, "null" for objects written while versioning was
	// never enabled or suspended.
	ID           string
	DeleteMarker bool
	LastModified time.Time

	Body               []byte
	ETag               string // quoted, as on the wire
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	Metadata           map[string]string // x-amz-meta-* without the prefix, lower case

	// SSE is AES256, aws:kms or aws:kms:dsse; KMSKeyARN the key for the
	// last two.
	SSE        string
	KMSKeyARN  string
	BucketKey  bool
	SSEContext string

	// ChecksumAlgorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512,
	// MD5) and Checksum, base64, as S3 stores and returns them.
	ChecksumAlgorithm string
	Checksum          string

	LockMode    string // GOVERNANCE or COMPLIANCE; "" when not retained
	RetainUntil time.Time
	LegalHold   bool
}

// s3ObjectLockConfiguration is ObjectLockConfiguration.
type s3ObjectLockConfiguration struct {
	ObjectLockEnabled string            `xml:"ObjectLockEnabled,omitempty"`
	Rule              *s3ObjectLockRule `xml:"Rule,omitempty"`
}

type s3ObjectLockRule struct {
	DefaultRetention *s3DefaultRetention `xml:"DefaultRetention,omitempty"`
}

type s3DefaultRetention struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int   `xml:"Days,omitempty"`
	Years *int   `xml:"Years,omitempty"`
}

// retainUntil is when a version written at t is retained until under the
// default retention (S3 counts a year as 365 days).
func (d *s3DefaultRetention) retainUntil(t time.Time) time.Time {
	days := 0
	if d.Days != nil {
		days = *d.Days
	}
	if d.Years != nil {
		days = *d.Years * 365
	}
	return t.Add(time.Duration(days) * 24 * time.Hour)
}

const s3VersionAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"

func malformedXML() *apiError {
	return errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
}

func s3NoSuchKey() *apiError {
	return errNotFound("NoSuchKey", "The specified key does not exist.")
}

// s3ObjectKey is the object key of the request: the path after the bucket,
// verbatim (matchRoute trims slashes, which would change keys that end in
// "/" or hold "//").
func s3ObjectKey(req *request) string {
	return strings.TrimPrefix(req.HTTP.URL.Path, "/"+req.Path["Bucket"]+"/")
}

// s3ObjectBucket resolves the bucket of an object request, checks
// x-amz-expected-bucket-owner and refuses sub-resources and features the
// simulator does not implement, so that a client using them sees
// NotImplemented instead of a plain object operation.
func s3ObjectBucket(req *request) (*s3Bucket, string, error) {
	q := req.HTTP.URL.Query()
	for _, sub := range []string{"acl", "tagging", "retention", "legal-hold", "uploads", "uploadId", "partNumber", "attributes", "torrent", "restore", "select", "renameObject"} {
		if _, ok := q[sub]; ok {
			return nil, "", newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement the ?%s sub-resource of %s", sub, req.Op)
		}
	}
	h := req.HTTP.Header
	for _, name := range []string{"X-Amz-Copy-Source", "X-Amz-Server-Side-Encryption-Customer-Algorithm", "X-Amz-Write-Offset-Bytes"} {
		if h.Get(name) != "" {
			return nil, "", newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement the %s header of %s", name, req.Op)
		}
	}
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, "", err
	}
	if owner := h.Get("X-Amz-Expected-Bucket-Owner"); owner != "" && owner != req.Account.ID {
		return nil, "", errForbidden("AccessDenied", "Access Denied")
	}
	key := s3ObjectKey(req)
	if len(key) > s3MaxKeyLength {
		return nil, "", errBadRequest("KeyTooLongError", "Your key is too long")
	}
	return b, key, nil
}

// s3VersionArg resolves ?versionId: "" when absent, an error when it cannot
// be a version ID S3 issued.
func s3VersionArg(req *request) (string, bool, error) {
	q := req.HTTP.URL.Query()
	vs, ok := q["versionId"]
	if !ok {
		return "", false, nil
	}
	id := vs[0]
	if id == "null" {
		return id, true, nil
	}
	if len(id) != 32 || strings.Trim(id, s3VersionAlphabet) != "" {
		return "", true, errBadRequest("InvalidArgument", "Invalid version id specified")
	}
	return id, true, nil
}

// --- PutObject -----------------------------------------------------------

func s3PutObject(req *request) (any, error) {
	b, key, err := s3ObjectBucket(req)
	if err != nil {
		return nil, err
	}
	h := req.HTTP.Header
	// S3 does not take bodies of unknown length (Transfer-Encoding:
	// chunked), nor aws-chunked ones without their decoded length.
	if req.HTTP.ContentLength < 0 || (strings.Contains(strings.ToLower(h.Get("Content-Encoding")), "aws-chunked") && h.Get("X-Amz-Decoded-Content-Length") == "") {
		return nil, newError(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	if req.HTTP.ContentLength > s3MaxObjectSize {
		return nil, s3TooLarge(req.HTTP.ContentLength)
	}
	body, trailer, err := s3DecodePayload(req)
	if err != nil {
		return nil, err
	}
	if len(body) > s3MaxObjectSize {
		return nil, s3TooLarge(int64(len(body)))
	}

	// Integrity: Content-MD5, then at most one flexible checksum.
	hasMD5 := h.Get("Content-Md5") != ""
	if hasMD5 {
		want, err := base64.StdEncoding.DecodeString(h.Get("Content-Md5"))
		if err != nil || len(want) != md5.Size {
			return nil, errBadRequest("InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if sum := md5.Sum(body); !bytes.Equal(sum[:], want) {
			return nil, errBadRequest("BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	alg, checksum, err := s3RequestChecksum(h, trailer, body)
	if err != nil {
		return nil, err
	}
	explicitChecksum := alg != ""
	if !explicitChecksum {
		// Since December 2024 S3 computes a CRC64NVME checksum of every
		// object uploaded without one.
		alg, checksum = "CRC64NVME", s3Checksum("CRC64NVME", body)
	}

	sse, keyARN, bucketKey, err := s3ResolveSSE(req, b)
	if err != nil {
		return nil, err
	}

	now := req.srv.now().UTC()
	lockMode, retainUntil, legalHold, err := s3LockHeaders(req, b, now)
	if err != nil {
		return nil, err
	}
	if b.ObjectLock != nil && lockMode == "" && b.ObjectLock.Rule != nil && b.ObjectLock.Rule.DefaultRetention != nil {
		d := b.ObjectLock.Rule.DefaultRetention
		lockMode, retainUntil = d.Mode, d.retainUntil(now)
	}
	if (lockMode != "" || legalHold) && !hasMD5 && !explicitChecksum {
		return nil, errBadRequest("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
	}

	obj := b.objects[key]
	if err := s3PutPreconditions(h, obj.current()); err != nil {
		return nil, err
	}

	id := "null"
	if b.Versioning == "Enabled" {
		id = req.srv.randomID(32, s3VersionAlphabet)
	}
	var freed int64
	if id == "null" && obj != nil {
		if old := obj.version("null"); old != nil {
			freed = int64(len(old.Body))
		}
	}
	if b.storedBytes-freed+int64(len(body)) > s3MaxBucketBytes {
		return nil, errBadRequest("EntityTooLarge",
			"the simulator keeps at most %d bytes of objects per bucket (all versions); bucket %s holds %d: delete objects or versions first",
			s3MaxBucketBytes, b.Name, b.storedBytes)
	}

	v := &s3Version{
		ID: id, LastModified: now.Truncate(time.Second), Body: body,
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    s3StripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
		Metadata:           map[string]string{},
		SSE:                sse, KMSKeyARN: keyARN, BucketKey: bucketKey,
		SSEContext:        h.Get("X-Amz-Server-Side-Encryption-Context"),
		ChecksumAlgorithm: alg, Checksum: checksum,
		LockMode: lockMode, RetainUntil: retainUntil, LegalHold: legalHold,
	}
	if v.ContentType == "" {
		v.ContentType = "binary/octet-stream"
	}
	for name, vals := range h {
		if m, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(vals) > 0 {
			v.Metadata[m] = vals[0]
		}
	}
	v.ETag = s3ETag(v)

	if obj == nil {
		obj = &s3Object{}
		b.objects[key] = obj
	}
	if id == "null" {
		obj.remove("null")
	}
	obj.versions = append(obj.versions, v)
	b.storedBytes += int64(len(body)) - freed

	out := http.Header{"Etag": {v.ETag}}
	s3VersionHeader(out, b, v)
	s3SSEHeaders(out, v)
	out.Set("X-Amz-Checksum-"+strings.ToLower(alg), checksum)
	out.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	return &restResponse{Header: out}, nil
}

func s3TooLarge(n int64) *apiError {
	return errBadRequest("EntityTooLarge",
		"Your proposed upload exceeds the maximum allowed size: %d bytes; the simulator keeps objects of at most %d bytes", n, s3MaxObjectSize)
}

func (o *s3Object) remove(id string) *s3Version {
	if o == nil {
		return nil
	}
	for i, v := range o.versions {
		if v.ID == id {
			o.versions = append(o.versions[:i], o.versions[i+1:]...)
			return v
		}
	}
	return nil
}

// s3ETag is the object's ETag: the MD5 of the body for SSE-S3, but, as in
// S3, not an MD5 of the data for SSE-KMS objects (clients must not treat
// those ETags as digests).
func s3ETag(v *s3Version) string {
	if strings.HasPrefix(v.SSE, "aws:kms") {
		sum := md5.Sum(append([]byte(v.KMSKeyARN+"\x00"+v.ID+"\x00"+v.LastModified.String()+"\x00"), v.Body...))
		return `"` + hex.EncodeToString(sum[:]) + `"`
	}
	sum := md5.Sum(v.Body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

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
// checks a hex x-amz-content-sha256 against the body (the signature covers
// the header, not the body) and decodes the aws-chunked encoding
// aws-sdk-go-v2 uses over HTTPS (STREAMING-UNSIGNED-PAYLOAD-TRAILER: the
// body in chunks, then the checksum as a trailer).
func s3DecodePayload(req *request) ([]byte, http.Header, error) {
	h := req.HTTP.Header
	payload := h.Get("X-Amz-Content-Sha256")
	switch {
	case payload == "" || payload == "UNSIGNED-PAYLOAD":
		return req.Body, nil, nil
	case payload == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
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
	case strings.HasPrefix(payload, "STREAMING-"):
		// Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) are
		// what other SDKs send; aws-sdk-go-v2 never does.
		return nil, nil, newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement the %s payload signing mode", payload)
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

// s3ResolveSSE decides how a new object is encrypted: the request's
// x-amz-server-side-encryption headers, else the bucket's default
// encryption. For SSE-KMS it resolves the key (ID, ARN or alias) as S3
// does through KMS and returns its ARN; aws:kms without a key ID means the
// AWS managed key aws/s3, created in the account on first use.
func s3ResolveSSE(req *request, b *s3Bucket) (sse, keyARN string, bucketKey bool, err error) {
	h := req.HTTP.Header
	sse = h.Get("X-Amz-Server-Side-Encryption")
	keyID := h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
	bk := h.Get("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled")
	if sse == "" {
		if keyID != "" || h.Get("X-Amz-Server-Side-Encryption-Context") != "" {
			return "", "", false, errBadRequest("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		if b.Encryption != nil {
			for _, r := range b.Encryption.Rules {
				if r.Default == nil {
					continue
				}
				sse, keyID = r.Default.SSEAlgorithm, r.Default.KMSMasterKeyID
				if r.BucketKeyEnabled != nil {
					bucketKey = *r.BucketKeyEnabled
				}
				break
			}
		}
		if sse == "" {
			sse = "AES256"
		}
	}
	if bk != "" {
		bucketKey = strings.EqualFold(bk, "true")
	}
	switch sse {
	case "AES256":
		if keyID != "" {
			return "", "", false, errBadRequest("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		return sse, "", false, nil
	case "aws:kms", "aws:kms:dsse":
	default:
		return "", "", false, errBadRequest("InvalidArgument", "The encryption method specified is not supported")
	}
	if keyID == "" {
		return sse, s3AWSManagedKey(req).ARN, bucketKey, nil
	}
	k, settled := kmsSeen(req.srv, req.Account, req.Region, keyID)
	if k == nil || !settled {
		return "", "", false, errBadRequest("KMS.NotFoundException", "Invalid keyId '%s'", keyID)
	}
	if k.State != "Enabled" {
		return "", "", false, errBadRequest("KMS.DisabledException", "%s is disabled.", k.ARN)
	}
	if k.KeyUsage != "ENCRYPT_DECRYPT" || k.KeySpec != "SYMMETRIC_DEFAULT" {
		return "", "", false, errBadRequest("KMS.InvalidKeyUsageException", "The operation requires a symmetric encryption KMS key: %s", k.ARN)
	}
	return sse, k.ARN, bucketKey, nil
}

// s3AWSManagedKey is the account's aws/s3 key in the request's region,
// created on first use as AWS does.
func s3AWSManagedKey(req *request) *kmsKey {
	st := kmsStateOf(req.Account, req.Region)
	if id, ok := st.aliases["alias/aws/s3"]; ok {
		for _, k := range st.keys {
			if k.ID == id {
				return k
			}
		}
	}
	k := kmsNewKey(req.srv, req.Account.ID, req.Region, "Default key that protects my S3 objects when no other key is defined",
		"ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", req.srv.now())
	k.Manager = "AWS"
	k.Policy = kmsDefaultPolicy(req.Account.ID)
	st.keys = append(st.keys, k)
	st.aliases["alias/aws/s3"] = k.ID
	st.aliasWritten["alias/aws/s3"] = time.Time{}
	return k
}

// s3LockHeaders reads a PutObject's Object Lock headers.
func s3LockHeaders(req *request, b *s3Bucket, now time.Time) (mode string, until time.Time, legalHold bool, err error) {
	h := req.HTTP.Header
	mode = h.Get("X-Amz-Object-Lock-Mode")
	date := h.Get("X-Amz-Object-Lock-Retain-Until-Date")
	hold := h.Get("X-Amz-Object-Lock-Legal-Hold")
	if mode == "" && date == "" && hold == "" {
		return "", time.Time{}, false, nil
	}
	if b.ObjectLock == nil {
		return "", time.Time{}, false, errBadRequest("InvalidRequest", "Bucket is missing ObjectLockConfiguration")
	}
	switch hold {
	case "", "OFF":
	case "ON":
		legalHold = true
	default:
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
	}
	if mode == "" && date == "" {
		return "", time.Time{}, legalHold, nil
	}
	if mode == "" || date == "" {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if mode != "GOVERNANCE" && mode != "COMPLIANCE" {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "Unknown wormMode directive.")
	}
	until, perr := time.Parse(time.RFC3339Nano, date)
	if perr != nil {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "The retain until date must be provided in ISO 8601 format")
	}
	if !until.After(now) {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "The retain until date must be in the future!")
	}
	return mode, until.UTC(), legalHold, nil
}

// s3PutPreconditions applies PutObject's conditional write headers.
func s3PutPreconditions(h http.Header, cur *s3Version) error {
	exists := cur != nil && !cur.DeleteMarker
	if inm := h.Get("If-None-Match"); inm != "" {
		if inm != "*" {
			return newError(http.StatusNotImplemented, "NotImplemented", "PutObject supports If-None-Match only with the value *")
		}
		if exists {
			return newError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	if im := h.Get("If-Match"); im != "" {
		if !exists {
			return s3NoSuchKey()
		}
		if !etagMatches(im, cur.ETag) {
			return newError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	return nil
}

func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || e == etag || `"`+e+`"` == etag {
			return true
		}
	}
	return false
}

// --- response headers ----------------------------------------------------

// s3VersionHeader sets x-amz-version-id on buckets that have (or had)
// versioning; unversioned buckets send none.
func s3VersionHeader(out http.Header, b *s3Bucket, v *s3Version) {
	if b.Versioning != "" {
		out.Set("X-Amz-Version-Id", v.ID)
	}
}

func s3SSEHeaders(out http.Header, v *s3Version) {
	out.Set("X-Amz-Server-Side-Encryption", v.SSE)
	if v.KMSKeyARN != "" {
		out.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", v.KMSKeyARN)
		if v.BucketKey {
			out.Set("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", "true")
		}
		if v.SSEContext != "" {
			out.Set("X-Amz-Server-Side-Encryption-Context", v.SSEContext)
		}
	}
}

// s3ObjectHeaders are the headers GetObject and HeadObject answer with.
func s3ObjectHeaders(req *request, b *s3Bucket, v *s3Version) http.Header {
	out := http.Header{}
	out.Set("Etag", v.ETag)
	out.Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
	out.Set("Accept-Ranges", "bytes")
	out.Set("Content-Type", v.ContentType)
	for name, val := range map[string]string{
		"Content-Encoding": v.ContentEncoding, "Content-Disposition": v.ContentDisposition,
		"Content-Language": v.ContentLanguage, "Cache-Control": v.CacheControl, "Expires": v.Expires,
	} {
		if val != "" {
			out.Set(name, val)
		}
	}
	for k, val := range v.Metadata {
		out.Set("X-Amz-Meta-"+k, val)
	}
	s3VersionHeader(out, b, v)
	s3SSEHeaders(out, v)
	if v.LockMode != "" {
		out.Set("X-Amz-Object-Lock-Mode", v.LockMode)
		out.Set("X-Amz-Object-Lock-Retain-Until-Date", v.RetainUntil.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if b.ObjectLock != nil {
		hold := "OFF"
		if v.LegalHold {
			hold = "ON"
		}
		out.Set("X-Amz-Object-Lock-Legal-Hold", hold)
	}
	if strings.EqualFold(req.HTTP.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && v.ChecksumAlgorithm != "" {
		out.Set("X-Amz-Checksum-"+strings.ToLower(v.ChecksumAlgorithm), v.Checksum)
		out.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	q := req.HTTP.URL.Query()
	for param, name := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if val := q.Get(param); val != "" {
			out.Set(name, val)
		}
	}
	return out
}

// --- GetObject / HeadObject ---------------------------------------------

// s3ReadVersion finds the version a GetObject or HeadObject reads.
func s3ReadVersion(req *request) (*s3Bucket, *s3Version, error) {
	b, key, err := s3ObjectBucket(req)
	if err != nil {
		return nil, nil, err
	}
	id, byVersion, err := s3VersionArg(req)
	if err != nil {
		return nil, nil, err
	}
	obj := b.objects[key]
	if !byVersion {
		v := obj.current()
		if v == nil || v.DeleteMarker {
			return nil, nil, s3NoSuchKey()
		}
		return b, v, nil
	}
	v := obj.version(id)
	if v == nil {
		return nil, nil, errNotFound("NoSuchVersion", "The specified version does not exist.")
	}
	if v.DeleteMarker {
		return nil, nil, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	return b, v, nil
}

// s3ReadPreconditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since as S3 does (RFC 7232 precedence).
func s3ReadPreconditions(h http.Header, v *s3Version) error {
	failed := newError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	notModified := newError(http.StatusNotModified, "NotModified", "Not Modified")
	im, inm := h.Get("If-Match"), h.Get("If-None-Match")
	if im != "" {
		if !etagMatches(im, v.ETag) {
			return failed
		}
	} else if ius := h.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && v.LastModified.After(t) {
			return failed
		}
	}
	if inm != "" {
		if etagMatches(inm, v.ETag) {
			return notModified
		}
	} else if ims := h.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !v.LastModified.After(t) {
			return notModified
		}
	}
	return nil
}

func s3GetObject(req *request) (any, error) {
	b, v, err := s3ReadVersion(req)
	if err != nil {
		return nil, err
	}
	if err := s3ReadPreconditions(req.HTTP.Header, v); err != nil {
		return nil, err
	}
	out := s3ObjectHeaders(req, b, v)
	body := v.Body
	status := http.StatusOK
	if rng := req.HTTP.Header.Get("Range"); rng != "" {
		start, end, ok, err := parseByteRange(rng, int64(len(body)))
		if err != nil {
			return nil, err
		}
		if ok {
			out.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.Itoa(len(body)))
			body = body[start : end+1]
			status = http.StatusPartialContent
			// A range is not the object: its full-object checksum does not apply.
			for name := range out {
				if strings.HasPrefix(name, "X-Amz-Checksum-") {
					out.Del(name)
				}
			}
		}
	}
	out.Set("Content-Length", strconv.Itoa(len(body)))
	raw := body
	if raw == nil {
		raw = []byte{}
	}
	return &restResponse{Status: status, Header: out, Raw: raw}, nil
}

// parseByteRange parses a single "bytes=first-last", "bytes=first-" or
// "bytes=-suffix" range. S3 ignores ranges it does not understand (and
// multiple ranges) and returns the whole object; a syntactically valid range
// past the end is InvalidRange.
func parseByteRange(h string, size int64) (start, end int64, ok bool, err error) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	invalid := newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
	switch {
	case first == "" && last == "":
		return 0, 0, false, nil
	case first == "":
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, invalid
		}
		return max(size-n, 0), size - 1, true, nil
	default:
		s, perr := strconv.ParseInt(first, 10, 64)
		if perr != nil {
			return 0, 0, false, nil
		}
		e := size - 1
		if last != "" {
			if e, perr = strconv.ParseInt(last, 10, 64); perr != nil || e < s {
				return 0, 0, false, nil
			}
		}
		if s >= size {
			return 0, 0, false, invalid
		}
		return s, min(e, size-1), true, nil
	}
}

func s3HeadObject(req *request) (any, error) {
	b, v, err := s3ReadVersion(req)
	if err != nil {
		return nil, err
	}
	if err := s3ReadPreconditions(req.HTTP.Header, v); err != nil {
		return nil, err
	}
	out := s3ObjectHeaders(req, b, v)
	out.Set("Content-Length", strconv.Itoa(len(v.Body)))
	return &restResponse{Header: out}, nil
}

// --- DeleteObject --------------------------------------------------------

func s3DeleteObject(req *request) (any, error) {
	b, key, err := s3ObjectBucket(req)
	if err != nil {
		return nil, err
	}
	id, byVersion, err := s3VersionArg(req)
	if err != nil {
		return nil, err
	}
	obj := b.objects[key]
	out := http.Header{}
	if !byVersion {
		switch b.Versioning {
		case "":
			// Unversioned: the object goes; deleting a missing key succeeds.
			if obj != nil {
				if v := obj.remove("null"); v != nil {
					b.storedBytes -= int64(len(v.Body))
				}
				delete(b.objects, key)
			}
			return &restResponse{Status: http.StatusNoContent}, nil
		default:
			// Versioned: a delete marker becomes the current version, even
			// over locked versions (retention protects versions, not keys).
			// With versioning suspended the marker is the null version.
			if obj == nil {
				obj = &s3Object{}
				b.objects[key] = obj
			}
			mid := "null"
			if b.Versioning == "Enabled" {
				mid = req.srv.randomID(32, s3VersionAlphabet)
			} else if old := obj.remove("null"); old != nil {
				b.storedBytes -= int64(len(old.Body))
			}
			obj.versions = append(obj.versions, &s3Version{ID: mid, DeleteMarker: true, LastModified: req.srv.now().UTC().Truncate(time.Second)})
			out.Set("X-Amz-Delete-Marker", "true")
			out.Set("X-Amz-Version-Id", mid)
			return &restResponse{Status: http.StatusNoContent, Header: out}, nil
		}
	}
	v := obj.version(id)
	if v == nil {
		// S3 answers success for a version that does not exist.
		return &restResponse{Status: http.StatusNoContent}, nil
	}
	if !v.DeleteMarker {
		if err := s3CheckRetention(req, v); err != nil {
			return nil, err
		}
	}
	obj.remove(id)
	b.storedBytes -= int64(len(v.Body))
	if len(obj.versions) == 0 {
		delete(b.objects, key)
	}
	if b.Versioning != "" {
		out.Set("X-Amz-Version-Id", id)
	}
	if v.DeleteMarker {
		out.Set("X-Amz-Delete-Marker", "true")
	}
	return &restResponse{Status: http.StatusNoContent, Header: out}, nil
}

// s3CheckRetention refuses to delete a version under a legal hold or an
// unexpired retention: COMPLIANCE always, GOVERNANCE unless the caller sends
// x-amz-bypass-governance-retention (which needs
// s3:BypassGovernanceRetention; the simulator does not evaluate IAM).
func s3CheckRetention(req *request, v *s3Version) error {
	denied := errForbidden("AccessDenied", "Access Denied because object protected by object lock.")
	if v.LegalHold {
		return denied
	}
	if v.LockMode == "" || !req.srv.now().Before(v.RetainUntil) {
		return nil
	}
	if v.LockMode == "GOVERNANCE" && strings.EqualFold(req.HTTP.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		return nil
	}
	return denied
}

// --- ListObjectsV2 -------------------------------------------------------

type s3ListBucketResult struct {
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	KeyCount              int              `xml:"KeyCount"`
	IsTruncated           bool             `xml:"IsTruncated"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	Contents              []s3ListObject   `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3ListObject struct {
	Key               string   `xml:"Key"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm string   `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int      `xml:"Size"`
	StorageClass      string   `xml:"StorageClass"`
	Owner             *s3Owner `xml:"Owner,omitempty"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

const s3ListTokenPrefix = "awssim-s3-list:"

// A continuation token names the last key (or common prefix, flag "p")
// returned, so a listing resumes after it even when keys were added or
// removed in between, as S3's opaque tokens do.
func s3EncodeListToken(last string, isPrefix bool) string {
	flag := "k"
	if isPrefix {
		flag = "p"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s3ListTokenPrefix + flag + last))
}

func s3DecodeListToken(tok string) (last string, isPrefix bool, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false, false
	}
	s, found := strings.CutPrefix(string(raw), s3ListTokenPrefix)
	if !found || s == "" {
		return "", false, false
	}
	return s[1:], s[0] == 'p', s[0] == 'p' || s[0] == 'k'
}

func s3ListObjectsV2(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	q := req.HTTP.URL.Query()
	if owner := req.HTTP.Header.Get("X-Amz-Expected-Bucket-Owner"); owner != "" && owner != req.Account.ID {
		return nil, errForbidden("AccessDenied", "Access Denied")
	}
	if q.Get("list-type") != "2" {
		return nil, errBadRequest("InvalidArgument", "Invalid List Type specified in Request")
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return nil, errBadRequest("InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	maxKeys := s3ListMaxKeys
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return nil, errBadRequest("InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = n
	}
	// S3 returns at most 1000 keys a page whatever max-keys asks for, and
	// reports the requested value.
	limit := min(maxKeys, s3ListMaxKeys)
	if ps := req.srv.opts.PageSize; ps > 0 && limit > ps {
		limit = ps
	}
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	tok := q.Get("continuation-token")
	var after string
	var afterPrefix bool
	if _, sent := q["continuation-token"]; sent {
		var ok bool
		if after, afterPrefix, ok = s3DecodeListToken(tok); !ok {
			return nil, errBadRequest("InvalidArgument", "The continuation token provided is incorrect")
		}
	} else {
		after = startAfter
	}
	res := s3ListBucketResult{
		Name: b.Name, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys,
		ContinuationToken: tok, StartAfter: startAfter, EncodingType: enc,
	}
	esc := func(s string) string { return s }
	if enc == "url" {
		esc = s3URLEncode
		res.Prefix, res.Delimiter, res.StartAfter = esc(prefix), esc(delim), esc(startAfter)
	}
	fetchOwner := q.Get("fetch-owner") == "true"
	var lastCP string
	for _, k := range sortedKeys(b.objects) {
		if !strings.HasPrefix(k, prefix) || k <= after || (afterPrefix && strings.HasPrefix(k, after)) {
			continue
		}
		cur := b.objects[k].current()
		if cur == nil || cur.DeleteMarker {
			continue
		}
		cp := ""
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp = k[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && cp == lastCP {
			continue
		}
		if limit == 0 {
			break
		}
		if res.KeyCount == limit {
			res.IsTruncated = true
			break
		}
		res.KeyCount++
		if cp != "" {
			lastCP = cp
			res.CommonPrefixes = append(res.CommonPrefixes, s3CommonPrefix{Prefix: esc(cp)})
			res.NextContinuationToken = s3EncodeListToken(cp, true)
			continue
		}
		o := s3ListObject{
			Key: esc(k), LastModified: cur.LastModified.UTC().Format(s3TimeFormat), ETag: cur.ETag,
			ChecksumAlgorithm: cur.ChecksumAlgorithm, Size: len(cur.Body), StorageClass: "STANDARD",
		}
		if cur.ChecksumAlgorithm != "" {
			o.ChecksumType = "FULL_OBJECT"
		}
		if fetchOwner {
			o.Owner = &s3Owner{ID: s3CanonicalUserID(req.Account.ID)}
		}
		res.Contents = append(res.Contents, o)
		res.NextContinuationToken = s3EncodeListToken(k, false)
	}
	if !res.IsTruncated {
		res.NextContinuationToken = ""
	}
	return &restResponse{Body: struct {
		XMLNS string `xml:"xmlns,attr"`
		s3ListBucketResult
	}{s3XMLNS, res}, RootElement: "ListBucketResult"}, nil
}

// s3URLEncode is the encoding-type=url form of a key: URL-encoded, keeping
// "/" readable as S3 does.
func s3URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// --- versioning ----------------------------------------------------------

type s3VersioningConfiguration struct {
	XMLNS     string `xml:"xmlns,attr,omitempty"`
	Status    string `xml:"Status,omitempty"`
	MFADelete string `xml:"MfaDelete,omitempty"`
}

func s3GetBucketVersioning(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	return &restResponse{Body: s3VersioningConfiguration{XMLNS: s3XMLNS, Status: b.Versioning}, RootElement: "VersioningConfiguration"}, nil
}

func s3PutBucketVersioning(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var cfg s3VersioningConfiguration
	if err := xmlUnmarshalStrict(req.Body, &cfg); err != nil {
		return nil, malformedXML()
	}
	if cfg.MFADelete == "Enabled" {
		return nil, newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement MFA delete")
	}
	switch cfg.Status {
	case "Enabled":
	case "Suspended":
		if b.ObjectLock != nil {
			return nil, errConflict("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
	default:
		return nil, malformedXML()
	}
	b.Versioning = cfg.Status
	return nil, nil
}

// --- Object Lock configuration ------------------------------------------

func s3GetObjectLockConfiguration(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.ObjectLock == nil {
		return nil, errNotFound("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
	}
	return &restResponse{Body: struct {
		XMLNS string `xml:"xmlns,attr"`
		s3ObjectLockConfiguration
	}{s3XMLNS, *b.ObjectLock}, RootElement: "ObjectLockConfiguration"}, nil
}

func s3PutObjectLockConfiguration(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if err := s3RequireBodyIntegrity(req); err != nil {
		return nil, err
	}
	var cfg s3ObjectLockConfiguration
	if err := xmlUnmarshalStrict(req.Body, &cfg); err != nil || cfg.ObjectLockEnabled != "Enabled" {
		return nil, malformedXML()
	}
	if r := cfg.Rule; r != nil {
		d := r.DefaultRetention
		if d == nil || (d.Days == nil) == (d.Years == nil) {
			return nil, malformedXML()
		}
		if d.Mode != "GOVERNANCE" && d.Mode != "COMPLIANCE" {
			return nil, malformedXML()
		}
		if (d.Days != nil && *d.Days <= 0) || (d.Years != nil && *d.Years <= 0) {
			return nil, errBadRequest("InvalidArgument", "Default retention period must be a positive integer value")
		}
		if (d.Days != nil && *d.Days > 36500) || (d.Years != nil && *d.Years > 100) {
			return nil, errBadRequest("InvalidArgument", "Default retention period is too large.")
		}
	}
	if b.ObjectLock == nil && b.Versioning != "Enabled" {
		// Object Lock can be enabled on an existing bucket (since
		// November 2023) only once versioning is on.
		return nil, errConflict("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	}
	b.ObjectLock = &cfg
	return nil, nil
}

// xmlUnmarshalStrict decodes a request document, refusing an empty body.
func xmlUnmarshalStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errString("empty body")
	}
	return xml.Unmarshal(body, v)
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
