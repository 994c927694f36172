package activities

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

func TestNotifyApproversWebhook(t *testing.T) {
	got := make(chan ApprovalMessage, 1)
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "rem-1", r.Header.Get("Idempotency-Key"))
		b, _ := io.ReadAll(r.Body)
		var m ApprovalMessage
		require.NoError(t, json.Unmarshal(b, &m))
		got <- m
		w.WriteHeader(status)
	}))
	defer srv.Close()

	a := New(awsclient.New(aws.Config{Region: "us-east-1"}, awsclient.Options{}))
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a.NotifyApprovers)
	in := workflows.NotifyInput{
		RemediationID: "rem-1",
		Policy:        guardrails.ApprovalPolicy{Name: "security-team", Approvers: []string{"bob", "alice"}, Notify: guardrails.Notify{WebhookURL: srv.URL}},
		Finding: workflows.Finding{GuardrailID: "control.default_sg_closed", AccountID: "111111111111", Region: "eu-west-1",
			Resource: "arn:aws:ec2:eu-west-1:111111111111:security-group/sg-1", Evidence: "2 rules",
			Change: &workflows.Change{Diff: "- ingress tcp 22 from 0.0.0.0/0"}},
		Deadline: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
	}
	_, err := env.ExecuteActivity(a.NotifyApprovers, in)
	require.NoError(t, err)
	m := <-got
	require.Equal(t, []string{"alice", "bob"}, m.Approvers)
	require.Equal(t, "- ingress tcp 22 from 0.0.0.0/0", m.Change)
	require.Contains(t, m.Approve, "orgguard approve rem-1")

	// A refusing webhook is a configuration problem: not retried forever.
	status = http.StatusForbidden
	_, err = env.ExecuteActivity(a.NotifyApprovers, in)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.True(t, app.NonRetryable())
	<-got
	// A failing one is retried.
	status = http.StatusBadGateway
	_, err = env.ExecuteActivity(a.NotifyApprovers, in)
	require.Error(t, err)
	require.True(t, errors.As(err, &app))
	require.False(t, app.NonRetryable())
	<-got
}
