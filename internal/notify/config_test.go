package notify

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/workflows"
)

const slackURL = "https://hooks.slack.com/services/T000/B000/sEcReTtOkEn"

func writeConfig(t *testing.T, src string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	path := filepath.Join(dir, "notify.hcl")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	return path
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `
destination "secops-slack" {
  format  = "slack"
  url_env = "SLACK_URL"
  events  = ["approval_requested", "remediation_failed"]
}
destination "ccoe-teams" {
  format   = "teams"
  url_file = "teams-url"
}
destination "siem" {
  url         = "https://siem.example.com/hooks/orgguard?key=abc"
  secret_file = "siem-secret"
}
destination "audit-topic" {
  format    = "sns"
  topic_arn = "arn:aws:sns:eu-west-1:111122223333:orgguard-events"
  events    = ["remediated"]
}
policy_notify {
  format     = "slack"
  secret_env = "POLICY_SECRET"
}
`, map[string]string{"teams-url": "https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=xyz\n", "siem-secret": "s3cret\n"})
	cfg, diags := LoadConfig(path, env(map[string]string{"SLACK_URL": slackURL, "POLICY_SECRET": "p0licy"}))
	require.False(t, diags.HasErrors(), DiagnosticsText(diags))
	require.Len(t, cfg.Destinations, 4)
	byName := map[string]Destination{}
	for _, d := range cfg.Destinations {
		byName[d.Name] = d
	}
	assert.Equal(t, slackURL, byName["secops-slack"].URL)
	assert.Equal(t, FormatSlack, byName["secops-slack"].Format)
	assert.Nil(t, byName["secops-slack"].Secret)
	assert.Equal(t, "https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=xyz", byName["ccoe-teams"].URL, "the file's newline is not part of the URL")
	assert.Equal(t, FormatJSON, byName["siem"].Format, "json is the default format")
	assert.Equal(t, []byte("s3cret"), byName["siem"].Secret, "the file's newline is not part of the secret")
	assert.Equal(t, "arn:aws:sns:eu-west-1:111122223333:orgguard-events", byName["audit-topic"].TopicARN)
	assert.Equal(t, PolicyDefaults{Format: FormatSlack, Secret: []byte("p0licy")}, cfg.Policy)

	names := func(ds []Destination) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		return out
	}
	assert.Equal(t, []string{"secops-slack", "ccoe-teams", "siem"}, names(cfg.For(workflows.EventApprovalRequested)))
	assert.Equal(t, []string{"ccoe-teams", "siem", "audit-topic"}, names(cfg.For(workflows.EventRemediated)))
	assert.Equal(t, []string{"ccoe-teams", "siem"}, names(cfg.For(workflows.EventDriftDetected)))
	var none *Config
	assert.Empty(t, none.For(workflows.EventRemediated), "no config: no destinations")

	// Labels name the host, never the token in the path or query.
	assert.Equal(t, "secops-slack (https://hooks.slack.com/…)", byName["secops-slack"].Label())
	assert.Equal(t, "siem (https://siem.example.com/…)", byName["siem"].Label())
	assert.Equal(t, "audit-topic (sns arn:aws:sns:eu-west-1:111122223333:orgguard-events)", byName["audit-topic"].Label())
}

func TestLoadConfigDiagnostics(t *testing.T) {
	cases := []struct {
		name, src, want string
		env             map[string]string
	}{
		{"json without secret", `destination "siem" { url = "https://siem.example.com/x" }`, "Missing secret", nil},
		{"unknown event", `destination "s" {
  format = "slack"
  url = "https://hooks.slack.com/services/x"
  events = ["remediatd"]
}`, `"remediatd" is not an event`, nil},
		{"duplicate", `destination "s" {
  format = "slack"
  url = "https://hooks.slack.com/services/x"
}
destination "s" {
  format = "slack"
  url = "https://hooks.slack.com/services/y"
}`, "Duplicate destination", nil},
		{"plain http", `destination "s" {
  format = "slack"
  url = "http://hooks.example.com/services/x"
}`, "Insecure webhook URL", nil},
		{"url env unset", `destination "s" {
  format = "slack"
  url_env = "NOPE"
}`, "environment variable NOPE is empty or not set", nil},
		{"two urls", `destination "s" {
  format = "slack"
  url = "https://hooks.slack.com/services/x"
  url_env = "U"
}`, "exactly one of url, url_env, url_file", map[string]string{"U": slackURL}},
		{"secret env unset", `destination "s" {
  url = "https://siem.example.com/x"
  secret_env = "NOPE"
}`, "environment variable NOPE is empty or not set", nil},
		{"sns without topic", `destination "t" { format = "sns" }`, "needs topic_arn", nil},
		{"sns with url", `destination "t" {
  format = "sns"
  topic_arn = "arn:aws:sns:eu-west-1:111122223333:t"
  url = "https://x.example.com"
}`, "not a URL or secret", nil},
		{"bad arn", `destination "t" {
  format = "sns"
  topic_arn = "arn:aws:sqs:eu-west-1:111122223333:q"
}`, "not an SNS topic ARN", nil},
		{"bad format", `destination "t" { format = "email" }`, `format = "email"`, nil},
		{"not a url", `destination "s" {
  format = "slack"
  url_env = "U"
}`, "is not an http(s) URL", map[string]string{"U": "xoxb-sEcReTtOkEn"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.src, nil)
			_, diags := LoadConfig(path, env(c.env))
			require.True(t, diags.HasErrors())
			text := DiagnosticsText(diags)
			assert.Contains(t, text, c.want)
			assert.Contains(t, text, path+":", "diagnostics say where")
			assert.NotContains(t, text, "sEcReTtOkEn", "diagnostics never print a secret")
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		slackURL: "https://hooks.slack.com/…",
		"https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=xyz": "https://prod-00.westeurope.logic.azure.com:443/…",
		"https://siem.example.com":           "https://siem.example.com",
		"https://siem.example.com/":          "https://siem.example.com",
		"https://siem.example.com?token=abc": "https://siem.example.com/…",
		"not a url":                          "<webhook>",
	} {
		assert.Equal(t, want, RedactURL(in), in)
		assert.False(t, strings.Contains(RedactURL(in), "sEcReT") || strings.Contains(RedactURL(in), "sig="), in)
	}
}

// The same config in HCL's JSON syntax, for configs generated by tools.
func TestLoadConfigJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notify.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
  "destination": {
    "secops-slack": {"format": "slack", "url_env": "SLACK_URL", "events": ["approval_requested"]},
    "audit-topic": {"format": "sns", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:orgguard-events"}
  },
  "policy_notify": {"secret_env": "POLICY_SECRET"}
}`), 0o600))
	cfg, diags := LoadConfig(path, env(map[string]string{"SLACK_URL": slackURL, "POLICY_SECRET": "p"}))
	require.False(t, diags.HasErrors(), DiagnosticsText(diags))
	require.Len(t, cfg.Destinations, 2)
	assert.Equal(t, slackURL, cfg.Destinations[0].URL)
	assert.Equal(t, []workflows.EventType{workflows.EventApprovalRequested}, cfg.Destinations[0].Events)
	assert.Equal(t, FormatSNS, cfg.Destinations[1].Format)
	assert.Equal(t, []byte("p"), cfg.Policy.Secret)
}

// The example config in docs/notifications.md loads as the doc says.
func TestDocExampleConfigLoads(t *testing.T) {
	doc, err := os.ReadFile("../../docs/notifications.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## The worker's notification config\n\n```hcl\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "no hcl example in docs/notifications.md")
	path := writeConfig(t, string(m[1]), nil)
	require.NoError(t, os.MkdirAll(filepath.Join(filepath.Dir(path), "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "secrets", "teams-url"), []byte("https://prod-00.westeurope.logic.azure.com/workflows/x?sig=y\n"), 0o600))
	cfg, diags := LoadConfig(path, env(map[string]string{"ORGGUARD_SLACK_WEBHOOK_URL": slackURL, "ORGGUARD_SIEM_HMAC_SECRET": "s", "ORGGUARD_WEBHOOK_SECRET": "p"}))
	require.False(t, diags.HasErrors(), DiagnosticsText(diags))
	var names []string
	for _, d := range cfg.Destinations {
		names = append(names, d.Name+":"+string(d.Format))
	}
	assert.Equal(t, []string{"secops-slack:slack", "ccoe-teams:teams", "siem:json", "audit-topic:sns"}, names)
	assert.Equal(t, FormatJSON, cfg.Policy.Format)
	assert.Equal(t, []byte("p"), cfg.Policy.Secret)
}
