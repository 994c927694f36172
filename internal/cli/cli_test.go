package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestValidateBaseline(t *testing.T) {
	code, out, errOut := run(t, "validate", "../../guardrails/packs/baseline")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"is valid (digest", "scp", "control", "CIS", "FSBP", "PCI", "NIST CSF"} {
		require.Contains(t, out, want)
	}
	code, out, _ = run(t, "validate", "--json", "../../guardrails/packs/baseline")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"id": "control.default_sg_closed"`)
}

// A broken pack: every problem at once, Terraform-style with file:line:col
// and a snippet, exit code 1.
func TestValidateBrokenPack(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../guardrails/testdata/golden/broken.hcl")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.hcl"), src, 0o644))
	code, out, errOut := run(t, "validate", dir)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "Error: ")
	require.Regexp(t, `broken\.hcl:\d+:\d+: error: `, errOut, "diagnostics name file:line,col")
	require.Contains(t, errOut, "error(s)")
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"validate"},
		{"frobnicate"},
		{"approve", "rem-1"}, // --reason is required
		{"validate", "/does/not/exist"},
		{"audit", "--since", "yesterday-ish"},
	} {
		code, _, errOut := run(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.NotEmpty(t, strings.TrimSpace(errOut))
	}
}
