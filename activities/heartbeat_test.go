package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// heartbeats counts every RecordHeartbeat of the activities it intercepts
// (the test environment's heartbeat listener only sees the throttled ones
// that would reach the server).
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	beats chan struct{}
}

func (h *heartbeats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &heartbeatsInbound{h: h}
	i.Next = next
	return i
}

type heartbeatsInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *heartbeats
}

func (i *heartbeatsInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	o := &heartbeatsOutbound{h: i.h}
	o.Next = outbound
	return i.Next.Init(o)
}

type heartbeatsOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	h *heartbeats
}

func (o *heartbeatsOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	select {
	case o.h.beats <- struct{}{}:
	default:
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

// slowKind stands for an account where Check and Apply take long: it
// returns only once it has seen three heartbeats while it ran, and fails
// if none comes.
type slowKind struct{ beats chan struct{} }

func (k slowKind) wait() error {
	for range 3 {
		select {
		case <-k.beats:
		case <-time.After(10 * time.Second):
			return errors.New("no heartbeat while the kind ran")
		}
	}
	return nil
}

func (k slowKind) Check(context.Context, Env, string) ([]workflows.Finding, error) {
	return []workflows.Finding{compliant("slow", "took its time", nil)}, k.wait()
}

func (k slowKind) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, k.wait()
}

func (k slowKind) PlanUndo(context.Context, Env, string, workflows.Change) (string, error) {
	return "", k.wait()
}

func (k slowKind) Undo(context.Context, Env, string, workflows.Change) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, k.wait()
}

func TestLongActivitiesHeartbeatWhileTheKindRuns(t *testing.T) {
	s := newSim(t, awssim.Options{})
	a := New(s.factory)
	a.HeartbeatEvery = 5 * time.Millisecond
	h := &heartbeats{beats: make(chan struct{}, 100)}
	a.Register("control:test.slow", slowKind{beats: h.beats})
	g := control("test.slow", nil)

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{h}})
	env.RegisterActivity(a.CheckGuardrail)
	env.RegisterActivity(a.ApplyRemediation)
	env.RegisterActivity(a.PlanUndo)

	t.Run("check", func(t *testing.T) {
		v, err := env.ExecuteActivity(a.CheckGuardrail, workflows.CheckInput{RunID: "run-1", AccountID: acctWebProd, Region: usEast1, Guardrail: g})
		require.NoError(t, err)
		var out workflows.CheckOutput
		require.NoError(t, v.Get(&out))
		require.Len(t, out.Findings, 1)
	})
	t.Run("apply", func(t *testing.T) {
		f := workflows.Finding{AccountID: acctWebProd, Region: usEast1, Resource: "slow", Change: &workflows.Change{Summary: "fix"}}
		_, err := env.ExecuteActivity(a.ApplyRemediation, workflows.ApplyInput{RunID: "run-1", Guardrail: g, Finding: f})
		require.NoError(t, err)
	})
	undo := workflows.Change{Summary: "put it back"}
	t.Run("plan undo", func(t *testing.T) {
		v, err := env.ExecuteActivity(a.PlanUndo, workflows.PlanUndoInput{RunID: "run-2", AccountID: acctWebProd, Region: usEast1, Guardrail: g, Resource: "slow", Undo: undo})
		require.NoError(t, err)
		var out workflows.PlanUndoOutput
		require.NoError(t, v.Get(&out))
		require.Empty(t, out.Refused)
		require.NotNil(t, out.Finding)
	})
	t.Run("undo", func(t *testing.T) {
		f := workflows.Finding{AccountID: acctWebProd, Region: usEast1, Resource: "slow", Change: &undo}
		_, err := env.ExecuteActivity(a.ApplyRemediation, workflows.ApplyInput{RunID: "run-2", Guardrail: g, Finding: f, Undo: true})
		require.NoError(t, err)
	})
}
