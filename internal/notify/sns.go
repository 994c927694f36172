package notify

import (
	"strings"

	"github.com/orgguard/orgguard/workflows"
)

// snsSubjectMax: SNS subjects are under 100 characters.
const snsSubjectMax = 99

// SNSMessage is what orgguard publishes to an SNS topic: a subject for
// e-mail subscribers, the JSON message as the body, and attributes that
// subscription filter policies match on.
type SNSMessage struct {
	Subject    string
	Message    string
	Attributes map[string]string
}

// SNS builds the SNS publication of an event.
func SNS(ev workflows.Event) (SNSMessage, error) {
	body, err := JSON(ev)
	if err != nil {
		return SNSMessage{}, err
	}
	m := SNSMessage{Subject: snsSubject("orgguard: " + render(ev).Title), Message: string(body),
		Attributes: map[string]string{"event_type": string(ev.Type), "schema": Schema}}
	if ev.RunID != "" {
		m.Attributes["run_id"] = ev.RunID
	}
	if re := ev.Remediation; re != nil {
		m.Attributes["account_id"] = re.AccountID
		m.Attributes["guardrail_id"] = re.GuardrailID
	}
	return m, nil
}

// snsSubject keeps what SNS accepts in a subject: printable ASCII, no line
// breaks, under 100 characters.
func snsSubject(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == '…':
			b.WriteString("...")
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > snsSubjectMax {
		out = out[:snsSubjectMax-3] + "..."
	}
	return out
}
