package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/docs/examples/webhookverify"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/e2e/harness"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/workflows"
)

// The real worker with a notification config: a Slack webhook that
// refuses (404 no_service) is tried once per request and `orgguard
// approvals show` says so; a signed JSON webhook receives the approval
// request, whose approve command, run as printed, approves it, and then
// the outcome.
func TestNotificationsEndToEnd(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	secret := []byte("e2e-hmac-secret")
	var (
		mu       sync.Mutex
		slackHit = map[string]int{} // by event ID
		messages []notify.Message
		badSig   []error
	)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/services/T0/B0/sEcReT":
			slackHit[r.Header.Get(notify.HeaderEventID)]++
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no_service")
		case "/siem":
			if err := webhookverify.Verify(secret, r.Header, body, time.Now()); err != nil {
				badSig = append(badSig, err)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var m notify.Message
			if err := json.Unmarshal(body, &m); err != nil {
				badSig = append(badSig, err)
			}
			messages = append(messages, m)
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer hooks.Close()
	cfg := &notify.Config{Destinations: []notify.Destination{
		{Name: "secops-slack", Format: notify.FormatSlack, URL: hooks.URL + "/services/T0/B0/sEcReT", Events: []workflows.EventType{workflows.EventApprovalRequested}},
		{Name: "siem", Format: notify.FormatJSON, URL: hooks.URL + "/siem", Secret: secret},
	}}
	e := &env{harness.New(t, seed, harness.Options{PageSize: 5, Notify: cfg})}
	e.Login("alice", "bob")

	code, out := e.CLI("apply", pack, "--as", "bob", "--reason", "e2e")
	require.Equal(t, 0, code, out)
	pending := e.waitPending(t, 1)
	rem := pending[0]

	refused := "notification to secops-slack (" + hooks.URL + "/…) failed: 404 Not Found: no_service (approval_requested, 1 attempt)"
	e.eventuallyCLI(t, 30*time.Second, func(c *assert.CollectT, out string) {
		assert.Contains(c, out, refused)
		assert.Contains(c, out, "notification to siem ("+hooks.URL+"/…) sent: approval_requested (1 attempt)")
	}, "approvals", "show", rem.ID)
	code, out = e.CLI("approvals", "show", rem.ID)
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "sEcReT", "the webhook's token is never shown")

	// The request as the receiver got it, with the command to approve.
	request := func() (notify.Message, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range messages {
			if m.Type == workflows.EventApprovalRequested && m.Remediation != nil && m.Remediation.ID == rem.ID {
				return m, true
			}
		}
		return notify.Message{}, false
	}
	m, ok := request()
	require.True(t, ok, "the signed webhook got the approval request of %s", rem.ID)
	assert.Equal(t, notify.Schema, m.Schema)
	assert.Equal(t, rem.ChangeDigest, m.Remediation.ChangeDigest)
	approve := ""
	for _, c := range m.Commands {
		if c.Label == "Approve" {
			approve = c.Command
		}
	}
	require.True(t, strings.HasPrefix(approve, "orgguard approve "+rem.ID+" --digest "), approve)
	args := strings.Fields(approve)[1:]
	for i, a := range args {
		if a == `"..."` {
			args[i] = "reviewed the diff in Slack"
		}
	}
	code, out = e.CLI(append(args, "--as", "alice")...)
	require.Equal(t, 0, code, "the approve command of the message, run as printed: %s", out)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var final workflows.RemediationState
	require.NoError(t, e.Client.GetWorkflow(ctx, rem.ID, "").Get(ctx, &final))
	require.Equal(t, workflows.RemRemediated, final.Status, final.Error)
	var outcome *workflows.Delivery
	for i, d := range final.Notifications {
		if d.Event == workflows.EventRemediated {
			outcome = &final.Notifications[i]
		}
	}
	require.NotNil(t, outcome, "%+v", final.Notifications)
	assert.True(t, outcome.OK, outcome.String())
	assert.True(t, strings.HasPrefix(outcome.Destination, "siem "), "the Slack destination does not take remediated events: %s", outcome.Destination)

	// The audit trail lists each delivery as a notified step.
	code, out = e.CLI("audit", "history", rem.ID)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, refused)
	assert.Contains(t, out, "notification to siem ("+hooks.URL+"/…) sent: remediated (1 attempt)")
	assert.NotContains(t, out, "sEcReT")

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, badSig, "every delivery verifies with the documented snippet")
	var ids []string
	for id, n := range slackHit {
		if strings.HasPrefix(id, rem.ID+"/") {
			ids = append(ids, id)
			assert.Equal(t, 1, n, "one Slack request for %s: a 404 is not retried", id)
		}
	}
	assert.Len(t, ids, 1, "one approval request event for %s", rem.ID)
	remediated := 0
	for _, m := range messages {
		if m.Type == workflows.EventRemediated && m.Remediation.ID == rem.ID {
			remediated++
			assert.Equal(t, []string{"alice"}, m.Remediation.ApprovedBy)
		}
	}
	assert.Equal(t, 1, remediated, "the outcome is sent once")
}

// A check started by a real Temporal Schedule (orgguard schedule create)
// that finds drift sends drift_detected once, naming the schedule and the
// accounts.
func TestScheduledCheckSendsDrift(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	secret := []byte("e2e-drift-secret")
	got := make(chan notify.Message, 10)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		if webhookverify.Verify(secret, r.Header, body, time.Now()) != nil || json.Unmarshal(body, &m) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got <- m
		w.WriteHeader(http.StatusOK)
	}))
	defer hooks.Close()
	cfg := &notify.Config{Destinations: []notify.Destination{{Name: "drift-hook", Format: notify.FormatJSON, URL: hooks.URL + "/drift",
		Secret: secret, Events: []workflows.EventType{workflows.EventDriftDetected, workflows.EventRolloutStopped}}}}
	e := &env{harness.New(t, seed, harness.Options{PageSize: 5, Notify: cfg})}

	code, out := e.CLI("schedule", "create", pack, "--every", "1h", "--mode", "check", "--name", "nightly", "--as", "ccoe-operator")
	require.Equal(t, 0, code, out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.Client.ScheduleClient().GetHandle(ctx, "orgguard-drift-nightly").Trigger(ctx, client.ScheduleTriggerOptions{}))
	var m notify.Message
	select {
	case m = <-got:
	case <-ctx.Done():
		t.Fatal("no drift_detected message from the scheduled check")
	}
	require.Equal(t, workflows.EventDriftDetected, m.Type)
	require.NotNil(t, m.Rollout)
	assert.Equal(t, "sched-nightly", m.Rollout.Schedule)
	assert.True(t, strings.HasPrefix(m.RunID, "sched-nightly-"), m.RunID)
	assert.Equal(t, workflows.ModeCheck, m.Rollout.Mode)
	assert.Positive(t, m.Rollout.Totals.NonCompliant, "every active demo account drifted")
	assert.Positive(t, m.Rollout.DriftAccounts)
	assert.NotEmpty(t, m.Rollout.Drift)
	assert.Contains(t, m.Title, "Drift found by scheduled check nightly")
	require.Len(t, m.Commands, 1)
	assert.Equal(t, "orgguard status "+m.RunID, m.Commands[0].Command)
	code, out = e.CLI("schedule", "delete", "nightly")
	require.Equal(t, 0, code, out)
	select {
	case extra := <-got:
		t.Fatalf("a second message: %+v", extra)
	default:
	}
}
