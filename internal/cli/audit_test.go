package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/workflows"
)

func TestAuditQueryApproverMeansRemediations(t *testing.T) {
	q, err := auditFlags{Filter: audit.Filter{Approver: "alice", Since: "720h"}}.Query(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "OrgguardApprover = 'alice' AND OrgguardKind = 'remediation' AND StartTime >= '2026-10-25T12:00:00Z'", q)
	// An explicit --kind wins.
	q, err = auditFlags{Filter: audit.Filter{Approver: "alice", Kind: "rollout"}}.Query(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "OrgguardApprover = 'alice' AND OrgguardKind = 'rollout'", q)
	q, err = auditFlags{}.Query(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "OrgguardKind IN ('rollout', 'baseline', 'remediation')", q)
}

// pagedVisibility serves total executions in pages of at most maxPage (the
// server's cut), honouring the asked page size, and records the asks.
type pagedVisibility struct {
	client.Client
	total, maxPage int
	asked          []int32
	execs          []*workflowpb.WorkflowExecutionInfo
}

func (p *pagedVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	p.asked = append(p.asked, req.PageSize)
	size := int(req.PageSize)
	if size <= 0 || size > p.maxPage {
		size = p.maxPage
	}
	from := 0
	if len(req.NextPageToken) > 0 {
		if _, err := fmt.Sscanf(string(req.NextPageToken), "%d", &from); err != nil {
			return nil, err
		}
	}
	for len(p.execs) < p.total {
		p.execs = append(p.execs, execution(len(p.execs)))
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	resp.Executions = append(resp.Executions, p.execs[min(from, p.total):min(from+size, p.total)]...)
	// Like the SQL store: a full page carries a token, even when no row follows.
	if len(resp.Executions) == size {
		resp.NextPageToken = fmt.Appendf(nil, "%d", from+size)
	}
	return resp, nil
}

func execution(i int) *workflowpb.WorkflowExecutionInfo {
	dc := converter.GetDefaultDataConverter()
	sa := map[string]*commonpb.Payload{}
	for k, v := range map[string]any{
		workflows.SAKind.GetName(): workflows.KindRemediation, workflows.SAOutcome.GetName(): workflows.RemRemediated,
		workflows.SAApprover.GetName(): []string{"alice", "bob"}, workflows.SAControl.GetName(): []string{"CIS v3.0.0 5.4", "FSBP v1.0.0 EC2.2"},
		workflows.SAAccountID.GetName(): "111111111111",
	} {
		p, err := dc.ToPayload(v)
		if err != nil {
			panic(err)
		}
		sa[k] = p
	}
	at := time.Date(2026, 11, 24, 10, 0, i, 0, time.UTC)
	return &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: fmt.Sprintf("rem-%04d", i)},
		StartTime:        timestamppb.New(at),
		CloseTime:        timestamppb.New(at.Add(time.Minute)),
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: sa},
	}
}

func TestAuditRowsLimitAndPages(t *testing.T) {
	for _, tc := range []struct {
		name         string
		total, limit int
		wantN        int
		wantMore     bool
		wantAsked    []int32
	}{
		{"under the limit", 5, 10, 5, false, []int32{11, 8}},
		// One row past the limit shows the answer was cut.
		{"cut inside a page", 10, 2, 2, true, []int32{3}},
		{"exactly the limit", 2, 2, 2, false, []int32{3}},
		// A page ending at the limit with a token: maybe more, the count says.
		{"cut at a page end", 10, 3, 3, true, []int32{4}},
		{"the limit at a full last page", 3, 3, 3, true, []int32{4}},
		{"all, over several pages", 7, 0, 7, false, []int32{0, 0, 0}},
		{"limit over the server's page", 10, 6, 6, true, []int32{7, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &pagedVisibility{total: tc.total, maxPage: 3}
			var ids []string
			n, more, err := audit.Stream(context.Background(), v, "q", tc.limit, func(r audit.Row) error {
				ids = append(ids, r.WorkflowID)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, tc.wantN, n)
			require.Len(t, ids, n)
			require.Equal(t, tc.wantMore, more)
			require.Equal(t, tc.wantAsked, v.asked)
		})
	}
}

func TestAuditWriterFormats(t *testing.T) {
	rows := []audit.Row{audit.RowOf(execution(0)), audit.RowOf(execution(1))}
	write := func(format string, rows []audit.Row) string {
		var out bytes.Buffer
		w, err := newAuditWriter(&out, format)
		require.NoError(t, err)
		for _, r := range rows {
			require.NoError(t, w.row(r))
		}
		require.NoError(t, w.close())
		return out.String()
	}

	// JSON streams row by row and reads back as the array writeJSON wrote.
	var want bytes.Buffer
	require.NoError(t, writeJSON(&want, rows))
	require.Equal(t, want.String(), write("json", rows))
	require.Equal(t, "[]\n", write("json", nil))
	var back []audit.Row
	require.NoError(t, json.Unmarshal([]byte(write("json", rows)), &back))
	require.Equal(t, []string{"alice", "bob"}, back[1].Approvers)

	recs, err := csv.NewReader(strings.NewReader(write("csv", rows))).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3)
	require.Equal(t, "alice;bob", recs[1][8])
	require.Equal(t, "CIS v3.0.0 5.4;FSBP v1.0.0 EC2.2", recs[1][6])

	table := write("table", rows)
	require.True(t, strings.HasPrefix(table, "STARTED "), table)
	require.Contains(t, table, "alice,bob")
	require.Len(t, strings.Split(strings.TrimSpace(table), "\n"), 3)
	require.Equal(t, "No matching workflows.\n", write("table", nil))

	_, err = newAuditWriter(&bytes.Buffer{}, "xml")
	require.Error(t, err)
}

// BenchmarkAuditRowsJSON is orgguard's own share of an audit answer: 1,000
// executions from visibility (in memory here) decoded and written as JSON.
func BenchmarkAuditRowsJSON(b *testing.B) {
	const rows = 1000
	v := &pagedVisibility{total: rows, maxPage: rows}
	for b.Loop() {
		v.asked = v.asked[:0]
		w, err := newAuditWriter(io.Discard, "json")
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := audit.Stream(context.Background(), v, "q", 0, w.row)
		if err != nil || n != rows {
			b.Fatalf("%d rows, %v", n, err)
		}
		if err := w.close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
