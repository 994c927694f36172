package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// DefaultHeartbeatEvery is a third of workflows.ActivityHeartbeatTimeout
// (15 s), and the SDK batches heartbeats anyway.
const DefaultHeartbeatEvery = 5 * time.Second

// keepAlive heartbeats from a goroutine until the returned stop is called,
// so a slow account is not mistaken for a dead worker. A ticker rather than
// a heartbeat per AWS call (an SDK middleware): kinds also wait between
// polls of asynchronous jobs (credential reports, drift detection) without
// calling AWS, and what the heartbeat timeout is there to detect is a
// worker that died, which a ticker shows as well. A kind that hangs is
// bounded by the StartToCloseTimeout instead.
func (a *Activities) keepAlive(ctx context.Context, details ...any) (stop func()) {
	return a.keepAliveWith(ctx, func() []any { return details })
}

// keepAliveWith is keepAlive with details that change (an activity's
// progress): each heartbeat carries what details returns then.
func (a *Activities) keepAliveWith(ctx context.Context, details func() []any) (stop func()) {
	every := a.HeartbeatEvery
	if every <= 0 {
		every = DefaultHeartbeatEvery
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		// No heartbeat at once: most activities end well before the first
		// tick, and a heartbeat racing the stop only logs a warning.
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details()...)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
