package guardrails

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary guardrail files to the loader: it must never
// panic, must return a set exactly when there is no error, and everything it
// returns must print and serialise. Run it with:
//
//	go test ./guardrails -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*/*.hcl", "testdata/*/*/*.hcl", "packs/*/*.hcl"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("control \"x\" {\n  kind = \"iam.root_mfa\"\n  severity = \"low\"\n  csf = \"PR\"\n}\n"))
	f.Add([]byte("locals { a = local.a }\nvariable \"v\" { type = map(list(number)) }\n"))
	f.Add([]byte("scp \"s\" {\n policy = templatefile(\"_files/deny-regions.json.tmpl\", {global = [], regions = []})\n}\n"))

	f.Fuzz(func(t *testing.T, src []byte) {
		// testdata/valid holds the files file() and templatefile() may read.
		set, files, diags := LoadSources("testdata/valid", []Source{{Filename: "fuzz.hcl", Src: src}}, LoadOptions{Now: fixedNow})
		if diags.HasErrors() != (set == nil) {
			t.Fatalf("set returned %v with errors %v", set != nil, diags.HasErrors())
		}
		if err := WriteDiagnostics(io.Discard, files, diags, true); err != nil {
			t.Fatalf("write diagnostics: %v", err)
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
		if set == nil {
			return
		}
		_ = Summary(set)
		raw, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Set
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if back.ComputeDigest() != set.Digest {
			again, _ := json.Marshal(&back)
			if !bytes.Equal(raw, again) {
				t.Fatalf("digest changed in a JSON round trip:\n%s\n%s", raw, again)
			}
		}
	})
}
