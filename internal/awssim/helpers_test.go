package awssim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	demoMgmt       = "100000000001"
	demoExternalID = "orgguard-demo"
	demoRole       = "OrgguardExecutionRole"
)

// newTestServer starts a server on the demo seed (unless opts.Seed is set)
// and closes it when the test ends.
// The environment's AWSSIM_* settings are ignored: contract tests state
// their own faults and consistency delay.
func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.IgnoreEnvironment = true
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mgmtConfig is an SDK config with the seed's management keys, pointed at s.
// API errors are not retried, so error codes (throttling, 5xx) reach the test
// on the first attempt; dropped connections are, as the SDK does by default
// (aws-sdk-go-v2 #2737 can close a connection mid-response on a fast server).
func mgmtConfig(s *Server, region string) aws.Config {
	ak, sk := s.ManagementCredentials()
	return aws.Config{
		Region:       region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		BaseEndpoint: aws.String(s.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// memberConfig assumes the demo execution role in account, as orgguard does.
func memberConfig(s *Server, account, region string, opt ...func(*stscreds.AssumeRoleOptions)) aws.Config {
	cfg := mgmtConfig(s, region)
	roleARN := "arn:aws:iam::" + account + ":role/" + demoRole
	prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.ExternalID = aws.String(demoExternalID)
		o.RoleSessionName = "orgguard-test"
		for _, f := range opt {
			f(o)
		}
	})
	cfg.Credentials = aws.NewCredentialsCache(prov)
	return cfg
}

// errorCode returns the AWS error code of err, or "" for nil / non-API errors.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func requireCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := errorCode(err); got != want {
		t.Fatalf("error code = %q (err %v), want %q", got, err, want)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

var ctx = context.Background()
