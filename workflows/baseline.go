package workflows

import (
	"errors"
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
	// Org marks the organization wave's baseline.
	Org bool `json:"org,omitempty"`
	// Rollback, when set, reverses what that run applied here instead of
	// checking (see RollbackSpec).
	Rollback *RollbackSpec `json:"rollback,omitempty"`
	// Compact (versionLeanChecks): Guardrails are CompactGuardrail
	// references into the compiled set with this Digest (approval-gated
	// ones of an apply excepted: a remediation records what was approved),
	// and activities read the definitions from the set.
	Compact bool `json:"compact,omitempty"`
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
	// ItemNotApplicable: the region is not enabled in the account (an
	// opt-in region it has not opted into), or the check found nothing
	// the guardrail applies to.
	ItemNotApplicable ItemStatus = "not_applicable"
	// ItemRolledBack: a rollback restored the state a run replaced.
	ItemRolledBack ItemStatus = "rolled_back"
	// ItemRefused: a rollback refused to touch a resource that changed
	// since orgguard left it (Error says how).
	ItemRefused ItemStatus = "refused"
)

// BaselineItem is one finding and what the baseline did with it.
type BaselineItem struct {
	Finding       Finding    `json:"finding"`
	Status        ItemStatus `json:"status"`
	RemediationID string     `json:"remediation_id,omitempty"`
	Exemption     string     `json:"exemption,omitempty"`
	Calls         []string   `json:"calls,omitempty"`
	Error         string     `json:"error,omitempty"`
	// Attached is true when this run found an approval request for the
	// same finding and plan already pending and attached to it.
	Attached bool `json:"attached,omitempty"`
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
	// RemediationFailures are remediations applied in this baseline that
	// failed or were not verified: they fail the account like check errors,
	// so they count against the wave's failure budget.
	RemediationFailures []string `json:"remediation_failures,omitempty"`
	// Pending lists the approval requests this baseline opened or attached
	// to (hold_until_approved waits for them).
	Pending []string `json:"pending,omitempty"`
	// Outcome is the account's outcome: compliant, non_compliant, failed,
	// not_checked (no guardrail could be checked), not_applicable (nothing
	// the guardrails apply to) or excluded (no guardrail targets it); a
	// rollback's: rolled_back, refused, pending_approval, planned or
	// nothing_to_roll_back.
	Outcome string `json:"outcome,omitempty"`
}

type baseline struct {
	in  BaselineInput
	res BaselineResult
	// safety is versionSafety: preflight, remediation failures count,
	// one approval per finding.
	safety     bool
	notEnabled map[string]bool
	// lean is versionLeanChecks: CheckAccountRegion per region and stage.
	lean bool
	// applied counts the changes this baseline applied: the read cache's
	// epoch for the checks that follow.
	applied int
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
	b.safety = workflow.GetVersion(ctx, versionSafety, workflow.DefaultVersion, 1) == 1
	b.lean = b.safety && workflow.GetVersion(ctx, versionLeanChecks, workflow.DefaultVersion, 1) == 1
	heartbeat := 2 * time.Minute
	if b.safety {
		heartbeat = ActivityHeartbeatTimeout
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeat,
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
	switch {
	case b.rollback():
		b.runRollback(ctx, nonCompliantGuardrails)
	case !b.safety || b.preflight(ctx):
		for _, stage := range stages {
			if b.lean {
				b.runStageByRegion(ctx, stage, nonCompliantGuardrails, controls)
			} else {
				b.runStage(ctx, stage, nonCompliantGuardrails, controls)
			}
		}
	}
	b.count()
	outcome := "compliant"
	switch {
	case len(b.res.Errors) > 0:
		outcome = "failed"
	case len(nonCompliantGuardrails) > 0:
		outcome = "non_compliant"
	}
	if b.safety {
		outcome = b.safeOutcome(outcome)
		b.res.Outcome = outcome
		b.release(ctx)
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
	if len(b.res.RemediationFailures) > 0 {
		return b.res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("account %s: %d remediation(s) failed: %s", b.in.Account.ID, len(b.res.RemediationFailures), b.res.RemediationFailures[0]),
			"RemediationFailed", nil, b.res)
	}
	return b.res, nil
}

func (b *baseline) rollback() bool { return b.safety && b.in.Rollback != nil }

// runRollback reads what the run being rolled back applied in this
// account, asks the kind whether each resource is still as orgguard left
// it, and handles each reverse change like a finding: plan shows it, apply
// applies it per the guardrail's remediation mode (approval included).
func (b *baseline) runRollback(ctx workflow.Context, touched map[string]bool) {
	account := b.in.Account.ID
	if b.in.Org {
		account = "organization"
	}
	var applied LoadAppliedOutput
	if err := workflow.ExecuteActivity(ctx, ActivityLoadAppliedChanges, LoadAppliedInput{
		RunID: b.in.Rollback.Of, AccountID: account, Guardrails: b.in.Rollback.Guardrails,
	}).Get(ctx, &applied); err != nil {
		b.res.Errors = append(b.res.Errors, fmt.Sprintf("read what run %s applied: %s", b.in.Rollback.Of, errorMessage(err)))
		return
	}
	byID := map[string]guardrails.Guardrail{}
	for _, g := range b.in.Guardrails {
		byID[g.ID] = g
	}
	for _, c := range applied.Changes {
		g, ok := byID[c.GuardrailID]
		if !ok {
			b.res.Items = append(b.res.Items, BaselineItem{
				Finding: Finding{GuardrailID: c.GuardrailID, AccountID: b.in.Account.ID, Region: c.Region, Resource: c.Resource},
				Status:  ItemRefused,
				Error:   fmt.Sprintf("guardrail %s is not in this pack's guardrails for account %s: roll back with the pack that applied it", c.GuardrailID, b.in.Account.ID),
			})
			continue
		}
		var plan PlanUndoOutput
		if err := workflow.ExecuteActivity(ctx, ActivityPlanUndo, PlanUndoInput{
			RunID: b.in.RunID, AccountID: b.in.Account.ID, Region: c.Region, Guardrail: g, Resource: c.Resource, Undo: c.Undo, Digest: b.digest(g),
		}).Get(ctx, &plan); err != nil {
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s in %s (%s): plan rollback: %s", g.ID, c.Region, c.Resource, errorMessage(err)))
			continue
		}
		if plan.Finding == nil {
			b.res.Items = append(b.res.Items, BaselineItem{
				Finding: Finding{GuardrailID: g.ID, AccountID: b.in.Account.ID, Region: c.Region, Resource: c.Resource, Controls: g.Controls, Change: &c.Undo},
				Status:  ItemRefused, Error: plan.Refused,
			})
			touched[g.ID] = true
			continue
		}
		item := b.handle(ctx, g, *plan.Finding)
		b.res.Items = append(b.res.Items, item)
		touched[g.ID] = true
	}
}

// preflight assumes the account's role once and reads its enabled regions.
// An account whose role cannot be assumed fails once, with the role ARN
// and the error, instead of once per guardrail × region.
func (b *baseline) preflight(ctx workflow.Context) bool {
	seen := map[string]bool{}
	var regions []string
	for _, g := range b.in.Guardrails {
		for _, r := range g.Regions {
			if r != OrgRegion && !seen[r] {
				seen[r] = true
				regions = append(regions, r)
			}
		}
	}
	if len(regions) == 0 {
		return true // the organization wave: Organizations from the management account
	}
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 6},
	})
	var out PreflightOutput
	if err := workflow.ExecuteActivity(pctx, ActivityPreflightAccount, PreflightInput{
		RunID: b.in.RunID, AccountID: b.in.Account.ID, Regions: regions,
	}).Get(ctx, &out); err != nil {
		b.res.Errors = append(b.res.Errors, "preflight: "+errorMessage(err))
		return false
	}
	b.notEnabled = map[string]bool{}
	for _, r := range out.NotEnabled {
		b.notEnabled[r] = true
	}
	return true
}

// safeOutcome refines the outcome: remediation failures fail the account,
// and an account with nothing checked is never "compliant".
func (b *baseline) safeOutcome(outcome string) string {
	for _, it := range b.res.Items {
		if it.Status == ItemError || it.Status == ItemNotVerified {
			msg := fmt.Sprintf("%s in %s (%s): %s", it.Finding.GuardrailID, it.Finding.Region, it.Finding.Resource, it.Status)
			if it.Error != "" {
				msg += ": " + it.Error
			}
			b.res.RemediationFailures = append(b.res.RemediationFailures, msg)
		}
		if it.Status == ItemPendingApproval && it.RemediationID != "" {
			b.res.Pending = append(b.res.Pending, it.RemediationID)
		}
	}
	if len(b.res.RemediationFailures) > 0 {
		return "failed"
	}
	if b.rollback() && outcome != "failed" {
		return b.rollbackOutcome()
	}
	if len(b.in.Guardrails) == 0 && outcome == "compliant" {
		// Every guardrail's target excludes the account.
		return "excluded"
	}
	if outcome != "compliant" {
		return outcome
	}
	checked, notChecked := false, false
	for _, it := range b.res.Items {
		switch it.Status {
		case ItemNotChecked:
			notChecked = true
		case ItemNotApplicable:
		default:
			checked = true
		}
	}
	switch {
	case checked:
		return "compliant"
	case notChecked:
		return "not_checked"
	}
	return "not_applicable"
}

// rollbackOutcome: refused (something changed since orgguard left it),
// pending_approval, planned, rolled_back, or nothing_to_roll_back.
func (b *baseline) rollbackOutcome() string {
	has := map[ItemStatus]bool{}
	for _, it := range b.res.Items {
		has[it.Status] = true
	}
	for _, st := range []ItemStatus{ItemRefused, ItemPendingApproval, ItemPlanned, ItemReported, ItemRolledBack} {
		if has[st] {
			return string(st)
		}
	}
	return "nothing_to_roll_back"
}

// release lets the worker drop this account's cached credentials of the
// run. Best effort: entries also expire on their own.
func (b *baseline) release(ctx workflow.Context) {
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2},
	})
	_ = workflow.ExecuteActivity(rctx, ActivityReleaseRun, ReleaseRunInput{RunID: b.in.RunID, AccountID: b.in.Account.ID}).Get(ctx, nil)
}

// runStage checks the given guardrails × regions at once (the worker's
// activity slots and per-API rate limits bound the real concurrency), then
// handles their findings in order.
func (b *baseline) runStage(ctx workflow.Context, stage []int, nonCompliantGuardrails, controls map[string]bool) {
	futures := map[checkKey]workflow.Future{}
	keys := b.stageChecks(stage)
	for _, k := range keys {
		futures[k] = workflow.ExecuteActivity(ctx, ActivityCheckGuardrail, CheckInput{
			RunID: b.in.RunID, AccountID: b.in.Account.ID, Region: k.region, Guardrail: b.in.Guardrails[k.g],
		})
	}
	for _, k := range keys {
		g := b.in.Guardrails[k.g]
		var out CheckOutput
		if err := futures[k].Get(ctx, &out); err != nil {
			if b.safety && isRegionNotEnabled(err) {
				b.res.Items = append(b.res.Items, notEnabledItem(g, b.in.Account.ID, k.region))
				continue
			}
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s in %s: %s", g.ID, k.region, errorMessage(err)))
			continue
		}
		b.recordCheck(ctx, g, k.region, out, nonCompliantGuardrails, controls)
	}
}

// stageChecks lists the stage's guardrails × regions to check, in order,
// and reports the regions the account has not enabled as not applicable.
func (b *baseline) stageChecks(stage []int) []checkKey {
	var keys []checkKey
	for _, gi := range stage {
		g := b.in.Guardrails[gi]
		for _, region := range g.Regions {
			if b.notEnabled[region] {
				b.res.Items = append(b.res.Items, notEnabledItem(g, b.in.Account.ID, region))
				continue
			}
			keys = append(keys, checkKey{gi, region})
		}
	}
	return keys
}

// recordCheck handles the findings of one guardrail in one region.
func (b *baseline) recordCheck(ctx workflow.Context, g guardrails.Guardrail, region string, out CheckOutput, nonCompliantGuardrails, controls map[string]bool) {
	if out.NotChecked != "" {
		b.res.Items = append(b.res.Items, BaselineItem{
			Finding: Finding{GuardrailID: g.ID, AccountID: b.in.Account.ID, Region: region, Evidence: out.NotChecked, Controls: g.Controls},
			Status:  ItemNotChecked,
		})
		return
	}
	for _, f := range out.Findings {
		item := b.handle(ctx, g, f)
		b.res.Items = append(b.res.Items, item)
		if item.Status != ItemCompliant && item.Status != ItemExempted && item.Status != ItemRemediated && item.Status != ItemNotApplicable {
			nonCompliantGuardrails[g.ID] = true
			for _, c := range g.Controls {
				controls[c] = true
			}
		}
	}
}

// runStageByRegion (versionLeanChecks) checks the stage's guardrails with
// one CheckAccountRegion activity per region, all regions at once, then
// handles the findings in the order runStage does: guardrail by guardrail,
// region by region.
func (b *baseline) runStageByRegion(ctx workflow.Context, stage []int, nonCompliantGuardrails, controls map[string]bool) {
	var regions []string
	byRegion := map[string][]int{}
	for _, k := range b.stageChecks(stage) {
		if _, ok := byRegion[k.region]; !ok {
			regions = append(regions, k.region)
		}
		byRegion[k.region] = append(byRegion[k.region], k.g)
	}
	// A region's activity checks a whole stage (dozens of guardrails, a few
	// at a time): 30 minutes where one guardrail had 10. A dead worker is
	// still noticed by the heartbeat within ActivityHeartbeatTimeout.
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    ActivityHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 8,
		},
	})
	futures := make([]workflow.Future, len(regions))
	for i, region := range regions {
		in := CheckAccountRegionInput{RunID: b.in.RunID, AccountID: b.in.Account.ID, Region: region, Epoch: b.applied}
		for _, gi := range byRegion[region] {
			g := b.in.Guardrails[gi]
			if b.in.Compact {
				in.GuardrailIDs = append(in.GuardrailIDs, g.ID)
			} else {
				in.Guardrails = append(in.Guardrails, g)
			}
		}
		if b.in.Compact {
			in.Digest = b.in.Digest
		}
		futures[i] = checkAccountRegion(rctx, in)
	}
	type outcome struct {
		res GuardrailResult
		err error // the activity's, when it left no result for the guardrail
	}
	results := map[checkKey]outcome{}
	for i, region := range regions {
		var out CheckAccountRegionOutput
		err := futures[i].Get(ctx, &out)
		if err != nil {
			out = partialRegionResults(err)
		}
		got := map[string]GuardrailResult{}
		for _, r := range out.Results {
			got[r.GuardrailID] = r
		}
		for _, gi := range byRegion[region] {
			id := b.in.Guardrails[gi].ID
			switch r, ok := got[id]; {
			case ok:
				results[checkKey{gi, region}] = outcome{res: r}
			case err != nil:
				results[checkKey{gi, region}] = outcome{err: err}
			default:
				results[checkKey{gi, region}] = outcome{err: fmt.Errorf("the check returned no result for %s", id)}
			}
		}
	}
	for _, gi := range stage {
		g := b.in.Guardrails[gi]
		for _, region := range g.Regions {
			o, ok := results[checkKey{gi, region}]
			switch {
			case !ok: // the region is not enabled: reported above
			case o.err != nil && isRegionNotEnabled(o.err), o.res.Error != nil && o.res.Error.Type == errRegionNotEnabled:
				b.res.Items = append(b.res.Items, notEnabledItem(g, b.in.Account.ID, region))
			case o.err != nil:
				b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s in %s: %s", g.ID, region, errorMessage(o.err)))
			case o.res.Error != nil:
				b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s in %s: %s", g.ID, region, o.res.Error.Message))
			default:
				b.recordCheck(ctx, g, region, CheckOutput{Findings: o.res.Findings, NotChecked: o.res.NotChecked}, nonCompliantGuardrails, controls)
			}
		}
	}
}

// partialRegionResults are the results a failed CheckAccountRegion left:
// in its error's details, or in the last heartbeat of an attempt that
// timed out.
func partialRegionResults(err error) CheckAccountRegionOutput {
	var out CheckAccountRegionOutput
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		_ = app.Details(&out)
		return out
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) && timeout.HasLastHeartbeatDetails() {
		_ = timeout.LastHeartbeatDetails(&out)
	}
	return out
}

// digest is what an activity needs to read g's definition: the set's
// digest when g is a compact reference, else "" (g is complete).
func (b *baseline) digest(g guardrails.Guardrail) string {
	if b.in.Compact && isCompact(g) {
		return b.in.Digest
	}
	return ""
}

// isCompact reports a CompactGuardrail: no kind-specific definition.
func isCompact(g guardrails.Guardrail) bool {
	return g.SCP == nil && g.ConfigRule == nil && g.SecurityHub == nil && g.Control == nil
}

func notEnabledItem(g guardrails.Guardrail, account, region string) BaselineItem {
	return BaselineItem{
		Finding: Finding{GuardrailID: g.ID, AccountID: account, Region: region, Status: StatusNotApplicable, Controls: g.Controls,
			Evidence: fmt.Sprintf("region %s is not enabled in account %s (an opt-in region it has not opted into)", region, account)},
		Status: ItemNotApplicable,
	}
}

// errRegionNotEnabled is the classified error of a call in a region the
// account has not opted into (awsclient.ErrRegionNotEnabled).
const errRegionNotEnabled = "RegionNotEnabled"

// isRegionNotEnabled reports the classified error of a call in a region
// the account has not opted into.
func isRegionNotEnabled(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == errRegionNotEnabled
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
		if f.Status == StatusNotApplicable && b.safety {
			item.Status = ItemNotApplicable
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
	b.applied++
	out, err := applyAndVerify(ctx, g, b.digest(g), f, b.in.RunID, id, "", b.rollback(), b.safety)
	item.Calls = out.Calls
	item.Undo = out.Undo
	switch {
	case err != nil:
		item.Status, item.Error = ItemError, errorMessage(err)
	case out.verified && b.rollback():
		item.Status = ItemRolledBack
	case out.verified && out.remaining != "":
		// The change is in place; what is left is nothing this guardrail
		// remediates (e.g. an unused password, reported only).
		item.Status = ItemNonCompliant
		item.Finding.Evidence = "applied; still non-compliant where orgguard does not remediate: " + out.remaining
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
	// remaining: the planned change is in place (verified) but the
	// resource is still non-compliant for problems the guardrail does not
	// remediate (the re-check plans no change); this is what it says.
	remaining string
}

// applyAndVerify runs the apply activity, then re-checks the one resource.
//
// With undo the change is a rollback: Finding.Change is the undo of an
// earlier apply, and verified means the re-check sees the resource as it
// was before that apply (non-compliant again).
//
// With planOnly (versionSafety) a re-check that is still non-compliant but
// plans no change verifies the apply: the change took, and what remains is
// reported, not counted as a failed remediation.
//
// digest is set when g is a CompactGuardrail (see CheckInput.Digest).
func applyAndVerify(ctx workflow.Context, g guardrails.Guardrail, digest string, f Finding, runID, key, sourceIdentity string, undo, planOnly bool) (applyResult, error) {
	attempts := int32(g.Remediation.MaxAttempts)
	if attempts <= 0 {
		attempts = 5
	}
	// With versionSafety the apply and its re-check heartbeat like checks
	// do: without a HeartbeatTimeout an attempt started by a worker that
	// died is retried only when its 10-minute StartToCloseTimeout is up,
	// and in the chaos test every SIGKILL stalled the rollout that long.
	var heartbeat time.Duration
	if planOnly {
		heartbeat = ActivityHeartbeatTimeout
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute, MaximumAttempts: attempts,
		},
	})
	var res applyResult
	if err := workflow.ExecuteActivity(actx, ActivityApplyRemediation, ApplyInput{
		RunID: runID, Guardrail: g, Finding: f, SourceIdentity: sourceIdentity, IdempotencyKey: key, Undo: undo, Digest: digest,
	}).Get(ctx, &res.ApplyOutput); err != nil {
		return res, err
	}
	vctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 8},
	})
	var check CheckOutput
	if err := workflow.ExecuteActivity(vctx, ActivityCheckGuardrail, CheckInput{
		RunID: runID, AccountID: f.AccountID, Region: f.Region, Guardrail: g, Resource: f.Resource, Digest: digest,
	}).Get(ctx, &check); err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	res.verified = true
	if undo {
		res.verified = false
		res.evidence = "the re-check does not see the state the rollback restored"
	}
	for _, c := range check.Findings {
		if c.Resource == f.Resource && c.Status == StatusNonCompliant {
			res.verified = undo
			res.evidence = c.Evidence
			if planOnly && !undo && c.Change == nil {
				res.verified, res.remaining = true, c.Evidence
			}
		}
	}
	return res, nil
}

func (b *baseline) requestApproval(ctx workflow.Context, g guardrails.Guardrail, f Finding, item *BaselineItem) {
	id := RemediationID(b.in.RunID, f.AccountID, f.Region, g.ID, f.Resource)
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if b.safety {
		// One request per finding and plan, whatever the run: a request that
		// is still pending is attached to; a closed one may be asked again.
		id = FindingRemediationID(f.AccountID, f.Region, g.ID, f.Resource, changeHash(f.Change))
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
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
		WorkflowIDReusePolicy: reuse,
	})
	fut := workflow.ExecuteChildWorkflow(cctx, Remediation, RemediationInput{
		ID: id, RunID: b.in.RunID, Account: b.in.Account, Guardrail: g, Finding: f,
		Policy: policy, Escalations: chain, RequestedBy: b.in.RequestedBy, Requester: b.in.Requester, Digest: b.in.Digest,
		Undo: b.rollback(),
	})
	var exec workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		// Already started means an earlier attempt of this baseline asked
		// already: the approval is not asked twice.
		if !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			item.Status, item.Error = ItemError, errorMessage(err)
			return
		}
		// Pending already (an earlier run, or an earlier attempt of this
		// baseline): attached, not asked twice.
		item.Attached = b.safety
	} else if b.safety {
		b.supersede(ctx, g, f, id)
	}
	item.Status = ItemPendingApproval
}

// supersede closes the pending requests for the same finding with another
// plan: approvers are told, and only the new plan can be approved.
func (b *baseline) supersede(ctx workflow.Context, g guardrails.Guardrail, f Finding, id string) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	var out PendingForFindingOutput
	if err := workflow.ExecuteActivity(actx, ActivityPendingForFinding, PendingForFindingInput{
		Prefix: FindingRemediationPrefix(f.AccountID, f.Region, g.ID, f.Resource), AccountID: f.AccountID, GuardrailID: g.ID,
	}).Get(ctx, &out); err != nil {
		workflow.GetLogger(ctx).Warn("could not list pending requests to supersede", "remediation_id", id, "error", err)
		return
	}
	for _, old := range out.IDs {
		if old == id {
			continue
		}
		// A request that closed meanwhile needs nothing.
		_ = workflow.SignalExternalWorkflow(ctx, old, "", SignalSupersede, SupersedeRequest{By: id, RunID: b.in.RunID}).Get(ctx, nil)
	}
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
		case ItemNotApplicable:
			c.NotApplicable++
		case ItemRolledBack:
			c.RolledBack++
		case ItemRefused:
			c.Refused++
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
