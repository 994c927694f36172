package awssim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// objectConfig is mgmtConfig with the checksum settings
// config.LoadDefaultConfig resolves by default (a literal aws.Config leaves
// them unset, and the S3 client then sends no checksum unless required).
func objectConfig(s *Server) aws.Config {
	cfg := mgmtConfig(s, "us-east-1")
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	return cfg
}

// objectTestBucket creates a bucket in the management account (whose keys
// never expire, so tests may step the server clock over retention periods).
func objectTestBucket(t *testing.T, s *Server, name string, lock bool, opt ...func(*s3.Options)) *s3.Client {
	t.Helper()
	c := s3.NewFromConfig(objectConfig(s), opt...)
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if lock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	must[*s3.CreateBucketOutput](t)(c.CreateBucket(ctx, in))
	return c
}

func readAll(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestS3ObjectPutGetHeadDelete(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := objectTestBucket(t, s, "orgguard-objects-100000000001", false)
	bucket := aws.String("orgguard-objects-100000000001")

	put := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: bucket, Key: aws.String("runs/r1/run.json"), Body: strings.NewReader(`{"run":"r1"}`),
		ContentType: aws.String("application/json"), Metadata: map[string]string{"pack": "baseline"},
	}))
	// The SDK sends a CRC32 by default; S3 echoes it.
	if aws.ToString(put.ChecksumCRC32) == "" || put.ChecksumType != s3types.ChecksumTypeFullObject {
		t.Errorf("PutObject checksum = %q type %q", aws.ToString(put.ChecksumCRC32), put.ChecksumType)
	}
	if put.ServerSideEncryption != s3types.ServerSideEncryptionAes256 || put.VersionId != nil {
		t.Errorf("PutObject SSE %q version %v, want AES256 (the bucket default) and no version", put.ServerSideEncryption, put.VersionId)
	}
	sum := md5.Sum([]byte(`{"run":"r1"}`))
	if want := fmt.Sprintf(`"%x"`, sum); aws.ToString(put.ETag) != want {
		t.Errorf("ETag = %s, want %s", aws.ToString(put.ETag), want)
	}

	get := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), ChecksumMode: s3types.ChecksumModeEnabled}))
	if body := readAll(t, get.Body); body != `{"run":"r1"}` {
		t.Errorf("body = %q", body)
	}
	if aws.ToString(get.ContentType) != "application/json" || aws.ToInt64(get.ContentLength) != 12 ||
		get.Metadata["pack"] != "baseline" || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) ||
		aws.ToString(get.ETag) != aws.ToString(put.ETag) || get.LastModified == nil {
		t.Errorf("GetObject = type %q length %d meta %v crc %q etag %q", aws.ToString(get.ContentType), aws.ToInt64(get.ContentLength),
			get.Metadata, aws.ToString(get.ChecksumCRC32), aws.ToString(get.ETag))
	}
	head := must[*s3.HeadObjectOutput](t)(c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")}))
	if aws.ToInt64(head.ContentLength) != 12 || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
		t.Errorf("HeadObject = length %d etag %q", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}

	// A range.
	rng := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), Range: aws.String("bytes=2-4")}))
	if body := readAll(t, rng.Body); body != `run` || aws.ToString(rng.ContentRange) != "bytes 2-4/12" {
		t.Errorf("range = %q %q", body, aws.ToString(rng.ContentRange))
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), Range: aws.String("bytes=50-")})
	requireCode(t, err, "InvalidRange")

	// Put replaces; a missing key is NoSuchKey (GET) and NotFound (HEAD,
	// which has no body to carry a code).
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), Body: strings.NewReader("v2")}))
	get = must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")}))
	if body := readAll(t, get.Body); body != "v2" || aws.ToString(get.ContentType) != "application/octet-stream" {
		t.Errorf("after replace: %q %q", body, aws.ToString(get.ContentType))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/none")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("GetObject of a missing key: %v, want *types.NoSuchKey", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("runs/none")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HeadObject of a missing key: %v, want *types.NotFound", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket-anywhere"), Key: aws.String("k")})
	requireCode(t, err, "NoSuchBucket")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), ExpectedBucketOwner: aws.String("999999999999")})
	requireCode(t, err, "AccessDenied")

	// Integrity: a wrong Content-MD5 or flexible checksum is refused and
	// nothing is written.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("bad"), Body: strings.NewReader("data"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 16)))})
	requireCode(t, err, "BadDigest")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("bad"), Body: strings.NewReader("data"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))})
	requireCode(t, err, "BadDigest")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("bad"), Body: strings.NewReader("data"),
		ChecksumCRC32C: aws.String("not base64")})
	requireCode(t, err, "InvalidRequest")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("bad")})
	if !errors.As(err, &nf) {
		t.Errorf("a refused put left an object: %v", err)
	}
	// The right ones pass.
	sum = md5.Sum([]byte("data"))
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("good"), Body: strings.NewReader("data"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}))

	// Conditional writes.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("good"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")})
	requireCode(t, err, "PreconditionFailed")

	// Delete on an unversioned bucket removes; deleting again succeeds.
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("good")}))
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("good")}))
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("good")})
	requireCode(t, err, "NoSuchKey")

	// Sub-resources the simulator lacks say so.
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")})
	requireCode(t, err, "NotImplemented")

	calls := s.CallsMatching(CallFilter{Service: "s3", Operation: "PutObject", OnlySuccess: true})
	if len(calls) != 3 || calls[0].Params["Key"] != "runs/r1/run.json" || calls[0].Params["Bucket"] != "orgguard-objects-100000000001" {
		t.Errorf("PutObject calls = %+v", calls)
	}
}

func TestS3ObjectKeysKeptVerbatim(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := objectTestBucket(t, s, "orgguard-keys-100000000001", false)
	bucket := aws.String("orgguard-keys-100000000001")
	keys := []string{"dir/", "a//b", "sp ace/ü+%2F?#.json", "~7e/x"}
	for _, k := range keys {
		must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader(k)}))
	}
	for _, k := range keys {
		out := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(k)}))
		if body := readAll(t, out.Body); body != k {
			t.Errorf("key %q: body %q", k, body)
		}
	}
	var got []string
	for _, o := range must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})).Contents {
		got = append(got, aws.ToString(o.Key))
	}
	want := slices.Clone(keys)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

func TestS3ObjectSSE(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := mgmtConfig(s, "us-east-1")
	km := kms.NewFromConfig(cfg)
	key := must[*kms.CreateKeyOutput](t)(km.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("evidence")})).KeyMetadata
	must[*kms.CreateAliasOutput](t)(km.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/evidence"), TargetKeyId: key.KeyId}))
	other := must[*kms.CreateKeyOutput](t)(km.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("other")})).KeyMetadata

	c := objectTestBucket(t, s, "orgguard-sse-100000000001", false)
	bucket := aws.String("orgguard-sse-100000000001")
	must[*s3.PutBucketEncryptionOutput](t)(c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: bucket,
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/evidence")},
			BucketKeyEnabled:                   aws.Bool(true),
		}}},
	}))

	// No SSE headers: the bucket default key, echoed as its ARN.
	out := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("default"), Body: strings.NewReader("x")}))
	if out.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != aws.ToString(key.Arn) || !aws.ToBool(out.BucketKeyEnabled) {
		t.Errorf("default SSE = %q key %q bucket key %v, want aws:kms %s", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId), aws.ToBool(out.BucketKeyEnabled), aws.ToString(key.Arn))
	}
	sum := md5.Sum([]byte("x"))
	if aws.ToString(out.ETag) == fmt.Sprintf(`"%x"`, sum) {
		t.Errorf("an SSE-KMS object's ETag is the MD5 of its data; S3's is not")
	}
	// An explicit key by ID.
	out = must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("explicit"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: other.KeyId}))
	if aws.ToString(out.SSEKMSKeyId) != aws.ToString(other.Arn) {
		t.Errorf("explicit key = %q, want %s", aws.ToString(out.SSEKMSKeyId), aws.ToString(other.Arn))
	}
	head := must[*s3.HeadObjectOutput](t)(c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("explicit")}))
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != aws.ToString(other.Arn) {
		t.Errorf("HeadObject SSE = %q %q", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId))
	}
	// aws:kms without a key ID is the AWS managed key aws/s3, not the
	// bucket's default key (PutObject API reference).
	out = must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("managed"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms}))
	managed := must[*kms.DescribeKeyOutput](t)(km.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})).KeyMetadata
	if aws.ToString(out.SSEKMSKeyId) != aws.ToString(managed.Arn) || aws.ToString(out.SSEKMSKeyId) == aws.ToString(key.Arn) {
		t.Errorf("aws:kms without a key = %q, want aws/s3 %s", aws.ToString(out.SSEKMSKeyId), aws.ToString(managed.Arn))
	}

	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/none")})
	requireCode(t, err, "KMS.NotFoundException")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"), SSEKMSKeyId: key.KeyId})
	requireCode(t, err, "InvalidArgument")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256, SSEKMSKeyId: key.KeyId})
	requireCode(t, err, "InvalidArgument")
	out = must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("s3"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256}))
	if out.ServerSideEncryption != s3types.ServerSideEncryptionAes256 || out.SSEKMSKeyId != nil {
		t.Errorf("explicit AES256 = %q %v", out.ServerSideEncryption, out.SSEKMSKeyId)
	}
}

func TestS3ObjectLock(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := newTestServer(t, Options{Now: clock.Now})
	c := objectTestBucket(t, s, "orgguard-locked-100000000001", true)
	bucket := aws.String("orgguard-locked-100000000001")

	// Object Lock at creation turns versioning on and cannot be undone.
	ver := must[*s3.GetBucketVersioningOutput](t)(c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket}))
	if ver.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning = %q, want Enabled", ver.Status)
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	requireCode(t, err, "InvalidBucketState")
	lc := must[*s3.GetObjectLockConfigurationOutput](t)(c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: bucket}))
	if lc.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled || lc.ObjectLockConfiguration.Rule != nil {
		t.Errorf("lock configuration = %+v", lc.ObjectLockConfiguration)
	}

	// Default retention: 2 days GOVERNANCE.
	must[*s3.PutObjectLockConfigurationOutput](t)(c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket,
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(2)}}}}))
	lc = must[*s3.GetObjectLockConfigurationOutput](t)(c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: bucket}))
	if r := lc.ObjectLockConfiguration.Rule; r == nil || r.DefaultRetention.Mode != s3types.ObjectLockRetentionModeGovernance || aws.ToInt32(r.DefaultRetention.Days) != 2 {
		t.Errorf("lock configuration = %+v", lc.ObjectLockConfiguration.Rule)
	}
	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket,
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(0)}}}})
	requireCode(t, err, "InvalidArgument")

	v1 := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), Body: strings.NewReader("v1")}))
	head := must[*s3.HeadObjectOutput](t)(c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")}))
	wantUntil := clock.Now().UTC().Truncate(time.Second).Add(48 * time.Hour)
	if head.ObjectLockMode != s3types.ObjectLockModeGovernance || head.ObjectLockRetainUntilDate == nil ||
		head.ObjectLockRetainUntilDate.Sub(wantUntil).Abs() > time.Second || aws.ToString(head.VersionId) != aws.ToString(v1.VersionId) {
		t.Errorf("default retention = %q until %v version %q, want GOVERNANCE until %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate, aws.ToString(head.VersionId), wantUntil)
	}
	// A rewrite adds a version; the first stays readable.
	v2 := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), Body: strings.NewReader("v2")}))
	if aws.ToString(v1.VersionId) == "" || aws.ToString(v1.VersionId) == aws.ToString(v2.VersionId) {
		t.Fatalf("versions %q and %q", aws.ToString(v1.VersionId), aws.ToString(v2.VersionId))
	}
	old := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: v1.VersionId}))
	if body := readAll(t, old.Body); body != "v1" {
		t.Errorf("version 1 = %q", body)
	}

	// A simple delete adds a delete marker; the locked versions stay.
	del := must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")}))
	if !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Errorf("delete = marker %v version %q", aws.ToBool(del.DeleteMarker), aws.ToString(del.VersionId))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")})
	requireCode(t, err, "NoSuchKey")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: del.VersionId})
	requireCode(t, err, "MethodNotAllowed")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: aws.String("00000000000000000000000000000000")})
	requireCode(t, err, "NoSuchVersion")
	if list := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})); aws.ToInt32(list.KeyCount) != 0 {
		t.Errorf("a deleted key is listed: %+v", list.Contents)
	}

	// Deleting a locked version is refused; GOVERNANCE yields to the bypass
	// header.
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: v1.VersionId})
	requireCode(t, err, "AccessDenied")
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: v1.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}))
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: v1.VersionId})
	requireCode(t, err, "NoSuchVersion")
	// Deleting a version that does not exist succeeds and echoes the ID.
	gone := must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: v1.VersionId}))
	if aws.ToString(gone.VersionId) != aws.ToString(v1.VersionId) || aws.ToBool(gone.DeleteMarker) {
		t.Errorf("deleting a deleted version = %q marker %v", aws.ToString(gone.VersionId), aws.ToBool(gone.DeleteMarker))
	}
	// Removing the delete marker brings v2 back.
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json"), VersionId: del.VersionId}))
	cur := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/r1/run.json")}))
	if body := readAll(t, cur.Body); body != "v2" {
		t.Errorf("after removing the marker: %q", body)
	}

	// COMPLIANCE holds against the bypass until the date passes.
	comp := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("compliance"), Body: strings.NewReader("c"),
		ObjectLockMode: s3types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(clock.Now().Add(time.Hour))}))
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("compliance"), VersionId: comp.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	requireCode(t, err, "AccessDenied")
	clock.Advance(time.Hour + time.Second)
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("compliance"), VersionId: comp.VersionId}))

	// A legal hold blocks deletion whatever the retention.
	held := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("held"), Body: strings.NewReader("h"),
		ObjectLockLegalHoldStatus: s3types.ObjectLockLegalHoldStatusOn}))
	clock.Advance(72 * time.Hour)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("held"), VersionId: held.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	requireCode(t, err, "AccessDenied")

	// Bad lock parameters.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: s3types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(clock.Now().Add(-time.Hour))})
	requireCode(t, err, "InvalidArgument")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"), ObjectLockMode: s3types.ObjectLockModeGovernance})
	requireCode(t, err, "InvalidArgument")

	// Object Lock needs a Content-MD5 or checksum: a client that sends no
	// checksum (only "when required") is refused.
	bare := s3.NewFromConfig(objectConfig(s), func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	_, err = bare.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x")})
	requireCode(t, err, "InvalidRequest")
	if err == nil || !strings.Contains(err.Error(), "Content-MD5 OR x-amz-checksum- HTTP header is required") {
		t.Errorf("error = %v", err)
	}
}

func TestS3ObjectLockRefusedWithoutLockConfiguration(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := objectTestBucket(t, s, "orgguard-plain-100000000001", false)
	bucket := aws.String("orgguard-plain-100000000001")
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: s3types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(24 * time.Hour))})
	requireCode(t, err, "InvalidRequest")
	if !strings.Contains(err.Error(), "Bucket is missing ObjectLockConfiguration") {
		t.Errorf("error = %v", err)
	}
	// One of mode and date alone is refused for what it is, before the
	// bucket is looked at.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"), ObjectLockMode: s3types.ObjectLockModeGovernance})
	requireCode(t, err, "InvalidArgument")
	_, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: bucket})
	requireCode(t, err, "ObjectLockConfigurationNotFoundError")
	ver := must[*s3.GetBucketVersioningOutput](t)(c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket}))
	if ver.Status != "" {
		t.Errorf("versioning of a new bucket = %q, want none", ver.Status)
	}
	// Object Lock on an existing bucket needs versioning first.
	lockCfg := &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled}
	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket, ObjectLockConfiguration: lockCfg})
	requireCode(t, err, "InvalidBucketState")
	must[*s3.PutBucketVersioningOutput](t)(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
	must[*s3.PutObjectLockConfigurationOutput](t)(c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket, ObjectLockConfiguration: lockCfg}))
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: s3types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(24 * time.Hour))}))
}

func TestS3ListObjectsV2(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := objectTestBucket(t, s, "orgguard-list-100000000001", false)
	bucket := aws.String("orgguard-list-100000000001")

	// 1005 keys whose insertion order is not their lexicographic order.
	var want []string
	for i := 1004; i >= 0; i-- {
		k := fmt.Sprintf("runs/r%d/run.json", i)
		want = append(want, k)
		must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader("{}")}))
	}
	for _, k := range []string{"packs/p/20260101T000000Z_r1", "packs/q/20260101T000000Z_r2", "readme", "runs/r1/accounts/1.jsonl"} {
		must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader("")}))
	}
	want = append(want, "runs/r1/accounts/1.jsonl")
	sort.Strings(want)

	var got []string
	var pages []int32
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("runs/")})
	for p.HasMorePages() {
		page := must[*s3.ListObjectsV2Output](t)(p.NextPage(ctx))
		pages = append(pages, aws.ToInt32(page.KeyCount))
		if int(aws.ToInt32(page.KeyCount)) != len(page.Contents) || aws.ToInt32(page.MaxKeys) != 1000 {
			t.Errorf("page KeyCount %d, %d contents, MaxKeys %d", aws.ToInt32(page.KeyCount), len(page.Contents), aws.ToInt32(page.MaxKeys))
		}
		for _, o := range page.Contents {
			got = append(got, aws.ToString(o.Key))
			if aws.ToInt64(o.Size) != 2 && !strings.HasSuffix(aws.ToString(o.Key), ".jsonl") || o.StorageClass != s3types.ObjectStorageClassStandard || aws.ToString(o.ETag) == "" {
				t.Errorf("object %+v", o)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paginated listing: %d keys, first %q, want %d keys first %q", len(got), got[:3], len(want), want[:3])
	}
	if !slices.Equal(pages, []int32{1000, 6}) {
		t.Errorf("pages = %v, want [1000 6]", pages)
	}

	// Delimiter: common prefixes count toward KeyCount and max-keys, once each.
	out := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Delimiter: aws.String("/")}))
	var cps []string
	for _, cp := range out.CommonPrefixes {
		cps = append(cps, aws.ToString(cp.Prefix))
	}
	if !slices.Equal(cps, []string{"packs/", "runs/"}) || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "readme" ||
		aws.ToInt32(out.KeyCount) != 3 || aws.ToBool(out.IsTruncated) {
		t.Errorf("delimited = prefixes %q, %d contents, KeyCount %d truncated %v", cps, len(out.Contents), aws.ToInt32(out.KeyCount), aws.ToBool(out.IsTruncated))
	}
	// Pages of 2 over common prefixes and keys, via continuation tokens.
	var mixed []string
	p = s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("packs/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		page := must[*s3.ListObjectsV2Output](t)(p.NextPage(ctx))
		for _, cp := range page.CommonPrefixes {
			mixed = append(mixed, aws.ToString(cp.Prefix))
		}
	}
	if !slices.Equal(mixed, []string{"packs/p/", "packs/q/"}) {
		t.Errorf("paged common prefixes = %q", mixed)
	}

	// start-after, max-keys.
	out = must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, StartAfter: aws.String("runs/r998/run.json"), MaxKeys: aws.Int32(5)}))
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if !slices.Equal(keys, []string{"runs/r999/run.json"}) || aws.ToBool(out.IsTruncated) || aws.ToString(out.StartAfter) != "runs/r998/run.json" {
		t.Errorf("start-after = %q truncated %v", keys, aws.ToBool(out.IsTruncated))
	}
	out = must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("runs/r1"), MaxKeys: aws.Int32(2)}))
	if aws.ToInt32(out.KeyCount) != 2 || !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
		t.Errorf("max-keys 2 = %d truncated %v next %q", aws.ToInt32(out.KeyCount), aws.ToBool(out.IsTruncated), aws.ToString(out.NextContinuationToken))
	}
	// A token resumes after its key even when keys change in between.
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: out.Contents[1].Key}))
	next := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("runs/r1"),
		MaxKeys: aws.Int32(1), ContinuationToken: out.NextContinuationToken}))
	if len(next.Contents) != 1 || aws.ToString(next.Contents[0].Key) <= aws.ToString(out.Contents[1].Key) ||
		aws.ToString(next.ContinuationToken) != aws.ToString(out.NextContinuationToken) {
		t.Errorf("resumed page = %+v", next.Contents)
	}
	_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, ContinuationToken: aws.String("bogus")})
	requireCode(t, err, "InvalidArgument")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, MaxKeys: aws.Int32(-1)})
	requireCode(t, err, "InvalidArgument")
	zero := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, MaxKeys: aws.Int32(0)}))
	if aws.ToInt32(zero.KeyCount) != 0 || aws.ToBool(zero.IsTruncated) || zero.NextContinuationToken != nil || aws.ToInt32(zero.MaxKeys) != 0 {
		t.Errorf("max-keys 0 = KeyCount %d truncated %v next %v", aws.ToInt32(zero.KeyCount), aws.ToBool(zero.IsTruncated), zero.NextContinuationToken)
	}
	empty := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("nothing/")}))
	if aws.ToInt32(empty.KeyCount) != 0 || aws.ToBool(empty.IsTruncated) || len(empty.Contents) != 0 {
		t.Errorf("empty listing = %+v", empty)
	}
	// encoding-type=url escapes keys.
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("z/a b"), Body: strings.NewReader("")}))
	enc := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("z/"), EncodingType: s3types.EncodingTypeUrl}))
	if len(enc.Contents) != 1 || aws.ToString(enc.Contents[0].Key) != "z/a+b" {
		t.Errorf("url-encoded listing = %+v", enc.Contents)
	}
}

// TestS3PutObjectAWSChunkedOverTLS serves the simulator over HTTPS, where
// aws-sdk-go-v2 streams PutObject bodies aws-chunked with the CRC32 as a
// trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER) instead of a header.
func TestS3PutObjectAWSChunkedOverTLS(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cert, pool := selfSignedCert(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var encodings []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") > 1 {
			mu.Lock()
			encodings = append(encodings, r.Header.Get("Content-Encoding")+" "+r.Header.Get("X-Amz-Content-Sha256")+" "+r.Header.Get("X-Amz-Trailer"))
			mu.Unlock()
		}
		s.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	cfg := objectConfig(s)
	cfg.BaseEndpoint = aws.String("https://" + ln.Addr().String())
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	})
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := aws.String("orgguard-tls-100000000001")
	must[*s3.CreateBucketOutput](t)(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket, ObjectLockEnabledForBucket: aws.Bool(true)}))

	body := bytes.Repeat([]byte("evidence "), 20000) // 180 kB
	// A body the SDK cannot measure (a plain io.Reader) goes without a
	// length, which S3 refuses.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("streamed.jsonl"), Body: struct{ io.Reader }{bytes.NewReader(body)}})
	requireCode(t, err, "MissingContentLength")
	out := must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("big.jsonl"), Body: bytes.NewReader(body),
		ObjectLockMode: s3types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))}))
	if aws.ToString(out.ChecksumCRC32) == "" {
		t.Errorf("no CRC32 echoed")
	}
	get := must[*s3.GetObjectOutput](t)(c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("big.jsonl"), ChecksumMode: s3types.ChecksumModeEnabled}))
	if got := readAll(t, get.Body); got != string(body) || aws.ToString(get.ChecksumCRC32) != aws.ToString(out.ChecksumCRC32) {
		t.Errorf("round trip: %d bytes (want %d), crc %q vs %q", len(got), len(body), aws.ToString(get.ChecksumCRC32), aws.ToString(out.ChecksumCRC32))
	}
	if aws.ToString(get.ContentEncoding) != "" {
		t.Errorf("Content-Encoding stored as %q; aws-chunked is a transfer detail", aws.ToString(get.ContentEncoding))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(encodings) != 2 || encodings[1] != "aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-crc32" {
		t.Errorf("PutObject was sent as %q; the test wants the SDK's aws-chunked trailer encoding", encodings)
	}
}

func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "awssim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// The aws-chunked decoder and checksum checks on hand-made bodies: what a
// broken or hostile client could send.
func TestS3AWSChunkedDecoding(t *testing.T) {
	t.Parallel()
	crc := s3Checksum("CRC32", []byte("Hello world"))
	good := "b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n"
	body, trailer, err := decodeAWSChunked([]byte(good))
	if err != nil || string(body) != "Hello world" || trailer.Get("X-Amz-Checksum-Crc32") != crc {
		t.Fatalf("decode = %q %v %v", body, trailer, err)
	}
	if alg, v, err := s3RequestChecksum(http.Header{}, trailer, body); err != nil || alg != "CRC32" || v != crc {
		t.Errorf("trailer checksum = %s %s %v", alg, v, err)
	}
	bad := http.Header{"X-Amz-Checksum-Crc32": {s3Checksum("CRC32", []byte("Hello World"))}}
	if _, _, err := s3RequestChecksum(http.Header{}, bad, body); errorCodeOf(err) != "BadDigest" {
		t.Errorf("wrong trailer checksum: %v, want BadDigest", err)
	}
	two := http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Sha1": {s3Checksum("SHA1", body)}}
	if _, _, err := s3RequestChecksum(two, nil, body); errorCodeOf(err) != "InvalidRequest" {
		t.Errorf("two checksums: %v, want InvalidRequest", err)
	}
	if _, _, err := s3RequestChecksum(http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}}, nil, body); errorCodeOf(err) != "InvalidRequest" {
		t.Errorf("algorithm without checksum: %v, want InvalidRequest", err)
	}
	for _, alg := range s3ChecksumAlgorithms {
		v := s3Checksum(alg, body)
		if got, _, err := s3RequestChecksum(http.Header{"X-Amz-Checksum-" + alg: {v}}, nil, body); err != nil || got != alg {
			t.Errorf("%s: %v", alg, err)
		}
	}
	// Several chunks, with chunk extensions, and no trailer.
	multi := "6;chunk-signature=x\r\nHello \r\n5\r\nworld\r\n0\r\n\r\n"
	if body, trailer, err := decodeAWSChunked([]byte(multi)); err != nil || string(body) != "Hello world" || len(trailer) != 0 {
		t.Errorf("multi-chunk decode = %q %v %v", body, trailer, err)
	}
	for _, b := range []string{
		"b\r\nHello world\r\n",                    // no final chunk
		"c\r\nHello world\r\n0\r\n\r\n",           // size larger than data
		"zz\r\nHello world\r\n0\r\n\r\n",          // bad size
		"b\r\nHello world\r\n0\r\nbroken\r\n\r\n", // trailer without colon
		good + "extra",
	} {
		if _, _, err := decodeAWSChunked([]byte(b)); err == nil {
			t.Errorf("decoded malformed body %q", b)
		}
	}
}

func errorCodeOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Objects live in memory: one over s3MaxObjectSize, or one that would take
// a bucket past s3MaxBucketBytes, is refused and nothing is stored.
func TestS3ObjectSizeBounds(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := objectTestBucket(t, s, "orgguard-bounds-100000000001", false)
	bucket := aws.String("orgguard-bounds-100000000001")

	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("big"), Body: bytes.NewReader(make([]byte, s3MaxObjectSize+1))})
	requireCode(t, err, "EntityTooLarge")
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("small"), Body: strings.NewReader("0123456789")}))

	s.mu.Lock()
	_, b := s.findBucket("orgguard-bounds-100000000001")
	if b.storedBytes != 10 {
		t.Errorf("stored bytes = %d, want 10", b.storedBytes)
	}
	b.storedBytes = s3MaxBucketBytes - 5 // as if the bucket were nearly full
	s.mu.Unlock()

	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("more"), Body: strings.NewReader("0123456789")})
	requireCode(t, err, "EntityTooLarge")
	// Replacing an object frees its old body first; deleting frees it.
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("small"), Body: strings.NewReader("01234567890123")}))
	must[*s3.DeleteObjectOutput](t)(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("small")}))
	s.mu.Lock()
	defer s.mu.Unlock()
	if want := int64(s3MaxBucketBytes - 5 - 10); b.storedBytes != want {
		t.Errorf("stored bytes = %d, want %d", b.storedBytes, want)
	}
}
