package notify

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL keeps a webhook URL's scheme and host: the path and query of
// a Slack, Teams or Power Automate URL are its credential
// (hooks.slack.com/services/T…/B…/<token>, …/workflows/…?sig=…), and a
// generic receiver's may be too.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<webhook>"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

// RedactError is err's text without rawURL's path and query: a *url.Error
// from an HTTP client prints the full URL, token included.
func RedactError(err error, rawURL string) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + " " + RedactURL(ue.URL) + ": " + ue.Err.Error()
	}
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, RedactURL(rawURL))
		if u, err := url.Parse(rawURL); err == nil && len(u.Path) > 1 {
			msg = strings.ReplaceAll(msg, u.Path, "/…")
		}
	}
	return msg
}
