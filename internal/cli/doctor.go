package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/workflows"
)

func doctorCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that Temporal answers and a worker runs workflows and activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "temporal: %s namespace %s: connected\n", a.temporal.Address, a.temporal.Namespace)
			pong, err := healthcheck(cmd.Context(), c, 20*time.Second)
			if err != nil {
				return failf(exitFindings, "worker: %v\n  start one: orgguard-worker --dev (or with --address for your cluster)", err)
			}
			fmt.Fprintf(out, "worker: %s\n", pong)
			return nil
		},
	}
}

// healthcheck runs the Healthcheck workflow and waits at most timeout.
func healthcheck(ctx context.Context, c client.Client, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       fmt.Sprintf("orgguard-healthcheck-%d", time.Now().UnixNano()),
		TaskQueue:                workflows.TaskQueue,
		WorkflowExecutionTimeout: timeout,
	}, workflows.WorkflowHealthcheck, workflows.HealthcheckInput{From: "orgguard doctor"})
	if err != nil {
		return "", err
	}
	var res workflows.HealthcheckResult
	if err := run.Get(ctx, &res); err != nil {
		return "", fmt.Errorf("no worker answered within %s on task queue %q: %w", timeout, workflows.TaskQueue, err)
	}
	return res.Pong, nil
}
