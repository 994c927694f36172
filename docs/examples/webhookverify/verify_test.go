package webhookverify

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/notify"
)

// docs/notifications.md shows these files exactly, so the snippets people
// copy are the ones the tests run.
func TestDocShowsTheseFiles(t *testing.T) {
	doc, err := os.ReadFile("../../notifications.md")
	require.NoError(t, err)
	for _, name := range []string{"verify.go", "verify.py"} {
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		re := regexp.MustCompile("(?s)<!-- snippet: docs/examples/webhookverify/" + regexp.QuoteMeta(name) + " -->\n```[a-z]+\n(.*?)```\n")
		m := re.FindSubmatch(doc)
		require.NotNil(t, m, "docs/notifications.md has no snippet of %s", name)
		assert.Equal(t, string(src), string(m[1]), "docs/notifications.md and %s differ: copy the file into the doc", name)
	}
}

func signed(t *testing.T, secret []byte, sent time.Time, body []byte) http.Header {
	t.Helper()
	ts, sig := notify.Sign(secret, sent, body)
	h := http.Header{}
	h.Set(notify.HeaderTimestamp, ts)
	h.Set(notify.HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"schema":"orgguard.notification/v1","type":"remediated"}`)
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	h := signed(t, secret, now.Add(-time.Minute), body)
	assert.NoError(t, Verify(secret, h, body, now))
	assert.NoError(t, Verify(secret, h, body, now.Add(-time.Minute-Tolerance+time.Second)), "within tolerance either way")

	assert.EqualError(t, Verify(secret, h, []byte(`{"schema":"orgguard.notification/v1","type":"remediated" }`), now), "signature mismatch", "a tampered body")
	assert.EqualError(t, Verify([]byte("other"), h, body, now), "signature mismatch", "another secret")
	assert.ErrorContains(t, Verify(secret, h, body, now.Add(Tolerance)), "timestamp outside tolerance", "a replay after the tolerance")
	assert.ErrorContains(t, Verify(secret, signed(t, secret, now.Add(Tolerance+time.Second), body), body, now), "timestamp outside tolerance", "from the future")

	moved := h.Clone()
	moved.Set(notify.HeaderTimestamp, "1796281150") // ten seconds later than signed, same signature
	assert.EqualError(t, Verify(secret, moved, body, now), "signature mismatch", "the timestamp is signed too")
	none := http.Header{}
	assert.ErrorContains(t, Verify(secret, none, body, now), "malformed X-Orgguard-Timestamp")
	unsigned := h.Clone()
	unsigned.Del(notify.HeaderSignature)
	assert.EqualError(t, Verify(secret, unsigned, body, now), "signature mismatch")
}

// The Python snippet agrees with orgguard's signer, where python3 is
// installed (it is on the CI image; the Go snippet is the one the
// delivery test runs).
func TestPythonSnippet(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: the Python snippet is not run")
	}
	secret, body := []byte("s3cret"), []byte(`{"schema":"orgguard.notification/v1","type":"remediated"}`)
	now := time.Now()
	h := signed(t, secret, now.Add(-time.Minute), body)
	cases := map[string]struct {
		body []byte
		ts   string
		want string
	}{
		"valid":    {body, h.Get(notify.HeaderTimestamp), "ok"},
		"tampered": {append(append([]byte(nil), body...), ' '), h.Get(notify.HeaderTimestamp), "signature mismatch"},
		"replayed": {body, h.Get(notify.HeaderTimestamp), "timestamp outside tolerance"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			at := now.Unix()
			if name == "replayed" {
				at += int64((Tolerance + time.Minute) / time.Second)
			}
			in, _ := json.Marshal(map[string]any{"secret": string(secret), "body": string(c.body), "at": at,
				"headers": map[string]string{"X-Orgguard-Timestamp": c.ts, "X-Orgguard-Signature": h.Get(notify.HeaderSignature)}})
			script := `
import json, sys
sys.path.insert(0, ` + "'" + mustAbs(t, ".") + "'" + `)
from verify import verify
a = json.load(sys.stdin)
try:
    verify(a["secret"].encode(), a["headers"], a["body"].encode(), now=a["at"])
    print("ok")
except ValueError as e:
    print(e)
`
			cmd := exec.Command(py, "-c", script)
			cmd.Stdin = strings.NewReader(string(in))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			assert.Contains(t, strings.TrimSpace(string(out)), c.want)
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
