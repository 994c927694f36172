package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var at = time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)

func remediationEvent(t workflows.EventType, status string) workflows.Event {
	return workflows.Event{Type: t, ID: "rem-111111111111-3f2a9c0d1e-4be1c2a0/7c1d2e3f/" + string(t), At: at, RunID: "apply-1", Digest: "sha256:pack",
		Remediation: &workflows.RemediationEvent{
			ID: "rem-111111111111-3f2a9c0d1e-4be1c2a0", Status: status, AccountID: "111111111111", AccountName: "prod-payments",
			Region: "eu-west-1", GuardrailID: "control.default_sg_closed", Controls: []string{"CIS 5.4"},
			Resource: "arn:aws:ec2:eu-west-1:111111111111:security-group/sg-1", Evidence: "default security group sg-1 has 2 ingress rules (<all> & more)",
			ChangeSummary: "revoke all rules of the default security group", ChangeDiff: "- ingress tcp 22 from 0.0.0.0/0\n- egress all to 0.0.0.0/0",
			ChangeDigest: "sha256:0123456789abcdef", Policy: "security-team", Approvers: []string{"alice", "bob"}, Quorum: 1,
			Deadline: at.Add(72 * time.Hour), RequestedBy: "bob",
		}}
}

func events() map[string]workflows.Event {
	remediated := remediationEvent(workflows.EventRemediated, workflows.RemRemediated)
	remediated.Remediation.ApprovedBy = []string{"alice"}
	remediated.Remediation.Calls = []string{"ec2:RevokeSecurityGroupIngress sg-1"}
	failed := remediationEvent(workflows.EventRemediationFailed, workflows.RemFailed)
	failed.Remediation.ApprovedBy = []string{"alice"}
	failed.Remediation.Error = "AccessDenied: ec2:RevokeSecurityGroupIngress in 111111111111 (role OrgguardExecutionRole)"
	notVerified := remediationEvent(workflows.EventRemediationFailed, workflows.RemNotVerified)
	notVerified.Remediation.Error = "still 1 ingress rule"
	superseded := remediationEvent(workflows.EventApprovalSuperseded, workflows.RemSuperseded)
	superseded.Remediation.SupersededBy = "rem-111111111111-3f2a9c0d1e-9a8b7c6d"
	rollout := &workflows.RolloutEvent{Mode: workflows.ModeApply, RequestedBy: "ccoe-operator", State: "stopped",
		StoppedReason: `wave "canary": 2 of 3 accounts failed, over its failure budget (1 accounts); later waves were not started`,
		Waves:         []workflows.WaveProgress{{Name: "canary", Total: 3, Succeeded: 1, Failed: 2}, {Name: "rest", Total: 9, Pending: 9}},
		Totals:        workflows.EventCounts{Compliant: 4, NonCompliant: 2},
		Failed:        []workflows.EventAccount{{AccountID: "222222222222", Error: "assume role: AccessDenied"}, {AccountID: "333333333333", Error: "timed out"}}}
	drift := &workflows.RolloutEvent{Mode: workflows.ModeCheck, RequestedBy: "ccoe-operator", Schedule: "sched-baseline-check", State: "completed",
		Waves:         []workflows.WaveProgress{{Name: "all", Total: 30, Succeeded: 30}},
		Totals:        workflows.EventCounts{Compliant: 80, NonCompliant: 7},
		Drift:         []workflows.EventAccount{{AccountID: "111111111111", NonCompliant: 5, Compliant: 3}, {AccountID: "222222222222", NonCompliant: 2}},
		DriftAccounts: 2}
	return map[string]workflows.Event{
		"approval_requested":       remediationEvent(workflows.EventApprovalRequested, workflows.RemPending),
		"approval_superseded":      superseded,
		"remediated":               remediated,
		"remediation_failed":       failed,
		"remediation_not_verified": notVerified,
		"approval_expired":         remediationEvent(workflows.EventApprovalExpired, workflows.RemExpired),
		"rollout_stopped":          {Type: workflows.EventRolloutStopped, ID: "apply-1/rollout_stopped", At: at, RunID: "apply-1", Digest: "sha256:pack", Rollout: rollout},
		"drift_detected": {Type: workflows.EventDriftDetected, ID: "sched-baseline-check-2026-12-03T06:00:00Z/drift_detected", At: at,
			RunID: "sched-baseline-check-2026-12-03T06:00:00Z", Digest: "sha256:pack", Rollout: drift},
	}
}

// The JSON schema is API: its exact output per event is pinned (go test
// ./internal/notify -update rewrites the files after a deliberate change,
// which must stay compatible within orgguard.notification/v1).
func TestJSONGolden(t *testing.T) {
	for name, ev := range events() {
		t.Run(name, func(t *testing.T) {
			b, err := JSON(ev)
			require.NoError(t, err)
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, b, "", "  "))
			pretty.WriteByte('\n')
			file := filepath.Join("testdata", name+".golden.json")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(file, pretty.Bytes(), 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, string(want), pretty.String())
		})
	}
}

// Each message says what happened and carries the commands that act on it.
func TestMessagesCarryCommands(t *testing.T) {
	evs := events()
	cases := map[string]struct {
		title    string
		commands []string
	}{
		"approval_requested": {"Approval needed: control.default_sg_closed in 111111111111 (prod-payments), eu-west-1", []string{
			"orgguard approvals show rem-111111111111-3f2a9c0d1e-4be1c2a0",
			`orgguard approve rem-111111111111-3f2a9c0d1e-4be1c2a0 --digest sha256:0123456789abcdef --reason "..."`,
			`orgguard reject rem-111111111111-3f2a9c0d1e-4be1c2a0 --digest sha256:0123456789abcdef --reason "..."`}},
		"approval_superseded":      {"Approval request closed, the plan changed:", []string{"orgguard approvals show rem-111111111111-3f2a9c0d1e-9a8b7c6d"}},
		"remediated":               {"Remediated: control.default_sg_closed", []string{"orgguard audit history rem-111111111111-3f2a9c0d1e-4be1c2a0"}},
		"remediation_failed":       {"Remediation failed:", []string{"orgguard approvals show rem-111111111111-3f2a9c0d1e-4be1c2a0", "orgguard audit history rem-111111111111-3f2a9c0d1e-4be1c2a0"}},
		"remediation_not_verified": {"Remediation not verified:", []string{"orgguard approvals show rem-111111111111-3f2a9c0d1e-4be1c2a0"}},
		"approval_expired":         {"Approval expired, nothing was changed:", []string{"orgguard audit history rem-111111111111-3f2a9c0d1e-4be1c2a0"}},
		"rollout_stopped":          {"Rollout apply-1 stopped: a wave spent its failure budget", []string{"orgguard status apply-1"}},
		"drift_detected":           {"Drift found by scheduled check baseline-check: 7 non-compliant findings in 2 accounts", []string{"orgguard status sched-baseline-check-2026-12-03T06:00:00Z"}},
	}
	require.Len(t, cases, len(evs))
	for name, c := range cases {
		m := NewMessage(evs[name])
		assert.True(t, strings.HasPrefix(m.Title, c.title), "%s: %q", name, m.Title)
		var cmds []string
		for _, cmd := range m.Commands {
			cmds = append(cmds, cmd.Command)
		}
		for _, want := range c.commands {
			assert.Contains(t, cmds, want, name)
			assert.Contains(t, m.Text, want, "%s: the plain text carries the commands too", name)
		}
	}
	stopped := NewMessage(evs["rollout_stopped"])
	assert.Contains(t, stopped.Text, `wave "canary": 2 of 3 accounts failed`)
	assert.Contains(t, stopped.Text, "failed 222222222222: assume role: AccessDenied")
	assert.Contains(t, NewMessage(evs["drift_detected"]).Text, "111111111111: 5 non-compliant")
	assert.Contains(t, NewMessage(evs["remediation_failed"]).Text, "Error: AccessDenied")
}

func TestSlack(t *testing.T) {
	ev := events()["approval_requested"]
	b, err := Slack(ev)
	require.NoError(t, err)
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"fields"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(b, &msg))
	assert.Equal(t, "Approval needed: control.default_sg_closed in 111111111111 (prod-payments), eu-west-1", msg.Text, "the fallback text")
	require.NotEmpty(t, msg.Blocks)
	assert.Equal(t, "header", msg.Blocks[0].Type)
	assert.Equal(t, "plain_text", msg.Blocks[0].Text.Type)
	assert.LessOrEqual(t, len(msg.Blocks[0].Text.Text), slackHeaderMax)
	var fields, texts []string
	for _, bl := range msg.Blocks {
		assert.Contains(t, []string{"header", "section", "context"}, bl.Type)
		assert.LessOrEqual(t, len(bl.Fields), slackFieldsMax)
		for _, f := range bl.Fields {
			assert.Equal(t, "mrkdwn", f.Type)
			fields = append(fields, f.Text)
		}
		if bl.Text != nil && bl.Type == "section" {
			assert.LessOrEqual(t, len(bl.Text.Text), slackTextMax)
			texts = append(texts, bl.Text.Text)
		}
	}
	assert.Contains(t, fields, "*Account*\n111111111111 (prod-payments)")
	assert.Contains(t, fields, "*Policy*\nsecurity-team: 1 of alice, bob")
	all := strings.Join(texts, "\n")
	assert.Contains(t, all, "(&lt;all&gt; &amp; more)", "mrkdwn is escaped")
	assert.Contains(t, all, "```\nrevoke all rules of the default security group\n- ingress tcp 22 from 0.0.0.0/0")
	assert.Contains(t, all, "*To act*\n```\norgguard approvals show rem-111111111111-3f2a9c0d1e-4be1c2a0\norgguard approve rem-111111111111-3f2a9c0d1e-4be1c2a0 --digest sha256:0123456789abcdef --reason \"...\"")
	last := msg.Blocks[len(msg.Blocks)-1]
	assert.Equal(t, "context", last.Type)
	assert.Contains(t, last.Elements[0].Text, ev.ID)

	// A long diff is clipped to Slack's limit, fences kept.
	long := remediationEvent(workflows.EventApprovalRequested, workflows.RemPending)
	long.Remediation.ChangeDiff = strings.Repeat("- ingress tcp 22 from 0.0.0.0/0\n", 500)
	long.Remediation.Evidence = strings.Repeat("é", 4000)
	b, err = Slack(long)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &msg))
	for _, bl := range msg.Blocks {
		if bl.Text != nil {
			assert.LessOrEqual(t, len(bl.Text.Text), slackTextMax)
			assert.True(t, utf8.ValidString(bl.Text.Text), "clipped on a rune boundary")
		}
	}
	assert.True(t, strings.HasSuffix(msg.Blocks[3].Text.Text, "…\n```"), "clipped inside the fence: %q", msg.Blocks[3].Text.Text[len(msg.Blocks[3].Text.Text)-20:])
}

func TestTeams(t *testing.T) {
	ev := events()["remediation_failed"]
	b, err := Teams(ev)
	require.NoError(t, err)
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string  `json:"contentType"`
			ContentURL  *string `json:"contentUrl"`
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct {
					Type     string `json:"type"`
					Text     string `json:"text"`
					Color    string `json:"color"`
					FontType string `json:"fontType"`
					Wrap     bool   `json:"wrap"`
					Facts    []struct {
						Title string `json:"title"`
						Value string `json:"value"`
					} `json:"facts"`
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	require.NoError(t, json.Unmarshal(b, &msg))
	assert.Equal(t, "message", msg.Type)
	require.Len(t, msg.Attachments, 1)
	att := msg.Attachments[0]
	assert.Equal(t, "application/vnd.microsoft.card.adaptive", att.ContentType)
	assert.Nil(t, att.ContentURL)
	assert.Equal(t, "AdaptiveCard", att.Content.Type)
	assert.Equal(t, "http://adaptivecards.io/schemas/adaptive-card.json", att.Content.Schema)
	assert.Equal(t, "1.4", att.Content.Version)
	body := att.Content.Body
	require.NotEmpty(t, body)
	assert.Equal(t, "TextBlock", body[0].Type)
	assert.True(t, strings.HasPrefix(body[0].Text, "Remediation failed: control.default_sg_closed"))
	assert.Equal(t, "Attention", body[0].Color)
	facts := map[string]string{}
	var mono []string
	for _, el := range body {
		assert.Contains(t, []string{"TextBlock", "FactSet"}, el.Type, "only elements of Adaptive Cards 1.0")
		for _, f := range el.Facts {
			facts[f.Title] = f.Value
		}
		if el.FontType == "Monospace" {
			mono = append(mono, el.Text)
		}
	}
	assert.Equal(t, "111111111111 (prod-payments)", facts["Account"])
	assert.Equal(t, "failed", facts["Status"])
	assert.Contains(t, facts["Error"], "AccessDenied")
	assert.Contains(t, mono, "orgguard approvals show rem-111111111111-3f2a9c0d1e-4be1c2a0")
	assert.Contains(t, mono, "orgguard audit history rem-111111111111-3f2a9c0d1e-4be1c2a0")
}

func TestSNSMessage(t *testing.T) {
	ev := events()["approval_requested"]
	m, err := SNS(ev)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"event_type": "approval_requested", "schema": Schema, "run_id": "apply-1",
		"account_id": "111111111111", "guardrail_id": "control.default_sg_closed"}, m.Attributes)
	var body Message
	require.NoError(t, json.Unmarshal([]byte(m.Message), &body), "the message is the generic JSON")
	assert.Equal(t, Schema, body.Schema)
	assert.Equal(t, ev.ID, body.ID)
	assert.Equal(t, "orgguard: Approval needed: control.default_sg_closed in 111111111111 (prod-payments), eu-west-1", m.Subject)
	long := snsSubject("orgguard: " + strings.Repeat("é", 30) + strings.Repeat("x", 150))
	assert.Len(t, long, snsSubjectMax)
	assert.True(t, strings.HasSuffix(long, "..."), "clipped: %q", long)
	for _, r := range long {
		assert.True(t, r >= 0x20 && r <= 0x7e, "printable ASCII: %q", r)
	}
	drift, err := SNS(events()["drift_detected"])
	require.NoError(t, err)
	assert.NotContains(t, drift.Attributes, "account_id")
	assert.Equal(t, "orgguard: Drift found by scheduled check baseline-check: 7 non-compliant findings in 2 accounts", drift.Subject)
	assert.Equal(t, "a b...c", snsSubject("a\nb…c"))
}
