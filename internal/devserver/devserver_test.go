package devserver_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/devserver"
	"github.com/orgguard/orgguard/internal/workerapp"
	"github.com/orgguard/orgguard/workflows"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The dev server persists to SQLite: a workflow run through the real worker
// registration is still in history after the server restarts on the same
// file, and the second start finds its namespace and search attributes.
func TestRestartKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*devserver.Server, client.Client) {
		srv, err := devserver.Start(ctx, devserver.Options{StateDir: dir, UIPort: -1, SearchAttributes: workflows.SearchAttributes()})
		require.NoError(t, err)
		c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr()})
		require.NoError(t, err)
		return srv, c
	}

	srv, c := start()
	acts := activities.New(awsclient.New(aws.Config{Region: "us-east-1"}, awsclient.Options{}))
	acts.Identity = "test-worker"
	w := workerapp.New(c, acts, workerapp.Options{})
	require.NoError(t, w.Start())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "healthcheck-1", TaskQueue: workflows.TaskQueue}, workflows.WorkflowHealthcheck, workflows.HealthcheckInput{From: "test"})
	require.NoError(t, err)
	var res workflows.HealthcheckResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "pong to test from test-worker (attempt 1)", res.Pong)
	w.Stop()
	c.Close()
	srv.Stop()

	srv, c = start()
	defer srv.Stop()
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, "healthcheck-1", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.WorkflowExecutionInfo.Status)
	iter := c.GetWorkflowHistory(ctx, "healthcheck-1", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var types []enumspb.EventType
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		types = append(types, ev.EventType)
	}
	require.Contains(t, types, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, types[len(types)-1])

	// The custom search attributes survived too.
	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	for name, typ := range workflows.SearchAttributes() {
		require.Equal(t, typ, sas.CustomAttributes[name], name)
	}
}
