package guardrails

import (
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
	return hcl.NewDiagnosticTextWriter(w, files, 0, color).WriteDiagnostics(diags)
}
