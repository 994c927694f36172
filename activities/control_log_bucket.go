package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// logBucketAPI is the part of the S3 client that manages the buckets
// CloudTrail and AWS Config deliver to.
type logBucketAPI interface {
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(context.Context, *s3.CreateBucketInput, ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(context.Context, *s3.PutBucketEncryptionInput, ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(context.Context, *s3.PutPublicAccessBlockInput, ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(context.Context, *s3.PutBucketPolicyInput, ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	PutBucketLifecycleConfiguration(context.Context, *s3.PutBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
}

var logBucketPermissions = []string{
	"s3:ListBucket", "s3:CreateBucket", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
	"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
	"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
}

// logBucket is a bucket orgguard owns for log delivery: encrypted, with
// every public access block setting on, a policy that denies plain HTTP and
// lets the delivering service write, and (optionally) object expiry.
type logBucket struct {
	Name   string
	Region string
	// Policy is the whole bucket policy orgguard keeps.
	Policy string
	// ExpireDays, when positive, expires objects after that many days.
	ExpireDays int
}

// logBucketPolicy builds the policy: the service's statements plus the
// TLS-only deny.
func logBucketPolicy(partition, bucket string, service []map[string]any) string {
	arn := "arn:" + partition + ":s3:::" + bucket
	st := append([]map[string]any{}, service...)
	st = append(st, map[string]any{
		"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
		"Resource":  []string{arn, arn + "/*"},
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	})
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": st})
	return string(b)
}

// bucketDrift lists what is off about the bucket ("" entries never).
type bucketDrift struct {
	missing, unencrypted, public, policy, lifecycle bool
}

func (d bucketDrift) any() bool {
	return d.missing || d.unencrypted || d.public || d.policy || d.lifecycle
}

func (d bucketDrift) describe(b logBucket) []string {
	if d.missing {
		return []string{"bucket " + b.Name + " does not exist"}
	}
	var out []string
	if d.unencrypted {
		out = append(out, "bucket "+b.Name+" has no default encryption")
	}
	if d.public {
		out = append(out, "bucket "+b.Name+" does not block public access")
	}
	if d.policy {
		out = append(out, "bucket "+b.Name+" policy is not the TLS-only delivery policy")
	}
	if d.lifecycle {
		out = append(out, fmt.Sprintf("bucket %s does not expire objects after %d days", b.Name, b.ExpireDays))
	}
	return out
}

func (d bucketDrift) diff(b logBucket) string {
	var s strings.Builder
	if d.missing {
		fmt.Fprintf(&s, "+ bucket %s (%s)\n", b.Name, b.Region)
	}
	if d.missing || d.unencrypted {
		s.WriteString("+   default encryption AES256\n")
	}
	if d.missing || d.public {
		s.WriteString("+   public access block: all four settings on\n")
	}
	if d.missing || d.policy {
		s.WriteString("+   bucket policy: service delivery, deny aws:SecureTransport=false\n")
	}
	if d.missing || d.lifecycle {
		fmt.Fprintf(&s, "+   lifecycle: expire objects after %d days\n", b.ExpireDays)
	}
	return s.String()
}

func (b logBucket) read(ctx context.Context, api logBucketAPI) (bucketDrift, error) {
	var d bucketDrift
	if _, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.Name)}); err != nil {
		if c := errorCode(err); c == "NotFound" || c == "NoSuchBucket" {
			d.missing = true
			d.lifecycle = b.ExpireDays > 0
			return d, nil
		}
		return d, err
	}
	enc, err := api.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b.Name)})
	switch {
	case errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError":
		d.unencrypted = true
	case err != nil:
		return d, err
	default:
		d.unencrypted = enc.ServerSideEncryptionConfiguration == nil || len(enc.ServerSideEncryptionConfiguration.Rules) == 0
	}
	pab, err := api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b.Name)})
	switch {
	case errorCode(err) == "NoSuchPublicAccessBlockConfiguration":
		d.public = true
	case err != nil:
		return d, err
	default:
		p := pab.PublicAccessBlockConfiguration
		d.public = p == nil || !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.RestrictPublicBuckets)
	}
	pol, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.Name)})
	switch {
	case errorCode(err) == "NoSuchBucketPolicy":
		d.policy = true
	case err != nil:
		return d, err
	default:
		have, _ := normalizePolicy(aws.ToString(pol.Policy))
		want, _ := normalizePolicy(b.Policy)
		d.policy = have != want
	}
	if b.ExpireDays > 0 {
		lc, err := api.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b.Name)})
		switch {
		case errorCode(err) == "NoSuchLifecycleConfiguration":
			d.lifecycle = true
		case err != nil:
			return d, err
		default:
			d.lifecycle = true
			for _, r := range lc.Rules {
				if r.Status == s3types.ExpirationStatusEnabled && r.Expiration != nil && int(aws.ToInt32(r.Expiration.Days)) == b.ExpireDays {
					d.lifecycle = false
				}
			}
		}
	}
	return d, nil
}

// ensure creates the bucket and fixes what is off, re-reading first so a
// second run makes no write call.
func (b logBucket) ensure(ctx context.Context, api logBucketAPI, out *applied) error {
	d, err := b.read(ctx, api)
	if err != nil {
		return err
	}
	if d.missing {
		in := &s3.CreateBucketInput{Bucket: aws.String(b.Name)}
		if b.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(b.Region)}
		}
		if _, err := api.CreateBucket(ctx, in); err != nil && errorCode(err) != "BucketAlreadyOwnedByYou" {
			return err
		}
		out.call("s3:CreateBucket %s", b.Name)
		d = bucketDrift{unencrypted: true, public: true, policy: true, lifecycle: b.ExpireDays > 0}
	}
	if d.unencrypted {
		if _, err := api.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b.Name),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			}}}}); err != nil {
			return err
		}
		out.call("s3:PutBucketEncryption %s AES256", b.Name)
	}
	if d.public {
		if _, err := api.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b.Name),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
			}}); err != nil {
			return err
		}
		out.call("s3:PutPublicAccessBlock %s", b.Name)
	}
	if d.policy {
		if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.Name), Policy: aws.String(b.Policy)}); err != nil {
			return err
		}
		out.call("s3:PutBucketPolicy %s", b.Name)
	}
	if d.lifecycle {
		if _, err := api.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(b.Name),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
				ID: aws.String("orgguard-expire"), Status: s3types.ExpirationStatusEnabled,
				Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
				Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(int32(b.ExpireDays))},
			}}}}); err != nil {
			return err
		}
		out.call("s3:PutBucketLifecycleConfiguration %s (%d days)", b.Name, b.ExpireDays)
	}
	return nil
}
