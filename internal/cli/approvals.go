package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/guardrails"
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

func approvals(s workflows.RemediationState) int {
	n := 0
	for _, v := range s.Votes {
		if v.Approve && v.Policy == s.Policy {
			n++
		}
	}
	return n
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
	var unread *unreadError
	if err != nil && !errors.As(err, &unread) {
		return err
	}
	if keep != nil {
		states = slices.DeleteFunc(states, func(s workflows.RemediationState) bool { return !keep(s) })
	}
	if unread != nil && unread.read == 0 {
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
				approvals(s), s.Quorum, strings.Join(s.Approvers, ","), s.Deadline.UTC().Format(time.RFC3339))
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

// queryParallelism bounds the queries in flight: without a worker each one
// waits for the server's timeout (about 10 s), so one at a time would take
// minutes for a few dozen remediations.
const queryParallelism = 16

// pendingApprovals lists running remediation workflows from visibility and
// asks each for its state. When some cannot be read it returns the states
// that could, and an error (exit code 1) wrapping an *unreadError that says
// which could not and why.
func pendingApprovals(ctx context.Context, c client.Client) ([]workflows.RemediationState, error) {
	q := fmt.Sprintf("%s = '%s' AND %s = '%s' AND ExecutionStatus = 'Running'",
		workflows.SAKind.GetName(), workflows.KindRemediation, workflows.SAOutcome.GetName(), workflows.RemPending)
	type listed struct{ id, taskQueue string }
	var execs []listed
	err := listExecutions(ctx, c, q, func(e *workflowpb.WorkflowExecutionInfo) bool {
		execs = append(execs, listed{e.GetExecution().GetWorkflowId(), e.GetTaskQueue()})
		return true
	})
	if err != nil {
		return nil, err
	}
	type result struct {
		state workflows.RemediationState
		err   error
	}
	results := make([]result, len(execs))
	sem := make(chan struct{}, queryParallelism)
	var wg sync.WaitGroup
	for i, e := range execs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i].state, results[i].err = queryRemediation(ctx, c, e.id)
		})
	}
	wg.Wait()

	var (
		out    []workflows.RemediationState
		unread = &unreadError{ids: map[string][]string{}}
	)
	for i, r := range results {
		var nf *serviceerror.NotFound
		switch {
		case errors.As(r.err, &nf):
			// Gone since the listing (closed and past retention).
		case r.err != nil:
			reason := queryFailure(r.err, execs[i].taskQueue)
			if _, seen := unread.ids[reason]; !seen {
				unread.reasons = append(unread.reasons, reason)
			}
			unread.ids[reason] = append(unread.ids[reason], execs[i].id)
			unread.failed++
		default:
			unread.read++
			// Decided since the listing: no longer waiting.
			if r.state.Status == workflows.RemPending {
				out = append(out, r.state)
			}
		}
	}
	if unread.failed > 0 {
		unread.listed = len(execs)
		return out, &exitError{code: exitFindings, err: unread}
	}
	return out, nil
}

// unreadError reports the pending remediations whose state could not be
// queried, grouped by reason.
type unreadError struct {
	listed, read, failed int
	reasons              []string            // in order of first appearance
	ids                  map[string][]string // reason → remediation IDs
}

// maxUnreadIDs bounds the IDs printed per reason; the rest are counted.
const maxUnreadIDs = 5

func (e *unreadError) Error() string {
	var b strings.Builder
	noun := "remediations"
	if e.listed == 1 {
		noun = "remediation"
	}
	if e.failed == e.listed {
		fmt.Fprintf(&b, "%d pending %s could not be queried", e.failed, noun)
	} else {
		fmt.Fprintf(&b, "%d of %d pending %s could not be queried", e.failed, e.listed, noun)
	}
	ids := func(l []string) string {
		if len(l) > maxUnreadIDs {
			return strings.Join(l[:maxUnreadIDs], ", ") + fmt.Sprintf(" and %d more", len(l)-maxUnreadIDs)
		}
		return strings.Join(l, ", ")
	}
	if len(e.reasons) == 1 {
		fmt.Fprintf(&b, ": %s\n  %s", e.reasons[0], ids(e.ids[e.reasons[0]]))
		return b.String()
	}
	b.WriteString(":")
	for _, r := range e.reasons {
		fmt.Fprintf(&b, "\n  %d: %s: %s", len(e.ids[r]), r, ids(e.ids[r]))
	}
	return b.String()
}

// queryFailure says in an operator's words why a remediation's state could
// not be queried. A query is answered by a worker: the usual cause is that
// none is running. The server then answers "no poller seen" once no worker
// has polled for 20 s (matching.queryPollerUnavailableWindow), and lets the
// query time out before that, or on partitions that had a poller: one cause,
// one message.
func queryFailure(err error, taskQueue string) string {
	queue := "its task queue"
	if taskQueue != "" {
		queue = "task queue " + taskQueue
	}
	var (
		fp *serviceerror.FailedPrecondition
		de *serviceerror.DeadlineExceeded
		qf *serviceerror.QueryFailed
	)
	switch {
	case errors.As(err, &fp) && strings.Contains(fp.Message, "no poller seen"),
		errors.As(err, &de) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no worker is answering on %s (is orgguard-worker running?)", queue)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &qf):
		return "the remediation failed the query: " + qf.Message
	}
	return err.Error()
}

func queryRemediation(ctx context.Context, c client.Client, id string) (workflows.RemediationState, error) {
	var s workflows.RemediationState
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryRemediation)
	if err != nil {
		return s, err
	}
	if err := v.Get(&s); err != nil {
		return s, fmt.Errorf("decode the state: %w", err)
	}
	return s, nil
}

func remediationState(ctx context.Context, c client.Client, id string) (workflows.RemediationState, error) {
	s, err := queryRemediation(ctx, c, id)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return s, failf(exitFindings, "no remediation %s", id)
	case err != nil:
		return s, failf(exitFindings, "query remediation %s: %s", id, queryFailure(err, ""))
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
	verb, update, decision := "reject", workflows.UpdateReject, identity.DecisionReject
	if approve {
		verb, update, decision = "approve", workflows.UpdateApprove, identity.DecisionApprove
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
			res, err := sendVote(ctx, c, id, update, req)
			if r := identity.ReasonOf(err); r == identity.ReasonUnknownKey || r == "trust_loading" {
				// The IdP may have rotated its keys since the remediation
				// loaded them: ask it to reload, then try once more.
				if r == identity.ReasonUnknownKey {
					_ = c.SignalWorkflow(ctx, id, "", workflows.SignalRefreshTrust, nil)
				}
				time.Sleep(3 * time.Second)
				res, err = sendVote(ctx, c, id, update, req)
			}
			if err != nil {
				var nf *serviceerror.NotFound
				if errors.As(err, &nf) {
					return failf(exitFindings, "no pending remediation %s", id)
				}
				return failf(exitFindings, "%s %s refused: %v", verb, id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s recorded: %s (verified at %s) %sd %s, plan digest %s (%d of %d approvals)\n",
				verb, s.Name, s.Issuer, verb, id, guardrails.ShortDigest(digest), approvals(res), res.Quorum)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&digest, "digest", "", "the plan digest you reviewed (default: the remediation's current one)")
	return cmd
}

func sendVote(ctx context.Context, c client.Client, id, update string, req workflows.VoteRequest) (workflows.RemediationState, error) {
	var s workflows.RemediationState
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   update,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &s)
	}
	return s, err
}

// shortOr prints a digest for a command line, or a placeholder.
func shortOr(d string) string {
	if d == "" {
		return "DIGEST"
	}
	return d
}
