package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

// TestExportSecurityHub runs the export as `orgguard report RUN --export
// securityhub` will: AWS from the environment, member roles through the
// worker's settings. Not parallel: it sets the process environment.
func TestExportSecurityHub(t *testing.T) {
	srv, err := awssim.New(awssim.Options{IgnoreEnvironment: true})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	ak, sk := srv.ManagementCredentials()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL(), "AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"ORGGUARD_ROLE_NAME": "OrgguardExecutionRole", "ORGGUARD_EXTERNAL_ID": "orgguard-demo",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	const web, pay = "100000000007", "100000000008"
	f, err := awsclient.Load(ctx, awsclient.Options{RoleName: "OrgguardExecutionRole", ExternalID: "orgguard-demo"})
	require.NoError(t, err)
	cfg, _, err := f.Account(ctx, web, "us-east-1", "test", "")
	require.NoError(t, err)
	_, err = securityhub.NewFromConfig(cfg).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)})
	require.NoError(t, err)

	store := evidence.Store{B: evidence.Dir{Root: t.TempDir()}}
	require.NoError(t, store.PutRun(ctx, evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: "run-1", Pack: "baseline", StartedAt: time.Now(), Status: "completed"}}))
	for _, acct := range []string{web, pay} {
		require.NoError(t, store.PutAccount(ctx, "run-1", acct, []evidence.Record{{RunID: "run-1", AccountID: acct, Region: "us-east-1",
			GuardrailID: "no-public-ssh", Resource: "arn:aws:ec2:us-east-1:" + acct + ":security-group/sg-1", Status: "non_compliant"}}))
	}

	var out bytes.Buffer
	err = exportSecurityHub(ctx, &app{}, store, "run-1", &out)
	// payments-dev has no Security Hub: reported, and the export exits 1.
	var ee *exitError
	require.True(t, errors.As(err, &ee), "err = %v", err)
	require.Equal(t, exitFindings, ee.code)
	s := out.String()
	require.Contains(t, s, "account "+web+" (us-east-1): 1 imported, 0 updated, 0 resolved, 0 archived, 0 failed")
	require.Contains(t, s, "account "+pay+" (us-east-1): 0 imported, 0 updated, 0 resolved, 0 archived, 1 failed")
	require.Contains(t, s, "Security Hub export of run run-1: 2 accounts, 1 imported, 0 updated, 0 resolved (0 archived), 1 failed")
	require.Contains(t, s, "failed: securityhub:GetFindings in account "+pay+" region us-east-1: 1 finding: InvalidAccessException")
	n := len(srv.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchImportFindings", AccountID: web, OnlySuccess: true}))
	require.Equal(t, 1, n)
}
