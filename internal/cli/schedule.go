package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// schedulePrefix marks orgguard's schedules among others in a namespace.
const schedulePrefix = "orgguard-drift-"

func scheduleCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Scheduled drift detection: rollouts started by a Temporal Schedule",
	}
	var (
		pack    packFlags
		every   time.Duration
		mode    string
		name    string
		targets []string
	)
	create := &cobra.Command{
		Use:   "create PACK --every 6h --mode check|apply",
		Short: "Create a schedule that runs the pack (compiled now, pinned by digest) every interval",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if mode != "check" && mode != "apply" && mode != "plan" {
				return failf(exitUsage, "--mode %q: want check, plan or apply", mode)
			}
			if every < time.Minute {
				return failf(exitUsage, "--every %s: want at least 1m", every)
			}
			if mode == string(workflows.ModeApply) {
				// A scheduled run has nobody to verify: a token stored in the
				// schedule would outlive its few minutes of validity.
				return failf(exitUsage, "--mode apply: a scheduled run has no verified requester, and apply needs one. Schedule --mode check for drift detection, and apply as a logged-in person")
			}
			set, err := pack.loadPack(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			who, _ := a.who()
			if name == "" {
				name = strings.NewReplacer("/", "-", ".", "-").Replace(strings.Trim(args[0], "./")) + "-" + mode
			}
			id := schedulePrefix + name
			// Each scheduled run gets its own run ID: the schedule appends
			// the scheduled time to the workflow ID; the run ID is the
			// schedule name, and workflows read their own ID for uniqueness.
			in := workflows.RolloutInput{RunID: "sched-" + name, Set: *set, Mode: workflows.Mode(mode), Targets: targets, RequestedBy: who, Reason: "scheduled drift detection (" + id + ")"}
			_, err = c.ScheduleClient().Create(cmd.Context(), client.ScheduleOptions{
				ID:   id,
				Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
				Action: &client.ScheduleWorkflowAction{
					ID:        workflows.RolloutID("sched-" + name),
					Workflow:  workflows.WorkflowOrgRollout,
					Args:      []any{in},
					TaskQueue: workflows.TaskQueue,
					TypedSearchAttributes: temporal.NewSearchAttributes(
						workflows.SAKind.ValueSet(workflows.KindRollout), workflows.SAMode.ValueSet(mode), workflows.SADigest.ValueSet(set.Digest)),
				},
				Memo: map[string]any{"pack": args[0], "digest": set.Digest, "mode": mode, "every": every.String(), "created_by": who},
			})
			if err != nil {
				return failf(exitFindings, "create schedule %s: %v", id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "schedule %s created: %s %s every %s (digest %s)\n", id, mode, args[0], every, guardrails.ShortDigest(set.Digest))
			return nil
		},
	}
	pack.bind(create)
	create.Flags().DurationVar(&every, "every", 6*time.Hour, "interval between runs")
	create.Flags().StringVar(&mode, "mode", "check", "check or plan (apply needs a verified requester at each run)")
	create.Flags().StringVar(&name, "name", "", "schedule name (default from the pack path and mode)")
	create.Flags().StringArrayVar(&targets, "target", nil, "only these account IDs, OU IDs or OU paths")

	list := &cobra.Command{
		Use:   "list",
		Short: "List orgguard schedules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			it, err := c.ScheduleClient().List(cmd.Context(), client.ScheduleListOptions{})
			if err != nil {
				return failf(exitFindings, "list schedules: %v", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCHEDULE\tEVERY\tNEXT RUN\tPAUSED")
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					return failf(exitFindings, "list schedules: %v", err)
				}
				if !strings.HasPrefix(e.ID, schedulePrefix) {
					continue
				}
				every, next := "-", "-"
				if e.Spec != nil && len(e.Spec.Intervals) > 0 {
					every = e.Spec.Intervals[0].Every.String()
				}
				if len(e.NextActionTimes) > 0 {
					next = e.NextActionTimes[0].UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", e.ID, every, next, e.Paused)
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a schedule (running rollouts continue)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			id := args[0]
			if !strings.HasPrefix(id, schedulePrefix) {
				id = schedulePrefix + id
			}
			if err := c.ScheduleClient().GetHandle(cmd.Context(), id).Delete(cmd.Context()); err != nil {
				return failf(exitFindings, "delete schedule %s: %v", id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "schedule %s deleted\n", id)
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
