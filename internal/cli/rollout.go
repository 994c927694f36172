package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/term"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/audit"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

func newRunID(now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

type rolloutFlags struct {
	pack        packFlags
	targets     []string
	concurrency int
	reason      string
	detach      bool
	runID       string
	asJSON      bool
}

func rolloutCmd(a *app, mode string) *cobra.Command {
	var f rolloutFlags
	short := map[string]string{
		"check": "Check every targeted account and report findings (changes nothing)",
		"plan":  "Show, per account and region, what apply would change (changes nothing)",
		"apply": "Roll the pack out: remediate drift per each guardrail's mode (auto, approval, report)",
	}[mode]
	cmd := &cobra.Command{
		Use:   mode + " PACK",
		Short: short,
		Long: short + `.

The pack is validated first; the compiled guardrail set (with its digest) is the rollout's input, so
workflow history pins exactly which guardrail version ran. Accounts are discovered from AWS
Organizations (ACTIVE only), ordered into the pack's rollout waves and processed in a sliding window.
--target limits the run to account IDs, OU IDs or OU paths (Root/Workloads/Prod).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rollout(cmd.Context(), cmd, workflows.Mode(mode), args[0], f)
		},
	}
	f.pack.bind(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.targets, "target", nil, "only these account IDs, OU IDs or OU paths (repeatable)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "accounts in flight at once (default: the pack's rollout, else 10)")
	fl.StringVar(&f.reason, "reason", "", "why this run (recorded in history)")
	fl.StringVar(&f.runID, "run-id", "", "run ID (default: generated); reusing one attaches to that run")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.BoolVar(&f.detach, "detach", false, "start the run and return at once (follow it with 'orgguard status RUN --watch')")
	return cmd
}

func (a *app) rollout(ctx context.Context, cmd *cobra.Command, mode workflows.Mode, dir string, f rolloutFlags) error {
	set, err := f.pack.loadPack(dir, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	in := workflows.RolloutInput{
		Set: *set, Mode: mode, Targets: f.targets,
		Reason: f.reason, Concurrency: f.concurrency, PackSignature: readPackSignature(dir),
	}
	return a.startRollout(ctx, cmd, c, in, "pack "+dir, f)
}

// startRollout binds the requester's token to the start, starts the
// rollout and follows it (or returns at once with --detach).
func (a *app) startRollout(ctx context.Context, cmd *cobra.Command, c client.Client, in workflows.RolloutInput, what string, f rolloutFlags) error {
	set, mode := &in.Set, in.Mode
	who, _ := a.who()
	runID := f.runID
	if runID == "" {
		runID = newRunID(time.Now())
	}
	in.RunID, in.RequestedBy = runID, who
	// The requester proves who they are with a token bound to this very
	// start (a rollback also to what it rolls back). check and plan may go
	// without one where the worker's trust config allows; apply never does.
	s, serr := a.session()
	switch {
	case serr == nil:
		targets := append(append([]string(nil), in.Targets...), in.Rollback.NonceTargets()...)
		tok, err := a.boundToken(ctx, s, identity.StartNonce(runID, string(mode), set.Digest, targets...), cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		in.RequesterToken, in.RequestedBy, who = tok, s.Name, s.Name
	case mode == workflows.ModeApply:
		return serr
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.RolloutID(runID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAKind.ValueSet(workflows.KindRollout), workflows.SARunID.ValueSet(runID),
			workflows.SAMode.ValueSet(string(mode)), workflows.SARequester.ValueSet(who), workflows.SADigest.ValueSet(set.Digest)),
	}, workflows.WorkflowOrgRollout, in)
	if err != nil {
		return failf(exitFindings, "start rollout: %v", err)
	}
	out := cmd.OutOrStdout()
	label := string(mode)
	if in.Rollback != nil {
		label = "rollback (" + label + ") of " + in.Rollback.Of + ":"
	}
	fmt.Fprintf(out, "%s run %s started by %s (%s, digest %s)\n", label, runID, who, what, guardrails.ShortDigest(set.Digest))
	if f.detach {
		fmt.Fprintf(out, "Follow it with: orgguard status %s --watch\n", runID)
		return nil
	}
	res, err := follow(ctx, c, runID, out)
	if err != nil && res == nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if mode != workflows.ModeApply || in.Rollback != nil || res.Progress.Totals.PendingApproval > 0 || res.Progress.Totals.NonCompliant > 0 {
		if perr := printItems(ctx, c, runID, mode, out); perr != nil {
			return perr
		}
	}
	printSummary(out, res.Progress)
	if err != nil {
		return &exitError{code: exitFindings, err: err}
	}
	if len(res.Progress.Failed) > 0 || (mode != workflows.ModeApply && in.Rollback == nil && res.Progress.Totals.NonCompliant > 0) ||
		res.Progress.Totals.Refused > 0 {
		return silentExit(exitFindings)
	}
	return nil
}

// follow polls the rollout's progress query and draws it until the run ends.
func follow(ctx context.Context, c client.Client, runID string, out io.Writer) (*workflows.RolloutResult, error) {
	id := workflows.RolloutID(runID)
	tty := isTerminal(out)
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	done := make(chan error, 1)
	var res workflows.RolloutResult
	go func() { done <- c.GetWorkflow(ctx, id, "").Get(ctx, &res) }()
	lastLines, last := 0, ""
	for {
		select {
		case err := <-done:
			if lastLines > 0 {
				fmt.Fprintf(out, "\033[%dA\033[J", lastLines)
			}
			if err != nil {
				var app *temporal.ApplicationError
				if errors.As(err, &app) && app.HasDetails() {
					if derr := app.Details(&res); derr == nil {
						return &res, fmt.Errorf("rollout %s: %s", runID, app.Message())
					}
				}
				return nil, failf(exitFindings, "rollout %s: %v", runID, err)
			}
			fmt.Fprint(out, renderProgress(res.Progress))
			return &res, nil
		case <-ctx.Done():
			return nil, failf(exitFindings, "stopped following; the rollout goes on: orgguard status %s --watch", runID)
		case <-ticker.C:
			var p workflows.Progress
			v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
			if err != nil || v.Get(&p) != nil {
				continue
			}
			s := renderProgress(p)
			if s == last {
				continue
			}
			if tty {
				// Redraw in place.
				if lastLines > 0 {
					fmt.Fprintf(out, "\033[%dA\033[J", lastLines)
				}
				fmt.Fprint(out, s)
				lastLines = strings.Count(s, "\n")
			} else {
				fmt.Fprint(out, s)
			}
			last = s
		}
	}
}

func renderProgress(p workflows.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s\n", p.State)
	for _, w := range p.Waves {
		done := w.Succeeded + w.Failed
		width := 30
		filled := 0
		if w.Total > 0 {
			filled = done * width / w.Total
		}
		fmt.Fprintf(&b, "  wave %-12s [%s%s] %d/%d  ok %d  failed %d  running %d", w.Name,
			strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, w.Total, w.Succeeded, w.Failed, w.Running)
		if w.Held > 0 {
			fmt.Fprintf(&b, "  holding for %d approval(s)", w.Held)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func printSummary(out io.Writer, p workflows.Progress) {
	t := p.Totals
	fmt.Fprintf(out, "\nRun %s (%s): %s\n", p.RunID, p.Mode, p.State)
	if p.EvidenceMissed > 0 {
		fmt.Fprintf(out, "  evidence: %d account(s) not recorded in the evidence store, e.g. %s\n", p.EvidenceMissed, p.EvidenceError)
	}
	if p.StoppedReason != "" {
		fmt.Fprintf(out, "  stopped: %s\n", p.StoppedReason)
	}
	fmt.Fprintf(out, "  findings: %d compliant, %d non-compliant, %d exempted; %d planned, %d remediated, %d awaiting approval\n",
		t.Compliant, t.NonCompliant, t.Exempted, t.Planned, t.Remediated, t.PendingApproval)
	if t.RolledBack+t.Refused > 0 {
		fmt.Fprintf(out, "  rollback: %d rolled back, %d refused (changed since orgguard left them)\n", t.RolledBack, t.Refused)
	}
	if t.NotApplicable > 0 {
		fmt.Fprintf(out, "  %d check(s) not applicable (regions not enabled in the account, or nothing to check)\n", t.NotApplicable)
	}
	if t.NotChecked > 0 {
		fmt.Fprintf(out, "  %d guardrail check(s) not run: this worker does not implement their kind yet\n", t.NotChecked)
	}
	for _, e := range p.ExpiredExemptions {
		fmt.Fprintf(out, "  exemption %s: no longer applies\n", e)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(out, "  skipped %s (%s): %s\n", s.AccountID, s.Name, s.Reason)
	}
	for _, f := range p.Failed {
		fmt.Fprintf(out, "  FAILED %s: %s\n", f.AccountID, f.Error)
	}
	if t.PendingApproval > 0 {
		fmt.Fprintf(out, "\n  %d remediation(s) wait for approval: orgguard approvals list\n", t.PendingApproval)
	}
}

// printItems prints every non-compliant item per account and region.
func printItems(ctx context.Context, c client.Client, runID string, mode workflows.Mode, out io.Writer) error {
	ids, err := runBaselines(ctx, c, runID, true)
	if err != nil {
		return err
	}
	for _, id := range ids {
		br := baselineResult(ctx, c, id)
		byRegion := map[string][]workflows.BaselineItem{}
		var regions []string
		for _, it := range br.Items {
			if it.Status == workflows.ItemCompliant || it.Status == workflows.ItemExempted {
				continue
			}
			if _, ok := byRegion[it.Finding.Region]; !ok {
				regions = append(regions, it.Finding.Region)
			}
			byRegion[it.Finding.Region] = append(byRegion[it.Finding.Region], it)
		}
		sort.Strings(regions)
		for _, region := range regions {
			fmt.Fprintf(out, "\n== account %s, %s\n", br.AccountID, region)
			for _, it := range byRegion[region] {
				fmt.Fprintf(out, "  [%s] %s  %s\n    %s\n", it.Status, it.Finding.GuardrailID, it.Finding.Resource, it.Finding.Evidence)
				if it.Attached {
					fmt.Fprintf(out, "    already pending from an earlier run: this run attached to it\n")
				}
				if it.Finding.Change != nil && (mode == workflows.ModePlan || it.Status == workflows.ItemPendingApproval || it.Status == workflows.ItemRefused) {
					fmt.Fprintf(out, "    change: %s\n", it.Finding.Change.Summary)
					for _, line := range strings.Split(strings.TrimRight(it.Finding.Change.Diff, "\n"), "\n") {
						fmt.Fprintf(out, "      %s\n", line)
					}
				}
				for _, call := range it.Calls {
					fmt.Fprintf(out, "    applied: %s\n", call)
				}
				if it.RemediationID != "" && it.Status == workflows.ItemPendingApproval {
					fmt.Fprintf(out, "    approval: orgguard approvals show %s\n", it.RemediationID)
				}
				if it.Error != "" {
					fmt.Fprintf(out, "    error: %s\n", it.Error)
				}
			}
		}
	}
	return nil
}

// runBaselines lists the account baselines of a run from visibility (the
// rollout itself keeps only counts), optionally only those that were not
// compliant.
func runBaselines(ctx context.Context, c client.Client, runID string, notCompliant bool) ([]string, error) {
	q := fmt.Sprintf("%s = '%s' AND %s = '%s'", workflows.SARunID.GetName(), runID, workflows.SAKind.GetName(), workflows.KindBaseline)
	if notCompliant {
		q += fmt.Sprintf(" AND %s != 'compliant'", workflows.SAOutcome.GetName())
	}
	ids, err := audit.ListWorkflowIDs(ctx, c, q)
	if err != nil {
		return nil, failf(exitFindings, "%v", err)
	}
	sort.Strings(ids)
	return ids, nil
}

// baselineResult reads an account baseline's result; a failed baseline
// carries it as its error's details.
func baselineResult(ctx context.Context, c client.Client, workflowID string) workflows.BaselineResult {
	var br workflows.BaselineResult
	if err := c.GetWorkflow(ctx, workflowID, "").Get(ctx, &br); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&br)
		}
	}
	return br
}

func statusCmd(a *app) *cobra.Command {
	var watch, asJSON bool
	cmd := &cobra.Command{
		Use:   "status RUN",
		Short: "Show a rollout's progress (--watch to follow it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			runID := args[0]
			if watch {
				res, err := follow(cmd.Context(), c, runID, out)
				if res != nil {
					printSummary(out, res.Progress)
				}
				return err
			}
			p, err := progressOf(cmd.Context(), c, runID)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			fmt.Fprint(out, renderProgress(p))
			printSummary(out, p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "follow until the rollout ends")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func progressOf(ctx context.Context, c client.Client, runID string) (workflows.Progress, error) {
	p, err := audit.Progress(ctx, c, runID)
	if err != nil {
		return p, failf(exitFindings, "%v", err)
	}
	return p, nil
}

func controlCmd(a *app, action string) *cobra.Command {
	short := map[string]string{
		"pause":  "Pause a rollout: running accounts finish, no new account starts",
		"resume": "Resume a paused rollout",
		"cancel": "Cancel a rollout (pending approvals stay open; reject them separately)",
	}[action]
	return &cobra.Command{
		Use:   action + " RUN",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			id := workflows.RolloutID(args[0])
			switch action {
			case "pause":
				err = c.SignalWorkflow(cmd.Context(), id, "", workflows.SignalPause, nil)
			case "resume":
				err = c.SignalWorkflow(cmd.Context(), id, "", workflows.SignalResume, nil)
			case "cancel":
				err = c.CancelWorkflow(cmd.Context(), id, "")
			}
			if err != nil {
				return failf(exitFindings, "%s rollout %s: %v", action, args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s requested for run %s\n", action, args[0])
			return nil
		},
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
