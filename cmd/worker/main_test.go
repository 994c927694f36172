package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/temporalclient"
)

// `orgguard-worker --dev` twice in a row on the same state directory: both
// start (no "already exists" failures), serve the Web UI, and stop cleanly
// on cancellation (what SIGINT/SIGTERM do).
func TestDevTwiceOnSameStateDir(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := newCommand()
		cmd.SetArgs([]string{"--dev", "--state-dir", dir, "--dev-port", "0", "--ui-port", "0", "--log-level", "warn"})
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()

		var st temporalclient.DevState
		require.Eventually(t, func() bool {
			var err error
			st, err = temporalclient.ReadDevState(dir)
			return err == nil
		}, 2*time.Minute, 50*time.Millisecond, "run %d: dev server did not start", i+1)
		require.NotEmpty(t, st.UI)
		require.Eventually(t, func() bool {
			resp, err := http.Get(st.UI)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, time.Minute, 100*time.Millisecond, "web UI at %s", st.UI)

		// A second dev worker on the same directory is refused with a reason.
		second := newCommand()
		second.SetArgs([]string{"--dev", "--state-dir", dir, "--dev-port", "0", "--ui-port", "-1"})
		err := second.ExecuteContext(ctx)
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
