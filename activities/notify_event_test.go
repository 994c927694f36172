package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/docs/examples/webhookverify"
	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/workflows"
)

// hookServer is a webhook receiver: each path answers with its handler
// and records the deliveries it got.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	got  map[string][]delivered
	path map[string]http.HandlerFunc
}

type delivered struct {
	header http.Header
	body   []byte
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{got: map[string][]delivered{}, path: map[string]http.HandlerFunc{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], delivered{r.Header.Clone(), b})
		handler := h.path[r.URL.Path]
		h.mu.Unlock()
		if handler == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		handler(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) handle(path string, fn http.HandlerFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.path[path] = fn
}

func (h *hookServer) deliveries(path string) []delivered {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivered(nil), h.got[path]...)
}

// logRecorder keeps every log line an activity writes.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(level, msg string, kv ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(kv...))
}
func (l *logRecorder) Debug(msg string, kv ...any) { l.log("DEBUG", msg, kv...) }
func (l *logRecorder) Info(msg string, kv ...any)  { l.log("INFO", msg, kv...) }
func (l *logRecorder) Warn(msg string, kv ...any)  { l.log("WARN", msg, kv...) }
func (l *logRecorder) Error(msg string, kv ...any) { l.log("ERROR", msg, kv...) }
func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// notifyEnv runs NotifyEvent in a test activity environment whose log is
// recorded.
func notifyEnv(a *Activities) (*testsuite.TestActivityEnvironment, *logRecorder) {
	var ts testsuite.WorkflowTestSuite
	logs := &logRecorder{}
	ts.SetLogger(logs)
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.NotifyEvent, activity.RegisterOptions{Name: workflows.ActivityNotifyEvent})
	return env, logs
}

func runNotify(t *testing.T, env *testsuite.TestActivityEnvironment, in workflows.NotifyEventInput) (workflows.NotifyEventOutput, error) {
	t.Helper()
	v, err := env.ExecuteActivity(workflows.ActivityNotifyEvent, in)
	var out workflows.NotifyEventOutput
	if err == nil {
		require.NoError(t, v.Get(&out))
	}
	return out, err
}

func approvalEvent() workflows.Event {
	return workflows.Event{Type: workflows.EventApprovalRequested, ID: "rem-1/abcd1234/approval_requested/0", At: time.Now().UTC(), RunID: "r1",
		Remediation: &workflows.RemediationEvent{ID: "rem-1", Status: workflows.RemPending, AccountID: "111111111111", Region: "eu-west-1",
			GuardrailID: "control.default_sg_closed", Resource: "arn:aws:ec2:eu-west-1:111111111111:security-group/sg-1",
			Evidence: "2 rules", ChangeDiff: "- ingress tcp 22 from 0.0.0.0/0", ChangeDigest: "sha256:abc", Policy: "security-team",
			Approvers: []string{"alice", "bob"}, Quorum: 1}}
}

func newNotifyActivities(cfg *notify.Config) *Activities {
	a := New(awsclient.New(aws.Config{Region: "us-east-1"}, awsclient.Options{}))
	a.Notify = cfg
	// Backoff in milliseconds: the tests wait for the code's own retries.
	a.NotifyRetry = notify.RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxWait: 30 * time.Second}
	return a
}

// A signed webhook delivered by NotifyEvent verifies with exactly the
// snippet docs/notifications.md shows (docs/examples/webhookverify, which
// a test keeps equal to the doc); a tampered body or a stale timestamp
// does not.
func TestNotifyEventSignedWebhookVerifiesWithDocumentedSnippet(t *testing.T) {
	hooks := newHookServer(t)
	secret := []byte("whsec-3f9a7c")
	verified := make(chan error, 1)
	hooks.handle("/siem", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := webhookverify.Verify(secret, r.Header, body, time.Now())
		verified <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	cfg := &notify.Config{Destinations: []notify.Destination{{Name: "siem", Format: notify.FormatJSON, URL: hooks.URL + "/siem", Secret: secret}}}
	env, _ := notifyEnv(newNotifyActivities(cfg))
	ev := approvalEvent()
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: ev})
	require.NoError(t, err)
	require.NoError(t, <-verified)
	require.Len(t, out.Deliveries, 1)
	d := out.Deliveries[0]
	assert.True(t, d.OK, d.Error)
	assert.Equal(t, 204, d.StatusCode)
	assert.Equal(t, "siem ("+hooks.URL+"/…)", d.Destination)

	got := hooks.deliveries("/siem")
	require.Len(t, got, 1)
	var msg notify.Message
	require.NoError(t, json.Unmarshal(got[0].body, &msg))
	assert.Equal(t, notify.Schema, msg.Schema)
	assert.Equal(t, ev.ID, msg.ID)
	assert.Equal(t, "rem-1", msg.Remediation.ID)
	assert.Equal(t, ev.ID+"/siem", got[0].header.Get("Idempotency-Key"))

	// The same delivery, tampered with or replayed late, is refused.
	tampered := strings.Replace(string(got[0].body), `"approvers":["alice","bob"]`, `"approvers":["mallory"]`, 1)
	require.NotEqual(t, string(got[0].body), tampered)
	assert.EqualError(t, webhookverify.Verify(secret, got[0].header, []byte(tampered), time.Now()), "signature mismatch")
	assert.ErrorContains(t, webhookverify.Verify(secret, got[0].header, got[0].body, time.Now().Add(webhookverify.Tolerance+time.Minute)), "timestamp outside tolerance")
	assert.NoError(t, webhookverify.Verify(secret, got[0].header, got[0].body, time.Now().Add(webhookverify.Tolerance-time.Minute)))
}

// A 4xx other than 429 is not retried: it is a failed delivery the
// activity reports, not an activity failure. Neither the result nor the
// log shows the webhook's path (a Slack URL's path is its token).
func TestNotifyEventRecordsRefusal(t *testing.T) {
	hooks := newHookServer(t)
	hooks.handle("/services/T000/B000/sEcReTtOkEn", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service")
	})
	cfg := &notify.Config{Destinations: []notify.Destination{
		{Name: "secops-slack", Format: notify.FormatSlack, URL: hooks.URL + "/services/T000/B000/sEcReTtOkEn"},
		{Name: "teams", Format: notify.FormatTeams, URL: hooks.URL + "/teams"},
	}}
	env, logs := notifyEnv(newNotifyActivities(cfg))
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err, "a refused notification does not fail the activity")
	require.Len(t, out.Deliveries, 2)
	slack, teams := out.Deliveries[0], out.Deliveries[1]
	assert.False(t, slack.OK)
	assert.Equal(t, 404, slack.StatusCode)
	assert.Equal(t, 1, slack.Attempts, "not retried")
	assert.Equal(t, "Not Found: no_service", slack.Error)
	assert.Equal(t, workflows.EventApprovalRequested, slack.Event)
	assert.Equal(t, "notification to secops-slack ("+hooks.URL+"/…) failed: 404 Not Found: no_service (approval_requested, 1 attempt)", slack.String())
	assert.True(t, teams.OK, "the other destination still gets it")
	assert.Len(t, hooks.deliveries("/services/T000/B000/sEcReTtOkEn"), 1)

	// Slack got its format, Teams its card.
	var s struct{ Blocks []any }
	require.NoError(t, json.Unmarshal(hooks.deliveries("/services/T000/B000/sEcReTtOkEn")[0].body, &s))
	assert.NotEmpty(t, s.Blocks)
	var tm struct {
		Attachments []struct{ ContentType string }
	}
	require.NoError(t, json.Unmarshal(hooks.deliveries("/teams")[0].body, &tm))
	require.Len(t, tm.Attachments, 1)
	assert.Equal(t, "application/vnd.microsoft.card.adaptive", tm.Attachments[0].ContentType)

	text := logs.text()
	assert.Contains(t, text, "notification failed")
	assert.Contains(t, text, "secops-slack")
	assert.NotContains(t, text, "sEcReTtOkEn", "the log never shows a webhook's token")
	assert.NotContains(t, text, "/services/")
	b, _ := json.Marshal(out)
	assert.NotContains(t, string(b), "sEcReTtOkEn", "nor does the result, which enters workflow history")
}

// 429 is retried after its Retry-After and 5xx with backoff, heartbeating
// meanwhile.
func TestNotifyEventRetries429And5xx(t *testing.T) {
	hooks := newHookServer(t)
	var slackCalls, jsonCalls atomic.Int32
	hooks.handle("/slack", func(w http.ResponseWriter, _ *http.Request) {
		if slackCalls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	hooks.handle("/json", func(w http.ResponseWriter, _ *http.Request) {
		if jsonCalls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	cfg := &notify.Config{Destinations: []notify.Destination{
		{Name: "a-json", Format: notify.FormatJSON, URL: hooks.URL + "/json", Secret: []byte("k")},
		{Name: "b-slack", Format: notify.FormatSlack, URL: hooks.URL + "/slack"},
	}}
	a := newNotifyActivities(cfg)
	a.HeartbeatEvery = 50 * time.Millisecond
	env, _ := notifyEnv(a)
	hb := &heartbeats{beats: make(chan struct{}, 1000)}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{hb}})
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 2)
	assert.True(t, out.Deliveries[0].OK, out.Deliveries[0].Error)
	assert.Equal(t, 3, out.Deliveries[0].Attempts)
	assert.Equal(t, 202, out.Deliveries[0].StatusCode)
	assert.True(t, out.Deliveries[1].OK, out.Deliveries[1].Error)
	assert.Equal(t, 2, out.Deliveries[1].Attempts)
	// One heartbeat per finished delivery, and more from the ticker while
	// it waited out the Retry-After.
	assert.Greater(t, len(hb.beats), 2, "the activity heartbeats while it waits for Retry-After")

	// A 5xx that persists is a failed delivery after the bounded tries.
	hooks.handle("/json", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	cfg.Destinations = cfg.Destinations[:1]
	before := len(hooks.deliveries("/json"))
	out, err = runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 1)
	assert.False(t, out.Deliveries[0].OK)
	assert.Equal(t, 502, out.Deliveries[0].StatusCode)
	assert.Equal(t, 4, out.Deliveries[0].Attempts)
	assert.Len(t, hooks.deliveries("/json"), before+4)
}

// A Retry-After longer than the activity may wait ends the attempt with a
// retryable error whose NextRetryDelay is what the receiver asked for;
// the next attempt sends only to the destinations still owed.
func TestNotifyEventDefersLongRetryAfter(t *testing.T) {
	hooks := newHookServer(t)
	hooks.handle("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "300")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	cfg := &notify.Config{Destinations: []notify.Destination{
		{Name: "a-ok", Format: notify.FormatSlack, URL: hooks.URL + "/ok"},
		{Name: "b-busy", Format: notify.FormatSlack, URL: hooks.URL + "/busy"},
	}}
	env, _ := notifyEnv(newNotifyActivities(cfg))
	var progress []workflows.Delivery
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p notifyProgress
		if d.HasValues() && d.Get(&p) == nil {
			progress = p.Deliveries
		}
	})
	_, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.False(t, app.NonRetryable())
	assert.Equal(t, "NotifyRetryLater", app.Type())
	assert.Equal(t, 300*time.Second, app.NextRetryDelay())
	assert.Len(t, hooks.deliveries("/busy"), 1, "not waited for in the attempt")
	require.Len(t, progress, 1, "the heartbeat holds the finished delivery")
	assert.True(t, progress[0].OK)

	// The next attempt, with that heartbeat: only the busy one is tried.
	hooks.handle("/busy", nil)
	env.SetHeartbeatDetails(notifyProgress{Deliveries: progress})
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 2)
	assert.True(t, out.Deliveries[0].OK && out.Deliveries[1].OK)
	assert.Len(t, hooks.deliveries("/ok"), 1, "not sent twice")
	assert.Len(t, hooks.deliveries("/busy"), 2)

	// A Retry-After beyond maxNotifyDeferral is recorded as failed.
	hooks.handle("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	env, _ = notifyEnv(newNotifyActivities(cfg))
	out, err = runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 2)
	assert.False(t, out.Deliveries[1].OK)
	assert.Equal(t, 429, out.Deliveries[1].StatusCode)
	assert.Contains(t, out.Deliveries[1].Error, "not retried: the receiver asked to wait 1h0m0s")
}

// On its last attempt the activity does not defer: what is still owed is
// recorded as failed (the workflow test environment runs the activity with
// its retry policy, so the attempts are real).
func TestNotifyEventLastAttemptRecordsFailure(t *testing.T) {
	hooks := newHookServer(t)
	hooks.handle("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	a := newNotifyActivities(&notify.Config{Destinations: []notify.Destination{{Name: "busy", Format: notify.FormatSlack, URL: hooks.URL + "/busy"}}})
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(a.NotifyEvent, activity.RegisterOptions{Name: workflows.ActivityNotifyEvent})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (workflows.NotifyEventOutput, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 2}})
		var out workflows.NotifyEventOutput
		err := workflow.ExecuteActivity(ctx, workflows.ActivityNotifyEvent, workflows.NotifyEventInput{Event: approvalEvent(), MaxAttempts: 2}).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "notifyTwice"})
	env.ExecuteWorkflow("notifyTwice")
	require.NoError(t, env.GetWorkflowError())
	var out workflows.NotifyEventOutput
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Len(t, out.Deliveries, 1)
	assert.False(t, out.Deliveries[0].OK)
	assert.Contains(t, out.Deliveries[0].Error, "no attempts left")
	assert.Len(t, hooks.deliveries("/busy"), 2, "one request per attempt")
}

// A wait for Retry-After ends with the activity's context.
func TestNotifyEventWaitRespectsContext(t *testing.T) {
	hooks := newHookServer(t)
	a := newNotifyActivities(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hooks.handle("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(http.StatusTooManyRequests)
		// Canceled while the activity waits out the 20 s: a wait that
		// ignored it would try again.
		time.AfterFunc(100*time.Millisecond, cancel)
	})
	res := a.deliverTo(ctx, notify.Destination{Name: "busy", Format: notify.FormatSlack, URL: hooks.URL + "/busy"}, approvalEvent())
	assert.False(t, res.OK)
	assert.Equal(t, "context canceled", res.Err)
	assert.Len(t, hooks.deliveries("/busy"), 1, "no retry after the context ended")
}

// The approval policy's destinations from the pack get approval events
// only: its webhook in the format and with the secret of the worker's
// policy_notify, its SNS topic the JSON message with attributes.
func TestNotifyEventPolicyDestinations(t *testing.T) {
	s := newSim(t, awssim.Options{})
	mgmt, _, err := s.factory.Management(ctx, usEast1)
	require.NoError(t, err)
	topic := aws.ToString(must(sns.NewFromConfig(mgmt).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgguard-approvals")})).TopicArn)
	events := aws.ToString(must(sns.NewFromConfig(mgmt).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgguard-events")})).TopicArn)

	hooks := newHookServer(t)
	a := newNotifyActivities(&notify.Config{
		Policy:       notify.PolicyDefaults{Format: notify.FormatSlack, Secret: []byte("policy-secret")},
		Destinations: []notify.Destination{{Name: "events", Format: notify.FormatSNS, TopicARN: events, Events: []workflows.EventType{workflows.EventRemediated}}},
	})
	a.AWS = s.factory
	env, _ := notifyEnv(a)
	pn := &guardrails.Notify{SNSTopicArn: topic, WebhookURL: hooks.URL + "/policy-hook"}
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent(), PolicyNotify: pn, Policy: "security-team"})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 2)
	for _, d := range out.Deliveries {
		assert.True(t, d.OK, d.String())
	}
	assert.Equal(t, "policy security-team (sns "+topic+")", out.Deliveries[0].Destination)
	assert.Equal(t, "policy security-team ("+hooks.URL+"/…)", out.Deliveries[1].Destination)

	got := hooks.deliveries("/policy-hook")
	require.Len(t, got, 1)
	assert.NoError(t, webhookverify.Verify([]byte("policy-secret"), got[0].header, got[0].body, time.Now()))
	var slack struct{ Text string }
	require.NoError(t, json.Unmarshal(got[0].body, &slack))
	assert.Contains(t, slack.Text, "Approval needed: control.default_sg_closed in 111111111111")

	msgs := s.srv.SNSMessages(topic)
	require.Len(t, msgs, 1)
	assert.Equal(t, "approval_requested", msgs[0].Attributes["event_type"])
	assert.Equal(t, "111111111111", msgs[0].Attributes["account_id"])
	assert.True(t, strings.HasPrefix(msgs[0].Subject, "orgguard: Approval needed"), msgs[0].Subject)
	var m notify.Message
	require.NoError(t, json.Unmarshal([]byte(msgs[0].Message), &m))
	assert.Equal(t, workflows.EventApprovalRequested, m.Type)
	assert.Empty(t, s.srv.SNSMessages(events), "the events topic does not take approval requests")

	// A remediated event goes to the config's topic, not to the policy's.
	rem := approvalEvent()
	rem.Type, rem.ID, rem.Remediation.Status = workflows.EventRemediated, "rem-1/abcd1234/remediated", workflows.RemRemediated
	out, err = runNotify(t, env, workflows.NotifyEventInput{Event: rem, PolicyNotify: pn, Policy: "security-team"})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 1)
	assert.True(t, out.Deliveries[0].OK, out.Deliveries[0].String())
	assert.Len(t, s.srv.SNSMessages(topic), 1)
	assert.Len(t, hooks.deliveries("/policy-hook"), 1)
	require.Len(t, s.srv.SNSMessages(events), 1)
	assert.Equal(t, "remediated", s.srv.SNSMessages(events)[0].Attributes["event_type"])

	// A topic that does not exist is a failed delivery, not retried.
	a.Notify.Destinations[0].TopicARN = "arn:aws:sns:us-east-1:" + acctMgmt + ":nope"
	out, err = runNotify(t, env, workflows.NotifyEventInput{Event: rem})
	require.NoError(t, err)
	require.Len(t, out.Deliveries, 1)
	assert.False(t, out.Deliveries[0].OK)
	assert.Contains(t, out.Deliveries[0].Error, "NotFound")
}

// Without any destination the event is logged and nothing fails.
func TestNotifyEventWithoutDestinations(t *testing.T) {
	env, logs := notifyEnv(newNotifyActivities(nil))
	out, err := runNotify(t, env, workflows.NotifyEventInput{Event: approvalEvent()})
	require.NoError(t, err)
	assert.Empty(t, out.Deliveries)
	assert.Contains(t, logs.text(), "notification event")
	assert.Contains(t, logs.text(), "rem-1")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
