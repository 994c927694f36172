package guardrails

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"testing"
)

func TestTry(t *testing.T) {
	p := os.Getenv("PACK")
	if p == "" {
		t.Skip()
	}
	var set *Set
	var files = map[string]*hcl.File{}
	var diags hcl.Diagnostics
	if st, _ := os.Stat(p); st != nil && !st.IsDir() {
		src, _ := os.ReadFile(p)
		set, files, diags = LoadSources(filepath.Dir(p), []Source{{Filename: p, Src: src}}, LoadOptions{Now: fixedNow})
	} else {
		set, files, diags = LoadDir(p, LoadOptions{Now: fixedNow})
	}
	WriteDiagnostics(os.Stdout, files, diags, false)
	if set != nil && os.Getenv("JSON") != "" {
		b, _ := json.MarshalIndent(set, "", " ")
		os.Stdout.Write(b)
	} else if set != nil {
		os.Stdout.WriteString(Summary(set))
	}
}
