package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/workflows"
)

// fakeTemporal answers the visibility listing and the remediation queries
// of `approvals list`; any other call panics on the nil embedded client.
type fakeTemporal struct {
	client.Client
	ids     []string
	states  map[string]workflows.RemediationState
	failure map[string]error
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	// Two pages, as visibility pages.
	half := len(f.ids) / 2
	ids, next := f.ids[:half], []byte("page2")
	if string(req.NextPageToken) == "page2" {
		ids, next = f.ids[half:], nil
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{NextPageToken: next}
	for _, id := range ids {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id}, TaskQueue: workflows.TaskQueue})
	}
	return resp, nil
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	if query != workflows.QueryRemediation {
		return nil, serviceerror.NewInvalidArgument("unknown query " + query)
	}
	if err := f.failure[id]; err != nil {
		return nil, err
	}
	return encodedValue{f.states[id]}, nil
}

type encodedValue struct{ v any }

func (e encodedValue) HasValue() bool { return true }
func (e encodedValue) Get(ptr any) error {
	b, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// What the server answers a query when no worker has polled the task queue
// for a while (service/matching/matcher.go, errNoRecentPoller), and before
// that, or when the worker does not answer.
var (
	errNoPoller = serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")
	errDeadline = serviceerror.NewDeadlineExceeded("context deadline exceeded")
)

func pending(id string) workflows.RemediationState {
	return workflows.RemediationState{ID: id, Status: workflows.RemPending, AccountID: "100000000007", Region: "us-east-1",
		GuardrailID: "control.default_sg_closed", Quorum: 1, Approvers: []string{"alice"}}
}

// `approvals list` shows what it could read and says what it could not:
// a query that fails is never taken for "nothing is waiting".
func TestApprovalsListReportsFailedQueries(t *testing.T) {
	t.Parallel()
	decided := pending("rem-decided")
	decided.Status = workflows.RemRemediated
	for _, tc := range []struct {
		name     string
		fake     *fakeTemporal
		json     bool
		wantErr  string   // the error Run prints on stderr (exit code 1)
		stderr   []string // printed on stderr by the command itself (exit code 0)
		stdout   []string
		nostdout []string
	}{{
		name: "no worker: nothing could be read",
		fake: &fakeTemporal{ids: []string{"rem-a", "rem-b", "rem-c"},
			failure: map[string]error{"rem-a": errNoPoller, "rem-b": errNoPoller, "rem-c": errNoPoller}},
		wantErr:  "3 pending remediations could not be queried: no worker is answering on task queue orgguard (is orgguard-worker running?)\n  rem-a, rem-b, rem-c",
		nostdout: []string{"No remediation is waiting"},
	}, {
		name: "no worker: the server's two answers are one cause, IDs are capped",
		fake: &fakeTemporal{ids: []string{"rem-1", "rem-2", "rem-3", "rem-4", "rem-5", "rem-6", "rem-7"}, failure: map[string]error{
			"rem-1": errNoPoller, "rem-2": errDeadline, "rem-3": errNoPoller, "rem-4": errDeadline, "rem-5": context.DeadlineExceeded, "rem-6": errNoPoller, "rem-7": errDeadline}},
		wantErr: "7 pending remediations could not be queried: no worker is answering on task queue orgguard (is orgguard-worker running?)\n  rem-1, rem-2, rem-3, rem-4, rem-5 and 2 more",
	}, {
		name: "no worker, JSON: no empty list that looks like an answer",
		fake: &fakeTemporal{ids: []string{"rem-a"}, failure: map[string]error{"rem-a": errNoPoller}},
		json: true, wantErr: "1 pending remediation could not be queried: no worker is answering",
		nostdout: []string{"null", "[]"},
	}, {
		name: "some read, some timed out",
		fake: &fakeTemporal{ids: []string{"rem-a", "rem-b", "rem-c"},
			states:  map[string]workflows.RemediationState{"rem-a": pending("rem-a"), "rem-c": pending("rem-c")},
			failure: map[string]error{"rem-b": errDeadline}},
		stdout: []string{"rem-a", "rem-c", "control.default_sg_closed"},
		stderr: []string{"1 of 3 pending remediations could not be queried: no worker is answering on task queue orgguard (is orgguard-worker running?)", "\n  rem-b"},
	}, {
		name: "two reasons, JSON",
		fake: &fakeTemporal{ids: []string{"rem-a", "rem-b", "rem-c"},
			states:  map[string]workflows.RemediationState{"rem-a": pending("rem-a")},
			failure: map[string]error{"rem-b": errNoPoller, "rem-c": serviceerror.NewQueryFailed("panic in query handler")}},
		json:   true,
		stdout: []string{`"id": "rem-a"`},
		stderr: []string{"2 of 3 pending remediations could not be queried:\n",
			"  1: no worker is answering on task queue orgguard (is orgguard-worker running?): rem-b\n",
			"  1: the remediation failed the query: panic in query handler: rem-c"},
	}, {
		name: "decided or gone since the listing: not waiting, not an error",
		fake: &fakeTemporal{ids: []string{"rem-a", "rem-decided", "rem-gone"},
			states:  map[string]workflows.RemediationState{"rem-a": pending("rem-a"), "rem-decided": decided},
			failure: map[string]error{"rem-gone": serviceerror.NewNotFound("workflow not found")}},
		stdout:   []string{"rem-a"},
		nostdout: []string{"rem-decided", "rem-gone"},
	}, {
		name:   "nothing waiting",
		fake:   &fakeTemporal{},
		stdout: []string{"No remediation is waiting for approval."},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := listApprovals(context.Background(), tc.fake, &stdout, &stderr, tc.json, nil)
			if tc.wantErr != "" {
				var ee *exitError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, exitFindings, ee.code)
				require.ErrorContains(t, err, tc.wantErr)
				require.Empty(t, stderr.String(), "the error is the report, printed once by Run")
			} else {
				require.NoError(t, err)
			}
			for _, want := range tc.stdout {
				require.Contains(t, stdout.String(), want)
			}
			for _, not := range tc.nostdout {
				require.NotContains(t, stdout.String(), not)
			}
			for _, want := range tc.stderr {
				require.Contains(t, stderr.String(), want)
			}
			if len(tc.stderr) == 0 {
				require.Empty(t, stderr.String())
			}
		})
	}
}

// pendingApprovals is also what the demo waits on: a remediation that cannot
// be read is an error there too, next to the states that could be read.
func TestPendingApprovalsDoesNotSkipFailedQueries(t *testing.T) {
	t.Parallel()
	f := &fakeTemporal{ids: []string{"rem-a", "rem-b"},
		states: map[string]workflows.RemediationState{"rem-a": pending("rem-a")}, failure: map[string]error{"rem-b": errNoPoller}}
	states, err := pendingApprovals(context.Background(), f)
	require.Error(t, err, "a failed query is not 'nothing pending'")
	var unread *approvals.UnreadError
	require.True(t, errors.As(err, &unread))
	require.Equal(t, 1, unread.Failed)
	require.Len(t, states, 1)
	require.Equal(t, "rem-a", states[0].ID)
}

// `approvals show` and the votes say why a query failed in the same words.
func TestRemediationStateNamesTheMissingWorker(t *testing.T) {
	t.Parallel()
	f := &fakeTemporal{failure: map[string]error{"rem-a": errNoPoller}}
	_, err := remediationState(context.Background(), f, "rem-a")
	require.ErrorContains(t, err, "query remediation rem-a: no worker is answering on its task queue (is orgguard-worker running?)")
}

// `approvals show` prints each delivery of the remediation's notifications,
// a refused one with its status.
func TestPrintRemediationShowsNotifications(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 0, 1, 0, time.UTC)
	var out bytes.Buffer
	printRemediation(&out, workflows.RemediationState{ID: "rem-1", Status: workflows.RemPending, Notifications: []workflows.Delivery{
		{Destination: "secops-slack (https://hooks.slack.com/…)", Event: workflows.EventApprovalRequested, StatusCode: 404, Error: "Not Found: no_service", Attempts: 1, At: at},
		{Destination: "siem (https://siem.example.com/…)", Event: workflows.EventApprovalRequested, OK: true, StatusCode: 202, Attempts: 2, At: at},
	}})
	require.Contains(t, out.String(), "\n  Notifications:\n"+
		"    2026-12-03T07:00:01Z notification to secops-slack (https://hooks.slack.com/…) failed: 404 Not Found: no_service (approval_requested, 1 attempt)\n"+
		"    2026-12-03T07:00:01Z notification to siem (https://siem.example.com/…) sent: approval_requested (2 attempts)\n")
}
