package notify

import (
	"github.com/orgguard/orgguard/workflows"
)

// AdaptiveCardVersion is the card schema version orgguard sends: the
// highest that Teams renders on every client and that the Workflows
// (Power Automate) "Post to a channel when a webhook request is
// received" flow accepts.
const AdaptiveCardVersion = "1.4"

// Teams is the format "teams" body: a message with one Adaptive Card
// attachment, which a Teams Workflows webhook posts to its channel (the
// retired Office 365 connector webhooks took the same envelope).
func Teams(ev workflows.Event) ([]byte, error) {
	v := render(ev)
	color := map[string]string{"good": "Good", "warning": "Warning", "attention": "Attention"}[v.Tone]
	body := []map[string]any{{
		"type": "TextBlock", "text": v.Title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": color,
	}}
	if len(v.Facts) > 0 {
		facts := make([]map[string]string, 0, len(v.Facts))
		for _, f := range v.Facts {
			facts = append(facts, map[string]string{"title": f.Name, "value": f.Value})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if v.Text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": v.Text, "wrap": true})
	}
	if v.Diff != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": v.Diff, "wrap": true, "fontType": "Monospace"})
	}
	if len(v.Commands) > 0 {
		body = append(body, map[string]any{"type": "TextBlock", "text": "To act", "weight": "Bolder", "wrap": true, "spacing": "Medium"})
		for _, c := range v.Commands {
			body = append(body, map[string]any{"type": "TextBlock", "text": c.Command, "wrap": true, "fontType": "Monospace", "spacing": "Small"})
		}
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": "orgguard · " + string(ev.Type) + " · " + ev.ID, "isSubtle": true, "size": "Small", "wrap": true})
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": AdaptiveCardVersion,
		"body":    body,
		"msteams": map[string]any{"width": "Full"},
	}
	return marshal(map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	})
}
