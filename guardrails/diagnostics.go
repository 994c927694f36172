package guardrails

import (
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diagnostics the way Terraform does: severity,
// summary, file:line:col, the source snippet with the subject underlined,
// and the detail. files are those LoadDir returned. Word wrapping is off so
// that output is stable for tests and logs.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	if files == nil {
		files = map[string]*hcl.File{}
	}
	tw := hcl.NewDiagnosticTextWriter(w, files, 0, color)
	for _, d := range diags {
		// A file:line:col header first: editors and CI annotate it, and a
		// person sees at once where to look. hcl's writer adds the snippet.
		if d.Subject != nil {
			sev := "error"
			if d.Severity == hcl.DiagWarning {
				sev = "warning"
			}
			if _, err := fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, d.Summary); err != nil {
				return err
			}
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}
