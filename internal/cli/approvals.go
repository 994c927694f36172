package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

func approvalsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List and show remediations waiting for approval",
	}
	var mine, asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List pending approvals (--mine: those you may approve)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var keep func(workflows.RemediationState) bool
			if mine {
				s, err := a.session()
				if err != nil {
					return err
				}
				// The groups come from the cached token; the workflow checks
				// them again from the token each vote carries.
				me := identity.Principal{Name: s.Name, Subject: s.Subject, Issuer: s.Issuer, Groups: claimGroups(s.IDToken)}
				keep = func(st workflows.RemediationState) bool { return workflows.CanVote(st, me) == nil }
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			return listApprovals(cmd.Context(), c, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, keep)
		},
	}
	list.Flags().BoolVar(&mine, "mine", false, "only approvals you may vote on")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var showJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a remediation: the evidence, the exact planned change, the policy and the votes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			s, err := remediationState(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if showJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			printRemediation(cmd.OutOrStdout(), s)
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}

func claimGroups(tok string) []string {
	var out []string
	if l, ok := unverifiedClaims(tok)["groups"].([]any); ok {
		for _, g := range l {
			if s, ok := g.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// listApprovals prints the pending remediations that keep selects (all when
// nil), then on errOut those that could not be read and why. It fails when
// none could be read: an empty list would then claim that nothing waits.
func listApprovals(ctx context.Context, c client.Client, out, errOut io.Writer, asJSON bool, keep func(workflows.RemediationState) bool) error {
	states, err := pendingApprovals(ctx, c)
	var unread *approvals.UnreadError
	if err != nil && !errors.As(err, &unread) {
		return err
	}
	if keep != nil {
		states = slices.DeleteFunc(states, func(s workflows.RemediationState) bool { return !keep(s) })
	}
	if unread != nil && unread.Read == 0 {
		return err
	}
	if asJSON {
		if err := writeJSON(out, states); err != nil {
			return err
		}
	} else if len(states) == 0 && unread == nil {
		fmt.Fprintln(out, "No remediation is waiting for approval.")
	} else if len(states) > 0 {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tACCOUNT\tREGION\tGUARDRAIL\tVOTES\tAPPROVERS\tDEADLINE")
		for _, s := range states {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", s.ID, s.AccountID, s.Region, s.GuardrailID,
				approvals.Count(s), s.Quorum, strings.Join(s.Approvers, ","), s.Deadline.UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if unread != nil {
		fmt.Fprintln(errOut, "orgguard:", unread)
	}
	return nil
}

// pendingApprovals is approvals.Pending with the CLI's exit codes: a
// remediation that could not be read makes it exit 1.
func pendingApprovals(ctx context.Context, c client.Client) ([]workflows.RemediationState, error) {
	states, err := approvals.Pending(ctx, c)
	if err != nil {
		return states, &exitError{code: exitFindings, err: err}
	}
	return states, nil
}

func remediationState(ctx context.Context, c client.Client, id string) (workflows.RemediationState, error) {
	s, err := approvals.State(ctx, c, id)
	if err != nil {
		return s, &exitError{code: exitFindings, err: err}
	}
	return s, nil
}

func printRemediation(out io.Writer, s workflows.RemediationState) {
	fmt.Fprintf(out, "Remediation %s: %s\n", s.ID, strings.ToUpper(s.Status))
	fmt.Fprintf(out, "  account    %s %s\n  region     %s\n  guardrail  %s (%s)\n  resource   %s\n",
		s.AccountID, s.AccountName, s.Region, s.GuardrailID, strings.Join(s.Controls, ", "), s.Resource)
	fmt.Fprintf(out, "  evidence   %s\n  requested  by %s at %s (run %s)\n", s.Evidence, s.RequestedBy, s.RequestedAt.UTC().Format(time.RFC3339), s.RunID)
	groups := ""
	if len(s.IdPGroups) > 0 {
		groups = " or IdP groups [" + strings.Join(s.IdPGroups, ", ") + "]"
	}
	fmt.Fprintf(out, "  policy     %s: %d of [%s]%s, deadline %s\n", s.Policy, s.Quorum, strings.Join(s.Approvers, ", "), groups, s.Deadline.UTC().Format(time.RFC3339))
	if s.Requester != nil {
		fmt.Fprintf(out, "  requester  %s\n", s.Requester)
	}
	if s.ChangeDigest != "" {
		fmt.Fprintf(out, "  plan digest %s (votes are bound to it)\n", s.ChangeDigest)
	}
	if s.Change != nil {
		fmt.Fprintf(out, "\n  Planned change: %s\n  API actions: %s\n", s.Change.Summary, strings.Join(s.Change.Actions, ", "))
		for _, line := range strings.Split(strings.TrimRight(s.Change.Diff, "\n"), "\n") {
			fmt.Fprintf(out, "    %s\n", line)
		}
	}
	if len(s.Votes) > 0 {
		fmt.Fprintln(out, "\n  Votes:")
		for _, v := range s.Votes {
			verb := "approved"
			if !v.Approve {
				verb = "rejected"
			}
			who := v.Approver + " (unverified)"
			if v.Subject != "" {
				who = fmt.Sprintf("%s (sub %s at %s, token %s)", v.Approver, v.Subject, v.Issuer, v.TokenID)
			}
			fmt.Fprintf(out, "    %s %s at %s: %s\n", who, verb, v.At.UTC().Format(time.RFC3339), v.Reason)
		}
	}
	for _, call := range s.Calls {
		fmt.Fprintf(out, "  applied: %s\n", call)
	}
	if s.Error != "" {
		fmt.Fprintf(out, "  error: %s\n", s.Error)
	}
	if len(s.Notifications) > 0 {
		fmt.Fprintln(out, "\n  Notifications:")
		for _, n := range s.Notifications {
			fmt.Fprintf(out, "    %s %s\n", n.At.UTC().Format(time.RFC3339), n)
		}
	}
	if s.Status == workflows.RemPending {
		fmt.Fprintf(out, "\n  orgguard approve %s --digest %s --reason \"...\"\n  orgguard reject %s --digest %s --reason \"...\"\n", s.ID, shortOr(s.ChangeDigest), s.ID, shortOr(s.ChangeDigest))
	}
}

func voteCmd(a *app, approve bool) *cobra.Command {
	verb, decision := "reject", identity.DecisionReject
	if approve {
		verb, decision = "approve", identity.DecisionApprove
	}
	var reason, digest string
	cmd := &cobra.Command{
		Use:   verb + " ID --reason TEXT",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a pending remediation (the reason is the audit record)",
		Long: strings.ToUpper(verb[:1]) + verb[1:] + ` a pending remediation as the logged-in person (orgguard login).
The vote carries a fresh ID token whose nonce binds it to this remediation, this decision and the
digest of the planned change: --digest pins the digest you reviewed (orgguard approvals show ID);
if the plan differs, the vote is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return failf(exitUsage, "--reason is required: it is the audit record of this decision")
			}
			ctx, id := cmd.Context(), args[0]
			s, err := a.session()
			if err != nil {
				return err
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := remediationState(ctx, c, id)
			if err != nil {
				return err
			}
			if digest == "" {
				digest = st.ChangeDigest
			}
			tok, err := a.boundToken(ctx, s, identity.VoteNonce(id, decision, digest), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			req := workflows.VoteRequest{Token: tok, RemediationID: id, ChangeDigest: digest, Reason: reason}
			res, err := approvals.Vote(ctx, c, id, decision, req)
			if err != nil {
				if errors.Is(err, approvals.ErrNotFound) {
					return failf(exitFindings, "%v", err)
				}
				return failf(exitFindings, "%s %s refused: %v", verb, id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s recorded: %s (verified at %s) %sd %s, plan digest %s (%d of %d approvals)\n",
				verb, s.Name, s.Issuer, verb, id, guardrails.ShortDigest(digest), approvals.Count(res), res.Quorum)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&digest, "digest", "", "the plan digest you reviewed (default: the remediation's current one)")
	return cmd
}

// shortOr prints a digest for a command line, or a placeholder.
func shortOr(d string) string {
	if d == "" {
		return "DIGEST"
	}
	return d
}
