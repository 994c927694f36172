package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/orgguard/orgguard/workflows"
)

type rollbackFlags struct {
	rolloutFlags
	accounts   []string
	guardrails []string
	apply      bool
	packDir    string
}

func rollbackCmd(a *app) *cobra.Command {
	var f rollbackFlags
	cmd := &cobra.Command{
		Use:   "rollback RUN",
		Short: "Undo what an apply run changed: plan the reverse changes, or apply them with --apply",
		Long: `Undo what an apply run changed.

Every change orgguard applies records the state it replaced. rollback reads what RUN applied (in every
account, or only --account and --guardrail), checks that each resource is still exactly as orgguard left
it, and shows the reverse change as a diff. A resource that changed since is refused, saying what changed:
rollback never overwrites someone else's change.

Without --apply nothing changes. With --apply the reverse changes go through the same guardrails'
remediation modes as the original: auto ones are applied, approval-gated ones wait for the same approval
policies (orgguard approvals list), with verified approvers. The rollback is a rollout of its own (its own
run ID, waves, failure budgets), started with the pack RUN used unless --pack names another.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rollback(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.accounts, "account", nil, "only these account IDs (repeatable; \"organization\" for SCPs)")
	fl.StringArrayVar(&f.guardrails, "guardrail", nil, "only these guardrail IDs (repeatable)")
	fl.BoolVar(&f.apply, "apply", false, "apply the reverse changes (default: plan only)")
	fl.StringVar(&f.packDir, "pack", "", "pack directory (default: the pack RUN used, read from its history)")
	fl.StringVar(&f.reason, "reason", "", "why this rollback (recorded in history)")
	fl.StringVar(&f.runID, "run-id", "", "run ID of the rollback (default: generated)")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.BoolVar(&f.detach, "detach", false, "start the rollback and return at once")
	fl.IntVar(&f.concurrency, "concurrency", 0, "accounts in flight at once")
	return cmd
}

func (a *app) rollback(ctx context.Context, cmd *cobra.Command, of string, f rollbackFlags) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	mode := workflows.ModePlan
	if f.apply {
		mode = workflows.ModeApply
	}
	in := workflows.RolloutInput{
		Mode: mode, Reason: f.reason, Concurrency: f.concurrency,
		Rollback: &workflows.RollbackSpec{Of: of, Accounts: f.accounts, Guardrails: f.guardrails},
	}
	what := ""
	if f.packDir != "" {
		set, err := f.pack.loadPack(f.packDir, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		in.Set, in.PackSignature, what = *set, readPackSignature(f.packDir), "pack "+f.packDir
	} else {
		orig, err := runInput(ctx, c, of)
		if err != nil {
			return err
		}
		if orig.Mode != workflows.ModeApply {
			return failf(exitUsage, "run %s was a %s run: it changed nothing to roll back", of, orig.Mode)
		}
		in.Set, in.PackSignature, what = orig.Set, orig.PackSignature, "the pack of run "+of
	}
	return a.startRollout(ctx, cmd, c, in, what, f.rolloutFlags)
}

// runInput reads the input a rollout's first run was started with: the
// compiled set it applied, as the worker received it.
func runInput(ctx context.Context, c client.Client, runID string) (workflows.RolloutInput, error) {
	var in workflows.RolloutInput
	id := workflows.RolloutID(runID)
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return in, failf(exitUsage, "no rollout with run ID %s", runID)
		}
		return in, failf(exitFindings, "describe rollout %s: %v", runID, err)
	}
	first := desc.GetWorkflowExecutionInfo().GetFirstRunId()
	it := c.GetWorkflowHistory(ctx, id, first, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, failf(exitFindings, "rollout %s has no history", runID)
	}
	ev, err := it.Next()
	if err != nil {
		return in, failf(exitFindings, "read the history of rollout %s: %v", runID, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, failf(exitFindings, "rollout %s: first event is %s, not its start", runID, ev.GetEventType())
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, failf(exitFindings, "rollout %s: decode its input: %v", runID, err)
	}
	return in, nil
}
