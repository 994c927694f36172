package awsclient

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"
)

// Load raises the SDK's 3 attempts per call to DefaultRetryMaxAttempts,
// and AWS_MAX_ATTEMPTS (the SDK's standard setting) still wins.
func TestLoadRetriesEachCallMoreThanTheSDKDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "")

	f, err := Load(context.Background(), Options{})
	require.NoError(t, err)
	require.Equal(t, DefaultRetryMaxAttempts, sts.NewFromConfig(f.root).Options().RetryMaxAttempts)

	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	f, err = Load(context.Background(), Options{})
	require.NoError(t, err)
	require.Equal(t, 2, sts.NewFromConfig(f.root).Options().RetryMaxAttempts)
}
