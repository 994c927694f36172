package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/orgguard/orgguard/internal/awssim"
)

// simEnv is an AWS simulator with an evidence bucket as the CloudFormation
// template builds it: Object Lock on (so versioning on), default encryption
// SSE-KMS with a customer managed key.
type simEnv struct {
	srv    *awssim.Server
	cfg    aws.Config
	client *s3.Client
	bucket string
	keyARN string
	// otherKeyARN is a second customer managed key, aliased alias/other.
	otherKeyARN string
	clock       *testClock
}

type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

// newSimEnv starts a simulator for one test. The management account's
// long-term keys are used so the clock may step past retention periods
// without expiring sessions.
func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	srv, err := awssim.New(awssim.Options{IgnoreEnvironment: true, Now: func() time.Time { return clock.Now() }})
	if err != nil {
		t.Fatalf("awssim: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	ak, sk := srv.ManagementCredentials()
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		BaseEndpoint: aws.String(srv.URL()),
		// API errors reach the test at once; dropped connections are
		// retried as the SDK does by default (docs/awssim.md, Compression).
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
	ctx := context.Background()
	km := kms.NewFromConfig(cfg)
	key, err := km.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("orgguard evidence")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	other, err := km.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("other")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if _, err := km.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: other.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	c := s3.NewFromConfig(cfg)
	bucket := "orgguard-evidence-100000000001"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: key.KeyMetadata.Arn},
			BucketKeyEnabled:                   aws.Bool(true),
		}}},
	}); err != nil {
		t.Fatalf("PutBucketEncryption: %v", err)
	}
	return &simEnv{srv: srv, cfg: cfg, client: c, bucket: bucket, keyARN: aws.ToString(key.KeyMetadata.Arn),
		otherKeyARN: aws.ToString(other.KeyMetadata.Arn), clock: clock}
}

func (e *simEnv) blobs(prefix string) S3 {
	return S3{Client: e.client, Bucket: e.bucket, Prefix: prefix, Now: e.clock.Now}
}

func TestS3Conformance(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	// An object outside the prefix must stay invisible to the store.
	if _, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("other/runs/r1/run.json"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	testBlobsConformance(t, e.blobs("orgguard/"))
}

func TestS3StoreRoundTrip(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	b := e.blobs("")
	b.LockMode, b.LockDays = "GOVERNANCE", 1
	testStoreRoundTrip(t, b)
}

func TestS3ListPaginates(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	b := e.blobs("p/")
	ctx := context.Background()
	const n = 1003 // more than one ListObjectsV2 page
	for i := range n {
		if err := b.Put(ctx, fmt.Sprintf("runs/r/accounts/%04d.jsonl", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	keys := listKeys(t, b, "runs/r/accounts/")
	if len(keys) != n || keys[0] != "runs/r/accounts/0000.jsonl" || keys[n-1] != "runs/r/accounts/1002.jsonl" {
		t.Errorf("listed %d keys (%q … %q), want %d", len(keys), keys[0], keys[len(keys)-1], n)
	}
	pages := e.srv.CallsMatching(awssim.CallFilter{Service: "s3", Operation: "ListObjectsV2", OnlySuccess: true})
	if len(pages) != 2 {
		t.Errorf("%d ListObjectsV2 calls, want 2 pages", len(pages))
	}
}

func TestS3Encryption(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := context.Background()
	head := func(key string) *s3.HeadObjectOutput {
		t.Helper()
		out, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject %s: %v", key, err)
		}
		return out
	}

	// No key ID: the bucket's default key, not the AWS managed aws/s3.
	if err := e.blobs("").Put(ctx, "runs/r1/run.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if h := head("runs/r1/run.json"); h.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(h.SSEKMSKeyId) != e.keyARN {
		t.Errorf("default key: %q %q, want aws:kms %s", h.ServerSideEncryption, aws.ToString(h.SSEKMSKeyId), e.keyARN)
	}
	if got := head("runs/r1/run.json").ContentType; aws.ToString(got) != "application/json" {
		t.Errorf("content type = %q", aws.ToString(got))
	}
	// An explicit key (by alias) is used and echoed as its ARN.
	b := e.blobs("")
	b.KMSKeyID = "alias/other"
	if err := b.Put(ctx, "runs/r1/accounts/1.jsonl", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if h := head("runs/r1/accounts/1.jsonl"); aws.ToString(h.SSEKMSKeyId) != e.otherKeyARN || aws.ToString(h.ContentType) != "application/x-ndjson" {
		t.Errorf("explicit key: %q %q", aws.ToString(h.SSEKMSKeyId), aws.ToString(h.ContentType))
	}
	// A key that does not exist fails with the bucket, key and action named.
	b.KMSKeyID = "alias/missing"
	err := b.Put(ctx, "runs/r1/x.json", []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "s3:PutObject runs/r1/x.json") || !strings.Contains(err.Error(), e.bucket) ||
		!strings.Contains(err.Error(), "KMS.NotFoundException") {
		t.Errorf("missing key: %v", err)
	}

	// A bucket whose default encryption is SSE-S3 is refused loudly.
	if _, err := e.client.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(e.bucket)}); err != nil {
		t.Fatal(err)
	}
	err = e.blobs("").Put(ctx, "runs/r2/run.json", []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "not SSE-KMS") {
		t.Errorf("SSE-S3 bucket default: %v, want a refusal", err)
	}
}

func TestS3ObjectLockRetention(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := context.Background()
	b := e.blobs("ev/")
	b.LockMode, b.LockDays = "COMPLIANCE", 7
	if err := b.Put(ctx, "runs/r1/run.json", []byte(`{"status":"running"}`)); err != nil {
		t.Fatal(err)
	}
	h, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("ev/runs/r1/run.json")})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(7 * 24 * time.Hour); h.ObjectLockMode != types.ObjectLockModeCompliance || h.ObjectLockRetainUntilDate == nil || !h.ObjectLockRetainUntilDate.Equal(want) {
		t.Errorf("retention = %q until %v, want COMPLIANCE until %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, want)
	}
	first := aws.ToString(h.VersionId)
	// The run finishing rewrites the manifest: a new version; the locked
	// first one can be neither deleted nor replaced.
	if err := b.Put(ctx, "runs/r1/run.json", []byte(`{"status":"completed"}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := getString(t, b, "runs/r1/run.json"); err != nil || got != `{"status":"completed"}` {
		t.Errorf("latest = %q, %v", got, err)
	}
	_, err = e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("ev/runs/r1/run.json"), VersionId: aws.String(first),
		BypassGovernanceRetention: aws.Bool(true)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("deleting the locked first version: %v, want AccessDenied", err)
	}
	old, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("ev/runs/r1/run.json"), VersionId: aws.String(first)})
	if err != nil {
		t.Fatalf("the first version: %v", err)
	}
	old.Body.Close()
}

func TestS3ErrorsNameBucketKeyAndAction(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := context.Background()
	b := S3{Client: e.client, Bucket: "orgguard-no-such-bucket", Prefix: "ev/"}
	_, err := b.Get(ctx, "runs/r1/run.json")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "s3://orgguard-no-such-bucket/ev/") ||
		!strings.Contains(err.Error(), "s3:GetObject runs/r1/run.json") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Get from a missing bucket: %v", err)
	}
	err = b.Put(ctx, "runs/r1/run.json", nil)
	if err == nil || !strings.Contains(err.Error(), "s3:PutObject runs/r1/run.json") || !strings.Contains(err.Error(), "orgguard-no-such-bucket") {
		t.Errorf("Put to a missing bucket: %v", err)
	}
	for _, err := range b.List(ctx, "runs/") {
		if err == nil || !strings.Contains(err.Error(), "s3:ListObjectsV2 runs/") || !strings.Contains(err.Error(), "orgguard-no-such-bucket") {
			t.Errorf("List of a missing bucket: %v", err)
		}
	}
	// Object Lock on a bucket without it.
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("orgguard-unlocked-100000000001")}); err != nil {
		t.Fatal(err)
	}
	u := S3{Client: e.client, Bucket: "orgguard-unlocked-100000000001", KMSKeyID: e.keyARN, LockDays: 1}
	err = u.Put(ctx, "runs/r1/run.json", nil)
	if err == nil || !strings.Contains(err.Error(), "Bucket is missing ObjectLockConfiguration") || !strings.Contains(err.Error(), "orgguard-unlocked-100000000001") {
		t.Errorf("locked put to an unlocked bucket: %v", err)
	}
}
