package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/workflows"
)

// ApprovalMessage is what approvers receive (webhook JSON body, SNS message).
type ApprovalMessage struct {
	RemediationID string    `json:"remediation_id"`
	Account       string    `json:"account_id"`
	Region        string    `json:"region"`
	Guardrail     string    `json:"guardrail"`
	Resource      string    `json:"resource"`
	Evidence      string    `json:"evidence"`
	Change        string    `json:"change"`
	Policy        string    `json:"policy"`
	Approvers     []string  `json:"approvers"`
	Deadline      time.Time `json:"deadline"`
	Escalation    bool      `json:"escalation,omitempty"`
	// SupersededBy: this request is closed; the finding's changed plan is
	// asked for under that ID (no approve or reject command then).
	SupersededBy string `json:"superseded_by,omitempty"`
	Approve      string `json:"approve_command,omitempty"`
	Reject       string `json:"reject_command,omitempty"`
}

// NotifyApprovers logs the request and, when the policy configures them,
// publishes to its SNS topic and posts to its webhook. Safe to repeat:
// a duplicate notification is harmless.
func (a *Activities) NotifyApprovers(ctx context.Context, in workflows.NotifyInput) error {
	msg := ApprovalMessage{
		RemediationID: in.RemediationID, Account: in.Finding.AccountID, Region: in.Finding.Region,
		Guardrail: in.Finding.GuardrailID, Resource: in.Finding.Resource, Evidence: in.Finding.Evidence,
		Policy: in.Policy.Name, Approvers: workflows.PolicyApprovers(in.Policy), Deadline: in.Deadline, Escalation: in.Escalation,
		Approve: fmt.Sprintf("orgguard approve %s --reason \"...\"", in.RemediationID),
		Reject:  fmt.Sprintf("orgguard reject %s --reason \"...\"", in.RemediationID),
	}
	if in.Finding.Change != nil {
		msg.Change = in.Finding.Change.Diff
	}
	if in.SupersededBy != "" {
		msg.SupersededBy, msg.Approve, msg.Reject = in.SupersededBy, "", ""
	}
	what := "approval requested"
	if in.SupersededBy != "" {
		what = "approval request superseded by " + in.SupersededBy
	}
	activity.GetLogger(ctx).Info(what, "remediation_id", in.RemediationID,
		"account_id", msg.Account, "region", msg.Region, "guardrail", msg.Guardrail,
		"approvers", strings.Join(msg.Approvers, ","), "deadline", in.Deadline.Format(time.RFC3339))
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if topic := in.Policy.Notify.SNSTopicArn; topic != "" {
		region := ""
		if parsed, err := arn.Parse(topic); err == nil {
			region = parsed.Region
		}
		cfg, where, err := a.AWS.Management(ctx, region)
		if err != nil {
			return err
		}
		_, err = sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(topic),
			Subject:  aws.String(truncate("orgguard approval: "+msg.Guardrail+" in "+msg.Account, 100)),
			Message:  aws.String(string(body)),
		})
		if err != nil {
			return awsclient.Classify(err, where)
		}
	}
	if url := in.Policy.Notify.WebhookURL; url != "" {
		// Errors name the host only: they enter history and logs, and a
		// webhook's path is often its credential.
		host := notify.RedactURL(url)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s: %s", host, notify.RedactError(err, url)), "InvalidWebhook", nil)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", in.RemediationID)
		resp, err := a.HTTP.Do(req)
		if err != nil {
			return fmt.Errorf("webhook %s: %s", host, notify.RedactError(err, url))
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("webhook %s: %s", host, resp.Status)
		case resp.StatusCode >= 300:
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s refused the notification: %s", host, resp.Status), "WebhookRefused", nil)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
