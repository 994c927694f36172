package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
			q, err := f.Query(time.Now())
			if err != nil {
				return failf(exitUsage, "--%v", err)
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			rows, err := audit.Rows(cmd.Context(), c, q, f.limit)
			if err != nil {
				return failf(exitFindings, "%v", err)
			}
			return writeAudit(cmd.OutOrStdout(), rows, f.format)
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
	fl.IntVar(&f.limit, "limit", 1000, "at most this many rows")
	cmd.AddCommand(auditHistoryCmd(a))
	return cmd
}

func writeAudit(out io.Writer, rows []audit.Row, format string) error {
	switch format {
	case "json":
		return writeJSON(out, rows)
	case "csv":
		w := csv.NewWriter(out)
		_ = w.Write([]string{"started", "closed", "kind", "run_id", "account_id", "guardrails", "controls", "outcome", "approvers", "requester", "digest", "workflow_id"})
		for _, r := range rows {
			closed := ""
			if !r.Closed.IsZero() {
				closed = r.Closed.UTC().Format(time.RFC3339)
			}
			_ = w.Write([]string{r.Started.UTC().Format(time.RFC3339), closed, r.Kind, r.RunID, r.Account,
				strings.Join(r.Guardrails, ";"), strings.Join(r.Controls, ";"), r.Outcome, strings.Join(r.Approvers, ";"), r.Requester, r.Digest, r.WorkflowID})
		}
		w.Flush()
		return w.Error()
	case "table", "":
		if len(rows) == 0 {
			fmt.Fprintln(out, "No matching workflows.")
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STARTED\tKIND\tRUN\tACCOUNT\tOUTCOME\tGUARDRAILS\tCONTROLS\tAPPROVERS\tWORKFLOW")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.UTC().Format(time.RFC3339), r.Kind, r.RunID, dash(r.Account),
				dash(r.Outcome), dash(strings.Join(r.Guardrails, ",")), dash(strings.Join(r.Controls, ",")), dash(strings.Join(r.Approvers, ",")), r.WorkflowID)
		}
		return tw.Flush()
	}
	return failf(exitUsage, "--format %q: want table, json or csv", format)
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
