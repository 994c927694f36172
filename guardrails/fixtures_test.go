package guardrails

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// fixedNow is "today" for fixtures, so exemption expiry does not depend on
// the day the tests run.
var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// A fixture is a single .hcl file or a directory of them. Lines carry the
// diagnostics they must produce:
//
//	severity = "urgent" # ERROR: Invalid severity
//	expires  = "2020-01-01" # WARNING: Exemption has expired
//
// Several markers may share a line. "# VAR: name=value" lines pass -var values.

type marker struct {
	file     string
	line     int
	severity string
	summary  string
}

func (m marker) String() string {
	return fmt.Sprintf("%s:%d %s: %s", m.file, m.line, m.severity, m.summary)
}

func fixtureFiles(t *testing.T, path string) []string {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	if !st.IsDir() {
		return []string{path}
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.hcl"))
	require.NoError(t, err)
	sort.Strings(matches)
	return matches
}

// expectations reads markers and -var values from fixture files.
func expectations(t *testing.T, files []string) ([]marker, map[string]string) {
	t.Helper()
	var want []marker
	vars := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			file, at := filepath.Base(f), line
			if rest, ok := strings.CutPrefix(strings.TrimSpace(text), "# VAR:"); ok {
				// Diagnostics about -var values have no source range: their
				// markers go on the # VAR: line and match file "" line 0.
				kv, _, _ := strings.Cut(rest, "#")
				k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
				vars[k] = v
				file, at = "", 0
				text = rest
			}
			idx := strings.Index(text, "# ERROR:")
			if w := strings.Index(text, "# WARNING:"); w >= 0 && (idx < 0 || w < idx) {
				idx = w
			}
			if idx < 0 {
				continue
			}
			parts := regexp.MustCompile(`#\s*(ERROR|WARNING):`).Split(text[idx:], -1)
			kinds := regexp.MustCompile(`#\s*(ERROR|WARNING):`).FindAllStringSubmatch(text[idx:], -1)
			for i, k := range kinds {
				want = append(want, marker{file: file, line: at, severity: k[1], summary: strings.TrimSpace(parts[i+1])})
			}
		}
	}
	return want, vars
}

func loadFixture(t *testing.T, path string, vars map[string]string) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	t.Helper()
	opts := LoadOptions{Vars: vars, Now: fixedNow}
	st, err := os.Stat(path)
	require.NoError(t, err)
	if st.IsDir() {
		return LoadDir(path, opts)
	}
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return LoadSources(filepath.Dir(path), []Source{{Filename: path, Src: src}}, opts)
}

func actual(diags hcl.Diagnostics) []marker {
	var got []marker
	for _, d := range diags {
		m := marker{severity: "ERROR", summary: d.Summary}
		if d.Severity == hcl.DiagWarning {
			m.severity = "WARNING"
		}
		if d.Subject != nil {
			m.file, m.line = filepath.Base(d.Subject.Filename), d.Subject.Start.Line
		}
		got = append(got, m)
	}
	return got
}

func sortMarkers(ms []marker) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].String() < ms[j].String() })
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "_") {
			continue // data for file() and templatefile()
		}
		if e.IsDir() || strings.HasSuffix(e.Name(), ".hcl") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	require.NotEmpty(t, out)
	return out
}

func TestInvalidFixtures(t *testing.T) {
	t.Parallel()
	for _, path := range fixtures(t, "testdata/invalid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			want, vars := expectations(t, fixtureFiles(t, path))
			require.NotEmpty(t, want, "an invalid fixture needs # ERROR: markers")
			set, files, diags := loadFixture(t, path, vars)
			got := actual(diags)
			sortMarkers(want)
			sortMarkers(got)
			if !assert.Equal(t, markerStrings(want), markerStrings(got)) {
				var buf bytes.Buffer
				_ = WriteDiagnostics(&buf, files, diags, false)
				t.Log("\n" + buf.String())
			}
			if diags.HasErrors() {
				assert.Nil(t, set, "a set with errors must not be returned")
			}
			for _, d := range diags {
				assert.NotEmpty(t, d.Detail, "diagnostic %q needs a helpful detail", d.Summary)
				if d.Subject != nil {
					assert.Contains(t, files, d.Subject.Filename, "diagnostic %q points into a file the caller can print", d.Summary)
				}
			}
		})
	}
}

func markerStrings(ms []marker) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

func TestValidFixtures(t *testing.T) {
	t.Parallel()
	for _, path := range fixtures(t, "testdata/valid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			want, vars := expectations(t, fixtureFiles(t, path))
			set, files, diags := loadFixture(t, path, vars)
			got := actual(diags)
			sortMarkers(want)
			sortMarkers(got)
			if !assert.Equal(t, markerStrings(want), markerStrings(got)) {
				var buf bytes.Buffer
				_ = WriteDiagnostics(&buf, files, diags, false)
				t.Log("\n" + buf.String())
			}
			require.NotNil(t, set)
			assert.Equal(t, set.ComputeDigest(), set.Digest)
		})
	}
}

// TestGoldenDiagnostics pins the text `orgguard validate` prints for a
// broken pack. Regenerate with: go test ./guardrails -run Golden -update
func TestGoldenDiagnostics(t *testing.T) {
	t.Parallel()
	matches, err := filepath.Glob("testdata/golden/*.hcl")
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	for _, path := range matches {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			require.NoError(t, err)
			// Forward slashes keep the golden output the same on every OS.
			name := filepath.ToSlash(path)
			_, files, diags := LoadSources(filepath.Dir(path), []Source{{Filename: name, Src: src}}, LoadOptions{Now: fixedNow})
			require.True(t, diags.HasErrors())
			var buf bytes.Buffer
			require.NoError(t, WriteDiagnostics(&buf, files, diags, false))
			golden := strings.TrimSuffix(path, ".hcl") + ".txt"
			if *update {
				require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create %s", golden)
			assert.Equal(t, string(want), buf.String())

			var colored bytes.Buffer
			require.NoError(t, WriteDiagnostics(&colored, files, diags, true))
			assert.Contains(t, colored.String(), "\x1b[31m", "errors are red with color on")
		})
	}
}
