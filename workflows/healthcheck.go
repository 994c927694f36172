package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// HealthcheckInput names who asked.
type HealthcheckInput struct {
	From string `json:"from"`
}

// HealthcheckResult proves a worker ran both a workflow task and an activity.
type HealthcheckResult struct {
	Pong string `json:"pong"`
}

// Healthcheck is the smallest end-to-end proof that a worker is connected
// and registered: `orgguard doctor` and the foundation tests run it.
func Healthcheck(ctx workflow.Context, in HealthcheckInput) (HealthcheckResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var pong string
	if err := workflow.ExecuteActivity(ctx, ActivityPing, in.From).Get(ctx, &pong); err != nil {
		return HealthcheckResult{}, err
	}
	return HealthcheckResult{Pong: pong}, nil
}
