package workflows

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// notifyTags name the histories recorded with versionNotifyEvents
// (ORGGUARD_RECORD_HISTORIES=v5-notify go test ./internal/e2e -run
// TestPlanThenApprovalGatedApply); v7 has versionEvidence too.
var notifyTags = []string{"-v5-notify.json", "-v7-notify-evidence.json"}

func withNotify(name string) bool {
	for _, tag := range notifyTags {
		if strings.HasSuffix(name, tag) {
			return true
		}
	}
	return false
}

// hasVersionMarker reports whether a recorded history holds the
// GetVersion marker of changeID.
func hasVersionMarker(t *testing.T, file, changeID string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(`"`+changeID+`"`)))
}

// Histories recorded before versionNotifyEvents replay as they ran: their
// remediations notified approvers through NotifyApprovers and sent no other
// event. The remediation recorded with it asked for approval and announced
// its outcome through NotifyEvent; it and the rollout and baseline recorded
// beside it replay too.
func TestReplayHistoriesAroundNotifyEvents(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		if withNotify(name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			require.False(t, hasVersionMarker(t, f, versionNotifyEvents), "recorded before the change")
			require.Zero(t, count(scheduledActivities(t, f), ActivityNotifyEvent))
			if strings.HasPrefix(name, "remediation") {
				require.NotZero(t, count(scheduledActivities(t, f), ActivityNotifyApprovers), "approvers notified the old way")
			}
			replay(t, f)
		})
	}
	for _, tag := range notifyTags {
		for _, name := range []string{"remediation", "org_rollout", "account_baseline"} {
			t.Run(name+tag, func(t *testing.T) {
				f := filepath.Join("testdata", "histories", name+tag)
				scheduled := scheduledActivities(t, f)
				switch name {
				case "remediation":
					require.True(t, hasVersionMarker(t, f, versionNotifyEvents))
					require.Equal(t, 2, count(scheduled, ActivityNotifyEvent), "the approval request, then the outcome")
					require.Zero(t, count(scheduled, ActivityNotifyApprovers))
				case "org_rollout":
					require.True(t, hasVersionMarker(t, f, versionNotifyEvents))
					require.Zero(t, count(scheduled, ActivityNotifyEvent), "an apply that completed sends nothing")
				}
				replay(t, f)
			})
		}
	}
}
