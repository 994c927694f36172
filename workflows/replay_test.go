package workflows

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories recorded from real runs (internal/e2e with
// ORGGUARD_RECORD_HISTORIES=1) must replay against the current code: a
// change that alters what a running workflow does needs workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { replay(t, f) })
	}
}

// replay replays a recorded history against the current workflows.
func replay(t *testing.T, file string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(OrgRollout, workflow.RegisterOptions{Name: WorkflowOrgRollout})
	r.RegisterWorkflowWithOptions(AccountBaseline, workflow.RegisterOptions{Name: WorkflowAccountBaseline})
	r.RegisterWorkflowWithOptions(Remediation, workflow.RegisterOptions{Name: WorkflowRemediation})
	r.RegisterWorkflowWithOptions(Healthcheck, workflow.RegisterOptions{Name: WorkflowHealthcheck})
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, file))
}
