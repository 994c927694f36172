package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/internal/version"
	"github.com/orgguard/orgguard/workflows"
)

// maxNotifyDeferral is the longest Retry-After a delivery is deferred for
// (through the activity's next retry); a receiver that asks for longer is
// recorded as failed, so that a remediation's outcome is not held back.
const maxNotifyDeferral = 15 * time.Minute

// notifyProgress is NotifyEvent's heartbeat: the deliveries an attempt
// finished, so the next attempt (after a deferral or a worker crash)
// sends only to the others.
type notifyProgress struct {
	Deliveries []workflows.Delivery `json:"deliveries"`
}

// NotifyEvent delivers an event to the destinations that receive it: the
// worker's notification config (--notify-config) and, for approval events,
// the approval policy's SNS topic and webhook from the pack. Every
// destination's outcome is returned as a Delivery; a refusal (a 4xx other
// than 429) is a failed delivery, not a failed activity. The activity
// fails, retryably with NextRetryDelay, only when a receiver asked to be
// retried later than this attempt can wait and attempts are left.
func (a *Activities) NotifyEvent(ctx context.Context, in workflows.NotifyEventInput) (workflows.NotifyEventOutput, error) {
	ev := in.Event
	log := activity.GetLogger(ctx)
	fields := []any{"event", ev.Type, "event_id", ev.ID, "run_id", ev.RunID}
	if re := ev.Remediation; re != nil {
		fields = append(fields, "remediation_id", re.ID, "account_id", re.AccountID, "region", re.Region, "guardrail", re.GuardrailID)
	}
	dests := a.eventDestinations(in)
	log.Info("notification event", append(fields, "destinations", len(dests))...)

	var mu sync.Mutex
	var prog notifyProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			prog = notifyProgress{}
		}
	}
	snapshot := func() notifyProgress {
		mu.Lock()
		defer mu.Unlock()
		return notifyProgress{Deliveries: append([]workflows.Delivery(nil), prog.Deliveries...)}
	}
	done := map[string]bool{}
	for _, d := range prog.Deliveries {
		done[d.Destination] = true
	}
	defer a.keepAliveWith(ctx, func() []any { return []any{snapshot()} })()

	info := activity.GetInfo(ctx)
	maxAttempts := in.MaxAttempts
	if maxAttempts <= 0 && info.RetryPolicy != nil {
		maxAttempts = info.RetryPolicy.MaximumAttempts
	}
	last := maxAttempts > 0 && info.Attempt >= maxAttempts
	var deferred time.Duration
	var deferredTo []string
	for _, d := range dests {
		label := d.Label()
		if done[label] {
			continue
		}
		res := a.deliverTo(ctx, d, ev)
		if err := ctx.Err(); err != nil {
			return workflows.NotifyEventOutput{}, err
		}
		if res.Deferred > 0 {
			switch {
			case res.Deferred > maxNotifyDeferral:
				res.Err += fmt.Sprintf("; not retried: the receiver asked to wait %s, more than %s", res.Deferred, maxNotifyDeferral)
			case last:
				res.Err += "; not retried: no attempts left"
			default:
				deferred = max(deferred, res.Deferred)
				deferredTo = append(deferredTo, label)
				continue
			}
		}
		del := workflows.Delivery{Destination: label, Event: ev.Type, OK: res.OK, StatusCode: res.StatusCode, Error: res.Err, Attempts: res.Attempts, At: time.Now().UTC()}
		if del.OK {
			log.Info("notification sent", append(fields, "destination", label, "attempts", del.Attempts)...)
		} else {
			log.Warn("notification failed", append(fields, "destination", label, "status", del.StatusCode, "error", del.Error, "attempts", del.Attempts)...)
		}
		mu.Lock()
		prog.Deliveries = append(prog.Deliveries, del)
		mu.Unlock()
		activity.RecordHeartbeat(ctx, snapshot())
	}
	if deferred > 0 {
		return workflows.NotifyEventOutput{}, temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("notification %s to %v: retry after %s, as the receiver asked", ev.ID, deferredTo, deferred),
			"NotifyRetryLater", temporal.ApplicationErrorOptions{NextRetryDelay: deferred})
	}
	return workflows.NotifyEventOutput{Deliveries: snapshot().Deliveries}, nil
}

// eventDestinations lists the destinations of an event, in a stable
// order: the approval policy's (approval events), then the config's.
func (a *Activities) eventDestinations(in workflows.NotifyEventInput) []notify.Destination {
	var out []notify.Destination
	approval := in.Event.Type == workflows.EventApprovalRequested || in.Event.Type == workflows.EventApprovalSuperseded
	if p := in.PolicyNotify; p != nil && approval {
		if p.SNSTopicArn != "" {
			out = append(out, notify.Destination{Name: "policy " + in.Policy, Format: notify.FormatSNS, TopicARN: p.SNSTopicArn})
		}
		if p.WebhookURL != "" {
			d := notify.Destination{Name: "policy " + in.Policy, Format: notify.FormatJSON, URL: p.WebhookURL}
			if a.Notify != nil {
				d.Format, d.Secret = a.Notify.Policy.Format, a.Notify.Policy.Secret
			}
			out = append(out, d)
		}
	}
	cfg := a.Notify.For(in.Event.Type)
	sort.SliceStable(cfg, func(i, j int) bool { return cfg[i].Name < cfg[j].Name })
	return append(out, cfg...)
}

// deliverTo sends the event to one destination.
func (a *Activities) deliverTo(ctx context.Context, d notify.Destination, ev workflows.Event) notify.Result {
	if d.Format == notify.FormatSNS {
		return a.publishEvent(ctx, d, ev)
	}
	body, err := notify.Body(d.Format, ev)
	if err != nil {
		return notify.Result{Attempts: 1, Err: err.Error()}
	}
	client := a.HTTP
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	p := notify.Poster{Client: client, Now: time.Now, Wait: waitCtx, Policy: a.NotifyRetry,
		UserAgent: "orgguard/" + version.String()}
	return p.Post(ctx, d, ev, body, ev.ID+"/"+d.Name)
}

// waitCtx sleeps d unless ctx ends first (keepAlive heartbeats meanwhile).
func waitCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// snsRetryLater is how long a publication that failed with a retryable
// error (throttling or a 5xx after the SDK's own retries) is deferred.
const snsRetryLater = 30 * time.Second

// publishEvent publishes the event to an SNS topic with the management
// account's credentials, in the topic's region.
func (a *Activities) publishEvent(ctx context.Context, d notify.Destination, ev workflows.Event) notify.Result {
	msg, err := notify.SNS(ev)
	if err != nil {
		return notify.Result{Attempts: 1, Err: err.Error()}
	}
	region := ""
	if parsed, err := arn.Parse(d.TopicARN); err == nil {
		region = parsed.Region
	}
	cfg, where, err := a.AWS.Management(ctx, region)
	if err == nil {
		attrs := map[string]snstypes.MessageAttributeValue{}
		for k, v := range msg.Attributes {
			if v != "" {
				attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
		_, err = sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(d.TopicARN), Subject: aws.String(msg.Subject), Message: aws.String(msg.Message), MessageAttributes: attrs,
		})
		if err != nil {
			err = awsclient.Classify(err, where)
		}
	}
	if err == nil {
		return notify.Result{OK: true, Attempts: 1}
	}
	res := notify.Result{Attempts: 1, Err: err.Error()}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		res.Err = app.Message()
	}
	if app == nil || !app.NonRetryable() {
		res.Deferred = snsRetryLater
	}
	return res
}
