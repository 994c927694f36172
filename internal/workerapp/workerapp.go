// Package workerapp wires orgguard's workflows and activities into a Temporal
// worker; cmd/worker and the integration tests share it.
package workerapp

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/workflows"
)

// Register registers every workflow and activity under its API name.
func Register(r worker.Registry, acts *activities.Activities) {
	for name, fn := range map[string]any{
		workflows.WorkflowOrgRollout:      workflows.OrgRollout,
		workflows.WorkflowAccountBaseline: workflows.AccountBaseline,
		workflows.WorkflowRemediation:     workflows.Remediation,
		workflows.WorkflowHealthcheck:     workflows.Healthcheck,
	} {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
	for name, fn := range map[string]any{
		workflows.ActivityDiscoverAccounts:    acts.DiscoverAccounts,
		workflows.ActivityCheckGuardrail:      acts.CheckGuardrail,
		workflows.ActivityCheckAccountRegion:  acts.CheckAccountRegion,
		workflows.ActivityApplyRemediation:    acts.ApplyRemediation,
		workflows.ActivityNotifyApprovers:     acts.NotifyApprovers,
		workflows.ActivityNotifyEvent:         acts.NotifyEvent,
		workflows.ActivityPing:                acts.Ping,
		workflows.ActivityLoadTrust:           acts.LoadTrust,
		workflows.ActivityPreflightAccount:    acts.PreflightAccount,
		workflows.ActivityReleaseRun:          acts.ReleaseRun,
		workflows.ActivityRecordBaseline:      acts.RecordBaseline,
		workflows.ActivityRecordRun:           acts.RecordRun,
		workflows.ActivityRecordRemediation:   acts.RecordRemediation,
		workflows.ActivityPendingForFinding:   acts.PendingForFinding,
		workflows.ActivityRemediationOutcomes: acts.RemediationOutcomes,
		workflows.ActivityPlanUndo:            acts.PlanUndo,
		workflows.ActivityLoadAppliedChanges:  acts.LoadAppliedChanges,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// Options tune the worker.
type Options struct {
	// MaxConcurrentActivities bounds AWS calls in flight from this worker.
	MaxConcurrentActivities int
	// Pollers fixes the number of task pollers of each kind; 0 lets the
	// SDK scale them (1 to 100) on the server's feedback.
	Pollers int
}

// New creates a worker on the orgguard task queue with everything registered.
func New(c client.Client, acts *activities.Activities, o Options) worker.Worker {
	if o.MaxConcurrentActivities <= 0 {
		o.MaxConcurrentActivities = 50
	}
	opts := worker.Options{
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		// Heartbeats reach the server every 5 s at most, well inside
		// workflows.ActivityHeartbeatTimeout (the SDK would otherwise
		// hold them back for 80% of the timeout).
		MaxHeartbeatThrottleInterval: activities.DefaultHeartbeatEvery,
		// Shutdown lets running activities finish (or heartbeat-time-out)
		// before the process exits.
		WorkerStopTimeout: 30 * time.Second,
	}
	// Two pollers per kind (the SDK's fixed default) hand out one task per
	// long poll each: with 50 accounts in flight the tasks of a rollout
	// wait for a poller. Scaled pollers open more polls while the server
	// says tasks are waiting, and close them when it is idle.
	if o.Pollers > 0 {
		opts.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorSimpleMaximum(worker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: max(2, o.Pollers)})
		opts.ActivityTaskPollerBehavior = worker.NewPollerBehaviorSimpleMaximum(worker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: o.Pollers})
	} else {
		opts.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
		opts.ActivityTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	}
	w := worker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	return w
}
