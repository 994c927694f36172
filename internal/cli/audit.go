package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/orgguard/orgguard/internal/audit"
)

type auditFlags struct {
	audit.Filter
	format string
	limit  int
}

func auditCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query the audit trail: which accounts, guardrails and controls, with what outcome, approved by whom",
		Long: `audit queries Temporal visibility (orgguard's search attributes) for rollouts, account baselines
and remediations. Examples:

  orgguard audit --control "CIS 5.4" --outcome non_compliant --since 2026-11-01
  orgguard audit --kind remediation --approver alice --format csv
  orgguard audit history rem-20261124-101500-ab12-111111111111-1a2b3c4d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.limit < 0 {
				return failf(exitUsage, "--limit %d: want 0 (all) or more", f.limit)
			}
			w, err := newAuditWriter(cmd.OutOrStdout(), f.format)
			if err != nil {
				return err
			}
			q, err := f.Query(time.Now())
			if err != nil {
				return failf(exitUsage, "--%v", err)
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			n, more, err := audit.Stream(cmd.Context(), c, q, f.limit, w.row)
			if err != nil {
				return failf(exitFindings, "%v", err)
			}
			if err := w.close(); err != nil {
				return err
			}
			if more {
				// An auditor must not take the first page for the whole
				// answer: say how much was left out.
				total, err := c.CountWorkflow(cmd.Context(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
				switch {
				case err != nil:
					fmt.Fprintf(cmd.ErrOrStderr(), "orgguard: showing the first %d matching workflows (open first, then the latest closed); more match: --limit 0 lists all\n", n)
				case total.GetCount() > int64(n):
					fmt.Fprintf(cmd.ErrOrStderr(), "orgguard: showing the first %d of %d matching workflows (open first, then the latest closed): --limit 0 lists all\n", n, total.GetCount())
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Account, "account", "", "account ID")
	fl.StringVar(&f.Guardrail, "guardrail", "", "guardrail ID, e.g. control.default_sg_closed")
	fl.StringVar(&f.Control, "control", "", `framework control ID, e.g. "CIS 5.4" or "FSBP EC2.2"`)
	fl.StringVar(&f.Outcome, "outcome", "", "outcome: compliant, non_compliant, failed, pending_approval, remediated, rejected, expired, ...")
	fl.StringVar(&f.Approver, "approver", "", "who approved")
	fl.StringVar(&f.Kind, "kind", "", "rollout, baseline or remediation (default all)")
	fl.StringVar(&f.Run, "run", "", "run ID")
	fl.StringVar(&f.Since, "since", "", "started at or after (RFC3339, YYYY-MM-DD, or 72h / 7d ago)")
	fl.StringVar(&f.Until, "until", "", "started before")
	fl.StringVar(&f.format, "format", "table", "table, json or csv")
	fl.IntVar(&f.limit, "limit", 1000, "at most this many rows, open first, then the latest closed (0: all); a cut answer says so on stderr")
	cmd.AddCommand(auditHistoryCmd(a))
	return cmd
}

// auditWriter prints audit rows as they come: JSON (an array, one
// indented object per row) and CSV line by line; the table is aligned, so
// tabwriter holds its text until close.
type auditWriter struct {
	out    io.Writer
	format string
	n      int
	csv    *csv.Writer
	tw     *tabwriter.Writer
}

func newAuditWriter(out io.Writer, format string) (*auditWriter, error) {
	w := &auditWriter{out: out, format: format}
	switch format {
	case "json":
	case "csv":
		w.csv = csv.NewWriter(out)
		if err := w.csv.Write([]string{"started", "closed", "kind", "run_id", "account_id", "guardrails", "controls", "outcome", "approvers", "requester", "digest", "workflow_id"}); err != nil {
			return nil, err
		}
	case "table", "":
		w.format = "table"
		w.tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w.tw, "STARTED\tKIND\tRUN\tACCOUNT\tOUTCOME\tGUARDRAILS\tCONTROLS\tAPPROVERS\tWORKFLOW")
	default:
		return nil, failf(exitUsage, "--format %q: want table, json or csv", format)
	}
	return w, nil
}

func (w *auditWriter) row(r audit.Row) error {
	w.n++
	switch w.format {
	case "json":
		b, err := json.MarshalIndent(r, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if w.n == 1 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(w.out, "%s%s", sep, b)
		return err
	case "csv":
		closed := ""
		if !r.Closed.IsZero() {
			closed = r.Closed.UTC().Format(time.RFC3339)
		}
		// csv.Writer buffers and reports a failed write at Flush.
		return w.csv.Write([]string{r.Started.UTC().Format(time.RFC3339), closed, r.Kind, r.RunID, r.Account,
			strings.Join(r.Guardrails, ";"), strings.Join(r.Controls, ";"), r.Outcome, strings.Join(r.Approvers, ";"), r.Requester, r.Digest, r.WorkflowID})
	default:
		_, err := fmt.Fprintf(w.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.UTC().Format(time.RFC3339), r.Kind, r.RunID, dash(r.Account),
			dash(r.Outcome), dash(strings.Join(r.Guardrails, ",")), dash(strings.Join(r.Controls, ",")), dash(strings.Join(r.Approvers, ",")), r.WorkflowID)
		return err
	}
}

func (w *auditWriter) close() error {
	switch w.format {
	case "json":
		end := "\n]\n"
		if w.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(w.out, end)
		return err
	case "csv":
		w.csv.Flush()
		return w.csv.Error()
	default:
		if w.n == 0 {
			fmt.Fprintln(w.out, "No matching workflows.")
			return nil
		}
		return w.tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func auditHistoryCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Print the decision trail of one remediation from its workflow history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			trail, err := audit.DecisionTrail(cmd.Context(), c, args[0])
			if err != nil {
				return failf(exitFindings, "%v", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, trail)
			}
			fmt.Fprintf(out, "Decision trail of %s\n", args[0])
			for _, e := range trail {
				who := ""
				if e.Who != "" {
					who = " by " + e.Who
				}
				fmt.Fprintf(out, "  %s  %-9s%s\n", e.At.UTC().Format(time.RFC3339), e.Step, who)
				for _, line := range strings.Split(strings.TrimRight(e.Detail, "\n"), "\n") {
					fmt.Fprintf(out, "      %s\n", line)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
