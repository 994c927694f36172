package scale

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteMarkdown: a run's section is added before the end marker, and
// a later run of the same kind replaces it; other kinds stay.
func TestWriteMarkdown(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, []byte("# Performance\n\n"+resultsEnd+"\n\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(accounts int, wall time.Duration) *Result {
		r := &Result{Config: RunConfig{Accounts: accounts, Workers: 1, Regions: 2}, Accounts: accounts}
		r.Temporal.Wall, r.Temporal.Server = wall, "dev"
		r.compute()
		return r
	}
	for _, r := range []*Result{run(200, time.Minute), run(1000, 2*time.Minute), run(200, 3*time.Minute)} {
		if err := r.WriteMarkdown(path); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	doc := string(b)
	if strings.Count(doc, sectionEnd) != 2 || strings.Contains(doc, "| 1m0s |") || !strings.Contains(doc, "| 3m0s |") {
		t.Errorf("document:\n%s", doc)
	}
	if i, j := strings.Index(doc, "accounts=200"), strings.Index(doc, "accounts=1000"); i > j || !strings.HasSuffix(doc, resultsEnd+"\n\nafter\n") {
		t.Errorf("sections out of place:\n%s", doc)
	}
}

func TestPeakRSS(t *testing.T) {
	t.Parallel()
	rss, err := peakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("peak RSS of this test %d, %v", rss, err)
	}
}
