package awssim

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
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
	// S3 does not validate the format of a version ID it is asked to
	// delete: a version that does not exist is a successful no-op that
	// echoes the ID.
	vs, byVersion := req.HTTP.URL.Query()["versionId"]
	var id string
	if byVersion {
		id = vs[0]
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
		out.Set("X-Amz-Version-Id", id)
		return &restResponse{Status: http.StatusNoContent, Header: out}, nil
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
