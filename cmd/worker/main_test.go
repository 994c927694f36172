package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/internal/temporalclient"
)

// `orgguard-worker --dev` twice in a row on the same state directory: both
// start (no "already exists" failures), serve the Web UI, and stop cleanly
// on cancellation (what SIGINT/SIGTERM do).
func TestDevTwiceOnSameStateDir(t *testing.T) {
	dir := t.TempDir()
	issuer := ""
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := newCommand()
		args := []string{"--dev", "--state-dir", dir, "--dev-port", "0", "--ui-port", "0", "--log-level", "warn"}
		wantRetention := 30 * 24 * time.Hour
		if i == 1 {
			// A restart with another retention updates the namespace.
			args, wantRetention = append(args, "--dev-retention", "48h"), 48*time.Hour
		}
		cmd.SetArgs(args)
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()

		var st temporalclient.DevState
		require.Eventually(t, func() bool {
			var err error
			st, err = temporalclient.ReadDevState(dir)
			return err == nil
		}, 2*time.Minute, 50*time.Millisecond, "run %d: dev server did not start", i+1)
		require.NotEmpty(t, st.UI)
		// The built-in OIDC issuer serves discovery, and keeps its URL (and
		// key) across restarts on one state directory.
		require.NotEmpty(t, st.Issuer)
		if issuer != "" {
			require.Equal(t, issuer, st.Issuer, "the dev issuer keeps its URL across restarts")
		}
		issuer = st.Issuer
		resp, err := http.Get(st.Issuer + "/.well-known/openid-configuration")
		require.NoError(t, err)
		var disc struct {
			Issuer string `json:"issuer"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&disc))
		resp.Body.Close()
		require.Equal(t, st.Issuer, disc.Issuer)
		require.Eventually(t, func() bool {
			resp, err := http.Get(st.UI)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, time.Minute, 100*time.Millisecond, "web UI at %s", st.UI)

		c, err := client.Dial(client.Options{HostPort: st.Address})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			return err == nil && desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == wantRetention
		}, time.Minute, 100*time.Millisecond, "run %d: namespace retention %s", i+1, wantRetention)
		c.Close()
		// The web console is on by default in dev mode, recorded in
		// dev.json, and offers the dev issuer's login.
		require.Eventually(t, func() bool {
			st, err = temporalclient.ReadDevState(dir)
			return err == nil && st.Console != ""
		}, time.Minute, 50*time.Millisecond, "run %d: console URL in dev.json", i+1)
		resp, err = http.Get(st.Console + "/login")
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(page), "Sign in with orgguard-dev")
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

		// A second dev worker on the same directory is refused with a reason.
		second := newCommand()
		second.SetArgs([]string{"--dev", "--state-dir", dir, "--dev-port", "0", "--ui-port", "-1"})
		err = second.ExecuteContext(ctx)
		require.ErrorContains(t, err, "in use by another orgguard-worker --dev")

		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "run %d", i+1)
		case <-time.After(time.Minute):
			t.Fatalf("run %d did not stop", i+1)
		}
		_, err = temporalclient.ReadDevState(dir)
		require.Error(t, err, "dev.json is removed on stop")
	}
}

// A broken trust config stops the worker before it polls, with file:line:col.
func TestInvalidTrustConfigIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trust.hcl")
	require.NoError(t, os.WriteFile(path, []byte("issuer \"corp\" {\n  url = \"http://idp.example.com\"\n  audience = \"orgguard\"\n}\n"), 0o600))
	cmd := newCommand()
	cmd.SetArgs([]string{"--trust-config", path, "--address", "127.0.0.1:1"})
	err := cmd.ExecuteContext(context.Background())
	require.ErrorContains(t, err, path+":1:1")
	require.ErrorContains(t, err, "plain http")
}

// A notification config with an error stops the worker at start, with the
// file and line, and without the value of the secret it could not use.
func TestNotifyConfigErrorsStopTheWorker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.hcl")
	require.NoError(t, os.WriteFile(path, []byte(`destination "siem" {
  url        = "https://siem.example.com/hooks/orgguard"
  secret_env = "ORGGUARD_TEST_UNSET_SECRET"
}
`), 0o600))
	cmd := newCommand()
	cmd.SetArgs([]string{"--notify-config", path, "--log-level", "error"})
	err := cmd.ExecuteContext(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "notification config:")
	require.Contains(t, err.Error(), path+":1:1: Secret not set: destination \"siem\": environment variable ORGGUARD_TEST_UNSET_SECRET is empty or not set")
}

// The console logs people in at the trust config's issuers: without one,
// --web is refused before the worker starts.
func TestWebNeedsATrustConfig(t *testing.T) {
	for _, args := range [][]string{
		{"--web", "127.0.0.1:0", "--address", "127.0.0.1:1"},
		{"--web", "127.0.0.1:0", "--web-tls-cert", "c.pem", "--address", "127.0.0.1:1", "--dev"},
	} {
		cmd := newCommand()
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		require.Error(t, err, "%v", args)
		require.Regexp(t, `--web needs a trust config|--web-tls-cert and --web-tls-key go together`, err.Error())
	}
}
