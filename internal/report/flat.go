package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/orgguard/orgguard/internal/evidence"
)

// CSVHeader is the CSV report's header row.
var CSVHeader = []string{
	"run_id", "account_id", "account_name", "ou_path", "region", "guardrail_id", "kind", "resource",
	"status", "result", "severity", "controls", "csf", "evidence", "planned_change",
	"remediation_id", "remediation_status", "approvers", "exemption", "error", "recorded_at",
}

// csv writes one row per finding; controls are versioned ("CIS v3.0.0
// 5.4") and joined with "; ".
func (r *reader) csv(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err := r.each(ctx, func(_ string, recs []evidence.Record, rems []*evidence.RemediationRecord) error {
		for i, rec := range recs {
			change := ""
			if rec.Change != nil {
				change = rec.Change.Summary
			}
			row := []string{
				rec.RunID, rec.AccountID, rec.AccountName, rec.OUPath, rec.Region, rec.GuardrailID, rec.Kind, rec.Resource,
				rec.Status, classify(rec.Status, remStatus(rems[i])).String(), rec.Severity,
				strings.Join(controlStrings(r.controls(rec)), "; "), rec.CSF, rec.Evidence, change,
				rec.RemediationID, remStatus(rems[i]), strings.Join(approvers(rems[i]), "; "), rec.Exemption, rec.Error,
				rec.RecordedAt.UTC().Format(time.RFC3339),
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// JSONFinding is one finding of the JSON report.
type JSONFinding struct {
	evidence.Record
	// Result is pass, fail, exempt or n/a (the remediation's final
	// outcome counted).
	Result      string                      `json:"result"`
	Remediation *evidence.RemediationRecord `json:"remediation,omitempty"`
}

// json writes {"run": manifest, "findings": [...], "summary": {...}},
// streaming the findings.
func (r *reader) json(ctx context.Context, w io.Writer, man evidence.RunManifest) error {
	head, err := json.Marshal(man)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "{\"run\": "+string(head)+",\n\"findings\": ["); err != nil {
		return err
	}
	summary := map[string]int{}
	n := 0
	enc := json.NewEncoder(w)
	err = r.each(ctx, func(_ string, recs []evidence.Record, rems []*evidence.RemediationRecord) error {
		for i, rec := range recs {
			rec.Controls = r.controls(rec)
			f := JSONFinding{Record: rec, Result: classify(rec.Status, remStatus(rems[i])).String(), Remediation: rems[i]}
			summary[f.Result]++
			sep := ",\n"
			if n == 0 {
				sep = "\n"
			}
			n++
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	tail, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "],\n\"summary\": "+string(tail)+"}\n")
	return err
}
