package evidence

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options configure the S3 store Open builds. They do not apply to a local
// directory, and Open refuses them there rather than ignore them.
type Options struct {
	// KMSKeyID is the key every object is encrypted with (key ID, key ARN,
	// alias name or alias ARN). Empty: the bucket's default encryption,
	// which must be SSE-KMS.
	KMSKeyID string
	// LockMode is GOVERNANCE or COMPLIANCE (any case); with LockDays > 0
	// every object is retained that many days from its write. Empty mode
	// with LockDays > 0 is GOVERNANCE. The bucket must have Object Lock on.
	LockMode string
	LockDays int
	// Now is the clock for retention dates; default time.Now.
	Now func() time.Time
	// S3Options adjust the S3 client (for example UsePathStyle for an
	// S3-compatible endpoint addressed by host name).
	S3Options []func(*s3.Options)
}

var (
	s3BucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipv4RE         = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

// Open returns the evidence store at spec:
//
//	s3://bucket[/prefix]   an S3 bucket (objects under prefix/), through cfg
//	file:///var/lib/x      a local directory (created if missing)
//	/var/lib/x, ./x        a local directory
//
// For S3 it lists one key under the prefix (s3:ListBucket, the permission
// the store needs anyway, scoped to the prefix) so that a wrong bucket,
// region, prefix policy or role fails at start and not at the first write.
func Open(ctx context.Context, spec string, cfg aws.Config, opts Options) (Store, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Store{}, errors.New("evidence store: no location given: want s3://bucket[/prefix], file:///dir or a directory path")
	}
	scheme, rest, hasScheme := strings.Cut(spec, "://")
	if !hasScheme {
		return openDir(spec, opts)
	}
	switch strings.ToLower(scheme) {
	case "s3":
		return openS3(ctx, spec, rest, cfg, opts)
	case "file":
		u, err := url.Parse(spec)
		if err != nil {
			return Store{}, fmt.Errorf("evidence store %q: %w", spec, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Store{}, fmt.Errorf("evidence store %q: file URLs name a local path (file:///dir), not host %q", spec, u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return Store{}, fmt.Errorf("evidence store %q: a file URL takes no query or fragment", spec)
		}
		if u.Path == "" {
			return Store{}, fmt.Errorf("evidence store %q: no directory in the file URL", spec)
		}
		return openDir(u.Path, opts)
	default:
		return Store{}, fmt.Errorf("evidence store %q: unsupported scheme %q: want s3://bucket[/prefix], file:///dir or a directory path", spec, scheme)
	}
}

func openDir(dir string, opts Options) (Store, error) {
	if opts.KMSKeyID != "" || opts.LockMode != "" || opts.LockDays != 0 {
		return Store{}, fmt.Errorf("evidence store dir %s: KMS key and Object Lock options apply only to s3:// stores", dir)
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Store{}, fmt.Errorf("evidence store dir %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return Store{}, fmt.Errorf("evidence store dir %s: %w", dir, err)
	}
	if !st.IsDir() {
		return Store{}, fmt.Errorf("evidence store dir %s: not a directory", dir)
	}
	return Store{B: Dir{Root: dir}}, nil
}

func openS3(ctx context.Context, spec, rest string, cfg aws.Config, opts Options) (Store, error) {
	if strings.ContainsAny(rest, "?#") {
		return Store{}, fmt.Errorf("evidence store %q: an s3:// location takes no query or fragment", spec)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !s3BucketNameRE.MatchString(bucket) || strings.Contains(bucket, "..") || ipv4RE.MatchString(bucket) {
		return Store{}, fmt.Errorf("evidence store %q: %q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)", spec, bucket)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return Store{}, fmt.Errorf("evidence store %q: prefix %q has an empty, . or .. segment", spec, prefix)
			}
		}
		prefix += "/"
	}
	mode := strings.ToUpper(strings.TrimSpace(opts.LockMode))
	switch {
	case opts.LockDays < 0:
		return Store{}, fmt.Errorf("evidence store %q: lock days %d: want 0 (no retention) or more", spec, opts.LockDays)
	case mode != "" && mode != "GOVERNANCE" && mode != "COMPLIANCE":
		return Store{}, fmt.Errorf("evidence store %q: lock mode %q: want GOVERNANCE or COMPLIANCE", spec, opts.LockMode)
	case mode != "" && opts.LockDays == 0:
		return Store{}, fmt.Errorf("evidence store %q: lock mode %s without lock days: set the number of days to retain each object", spec, mode)
	case opts.LockDays > 0 && mode == "":
		mode = "GOVERNANCE"
	}
	if cfg.Region == "" {
		return Store{}, fmt.Errorf("evidence store %q: no AWS region configured (AWS_REGION or the profile's region): S3 requests are signed for the bucket's region", spec)
	}
	b := S3{
		Client:   s3.NewFromConfig(cfg, opts.S3Options...),
		Bucket:   bucket,
		Prefix:   prefix,
		KMSKeyID: strings.TrimSpace(opts.KMSKeyID),
		LockMode: mode,
		LockDays: opts.LockDays,
		Now:      opts.Now,
	}
	probe := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)}
	if _, err := b.Client.ListObjectsV2(ctx, probe); err != nil {
		return Store{}, fmt.Errorf("evidence store %s: s3:ListObjectsV2 %s in %s: %w", b.Where(), bucket, cfg.Region, err)
	}
	return Store{B: b}, nil
}
