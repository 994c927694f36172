package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
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

	cfg := aws.Config{
		Region:       env["AWS_REGION"],
		BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]),
		Credentials:  credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""),
	}
	out, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Accounts) != 12 {
		t.Errorf("got %d accounts", len(out.Accounts))
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
