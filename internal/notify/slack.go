package notify

import (
	"strings"
	"unicode/utf8"

	"github.com/orgguard/orgguard/workflows"
)

// Slack's limits on incoming-webhook blocks (api.slack.com/reference/block-kit).
const (
	slackHeaderMax = 150  // header plain_text
	slackTextMax   = 3000 // section text
	slackFieldMax  = 2000 // each section field
	slackFieldsMax = 10   // fields per section
)

// Slack is the format "slack" body: an incoming-webhook message whose
// text is the fallback (notifications, screen readers) and whose blocks
// hold the title, the facts, the evidence, the change and the commands.
func Slack(ev workflows.Event) ([]byte, error) {
	v := render(ev)
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Fields   []text `json:"fields,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	blocks := []block{{Type: "header", Text: &text{"plain_text", clip(v.Title, slackHeaderMax)}}}
	for i := 0; i < len(v.Facts); i += slackFieldsMax {
		var fields []text
		for _, f := range v.Facts[i:min(i+slackFieldsMax, len(v.Facts))] {
			fields = append(fields, text{"mrkdwn", clip("*"+slackEscape(f.Name)+"*\n"+slackEscape(f.Value), slackFieldMax)})
		}
		blocks = append(blocks, block{Type: "section", Fields: fields})
	}
	if v.Text != "" {
		blocks = append(blocks, block{Type: "section", Text: &text{"mrkdwn", clip(slackEscape(v.Text), slackTextMax)}})
	}
	if v.Diff != "" {
		blocks = append(blocks, block{Type: "section", Text: &text{"mrkdwn", slackCode(v.Diff)}})
	}
	if len(v.Commands) > 0 {
		var cmds []string
		for _, c := range v.Commands {
			cmds = append(cmds, c.Command)
		}
		blocks = append(blocks, block{Type: "section", Text: &text{"mrkdwn", "*To act*\n" + slackCode(strings.Join(cmds, "\n"))}})
	}
	blocks = append(blocks, block{Type: "context", Elements: []text{{"mrkdwn", slackEscape("orgguard · " + string(ev.Type) + " · " + ev.ID)}}})
	return marshal(struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{Text: slackEscape(v.Title), Blocks: blocks})
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to (a "<" would otherwise start a link or a mention).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackCode is a code block, clipped so that the fences fit in a section.
func slackCode(s string) string {
	return "```\n" + clip(slackEscape(strings.ReplaceAll(s, "```", "'''")), slackTextMax-8) + "\n```"
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
