package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/orgguard/orgguard/internal/awssim"
)

// TestServesDemoOrganization starts the command as a script would, waits
// for the ready line, and uses the printed environment with the SDK.
func TestServesDemoOrganization(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--seed", "../../internal/awssim/seeds/demo.hcl", "--listen", "127.0.0.1:0", "--state-summary"}, pw, io.Discard)
		pw.Close()
	}()

	env := map[string]string{}
	var ready string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		if strings.HasPrefix(line, "awssim ready ") {
			ready = line
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if ready == "" {
		t.Fatalf("no ready line; run returned %v", <-done)
	}
	if !strings.Contains(ready, "accounts=12") || !strings.Contains(ready, "suspended=2") {
		t.Errorf("ready line = %q", ready)
	}

	// Exactly what a user does: export the printed variables and let the
	// SDK's standard configuration chain pick them up.
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Accounts) != 12 {
		t.Errorf("got %d accounts", len(out.Accounts))
	}
	// S3 Control reaches the simulator through HTTP_PROXY. Go reads the
	// proxy variables once per process, so with -count>1 the environment
	// would be stale: use the printed value explicitly, as a fresh process
	// would.
	proxy, err := url.Parse(env["HTTP_PROXY"])
	if err != nil {
		t.Fatal(err)
	}
	s3cfg := cfg.Copy()
	s3cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.Proxy = http.ProxyURL(proxy) })
	_, err = s3control.NewFromConfig(s3cfg).GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String("100000000001")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchPublicAccessBlockConfiguration" {
		t.Errorf("S3 Control through the proxy: %v", err)
	}

	member := cfg.Copy()
	member.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::100000000007:role/OrgguardExecutionRole", func(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("orgguard-demo") }))
	id, err := sts.NewFromConfig(member).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "100000000007" {
		t.Errorf("assumed into %s", aws.ToString(id.Account))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestFlagsExclusive(t *testing.T) {
	if _, err := parseFlags([]string{"--seed", "x.hcl", "--generate", "10"}, io.Discard); err == nil {
		t.Fatal("want error for --seed with --generate")
	}
}

func TestFaultAndConsistencyFlags(t *testing.T) {
	c, err := parseFlags([]string{"--consistency-delay", "2s", "--aws-quotas", "--faults", "throttle=20% 5xx=5%; iam:PutRolePolicy 5xx=100% times=2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := options(c)
	if err != nil {
		t.Fatal(err)
	}
	n := len(awssim.AWSQuotas())
	if opts.ConsistencyDelay != 2*time.Second || len(opts.Faults) != n+2 {
		t.Fatalf("options = %+v", opts)
	}
	if f := opts.Faults[n]; f.ThrottleRate != 0.2 || f.ErrorRate != 0.05 || f.Service != "" {
		t.Errorf("chaos fault = %+v", f)
	}
	if f := opts.Faults[n+1]; f.Service != "iam" || f.Operation != "PutRolePolicy" || f.Times != 2 || f.ErrorRate != 1 {
		t.Errorf("targeted fault = %+v", f)
	}
	c, err = parseFlags([]string{"--faults", "throttle=lots"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := options(c); err == nil || !strings.Contains(err.Error(), "--faults") {
		t.Errorf("bad --faults accepted: %v", err)
	}
}

func TestAWSLatencyFlag(t *testing.T) {
	c, err := parseFlags([]string{"--aws-quotas", "--aws-latency"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := options(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(awssim.AWSQuotas()) + len(awssim.AWSLatency()); len(opts.Faults) != want {
		t.Fatalf("%d faults, want quotas and latency: %d", len(opts.Faults), want)
	}
}
