package workflows

import (
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// BaselineInput is one account's work in a rollout.
type BaselineInput struct {
	RunID       string                      `json:"run_id"`
	Account     Account                     `json:"account"`
	Guardrails  []guardrails.Guardrail      `json:"guardrails"` // already filtered to this account, regions filled in
	Exemptions  []guardrails.Exemption      `json:"exemptions,omitempty"`
	Policies    []guardrails.ApprovalPolicy `json:"policies,omitempty"`
	Mode        Mode                        `json:"mode"`
	RequestedBy string                      `json:"requested_by"`
	// Requester is the verified requester (nil for check and plan runs
	// allowed without a token).
	Requester *identity.Principal `json:"requester,omitempty"`
	Digest    string              `json:"digest"`
}

// ItemStatus is what happened to one finding.
type ItemStatus string

const (
	ItemCompliant       ItemStatus = "compliant"
	ItemNonCompliant    ItemStatus = "non_compliant"    // check/plan, or no remediation
	ItemExempted        ItemStatus = "exempted"         // covered by an exemption
	ItemPlanned         ItemStatus = "planned"          // plan mode: the change apply would make
	ItemReported        ItemStatus = "reported"         // remediation mode report
	ItemRemediated      ItemStatus = "remediated"       // applied and verified
	ItemNotVerified     ItemStatus = "not_verified"     // applied but the re-check still fails
	ItemPendingApproval ItemStatus = "pending_approval" // a Remediation workflow waits for approvers
	ItemError           ItemStatus = "error"
	ItemNotChecked      ItemStatus = "not_checked" // no implementation of the guardrail's kind in the worker
)

// BaselineItem is one finding and what the baseline did with it.
type BaselineItem struct {
	Finding       Finding    `json:"finding"`
	Status        ItemStatus `json:"status"`
	RemediationID string     `json:"remediation_id,omitempty"`
	Exemption     string     `json:"exemption,omitempty"`
	Calls         []string   `json:"calls,omitempty"`
	Error         string     `json:"error,omitempty"`
	// Undo is the reverse of a change this item applied (auto remediation):
	// what `orgguard rollback` plans from. Nil when nothing was changed or
	// the kind cannot reverse.
	Undo *Change `json:"undo,omitempty"`
}

// BaselineResult is an account's outcome.
type BaselineResult struct {
	AccountID string         `json:"account_id"`
	Items     []BaselineItem `json:"items"`
	Counts    AccountResult  `json:"counts"`
	// Errors are checks that failed (guardrail, region, message); the account
	// as a whole fails when any check failed.
	Errors []string `json:"errors,omitempty"`
}

type baseline struct {
	in  BaselineInput
	res BaselineResult
}

// AccountBaseline checks every guardrail × region of one account and, in
// apply mode, remediates per each guardrail's remediation mode.
func AccountBaseline(ctx workflow.Context, in BaselineInput) (BaselineResult, error) {
	b := &baseline{in: in, res: BaselineResult{AccountID: in.Account.ID}}
	if err := workflow.SetQueryHandler(ctx, QueryBaseline, func() (BaselineResult, error) { return b.res, nil }); err != nil {
		return b.res, err
	}
	if workflow.GetVersion(ctx, versionTrust, workflow.DefaultVersion, 1) == 1 {
		if err := requireParent(ctx, "AccountBaseline"); err != nil {
			return b.res, err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 8,
		},
	})
	return b.run(ctx)
}

type checkKey struct {
	g      int
	region string
}

// dependsOnRecorder reports guardrails that need AWS Config recording in
// place: Config rules cannot be put without a recorder, and Security Hub's
// findings come from Config.
func dependsOnRecorder(g guardrails.Guardrail) bool {
	return g.Kind == guardrails.KindConfigRule || g.Kind == guardrails.KindSecurityHub
}

func (b *baseline) run(ctx workflow.Context) (BaselineResult, error) {
	// Version 1 applies in two stages, so the Config recorder (and everything
	// else) is in place before Config rules and Security Hub are applied.
	stages := [][]int{nil}
	if v := workflow.GetVersion(ctx, "apply-in-stages", workflow.DefaultVersion, 1); v >= 1 && b.in.Mode == ModeApply {
		stages = [][]int{nil, nil}
		for gi, g := range b.in.Guardrails {
			if dependsOnRecorder(g) {
				stages[1] = append(stages[1], gi)
			} else {
				stages[0] = append(stages[0], gi)
			}
		}
	} else {
		for gi := range b.in.Guardrails {
			stages[0] = append(stages[0], gi)
		}
	}
	nonCompliantGuardrails := map[string]bool{}
	controls := map[string]bool{}
	for _, stage := range stages {
		b.runStage(ctx, stage, nonCompliantGuardrails, controls)
	}
	b.count()
	outcome := "compliant"
	switch {
	case len(b.res.Errors) > 0:
		outcome = "failed"
	case len(nonCompliantGuardrails) > 0:
		outcome = "non_compliant"
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		SAKind.ValueSet(KindBaseline), SARunID.ValueSet(b.in.RunID), SAAccountID.ValueSet(b.in.Account.ID),
		SAMode.ValueSet(string(b.in.Mode)), SAOutcome.ValueSet(outcome), SADigest.ValueSet(b.in.Digest),
		SAGuardrail.ValueSet(sortedKeys(nonCompliantGuardrails)), SAControl.ValueSet(sortedKeys(controls)))
	if len(b.res.Errors) > 0 {
		return b.res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("account %s: %d check(s) failed: %s", b.in.Account.ID, len(b.res.Errors), b.res.Errors[0]),
			"CheckFailed", nil, b.res)
	}
	return b.res, nil
}

// runStage checks the given guardrails × regions at once (the worker's
// activity slots and per-API rate limits bound the real concurrency), then
// handles their findings in order.
func (b *baseline) runStage(ctx workflow.Context, stage []int, nonCompliantGuardrails, controls map[string]bool) {
	futures := map[checkKey]workflow.Future{}
	var keys []checkKey
	for _, gi := range stage {
		g := b.in.Guardrails[gi]
		for _, region := range g.Regions {
			k := checkKey{gi, region}
			keys = append(keys, k)
			futures[k] = workflow.ExecuteActivity(ctx, ActivityCheckGuardrail, CheckInput{
				RunID: b.in.RunID, AccountID: b.in.Account.ID, Region: region, Guardrail: g,
			})
		}
	}
	for _, k := range keys {
		g := b.in.Guardrails[k.g]
		var out CheckOutput
		if err := futures[k].Get(ctx, &out); err != nil {
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s in %s: %s", g.ID, k.region, errorMessage(err)))
			continue
		}
		if out.NotChecked != "" {
			b.res.Items = append(b.res.Items, BaselineItem{
				Finding: Finding{GuardrailID: g.ID, AccountID: b.in.Account.ID, Region: k.region, Evidence: out.NotChecked, Controls: g.Controls},
				Status:  ItemNotChecked,
			})
			continue
		}
		for _, f := range out.Findings {
			item := b.handle(ctx, g, f)
			b.res.Items = append(b.res.Items, item)
			if item.Status != ItemCompliant && item.Status != ItemExempted && item.Status != ItemRemediated {
				nonCompliantGuardrails[g.ID] = true
				for _, c := range g.Controls {
					controls[c] = true
				}
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	// Sorted below, so the map's order does not matter.
	//workflowcheck:ignore
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (b *baseline) handle(ctx workflow.Context, g guardrails.Guardrail, f Finding) BaselineItem {
	item := BaselineItem{Finding: f, Status: ItemCompliant}
	if f.Status != StatusNonCompliant {
		if f.Status == StatusNotApplicable {
			item.Status = ItemCompliant
		}
		return item
	}
	if e, ok := Exempted(b.in.Exemptions, b.in.Account, f, workflow.Now(ctx)); ok {
		item.Status, item.Exemption = ItemExempted, e.Name
		return item
	}
	item.Status = ItemNonCompliant
	if f.Change == nil {
		return item
	}
	switch {
	case b.in.Mode == ModeCheck:
		return item
	case b.in.Mode == ModePlan:
		item.Status = ItemPlanned
		return item
	}
	switch g.Remediation.Mode {
	case guardrails.ModeReport, "":
		item.Status = ItemReported
	case guardrails.ModeAuto:
		b.applyAuto(ctx, g, f, &item)
	case guardrails.ModeApproval:
		b.requestApproval(ctx, g, f, &item)
	}
	return item
}

func (b *baseline) applyAuto(ctx workflow.Context, g guardrails.Guardrail, f Finding, item *BaselineItem) {
	id := RemediationID(b.in.RunID, f.AccountID, f.Region, g.ID, f.Resource)
	out, err := applyAndVerify(ctx, g, f, b.in.RunID, id, "")
	item.Calls = out.Calls
	switch {
	case err != nil:
		item.Status, item.Error = ItemError, errorMessage(err)
	case out.verified:
		item.Status = ItemRemediated
	default:
		item.Status = ItemNotVerified
	}
}

type applyResult struct {
	ApplyOutput
	verified bool
	evidence string
}

// applyAndVerify runs the apply activity, then re-checks the one resource.
func applyAndVerify(ctx workflow.Context, g guardrails.Guardrail, f Finding, runID, key, sourceIdentity string) (applyResult, error) {
	attempts := int32(g.Remediation.MaxAttempts)
	if attempts <= 0 {
		attempts = 5
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute, MaximumAttempts: attempts,
		},
	})
	var res applyResult
	if err := workflow.ExecuteActivity(actx, ActivityApplyRemediation, ApplyInput{
		RunID: runID, Guardrail: g, Finding: f, SourceIdentity: sourceIdentity, IdempotencyKey: key,
	}).Get(ctx, &res.ApplyOutput); err != nil {
		return res, err
	}
	vctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 8},
	})
	var check CheckOutput
	if err := workflow.ExecuteActivity(vctx, ActivityCheckGuardrail, CheckInput{
		RunID: runID, AccountID: f.AccountID, Region: f.Region, Guardrail: g, Resource: f.Resource,
	}).Get(ctx, &check); err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	res.verified = true
	for _, c := range check.Findings {
		if c.Resource == f.Resource && c.Status == StatusNonCompliant {
			res.verified = false
			res.evidence = c.Evidence
		}
	}
	return res, nil
}

func (b *baseline) requestApproval(ctx workflow.Context, g guardrails.Guardrail, f Finding, item *BaselineItem) {
	id := RemediationID(b.in.RunID, f.AccountID, f.Region, g.ID, f.Resource)
	item.RemediationID = id
	policy, chain, ok := approvalPolicy(b.in.Policies, g.Remediation.ApprovalPolicy)
	if !ok {
		item.Status = ItemError
		item.Error = fmt.Sprintf("guardrail %s: approval policy %q not found", g.ID, g.Remediation.ApprovalPolicy)
		return
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		TaskQueue:  TaskQueue,
		// Approvals outlive the rollout: a person may answer days later.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	fut := workflow.ExecuteChildWorkflow(cctx, Remediation, RemediationInput{
		ID: id, RunID: b.in.RunID, Account: b.in.Account, Guardrail: g, Finding: f,
		Policy: policy, Escalations: chain, RequestedBy: b.in.RequestedBy, Requester: b.in.Requester, Digest: b.in.Digest,
	})
	var exec workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		// Already started means an earlier attempt of this baseline asked
		// already: the approval is not asked twice.
		if !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			item.Status, item.Error = ItemError, errorMessage(err)
			return
		}
	}
	item.Status = ItemPendingApproval
}

func (b *baseline) count() {
	c := AccountResult{AccountID: b.in.Account.ID, OK: len(b.res.Errors) == 0}
	for _, it := range b.res.Items {
		switch it.Status {
		case ItemCompliant:
			c.Compliant++
		case ItemExempted:
			c.Exempted++
		case ItemPlanned:
			c.Planned++
			c.NonCompliant++
		case ItemRemediated:
			c.Remediated++
		case ItemNotChecked:
			c.NotChecked++
		case ItemPendingApproval:
			c.PendingApproval++
			c.NonCompliant++
		default:
			c.NonCompliant++
		}
	}
	if len(b.res.Errors) > 0 {
		c.Error = b.res.Errors[0]
	}
	b.res.Counts = c
}
