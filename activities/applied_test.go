package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/workflows"
)

// fakeRun is one workflow as the fake Temporal client knows it.
type fakeRun struct {
	status enumspb.WorkflowExecutionStatus
	result any   // what Get returns (nil with err)
	err    error // what Get fails with
	query  any   // what the query handler answers
}

// fakeTemporal answers the calls LoadAppliedChanges makes; any other call
// panics on the nil embedded interface.
type fakeTemporal struct {
	client.Client
	runs    map[string]fakeRun
	queried []string
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	r, ok := f.runs[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: r.status}}, nil
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, _ string) client.WorkflowRun {
	return fakeWorkflowRun{r: f.runs[id]}
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.queried = append(f.queried, id)
	r := f.runs[id]
	if r.query == nil {
		return nil, fmt.Errorf("no %s handler", query)
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(r.query)
	return client.NewValue(p), err
}

type fakeWorkflowRun struct {
	client.WorkflowRun
	r fakeRun
}

func (w fakeWorkflowRun) Get(_ context.Context, res any) error {
	if w.r.err != nil {
		return w.r.err
	}
	b, err := json.Marshal(w.r.result)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, res)
}

func (w fakeWorkflowRun) GetWithOptions(ctx context.Context, res any, _ client.WorkflowRunGetOptions) error {
	return w.Get(ctx, res)
}

func undoOf1(what string) *workflows.Change {
	return &workflows.Change{Summary: "restore " + what, Diff: "+ " + what, Actions: []string{"x:Restore"}, Params: map[string]any{"what": what}}
}

// item builds a baseline item of guardrail g on resource res.
func item(g, res string, status workflows.ItemStatus, undo *workflows.Change, remID string) workflows.BaselineItem {
	return workflows.BaselineItem{
		Finding: workflows.Finding{GuardrailID: g, AccountID: acctWebProd, Region: usEast1, Resource: res},
		Status:  status, Undo: undo, RemediationID: remID,
	}
}

func TestAppliedChangesPicksWhatTheRunChanged(t *testing.T) {
	t.Parallel()
	res := workflows.BaselineResult{Items: []workflows.BaselineItem{
		item("sg", "sg-1", workflows.ItemRemediated, undoOf1("sg-1"), ""),
		item("sg", "sg-2", workflows.ItemNotVerified, undoOf1("sg-2"), ""),
		item("sg", "sg-3", workflows.ItemCompliant, nil, ""),
		item("imds", "i-1", workflows.ItemRemediated, nil, ""), // kind cannot reverse
		item("sg", "sg-4", workflows.ItemError, undoOf1("sg-4"), ""),
		item("pw", "policy", workflows.ItemPendingApproval, nil, "rem-approved"),
		item("pw", "policy-2", workflows.ItemPendingApproval, nil, "rem-pending"),
		item("pw", "policy-3", workflows.ItemPendingApproval, nil, "rem-other-run"),
		item("pw", "policy-4", workflows.ItemPendingApproval, nil, "rem-gone"),
	}}
	rems := map[string]*workflows.RemediationState{
		"rem-approved": {RunID: "r1", Status: workflows.RemRemediated, GuardrailID: "pw", Region: usEast1, Resource: "policy", Undo: undoOf1("policy"),
			Votes: []workflows.Vote{{Approver: "alice", Approve: true}, {Approver: "bob", Approve: false}, {Approver: "carol", Approve: true}}},
		"rem-pending":   {RunID: "r1", Status: workflows.RemPending, GuardrailID: "pw", Resource: "policy-2"},
		"rem-other-run": {RunID: "r0", Status: workflows.RemRemediated, GuardrailID: "pw", Resource: "policy-3", Undo: undoOf1("policy-3")},
	}
	read := func(id string) (*workflows.RemediationState, error) { return rems[id], nil }

	got, err := appliedChanges(workflows.LoadAppliedInput{RunID: "r1", AccountID: acctWebProd}, res, read)
	if err != nil {
		t.Fatal(err)
	}
	want := []workflows.AppliedChange{
		{GuardrailID: "sg", Region: usEast1, Resource: "sg-1", Undo: *undoOf1("sg-1"), Status: "remediated"},
		{GuardrailID: "sg", Region: usEast1, Resource: "sg-2", Undo: *undoOf1("sg-2"), Status: "not_verified"},
		{GuardrailID: "pw", Region: usEast1, Resource: "policy", Undo: *undoOf1("policy"), RemediationID: "rem-approved",
			AppliedBy: []string{"alice", "carol"}, Status: "remediated"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("applied changes:\n got %+v\nwant %+v", got, want)
	}

	only, _ := appliedChanges(workflows.LoadAppliedInput{RunID: "r1", Guardrails: []string{"pw"}}, res, read)
	if len(only) != 1 || only[0].Resource != "policy" {
		t.Errorf("filtered to guardrail pw: %+v", only)
	}

	boom := errors.New("temporal unavailable")
	if _, err := appliedChanges(workflows.LoadAppliedInput{RunID: "r1"}, res, func(string) (*workflows.RemediationState, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("a remediation that cannot be read: err %v, want it returned", err)
	}
}

func TestLoadAppliedChanges(t *testing.T) {
	t.Parallel()
	id := workflows.AccountBaselineID("r1", acctWebProd)
	ok := workflows.BaselineResult{AccountID: acctWebProd, Items: []workflows.BaselineItem{
		item("sg", "sg-1", workflows.ItemRemediated, undoOf1("sg-1"), ""),
		item("pw", "policy", workflows.ItemPendingApproval, nil, "rem-1"),
	}}
	approved := workflows.RemediationState{RunID: "r1", Status: workflows.RemRemediated, GuardrailID: "pw", Region: usEast1,
		Resource: "policy", Undo: undoOf1("policy"), Votes: []workflows.Vote{{Approver: "alice", Approve: true}}}
	closed := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	cases := []struct {
		name      string
		runs      map[string]fakeRun
		want      []string // resources
		notFound  bool
		errType   string
		queryRems bool
	}{
		{name: "completed baseline and remediation", runs: map[string]fakeRun{
			id: {status: closed, result: ok}, "rem-1": {status: closed, result: approved},
		}, want: []string{"sg-1", "policy"}},
		{name: "failed baseline: its result is in the error's details", runs: map[string]fakeRun{
			id:      {status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, err: fmt.Errorf("workflow failed: %w", temporal.NewNonRetryableApplicationError("1 check failed", "CheckFailed", nil, ok))},
			"rem-1": {status: closed, result: approved},
		}, want: []string{"sg-1", "policy"}},
		{name: "terminated baseline answers its query", runs: map[string]fakeRun{
			id:      {status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, err: errors.New("workflow terminated"), query: ok},
			"rem-1": {status: closed, result: approved},
		}, want: []string{"sg-1", "policy"}},
		{name: "running remediation is read by query", runs: map[string]fakeRun{
			id:      {status: closed, result: ok},
			"rem-1": {status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, query: workflows.RemediationState{RunID: "r1", Status: workflows.RemPending}},
		}, want: []string{"sg-1"}, queryRems: true},
		{name: "no baseline", runs: map[string]fakeRun{}, notFound: true},
		{name: "baseline still running", runs: map[string]fakeRun{
			id: {status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING},
		}, errType: ErrRunInProgress},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeTemporal{runs: c.runs}
			a := New(nil)
			a.Temporal = fake
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(a.LoadAppliedChanges)
			v, err := env.ExecuteActivity(a.LoadAppliedChanges, workflows.LoadAppliedInput{RunID: "r1", AccountID: acctWebProd})
			if c.errType != "" {
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || app.Type() != c.errType || !app.NonRetryable() {
					t.Fatalf("err %v, want a non-retryable %s", err, c.errType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out workflows.LoadAppliedOutput
			if err := v.Get(&out); err != nil {
				t.Fatal(err)
			}
			if c.notFound != (out.NotFound != "") {
				t.Errorf("NotFound = %q", out.NotFound)
			}
			var got []string
			for _, ch := range out.Changes {
				got = append(got, ch.Resource)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("changes of %v, want %v", got, c.want)
			}
			if c.queryRems != (len(fake.queried) > 0 && fake.queried[len(fake.queried)-1] == "rem-1") {
				t.Errorf("queried %v", fake.queried)
			}
		})
	}
}
