package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/orgguard/orgguard/workflows"
)

// Schema names the generic JSON message's version. A receiver checks it;
// fields are only ever added within a version (docs/notifications.md).
const Schema = "orgguard.notification/v1"

// Message is the generic JSON payload (format "json", and the SNS
// message body).
type Message struct {
	Schema string              `json:"schema"`
	ID     string              `json:"id"`
	Type   workflows.EventType `json:"type"`
	At     time.Time           `json:"at"`
	// Title and Text say it for a person; the structured fields say it for
	// a program.
	Title       string                      `json:"title"`
	Text        string                      `json:"text"`
	RunID       string                      `json:"run_id"`
	PackDigest  string                      `json:"pack_digest,omitempty"`
	Remediation *workflows.RemediationEvent `json:"remediation,omitempty"`
	Rollout     *workflows.RolloutEvent     `json:"rollout,omitempty"`
	// Commands are what a person runs to act on the event.
	Commands []Command `json:"commands,omitempty"`
}

// Command is one orgguard command line with what it does.
type Command struct {
	Label   string `json:"label"`
	Command string `json:"command"`
}

// Fact is one labelled value of a message.
type Fact struct{ Name, Value string }

// view is an event as people read it, whatever the format.
type view struct {
	Title string
	// Tone: "good", "warning" or "attention".
	Tone  string
	Facts []Fact
	// Text is the evidence or the reason, Diff the planned change.
	Text     string
	Diff     string
	Commands []Command
}

// NewMessage builds the generic JSON message of an event.
func NewMessage(ev workflows.Event) Message {
	v := render(ev)
	return Message{Schema: Schema, ID: ev.ID, Type: ev.Type, At: ev.At.UTC(), Title: v.Title, Text: v.plain(),
		RunID: ev.RunID, PackDigest: ev.Digest, Remediation: ev.Remediation, Rollout: ev.Rollout, Commands: v.Commands}
}

// JSON is the format "json" body.
func JSON(ev workflows.Event) ([]byte, error) {
	return marshal(NewMessage(ev))
}

// marshal is json.Marshal without HTML escaping: "<", ">" and "&" stay as
// they are in diffs and evidence (these bodies are never embedded in HTML),
// so the raw body a receiver logs reads as the message does.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// plain is the view as plain text: facts, text, diff, commands.
func (v view) plain() string {
	var b strings.Builder
	for _, f := range v.Facts {
		fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
	}
	if v.Text != "" {
		fmt.Fprintf(&b, "\n%s\n", v.Text)
	}
	if v.Diff != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(v.Diff, "\n"))
	}
	if len(v.Commands) > 0 {
		b.WriteString("\nTo act:\n")
		for _, c := range v.Commands {
			fmt.Fprintf(&b, "  %s\n", c.Command)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func render(ev workflows.Event) view {
	if re := ev.Remediation; re != nil {
		return renderRemediation(ev.Type, re, ev.RunID)
	}
	if ro := ev.Rollout; ro != nil {
		return renderRollout(ev.Type, ro, ev.RunID)
	}
	return view{Title: "orgguard: " + string(ev.Type), Tone: "warning"}
}

func renderRemediation(t workflows.EventType, re *workflows.RemediationEvent, runID string) view {
	account := re.AccountID
	if re.AccountName != "" {
		account += " (" + re.AccountName + ")"
	}
	where := fmt.Sprintf("%s in %s, %s", re.GuardrailID, account, re.Region)
	v := view{Tone: "warning"}
	show := Command{Label: "Review", Command: "orgguard approvals show " + re.ID}
	history := Command{Label: "History", Command: "orgguard audit history " + re.ID}
	switch t {
	case workflows.EventApprovalRequested:
		v.Title = "Approval needed: " + where
		if re.Escalation {
			v.Title = "Approval needed (escalated to " + re.Policy + "): " + where
		}
		digest := re.ChangeDigest
		if digest == "" {
			digest = "DIGEST"
		}
		v.Commands = []Command{show,
			{Label: "Approve", Command: fmt.Sprintf("orgguard approve %s --digest %s --reason \"...\"", re.ID, digest)},
			{Label: "Reject", Command: fmt.Sprintf("orgguard reject %s --digest %s --reason \"...\"", re.ID, digest)}}
	case workflows.EventApprovalSuperseded:
		v.Title, v.Tone = "Approval request closed, the plan changed: "+where, "good"
		v.Commands = []Command{{Label: "Review the new request", Command: "orgguard approvals show " + re.SupersededBy}}
	case workflows.EventRemediated:
		v.Title, v.Tone = "Remediated: "+where, "good"
		if re.Rollback {
			v.Title = "Rolled back: " + where
		}
		v.Commands = []Command{history}
	case workflows.EventRemediationFailed:
		v.Title, v.Tone = "Remediation failed: "+where, "attention"
		if re.Status == workflows.RemNotVerified {
			v.Title = "Remediation not verified: " + where
		}
		v.Commands = []Command{show, history}
	case workflows.EventApprovalExpired:
		v.Title = "Approval expired, nothing was changed: " + where
		v.Commands = []Command{history}
	default:
		v.Title = string(t) + ": " + where
		v.Commands = []Command{show}
	}
	add := func(name, value string) {
		if value != "" {
			v.Facts = append(v.Facts, Fact{name, value})
		}
	}
	add("Remediation", re.ID)
	add("Status", re.Status)
	add("Account", account)
	add("Region", re.Region)
	g := re.GuardrailID
	if len(re.Controls) > 0 {
		g += " (" + strings.Join(re.Controls, ", ") + ")"
	}
	add("Guardrail", g)
	add("Resource", re.Resource)
	if t == workflows.EventApprovalRequested || t == workflows.EventApprovalExpired {
		who := strings.Join(re.Approvers, ", ")
		if len(re.IdPGroups) > 0 {
			who = strings.TrimPrefix(who+", members of "+strings.Join(re.IdPGroups, ", "), ", ")
		}
		add("Policy", fmt.Sprintf("%s: %d of %s", re.Policy, max(re.Quorum, 1), who))
		if !re.Deadline.IsZero() {
			add("Deadline", re.Deadline.UTC().Format(time.RFC3339))
		}
	}
	add("Requested by", re.RequestedBy)
	add("Approved by", strings.Join(re.ApprovedBy, ", "))
	add("Replaced by", re.SupersededBy)
	add("Error", re.Error)
	add("Still found", re.Remaining)
	add("Run", runID)
	v.Text = re.Evidence
	if re.ChangeSummary != "" || re.ChangeDiff != "" {
		v.Diff = strings.TrimSpace(re.ChangeSummary + "\n" + re.ChangeDiff)
	}
	if t == workflows.EventRemediated && len(re.Calls) > 0 {
		v.Diff = "Applied:\n" + strings.Join(re.Calls, "\n")
	}
	return v
}

func renderRollout(t workflows.EventType, ro *workflows.RolloutEvent, runID string) view {
	v := view{Tone: "attention"}
	status := Command{Label: "Progress", Command: "orgguard status " + runID}
	switch t {
	case workflows.EventRolloutStopped:
		v.Title = fmt.Sprintf("Rollout %s stopped: a wave spent its failure budget", runID)
		v.Text = ro.StoppedReason
		v.Commands = []Command{status}
	case workflows.EventDriftDetected:
		v.Tone = "warning"
		v.Title = fmt.Sprintf("Drift found by scheduled %s %s: %d non-compliant finding%s in %d account%s",
			ro.Mode, strings.TrimPrefix(ro.Schedule, "sched-"), ro.Totals.NonCompliant, plural(ro.Totals.NonCompliant),
			ro.DriftAccounts, plural(ro.DriftAccounts))
		v.Commands = []Command{status}
	default:
		v.Title = fmt.Sprintf("%s: rollout %s", t, runID)
		v.Commands = []Command{status}
	}
	add := func(name, value string) {
		if value != "" {
			v.Facts = append(v.Facts, Fact{name, value})
		}
	}
	add("Run", runID)
	add("Mode", string(ro.Mode))
	if ro.Schedule != "" {
		add("Schedule", strings.TrimPrefix(ro.Schedule, "sched-"))
	}
	add("Requested by", ro.RequestedBy)
	tot := ro.Totals
	add("Findings", fmt.Sprintf("%d compliant, %d non-compliant, %d remediated, %d pending approval", tot.Compliant, tot.NonCompliant, tot.Remediated, tot.PendingApproval))
	var waves []string
	for _, w := range ro.Waves {
		waves = append(waves, fmt.Sprintf("%s: %d/%d succeeded, %d failed", w.Name, w.Succeeded, w.Total, w.Failed))
	}
	add("Waves", strings.Join(waves, "; "))
	var lines []string
	for _, f := range ro.Failed {
		lines = append(lines, fmt.Sprintf("failed %s: %s", f.AccountID, f.Error))
	}
	for _, d := range ro.Drift {
		lines = append(lines, fmt.Sprintf("%s: %d non-compliant", d.AccountID, d.NonCompliant))
	}
	if more := ro.DriftAccounts - len(ro.Drift); more > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more account%s", more, plural(more)))
	}
	v.Diff = strings.Join(lines, "\n")
	return v
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
