// Package notify turns orgguard's events into messages people can act on
// (generic JSON, Slack, Microsoft Teams, SNS), signs webhook deliveries
// with HMAC-SHA256, and posts them with bounded retries. The worker's
// notification config (orgguard-worker --notify-config) names the
// destinations; their URLs and secrets stay in the worker and never enter
// workflow history or logs. docs/notifications.md is the reference.
package notify

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/orgguard/orgguard/workflows"
)

// Format is the payload format of a destination.
type Format string

const (
	// FormatJSON is the generic, versioned JSON message (Schema).
	FormatJSON  Format = "json"
	FormatSlack Format = "slack"
	FormatTeams Format = "teams"
	// FormatSNS publishes the JSON message to an SNS topic.
	FormatSNS Format = "sns"
)

// Destination is one place events go. URL and Secret are secrets: they
// are never logged, and never put in a workflow's input or result.
type Destination struct {
	Name   string
	Format Format
	// URL is the webhook (json, slack, teams).
	URL string
	// TopicARN is the SNS topic (sns).
	TopicARN string
	// Secret signs webhook deliveries (X-Orgguard-Signature); required for
	// json webhooks, optional for Slack and Teams, which ignore it.
	Secret []byte
	// Events are the event types it receives; empty: all.
	Events []workflows.EventType
	// Where is the block's file:line, for messages about the config.
	Where string
}

// Wants reports whether the destination receives events of type t.
func (d Destination) Wants(t workflows.EventType) bool {
	return len(d.Events) == 0 || slices.Contains(d.Events, t)
}

// Label names the destination in logs, delivery results and `approvals
// show`: its name and, for a webhook, the host only (the path of a Slack
// or Teams URL is its credential).
func (d Destination) Label() string {
	if d.TopicARN != "" {
		return d.Name + " (sns " + d.TopicARN + ")"
	}
	return d.Name + " (" + RedactURL(d.URL) + ")"
}

// PolicyDefaults say how the worker posts to the webhook an approval
// policy names in a pack (notify { webhook_url = ... }): in which format,
// signed with which secret.
type PolicyDefaults struct {
	Format Format
	Secret []byte
}

// Config is the worker's notification config.
type Config struct {
	Path         string
	Destinations []Destination
	Policy       PolicyDefaults
}

// For returns the destinations that receive events of type t.
func (c *Config) For(t workflows.EventType) []Destination {
	if c == nil {
		return nil
	}
	var out []Destination
	for _, d := range c.Destinations {
		if d.Wants(t) {
			out = append(out, d)
		}
	}
	return out
}

type destinationBlock struct {
	Name       string    `hcl:"name,label"`
	Format     *string   `hcl:"format,optional"`
	URL        *string   `hcl:"url,optional"`
	URLEnv     *string   `hcl:"url_env,optional"`
	URLFile    *string   `hcl:"url_file,optional"`
	TopicARN   *string   `hcl:"topic_arn,optional"`
	SecretEnv  *string   `hcl:"secret_env,optional"`
	SecretFile *string   `hcl:"secret_file,optional"`
	Events     []string  `hcl:"events,optional"`
	DefRange   hcl.Range `hcl:",def_range"`
}

type policyBlock struct {
	Format     *string   `hcl:"format,optional"`
	SecretEnv  *string   `hcl:"secret_env,optional"`
	SecretFile *string   `hcl:"secret_file,optional"`
	DefRange   hcl.Range `hcl:",def_range"`
}

// LoadConfig reads a notification config: HCL, or HCL's JSON syntax when
// the file name ends in .json. getenv reads the
// environment variables the config names (os.Getenv in the worker).
// Secrets are read once, now: a missing secret is an error at start, not
// a lost notification later. Diagnostics carry file:line:col and never a
// secret's value.
func LoadConfig(path string, getenv func(string) string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read notification config", Detail: err.Error()}}
	}
	parse := hclparse.NewParser().ParseHCL
	if strings.HasSuffix(path, ".json") {
		// HCL's JSON syntax: {"destination": {"siem": {"url": …}}}.
		parse = hclparse.NewParser().ParseJSON
	}
	f, diags := parse(src, path)
	if diags.HasErrors() {
		return nil, diags
	}
	var cf struct {
		Destinations []destinationBlock `hcl:"destination,block"`
		Policy       *policyBlock       `hcl:"policy_notify,block"`
	}
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &cf)...)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Config{Path: path, Policy: PolicyDefaults{Format: FormatJSON}}
	l := loader{dir: filepath.Dir(path), getenv: getenv}
	seen := map[string]hcl.Range{}
	for _, b := range cf.Destinations {
		if prev, ok := seen[b.Name]; ok {
			l.errorf(b.DefRange, "Duplicate destination", "destination %q is already defined at %s", b.Name, rangeString(prev))
			continue
		}
		seen[b.Name] = b.DefRange
		if d, ok := l.destination(b); ok {
			c.Destinations = append(c.Destinations, d)
		}
	}
	if b := cf.Policy; b != nil {
		if b.Format != nil {
			switch Format(*b.Format) {
			case FormatJSON, FormatSlack, FormatTeams:
				c.Policy.Format = Format(*b.Format)
			default:
				l.errorf(b.DefRange, "Invalid format", "policy_notify: format = %q: want json, slack or teams", *b.Format)
			}
		}
		c.Policy.Secret = l.secret(b.DefRange, "policy_notify", b.SecretEnv, b.SecretFile)
	}
	diags = append(diags, l.diags...)
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

type loader struct {
	dir    string
	getenv func(string) string
	diags  hcl.Diagnostics
}

func (l *loader) errorf(r hcl.Range, summary, format string, args ...any) {
	rr := r
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &rr})
}

func (l *loader) destination(b destinationBlock) (Destination, bool) {
	d := Destination{Name: b.Name, Format: FormatJSON, Where: rangeString(b.DefRange)}
	n := len(l.diags)
	if b.Format != nil {
		d.Format = Format(*b.Format)
	}
	for _, e := range b.Events {
		t := workflows.EventType(e)
		if !slices.Contains(workflows.EventTypes(), t) {
			names := make([]string, 0, len(workflows.EventTypes()))
			for _, k := range workflows.EventTypes() {
				names = append(names, string(k))
			}
			l.errorf(b.DefRange, "Unknown event", "destination %q: events: %q is not an event; events are %s", b.Name, e, strings.Join(names, ", "))
			continue
		}
		d.Events = append(d.Events, t)
	}
	switch d.Format {
	case FormatSNS:
		if b.URL != nil || b.URLEnv != nil || b.URLFile != nil || b.SecretEnv != nil || b.SecretFile != nil {
			l.errorf(b.DefRange, "Misplaced attribute", "destination %q: an sns destination takes topic_arn (and events), not a URL or secret", b.Name)
		}
		if b.TopicARN == nil {
			l.errorf(b.DefRange, "Missing topic_arn", "destination %q: format = \"sns\" needs topic_arn", b.Name)
			break
		}
		if a, err := arn.Parse(*b.TopicARN); err != nil || a.Service != "sns" || a.Region == "" {
			l.errorf(b.DefRange, "Invalid SNS topic ARN", "destination %q: %q is not an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:orgguard-events", b.Name, *b.TopicARN)
			break
		}
		d.TopicARN = *b.TopicARN
	case FormatJSON, FormatSlack, FormatTeams:
		if b.TopicARN != nil {
			l.errorf(b.DefRange, "Misplaced attribute", "destination %q: topic_arn belongs to format = \"sns\"", b.Name)
		}
		d.URL = l.webhookURL(b)
		d.Secret = l.secret(b.DefRange, "destination "+fmt.Sprintf("%q", b.Name), b.SecretEnv, b.SecretFile)
		if d.Format == FormatJSON && d.Secret == nil && len(l.diags) == n {
			l.errorf(b.DefRange, "Missing secret", "destination %q: a json webhook is signed (X-Orgguard-Signature), so it needs secret_env or secret_file; see docs/notifications.md", b.Name)
		}
	default:
		l.errorf(b.DefRange, "Invalid format", "destination %q: format = %q: want json, slack, teams or sns", b.Name, d.Format)
	}
	return d, len(l.diags) == n
}

// webhookURL reads the URL from exactly one of url, url_env, url_file.
// Slack and Teams URLs are credentials: url_env or url_file keep them out
// of the config file.
func (l *loader) webhookURL(b destinationBlock) string {
	set := 0
	for _, p := range []*string{b.URL, b.URLEnv, b.URLFile} {
		if p != nil {
			set++
		}
	}
	if set != 1 {
		l.errorf(b.DefRange, "Missing webhook URL", "destination %q: give exactly one of url, url_env, url_file", b.Name)
		return ""
	}
	var raw, from string
	switch {
	case b.URL != nil:
		raw, from = *b.URL, "url"
	case b.URLEnv != nil:
		raw, from = strings.TrimSpace(l.getenv(*b.URLEnv)), "environment variable "+*b.URLEnv
		if raw == "" {
			l.errorf(b.DefRange, "Webhook URL not set", "destination %q: environment variable %s is empty or not set", b.Name, *b.URLEnv)
			return ""
		}
	default:
		p := relTo(l.dir, *b.URLFile)
		v, err := os.ReadFile(p)
		if err != nil {
			l.errorf(b.DefRange, "Cannot read webhook URL", "destination %q: %v", b.Name, err)
			return ""
		}
		raw, from = strings.TrimSpace(string(v)), "file "+p
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		// The value is not printed: it may be a secret put in the wrong place.
		l.errorf(b.DefRange, "Invalid webhook URL", "destination %q: the URL from %s is not an http(s) URL", b.Name, from)
		return ""
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		l.errorf(b.DefRange, "Insecure webhook URL", "destination %q: %s uses plain http; only loopback receivers may", b.Name, RedactURL(raw))
		return ""
	}
	return raw
}

func (l *loader) secret(r hcl.Range, what string, env, file *string) []byte {
	switch {
	case env != nil && file != nil:
		l.errorf(r, "Conflicting secret", "%s: give secret_env or secret_file, not both", what)
	case env != nil:
		v := l.getenv(*env)
		if v == "" {
			l.errorf(r, "Secret not set", "%s: environment variable %s is empty or not set", what, *env)
			return nil
		}
		return []byte(v)
	case file != nil:
		p := relTo(l.dir, *file)
		v, err := os.ReadFile(p)
		if err != nil {
			l.errorf(r, "Cannot read secret", "%s: %v", what, err)
			return nil
		}
		// A trailing newline is an editor's, not the secret's.
		v = []byte(strings.TrimRight(string(v), "\r\n"))
		if len(v) == 0 {
			l.errorf(r, "Empty secret", "%s: %s is empty", what, p)
			return nil
		}
		return v
	}
	return nil
}

func relTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// DiagnosticsText formats diagnostics one per line as file:line:col:
// summary: detail.
func DiagnosticsText(diags hcl.Diagnostics) string {
	var lines []string
	for _, d := range diags {
		where := ""
		if d.Subject != nil {
			where = rangeString(*d.Subject) + ": "
		}
		lines = append(lines, where+d.Summary+": "+d.Detail)
	}
	return strings.Join(lines, "\n")
}
