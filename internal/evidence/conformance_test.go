package evidence

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

// The conformance tests run against every Blobs backend, so a directory in
// dev and a bucket in production behave the same for the Store above them.

func listKeys(t *testing.T, b Blobs, prefix string) []string {
	t.Helper()
	keys := []string{}
	for k, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("%s: List(%q): %v", b.Where(), prefix, err)
		}
		keys = append(keys, k)
	}
	return keys
}

func getString(t *testing.T, b Blobs, key string) (string, error) {
	t.Helper()
	rc, err := b.Get(context.Background(), key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: read %s: %v", b.Where(), key, err)
	}
	return string(body), nil
}

func testBlobsConformance(t *testing.T, b Blobs) {
	ctx := context.Background()
	if b.Where() == "" {
		t.Error("Where() is empty")
	}

	// Get of a missing key is ErrNotFound, and names the key.
	_, err := getString(t, b, "runs/none/run.json")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}

	// Put replaces.
	for _, body := range []string{`{"v":1}`, `{"v":2}`} {
		if err := b.Put(ctx, "runs/r1/run.json", []byte(body)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if got, err := getString(t, b, "runs/r1/run.json"); err != nil || got != `{"v":2}` {
		t.Errorf("after two puts: %q, %v; want the second", got, err)
	}
	// Empty objects (pack markers).
	if err := b.Put(ctx, "packs/p/20260101T000000Z_r1", nil); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if got, err := getString(t, b, "packs/p/20260101T000000Z_r1"); err != nil || got != "" {
		t.Errorf("empty object: %q, %v", got, err)
	}

	for _, k := range []string{"runs/r2/run.json", "runs/r10/run.json", "runs/r1/accounts/222.jsonl", "runs/r1/accounts/111.jsonl", "remediations/x/y.json"} {
		if err := b.Put(ctx, k, []byte(k)); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	// A key prefix is not an object.
	if _, err := getString(t, b, "runs/r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a key prefix: %v, want ErrNotFound", err)
	}

	// List: lexical order, plain string prefixes (not path components).
	all := []string{"packs/p/20260101T000000Z_r1", "remediations/x/y.json", "runs/r1/accounts/111.jsonl", "runs/r1/accounts/222.jsonl",
		"runs/r1/run.json", "runs/r10/run.json", "runs/r2/run.json"}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"runs/", all[2:]},
		{"runs/r1/", all[2:5]},
		{"runs/r1", all[2:6]},
		{"runs/r1/run.json", all[4:5]},
		{"runs/r1/accounts/", all[2:4]},
		{"nothing/", []string{}},
		{"runs/r1/run.json/x", []string{}},
		{"runs/r1/run.json/x/", []string{}},
	} {
		if got := listKeys(t, b, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	// Stopping early is not an error.
	n := 0
	b.List(ctx, "runs/")(func(_ string, err error) bool {
		if err != nil {
			t.Error(err)
		}
		n++
		return false
	})
	if n != 1 {
		t.Errorf("early stop yielded %d keys", n)
	}
}

func testStoreRoundTrip(t *testing.T, b Blobs) {
	ctx := context.Background()
	s := Store{B: b}
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)

	// Run IDs and account names with characters outside the key alphabet
	// round-trip through safe/unsafe.
	runs := []RunManifest{
		{RecordRunInput: workflows.RecordRunInput{RunID: "rollout-2/ü", Pack: "baseline", Digest: "sha256:ab", Mode: workflows.ModeCheck, StartedAt: t0, Status: "running",
			Requester: &identity.Principal{Name: "bob", Subject: "s-1", Issuer: "https://idp"}}},
		{RecordRunInput: workflows.RecordRunInput{RunID: "rollout-1", Pack: "baseline", Digest: "sha256:ab", Mode: workflows.ModeApply, StartedAt: t0.Add(-time.Hour), Status: "completed",
			FinishedAt: t0.Add(-30 * time.Minute), Counts: &workflows.AccountResult{Compliant: 3}}},
	}
	for _, m := range runs {
		if err := s.PutRun(ctx, m); err != nil {
			t.Fatalf("PutRun %s: %v", m.RunID, err)
		}
	}
	// Finishing a run rewrites its manifest; its pack marker keeps its key.
	runs[0].Status, runs[0].FinishedAt = "completed", t0.Add(time.Minute)
	if err := s.PutRun(ctx, runs[0]); err != nil {
		t.Fatal(err)
	}
	m, err := s.Run(ctx, "rollout-2/ü")
	if err != nil || m.Status != "completed" || !m.FinishedAt.Equal(t0.Add(time.Minute)) || m.Requester == nil || m.Requester.Name != "bob" || m.Schema != SchemaVersion {
		t.Errorf("Run = %+v, %v", m, err)
	}
	if _, err := s.Run(ctx, "no-such-run"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run of an unknown run: %v, want ErrNotFound", err)
	}
	if got, err := s.PackRuns(ctx, "baseline"); err != nil || !slices.Equal(got, []string{"rollout-1", "rollout-2/ü"}) {
		t.Errorf("PackRuns = %q, %v; want oldest first", got, err)
	}

	recs := map[string][]Record{
		"222222222222": {{RunID: "rollout-2/ü", AccountID: "222222222222", Region: "eu-west-1", GuardrailID: "g1", Resource: "sg-1", Status: "non_compliant",
			Controls: []Control{{Framework: "CIS", Title: "CIS AWS Foundations Benchmark", Version: "v3.0.0", ID: "5.4"}}, RecordedAt: t0}},
		"111111111111": {
			{RunID: "rollout-2/ü", AccountID: "111111111111", Region: "us-east-1", GuardrailID: "g1", Resource: "sg-2", Status: "compliant", RecordedAt: t0},
			{RunID: "rollout-2/ü", AccountID: "111111111111", Region: "us-east-1", GuardrailID: "g2", Resource: "account", Status: "planned",
				Change: &workflows.Change{Summary: "enable", Actions: []string{"ec2:EnableEbsEncryptionByDefault"}}, RecordedAt: t0},
		},
	}
	for acct, rs := range recs {
		if err := s.PutAccount(ctx, "rollout-2/ü", acct, rs); err != nil {
			t.Fatalf("PutAccount %s: %v", acct, err)
		}
	}
	var accts []string
	for a, err := range s.Accounts(ctx, "rollout-2/ü") {
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a)
	}
	if !slices.Equal(accts, []string{"111111111111", "222222222222"}) {
		t.Errorf("Accounts = %q", accts)
	}
	got, err := s.AccountRecords(ctx, "rollout-2/ü", "111111111111")
	if err != nil || len(got) != 2 || got[1].Change == nil || got[1].Change.Summary != "enable" || got[0].Schema != SchemaVersion {
		t.Errorf("AccountRecords = %+v, %v", got, err)
	}
	if _, err := s.AccountRecords(ctx, "rollout-2/ü", "333333333333"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AccountRecords of an account without records: %v, want ErrNotFound", err)
	}
	var resources []string
	for r, err := range s.Records(ctx, "rollout-2/ü") {
		if err != nil {
			t.Fatal(err)
		}
		resources = append(resources, r.AccountID+"/"+r.Resource)
	}
	if !slices.Equal(resources, []string{"111111111111/sg-2", "111111111111/account", "222222222222/sg-1"}) {
		t.Errorf("Records = %q", resources)
	}

	// The latest finished workflow run of a remediation wins.
	for i, wfRun := range []string{"run-b", "run-a"} {
		r := RemediationRecord{WorkflowID: "rem/1", RunID: wfRun, RecordedAt: t0.Add(time.Duration(i) * time.Hour),
			State: workflows.RemediationState{ID: "rem/1", Status: []string{"expired", "applied"}[i]}}
		if err := s.PutRemediation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rem, err := s.Remediation(ctx, "rem/1")
	if err != nil || rem.RunID != "run-a" || rem.State.Status != "applied" {
		t.Errorf("Remediation = %+v, %v; want run-a (recorded last)", rem, err)
	}
	if _, err := s.Remediation(ctx, "rem/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remediation of an unknown ID: %v, want ErrNotFound", err)
	}
}

func TestDirConformance(t *testing.T) {
	t.Parallel()
	testBlobsConformance(t, Dir{Root: t.TempDir()})
}

func TestDirStoreRoundTrip(t *testing.T) {
	t.Parallel()
	testStoreRoundTrip(t, Dir{Root: t.TempDir()})
}

func TestDirRefusesKeysOutsideRoot(t *testing.T) {
	t.Parallel()
	d := Dir{Root: t.TempDir() + "/store"}
	ctx := context.Background()
	for _, k := range []string{"../escape", "/etc/passwd", "a/../../b", "a//b", "a/", "", "./a", "..", ".", "a\\b"} {
		if err := d.Put(ctx, k, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
		if _, err := d.Get(ctx, k); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want an invalid-key error", k, err)
		}
	}
}

func TestSafeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain-ID_1.2", "a/b", "~7e", "ü", "☺ x", "..", ".", "100%", "\x00\xff"} {
		enc := safe(s)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
				t.Errorf("safe(%q) = %q has %q", s, enc, c)
			}
		}
		if enc == "." || enc == ".." {
			t.Errorf("safe(%q) = %q", s, enc)
		}
		want := s
		if s == "" {
			want = "_"
		}
		if got := unsafe(enc); got != want {
			t.Errorf("unsafe(safe(%q)) = %q", s, got)
		}
	}
}
