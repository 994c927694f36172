package activities

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/orgguard/orgguard/workflows"
)

// s3EncryptionAPI is the part of the S3 client the bucket encryption control uses.
type s3EncryptionAPI interface {
	s3.ListBucketsAPIClient
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(context.Context, *s3.PutBucketEncryptionInput, ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
}

// s3BucketEncryption: every bucket in the region has default encryption
// (FSBP S3.4). Remediation sets the configured algorithm on buckets without
// one and leaves buckets that already encrypt (with any algorithm) alone.
type s3BucketEncryption struct{}

func (s3BucketEncryption) Permissions() []string {
	return []string{"s3:ListAllMyBuckets", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"}
}

func (s3BucketEncryption) api(env Env) s3EncryptionAPI { return s3.NewFromConfig(env.Config) }

func (c s3BucketEncryption) buckets(ctx context.Context, env Env) ([]string, error) {
	var out []string
	p := s3.NewListBucketsPaginator(c.api(env), &s3.ListBucketsInput{BucketRegion: aws.String(env.Region)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Buckets {
			if r := aws.ToString(b.BucketRegion); r == "" || r == env.Region {
				out = append(out, aws.ToString(b.Name))
			}
		}
	}
	return out, nil
}

// encryption returns the bucket's default algorithm, "" when it has none.
func (c s3BucketEncryption) encryption(ctx context.Context, env Env, bucket string) (string, error) {
	out, err := c.api(env).GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if out.ServerSideEncryptionConfiguration != nil {
		for _, r := range out.ServerSideEncryptionConfiguration.Rules {
			if r.ApplyServerSideEncryptionByDefault != nil {
				return string(r.ApplyServerSideEncryptionByDefault.SSEAlgorithm), nil
			}
		}
	}
	return "", nil
}

func (c s3BucketEncryption) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	names, err := c.buckets(ctx, env)
	if err != nil {
		return nil, err
	}
	s := controlSettings(env)
	algo, key := s.str("algorithm"), s.str("kms_key_id")
	var out []workflows.Finding
	for _, b := range names {
		res := "arn:" + env.Partition + ":s3:::" + b
		if !matchesResource(resource, res) {
			continue
		}
		have, err := c.encryption(ctx, env, b)
		if err != nil {
			return nil, err
		}
		facts := map[string]string{"bucket": b, "algorithm": have}
		if have != "" {
			out = append(out, compliant(res, fmt.Sprintf("bucket %s encrypts by default with %s", b, have), facts))
			continue
		}
		target := algo
		if key != "" {
			target += " with key " + key
		}
		out = append(out, nonCompliant(res, "bucket "+b+" has no default encryption", facts, &workflows.Change{
			Summary: fmt.Sprintf("turn on default encryption (%s) for bucket %s", target, b),
			Diff:    fmt.Sprintf("bucket %s (%s, %s)\n+ default encryption: %s\n", b, env.AccountID, env.Region, target),
			Actions: []string{"s3:PutEncryptionConfiguration"},
			Params:  map[string]any{"bucket": b, "algorithm": algo, "kms_key_id": key},
		}))
	}
	return out, nil
}

func (c s3BucketEncryption) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	b := paramString(f.Change, "bucket")
	var out applied
	have, err := c.encryption(ctx, env, b)
	if err != nil {
		return out.ApplyOutput, err
	}
	if have != "" {
		return out.ApplyOutput, nil
	}
	def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(paramString(f.Change, "algorithm"))}
	if k := paramString(f.Change, "kms_key_id"); k != "" && def.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		def.KMSMasterKeyID = aws.String(k)
	}
	rule := s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: def}
	if def.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		rule.BucketKeyEnabled = aws.Bool(true) // fewer KMS calls, lower cost
	}
	if _, err := c.api(env).PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(b), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{rule}},
	}); err != nil {
		return out.ApplyOutput, err
	}
	out.call("s3:PutBucketEncryption %s %s", b, def.SSEAlgorithm)
	return out.ApplyOutput, nil
}
