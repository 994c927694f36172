package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is Blobs on an S3 bucket: objects under Prefix, encrypted with
// SSE-KMS (KMSKeyID, or the bucket's default encryption when empty, which
// must then be SSE-KMS: Put checks what S3 applied), optionally locked for
// LockDays under Object Lock (the bucket must have been created with Object
// Lock on: deploy/cloudformation/evidence-bucket.yaml does). A rewrite of a
// locked object adds a version; the locked earlier versions stay, which is
// what an auditor wants. Open builds one from "s3://bucket/prefix".
type S3 struct {
	Client   *s3.Client
	Bucket   string
	Prefix   string // "" or ending in "/"
	KMSKeyID string
	// LockMode is GOVERNANCE or COMPLIANCE; LockDays 0 sets no retention.
	LockMode string
	LockDays int
	Now      func() time.Time
}

func (s S3) Where() string { return "s3://" + s.Bucket + "/" + s.Prefix }

func (s S3) Put(ctx context.Context, key string, body []byte) error {
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.Bucket),
		Key:         aws.String(s.Prefix + key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType(key)),
		// Always a checksum: S3 verifies the body, and Object Lock (by
		// this Put or by the bucket's default retention) refuses puts
		// without one, even when the SDK is configured to send checksums
		// only when required (AWS_REQUEST_CHECKSUM_CALCULATION).
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	}
	if s.KMSKeyID != "" {
		// Only with a key ID: aws:kms alone means the AWS managed key
		// aws/s3, not the bucket's default key (PutObject API reference).
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	}
	if s.LockDays > 0 {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		mode := types.ObjectLockModeGovernance
		if strings.EqualFold(s.LockMode, "COMPLIANCE") {
			mode = types.ObjectLockModeCompliance
		}
		in.ObjectLockMode = mode
		in.ObjectLockRetainUntilDate = aws.Time(now().Add(time.Duration(s.LockDays) * 24 * time.Hour).UTC())
	}
	out, err := s.Client.PutObject(ctx, in)
	if err != nil {
		return fmt.Errorf("evidence store %s: s3:PutObject %s: %w", s.Where(), key, err)
	}
	// Evidence must not sit under SSE-S3 because the bucket's default
	// encryption was changed: say so loudly (the object is written; a
	// retry after fixing the bucket, or with a KMS key ID, rewrites it).
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms && out.ServerSideEncryption != types.ServerSideEncryptionAwsKmsDsse {
		return fmt.Errorf("evidence store %s: s3:PutObject %s: stored with server-side encryption %q, not SSE-KMS: set the bucket's default encryption to aws:kms or configure a KMS key ID",
			s.Where(), key, out.ServerSideEncryption)
	}
	return nil
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".jsonl"):
		return "application/x-ndjson"
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}

func (s S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	if err != nil {
		var nsk *types.NoSuchKey
		var ae smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")) {
			return nil, fmt.Errorf("%s: %s: %w", s.Where(), key, ErrNotFound)
		}
		return nil, fmt.Errorf("evidence store %s: s3:GetObject %s: %w", s.Where(), key, err)
	}
	return out.Body, nil
}

func (s S3) List(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{
			Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix + prefix),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield("", fmt.Errorf("evidence store %s: s3:ListObjectsV2 %s: %w", s.Where(), prefix, err))
				return
			}
			for _, o := range page.Contents {
				if !yield(strings.TrimPrefix(aws.ToString(o.Key), s.Prefix), nil) {
					return
				}
			}
		}
	}
}
