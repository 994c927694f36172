package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// DefaultConcurrency bounds the sliding window of account baselines when
// neither the rollout block nor the CLI says otherwise.
const DefaultConcurrency = 10

// continueAsNewEvery bounds history: a started and finished child costs about
// six events, so 500 children stay well under the 10k-event comfort zone even
// with signals and queries, for any organization size.
const continueAsNewEvery = 500

// RolloutInput starts (or continues) a rollout.
type RolloutInput struct {
	RunID       string         `json:"run_id"`
	Set         guardrails.Set `json:"set"`
	Mode        Mode           `json:"mode"`
	Targets     []string       `json:"targets,omitempty"` // --target override
	RequestedBy string         `json:"requested_by"`
	Reason      string         `json:"reason,omitempty"`
	Concurrency int            `json:"concurrency,omitempty"`
	// RequesterToken is the requester's OIDC ID token, bound to this run by
	// its nonce (identity.StartNonce). The first run verifies it and drops
	// it; RequestedBy becomes the verified name.
	RequesterToken string `json:"requester_token,omitempty"`
	// PackSignature is the pack's signature (orgguard pack sign), for trust
	// configs that admit signed packs.
	PackSignature string `json:"pack_signature,omitempty"`
	// Requester is the verified requester, set by the workflow itself (a
	// value given at start is ignored).
	Requester *identity.Principal `json:"requester,omitempty"`
	// ContinueAsNewEvery overrides how many children one run starts before
	// continuing as new (default continueAsNewEvery).
	ContinueAsNewEvery int `json:"continue_as_new_every,omitempty"`
	// State carries progress across continue-as-new; nil on the first run.
	State *RolloutState `json:"state,omitempty"`
	// Rollback, when set, makes this run roll back what an earlier run
	// applied instead of checking: plan shows the reverse changes, apply
	// applies them per each guardrail's remediation mode (approvals too).
	Rollback *RollbackSpec `json:"rollback,omitempty"`
	// Schedule is set by the workflow itself (a value given at start is
	// ignored) when a Temporal Schedule started the run: the run ID the
	// schedule was created with. Carried across continue-as-new.
	Schedule string `json:"schedule,omitempty"`
}

// RollbackSpec says what to roll back.
type RollbackSpec struct {
	// Of is the run whose applied changes are reversed.
	Of string `json:"of"`
	// Accounts and Guardrails narrow it (empty: all).
	Accounts   []string `json:"accounts,omitempty"`
	Guardrails []string `json:"guardrails,omitempty"`
}

// NonceTargets are the strings a requester token of a rollback is bound to
// (with identity.StartNonce), so a token made for one rollback starts no
// other.
func (s *RollbackSpec) NonceTargets() []string {
	if s == nil {
		return nil
	}
	out := []string{"rollback-of:" + s.Of}
	for _, a := range s.Accounts {
		out = append(out, "rollback-account:"+a)
	}
	for _, g := range s.Guardrails {
		out = append(out, "rollback-guardrail:"+g)
	}
	return out
}

func (r *rollout) nonceTargets() []string {
	return append(append([]string(nil), r.in.Targets...), r.in.Rollback.NonceTargets()...)
}

// RolloutState is everything a rollout knows about its progress.
type RolloutState struct {
	ManagementAccountID string `json:"management_account_id"`
	// OUs maps an OU path to its OU IDs (root first): accounts in waves
	// carry only their path, which keeps the state small.
	OUs     map[string][]string `json:"ous,omitempty"`
	Waves   []WaveState         `json:"waves"`
	Wave    int                 `json:"wave"` // index of the current wave
	Skipped []SkippedAccount    `json:"skipped,omitempty"`
	Paused  bool                `json:"paused,omitempty"`
	// StoppedReason is set when a wave spent its failure budget.
	StoppedReason string `json:"stopped_reason,omitempty"`
	// Runs counts continue-as-new generations (for the progress display).
	Runs int `json:"runs"`
	// ExpiredExemptions: expired when compiled or when the rollout started.
	ExpiredExemptions []string `json:"expired_exemptions,omitempty"`
	// StartedAt is when the first run planned the waves (versionEvidence).
	StartedAt time.Time `json:"started_at,omitzero"`
	// EvidenceMissed counts accounts whose records the evidence store
	// refused (after the activity's retries); EvidenceError is the first.
	EvidenceMissed int    `json:"evidence_missed,omitempty"`
	EvidenceError  string `json:"evidence_error,omitempty"`
	// Drift lists accounts of a scheduled run with non-compliant findings
	// (the first maxEventAccounts; DriftAccounts counts all), for the
	// drift event (versionNotifyEvents).
	Drift         []EventAccount `json:"drift,omitempty"`
	DriftAccounts int            `json:"drift_accounts,omitempty"`
}

// maxListedFailures bounds the failed accounts a rollout lists (the rest
// are counted): state and results stay small for any organization size.
const maxListedFailures = 200

// WaveState is one wave's accounts and results. Its size does not grow with
// the accounts already done: continue-as-new drops started accounts and
// results are summed, so 10,000 accounts fit comfortably in one payload.
type WaveState struct {
	Name string `json:"name"`
	// Accounts still to start from Next on (accounts before Next were
	// started; continue-as-new trims them).
	Accounts      []Account `json:"accounts"`
	Next          int       `json:"next"`
	Total         int       `json:"total"`
	BudgetCount   int       `json:"budget_count"`
	BudgetPercent float64   `json:"budget_percent,omitempty"`
	Succeeded     int       `json:"succeeded"`
	Failed        int       `json:"failed"`
	// Counts sums the results of the wave's accounts.
	Counts AccountResult `json:"counts"`
	// Failures lists failed accounts with their errors (the first
	// maxListedFailures; Failed counts all).
	Failures []AccountResult `json:"failures,omitempty"`
	Running  int             `json:"-"`
	// Org marks the organization wave: its one "account" is the management
	// account and its guardrails are the organization-wide ones.
	Org bool `json:"org,omitempty"`
	// Held are the approval requests of the wave's accounts still to be
	// decided (hold_until_approved); HeldFailed the accounts already
	// counted failed for a held request.
	Held       []HeldRemediation `json:"held,omitempty"`
	HeldFailed []string          `json:"held_failed,omitempty"`
	// Holding is true while the wave waits for its approvals.
	Holding bool `json:"holding,omitempty"`
}

// HeldRemediation is one approval request a wave waits for.
type HeldRemediation struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
}

// SkippedAccount is an account the rollout did not baseline, and why.
type SkippedAccount struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name,omitempty"`
	Reason    string `json:"reason"`
}

// AccountResult is the compact outcome of one account's baseline.
type AccountResult struct {
	AccountID       string `json:"account_id"`
	OK              bool   `json:"ok"`
	Error           string `json:"error,omitempty"`
	Compliant       int    `json:"compliant"`
	NonCompliant    int    `json:"non_compliant"`
	Remediated      int    `json:"remediated"`
	PendingApproval int    `json:"pending_approval"`
	Exempted        int    `json:"exempted"`
	Planned         int    `json:"planned"`
	NotChecked      int    `json:"not_checked,omitempty"`
	NotApplicable   int    `json:"not_applicable,omitempty"`
	RolledBack      int    `json:"rolled_back,omitempty"`
	Refused         int    `json:"refused,omitempty"`
}

// RolloutResult is returned when the rollout ends.
// Per-account results are the AccountBaseline workflows of the run (find
// them by the OrgguardRunId search attribute); the rollout keeps only counts
// and failures so that its size does not grow with the organization.
type RolloutResult struct {
	Progress Progress `json:"progress"`
}

// Progress answers the progress query.
type Progress struct {
	RunID         string              `json:"run_id"`
	RequestedBy   string              `json:"requested_by,omitempty"`
	Requester     *identity.Principal `json:"requester,omitempty"`
	Mode          Mode                `json:"mode"`
	Digest        string              `json:"digest"`
	State         string              `json:"state"` // discovering | running | paused | stopped | completed
	StoppedReason string              `json:"stopped_reason,omitempty"`
	Waves         []WaveProgress      `json:"waves"`
	Failed        []AccountResult     `json:"failed,omitempty"`
	Skipped       []SkippedAccount    `json:"skipped,omitempty"`
	Totals        AccountResult       `json:"totals"` // summed counts (AccountID empty)
	// ExpiredExemptions no longer apply; listed so their owners renew or drop them.
	ExpiredExemptions []string `json:"expired_exemptions,omitempty"`
	// EvidenceMissed counts accounts whose evidence records were not
	// written (EvidenceError is the first error).
	EvidenceMissed int    `json:"evidence_missed,omitempty"`
	EvidenceError  string `json:"evidence_error,omitempty"`
}

// WaveProgress counts accounts per state in one wave.
type WaveProgress struct {
	Name      string `json:"name"`
	Total     int    `json:"total"`
	Pending   int    `json:"pending"`
	Running   int    `json:"running"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	// Held counts approval requests the wave still waits for
	// (hold_until_approved).
	Held int `json:"held,omitempty"`
}

type rollout struct {
	in      RolloutInput
	st      *RolloutState
	started int // children started in this run (continue-as-new trigger)
	done    bool
	paused  bool
	// safety is versionSafety (see api.go).
	safety bool
	// lean is versionLeanChecks (see api.go).
	lean bool
	// evidence is versionEvidence: the run's manifest and each account's
	// records in the evidence store.
	evidence bool
	// evidencePending counts RecordBaseline activities in flight.
	evidencePending int
	// ownLimits is versionHistoryLimits: continue as new on orgguard's own
	// history limits, not on the server's suggestion.
	ownLimits bool
	// notify is versionNotifyEvents (see api.go and notify.go).
	notify bool
}

// OrgRollout walks the organization: discover, plan waves, run one
// AccountBaseline child per account in a sliding window, stop a wave that
// spends its failure budget, continue-as-new to keep history bounded.
func OrgRollout(ctx workflow.Context, in RolloutInput) (RolloutResult, error) {
	r := &rollout{in: in, st: in.State}
	if in.State != nil {
		r.paused = in.State.Paused
	}
	if err := r.setup(ctx); err != nil {
		return RolloutResult{}, err
	}
	r.safety = workflow.GetVersion(ctx, versionSafety, workflow.DefaultVersion, 1) == 1
	r.lean = r.safety && workflow.GetVersion(ctx, versionLeanChecks, workflow.DefaultVersion, 1) == 1
	r.evidence = r.lean && workflow.GetVersion(ctx, versionEvidence, workflow.DefaultVersion, 1) == 1
	r.ownLimits = r.evidence && workflow.GetVersion(ctx, versionHistoryLimits, workflow.DefaultVersion, 1) == 1
	r.notify = workflow.GetVersion(ctx, versionNotifyEvents, workflow.DefaultVersion, 1) == 1
	if in.Rollback != nil && !r.safety {
		return RolloutResult{}, temporal.NewNonRetryableApplicationError("rollback needs a newer worker", "InvalidInput", nil)
	}
	return r.run(ctx)
}

func (r *rollout) setup(ctx workflow.Context) error {
	switch r.in.Mode {
	case ModeCheck, ModePlan, ModeApply:
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("mode %q: want check, plan or apply", r.in.Mode), "InvalidInput", nil)
	}
	// Which schedule started the run (for its drift event) is read before
	// the run ID takes the workflow ID's, and only in the first run.
	if r.in.State == nil {
		r.in.Schedule = scheduleOf(workflow.GetInfo(ctx).WorkflowExecution.ID, r.in.RunID)
	}
	// A Temporal Schedule appends the scheduled time to the workflow ID it
	// starts; the run ID follows, so every scheduled run has its own
	// children and remediations.
	if id := workflow.GetInfo(ctx).WorkflowExecution.ID; strings.HasPrefix(id, RolloutID("")) && id != RolloutID(r.in.RunID) {
		r.in.RunID = strings.TrimPrefix(id, RolloutID(""))
	}
	if r.in.RunID == "" {
		return temporal.NewNonRetryableApplicationError("run id is empty", "InvalidInput", nil)
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress(), nil }); err != nil {
		return err
	}
	if workflow.GetVersion(ctx, versionTrust, workflow.DefaultVersion, 1) == 1 {
		if err := r.verifyRequester(ctx); err != nil {
			return err
		}
	}
	// Pause and resume are signals: fire-and-forget, safe to repeat.
	pause := workflow.GetSignalChannel(ctx, SignalPause)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				r.paused = true
			})
			sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				r.paused = false
			})
			sel.Select(ctx)
		}
	})
	return workflow.UpsertTypedSearchAttributes(ctx,
		SAKind.ValueSet(KindRollout), SARunID.ValueSet(r.in.RunID), SAMode.ValueSet(string(r.in.Mode)),
		SARequester.ValueSet(r.in.RequestedBy), SADigest.ValueSet(r.in.Set.Digest))
}

func (r *rollout) concurrency() int {
	switch {
	case r.in.Concurrency > 0:
		return r.in.Concurrency
	case r.in.Set.Rollout != nil && r.in.Set.Rollout.Concurrency > 0:
		return r.in.Set.Rollout.Concurrency
	}
	return DefaultConcurrency
}

func (r *rollout) run(ctx workflow.Context) (RolloutResult, error) {
	logger := workflow.GetLogger(ctx)
	if r.st == nil {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Minute,
			HeartbeatTimeout:    2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
		})
		var org DiscoverOutput
		withTags := false
		for _, t := range r.in.Set.Targets {
			withTags = withTags || len(t.AccountTags) > 0
		}
		if err := workflow.ExecuteActivity(actx, ActivityDiscoverAccounts, DiscoverInput{RunID: r.in.RunID, WithTags: withTags}).Get(ctx, &org); err != nil {
			return RolloutResult{}, fmt.Errorf("discover accounts: %w", err)
		}
		waves, skipped := Plan(&r.in.Set, org.ManagementAccountID, org.Accounts, r.in.Targets)
		if r.in.Rollback != nil && len(r.in.Rollback.Accounts) > 0 {
			waves = onlyAccounts(waves, org.ManagementAccountID, r.in.Rollback.Accounts)
		}
		r.st = &RolloutState{ManagementAccountID: org.ManagementAccountID, Waves: waves, Skipped: skipped, OUs: map[string][]string{}}
		now := workflow.Now(ctx)
		for _, e := range r.in.Set.ExpiredExemptions {
			r.st.ExpiredExemptions = append(r.st.ExpiredExemptions, describeExemption(e))
		}
		for _, e := range r.in.Set.Exemptions {
			if !e.Expires.IsZero() && !now.Before(e.Expires) {
				r.st.ExpiredExemptions = append(r.st.ExpiredExemptions, describeExemption(e))
			}
		}
		for i := range r.st.Waves {
			for j := range r.st.Waves[i].Accounts {
				a := &r.st.Waves[i].Accounts[j]
				if len(a.OUIDs) > 0 {
					r.st.OUs[a.OUPath] = a.OUIDs
				}
				// Only ACTIVE accounts are in waves; the e-mail is not needed
				// to baseline an account.
				a.OUIDs, a.Email, a.Status = nil, "", ""
			}
		}
		total := 0
		for _, w := range waves {
			total += w.Total
		}
		logger.Info("rollout planned", "accounts", total, "skipped", len(skipped), "waves", len(waves))
		if r.evidence {
			r.st.StartedAt = workflow.Now(ctx)
			r.recordRun(ctx, "running")
		}
	}
	r.st.Runs++

	conc := r.concurrency()
	running := 0
	for ; r.st.Wave < len(r.st.Waves); r.st.Wave++ {
		w := &r.st.Waves[r.st.Wave]
		// Pause between waves, but not again when resuming a wave after
		// continue-as-new: a wave that started has fewer accounts left than
		// its total (continue-as-new trims started accounts and resets Next).
		begun := w.Next > 0 || (r.safety && len(w.Accounts) < w.Total)
		if r.st.Wave > 0 && !begun && !r.overlapsOrg(r.st.Wave-1) && r.in.Set.Rollout != nil && r.in.Set.Rollout.PauseBetweenWaves > 0 {
			if err := workflow.Sleep(ctx, r.in.Set.Rollout.PauseBetweenWaves); err != nil {
				return r.result(), err
			}
		}
		for w.Next < len(w.Accounts) {
			if err := workflow.Await(ctx, func() bool { return running < conc && !r.paused }); err != nil {
				return r.result(), err
			}
			if w.budgetExceeded() {
				break
			}
			acct := w.Accounts[w.Next]
			acct.OUIDs, acct.Status = r.st.OUs[acct.OUPath], "ACTIVE"
			w.Next++
			running++
			w.Running++
			r.started++
			fut := r.startBaseline(ctx, acct, w.Org)
			wave, org := r.st.Wave, w.Org
			if r.evidence {
				r.evidencePending++
			}
			workflow.Go(ctx, func(ctx workflow.Context) {
				var res BaselineResult
				err := fut.Get(ctx, &res)
				r.record(wave, acct, res, err)
				running--
				if r.evidence {
					// Beside the window: the next account starts meanwhile.
					r.recordBaseline(ctx, acct, org, fut)
					r.evidencePending--
				}
			})
			if r.continueDue(ctx) {
				// Drain the window so no child is in flight across the boundary:
				// nothing is lost (results are in state) or repeated (Next moved).
				if err := workflow.Await(ctx, func() bool { return running == 0 && r.evidencePending == 0 }); err != nil {
					return r.result(), err
				}
				if !(w.Next == len(w.Accounts) && r.st.Wave == len(r.st.Waves)-1) {
					next := r.in
					r.st.Paused = r.paused
					for i := range r.st.Waves {
						ws := &r.st.Waves[i]
						ws.Accounts, ws.Next = ws.Accounts[ws.Next:], 0
					}
					next.State = r.st
					return RolloutResult{}, workflow.NewContinueAsNewError(ctx, OrgRollout, next)
				}
			}
		}
		if r.overlapsOrg(r.st.Wave) && !w.budgetExceeded() {
			// Nothing the next wave does depends on it: its baseline runs on
			// beside the next wave, whose end waits for it too.
			continue
		}
		if err := workflow.Await(ctx, func() bool { return running == 0 }); err != nil {
			return r.result(), err
		}
		if err := r.hold(ctx, w); err != nil {
			return r.result(), err
		}
		if spent := r.spentBudget(w); spent != nil {
			r.st.StoppedReason = fmt.Sprintf("wave %q: %d of %d accounts failed, over its failure budget (%s); later waves were not started",
				spent.Name, spent.Failed, spent.Total, budgetString(*spent))
			logger.Warn("rollout stopped", "reason", r.st.StoppedReason)
			break
		}
	}
	if err := workflow.Await(ctx, func() bool { return r.evidencePending == 0 }); err != nil {
		return r.result(), err
	}
	r.done = true
	r.announceEnd(ctx)
	res := r.result()
	outcome := "completed"
	if r.st.StoppedReason != "" {
		outcome = "stopped"
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAOutcome.ValueSet(outcome))
	if r.evidence {
		r.recordRun(ctx, outcome)
	}
	if r.st.StoppedReason != "" {
		return res, temporal.NewNonRetryableApplicationError(r.st.StoppedReason, "FailureBudgetExceeded", nil, res)
	}
	return res, nil
}

// recordRun writes the run's manifest to the evidence store: "running"
// once the waves are planned, "completed" or "stopped" at the end. A
// store that refuses is logged; the rollout's own work stands.
func (r *rollout) recordRun(ctx workflow.Context, status string) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
		},
	})
	in := RecordRunInput{
		RunID: r.in.RunID, Pack: PackName(r.in.Set), Digest: r.in.Set.Digest, Mode: r.in.Mode,
		RequestedBy: r.in.RequestedBy, Requester: r.in.Requester, Reason: r.in.Reason,
		StartedAt: r.st.StartedAt, Status: status, Stopped: r.st.StoppedReason,
	}
	if status != "running" {
		in.FinishedAt = workflow.Now(ctx)
		var c AccountResult
		for _, w := range r.st.Waves {
			c.add(w.Counts)
		}
		in.Counts = &c
	}
	if err := workflow.ExecuteActivity(actx, ActivityRecordRun, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("run manifest not recorded in the evidence store", "status", status, "error", err)
	}
}

// versionHistoryLimits: a rollout run continues as new on its own
// limits (continueAsNewEvery children, continueAsNewEvents events,
// continueAsNewBytes of history) instead of when the server suggests it.
// The server suggests it at 4 MB of history by default, which a run
// reaches after about 125 children (each child's result, with its
// findings, is in the parent's history too); every continue-as-new drains
// the window of accounts in flight first, so on 1,000 accounts the rollout
// ran 8 times and stood mostly idle 7 times, about 30 s in all.
const versionHistoryLimits = "history-limits"

// Own limits of a rollout run's history: under the 10,000 events a run may
// have (issue 11), and far under Temporal's hard limits (51,200 events,
// 50 MB), which end a workflow that passes them.
const (
	continueAsNewEvents = 8000
	continueAsNewBytes  = 20 << 20
)

// continueDue reports whether this run should continue as new before it
// starts another child.
func (r *rollout) continueDue(ctx workflow.Context) bool {
	if r.started >= r.canEvery() {
		return true
	}
	info := workflow.GetInfo(ctx)
	if r.ownLimits {
		return info.GetCurrentHistoryLength() >= continueAsNewEvents || info.GetCurrentHistorySize() >= continueAsNewBytes
	}
	return info.GetContinueAsNewSuggested()
}

// recordBaseline writes one finished baseline's evidence. A child that
// never started has nothing to record (its account's result says why).
func (r *rollout) recordBaseline(ctx workflow.Context, a Account, org bool, fut workflow.ChildWorkflowFuture) {
	var we workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &we); err != nil {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
		},
	})
	key := a.ID
	if org {
		key = "organization"
	}
	in := RecordBaselineInput{RunID: r.in.RunID, Key: key, Account: a, Mode: r.in.Mode, Digest: r.in.Set.Digest,
		WorkflowID: we.ID, WorkflowRunID: we.RunID}
	if err := workflow.ExecuteActivity(actx, ActivityRecordBaseline, in).Get(ctx, nil); err != nil {
		r.st.EvidenceMissed++
		if r.st.EvidenceError == "" {
			r.st.EvidenceError = key + ": " + errorMessage(err)
		}
		workflow.GetLogger(ctx).Error("evidence not recorded", "account_id", key, "error", err)
	}
}

// PackName names a compiled set for the evidence store's trend: the base
// name of the directory it was loaded from, or its short digest.
func PackName(set guardrails.Set) string {
	src := strings.TrimRight(strings.ReplaceAll(set.Source, "\\", "/"), "/")
	if i := strings.LastIndexByte(src, '/'); i >= 0 {
		src = src[i+1:]
	}
	if src == "" || src == "." {
		return "pack-" + guardrails.ShortDigest(set.Digest)
	}
	return src
}

// overlapsOrg reports that wave i is the organization wave of a check or
// plan (versionLeanChecks) with a wave after it: nothing a member
// account's check reads depends on SCPs being applied, so the next wave
// does not wait for it. An apply still waits: an SCP is the preventive
// layer every later wave relies on.
func (r *rollout) overlapsOrg(i int) bool {
	return r.lean && r.in.Mode != ModeApply && i >= 0 && i+1 < len(r.st.Waves) && r.st.Waves[i].Org
}

// spentBudget returns the wave that spent its failure budget: w, or an
// organization wave that ran beside it (overlapsOrg).
func (r *rollout) spentBudget(w *WaveState) *WaveState {
	if w.budgetExceeded() {
		return w
	}
	for i := range r.st.Wave {
		if o := &r.st.Waves[i]; r.overlapsOrg(i) && o.budgetExceeded() {
			return o
		}
	}
	return nil
}

// holds reports hold_until_approved for this run.
func (r *rollout) holds() bool {
	return r.safety && r.in.Mode == ModeApply && r.in.Set.Rollout != nil && r.in.Set.Rollout.HoldUntilApproved
}

// hold waits, at the end of a wave, until every approval request its
// accounts opened or attached to is decided; a request that ends failed or
// not_verified fails its account, against the wave's failure budget. The
// outcomes are polled through an activity (workflows do no I/O), every
// 30 s at first and then less often, up to every 10 minutes.
func (r *rollout) hold(ctx workflow.Context, w *WaveState) error {
	if !r.holds() || len(w.Held) == 0 {
		return nil
	}
	w.Holding = true
	defer func() { w.Holding = false }()
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 2 * time.Minute},
	})
	interval := 30 * time.Second
	for len(w.Held) > 0 {
		ids := make([]string, 0, len(w.Held))
		for _, h := range w.Held {
			ids = append(ids, h.ID)
		}
		var out RemediationOutcomesOutput
		if err := workflow.ExecuteActivity(actx, ActivityRemediationOutcomes, RemediationOutcomesInput{IDs: ids}).Get(ctx, &out); err != nil {
			return err
		}
		var still []HeldRemediation
		for _, h := range w.Held {
			switch st := out.Status[h.ID]; st {
			case RemPending, RemApproved:
				still = append(still, h)
			case RemFailed, RemNotVerified:
				r.failHeld(w, h, st)
			}
		}
		w.Held = still
		if len(w.Held) == 0 {
			break
		}
		if err := workflow.Sleep(ctx, interval); err != nil {
			return err
		}
		interval = min(interval*2, 10*time.Minute)
	}
	return nil
}

func (r *rollout) failHeld(w *WaveState, h HeldRemediation, status string) {
	for _, a := range w.HeldFailed {
		if a == h.AccountID {
			return
		}
	}
	w.HeldFailed = append(w.HeldFailed, h.AccountID)
	ar := AccountResult{AccountID: h.AccountID, Error: fmt.Sprintf("approved remediation %s ended %s", h.ID, status)}
	for i := range w.Failures {
		if w.Failures[i].AccountID == h.AccountID {
			// Counted failed already (its baseline failed).
			w.Failures[i].Error += "; " + ar.Error
			return
		}
	}
	w.Succeeded--
	w.Failed++
	if len(w.Failures) < maxListedFailures {
		w.Failures = append(w.Failures, ar)
	}
}

// onlyAccounts keeps the given accounts in the waves (a rollback narrowed
// with --account); the organization wave stays when the management
// account or "organization" is named.
func onlyAccounts(waves []WaveState, mgmt string, ids []string) []WaveState {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	var out []WaveState
	for _, w := range waves {
		if w.Org && !keep[mgmt] && !keep["organization"] {
			continue
		}
		var accts []Account
		for _, a := range w.Accounts {
			if w.Org || keep[a.ID] {
				accts = append(accts, a)
			}
		}
		if len(accts) == 0 {
			continue
		}
		w.Accounts, w.Total = accts, len(accts)
		out = append(out, w)
	}
	return out
}

func (r *rollout) canEvery() int {
	if r.in.ContinueAsNewEvery > 0 {
		return r.in.ContinueAsNewEvery
	}
	return continueAsNewEvery
}

func describeExemption(e guardrails.Exemption) string {
	return fmt.Sprintf("%s (%s, owner %s) expired %s", e.Name, e.Guardrail, e.Owner, e.Expires.UTC().Format("2006-01-02"))
}

func budgetString(w WaveState) string {
	if w.BudgetPercent > 0 {
		return fmt.Sprintf("%g%%", w.BudgetPercent)
	}
	return fmt.Sprintf("%d accounts", w.BudgetCount)
}

func (r *rollout) startBaseline(ctx workflow.Context, a Account, org bool) workflow.ChildWorkflowFuture {
	id, gs := AccountBaselineID(r.in.RunID, a.ID), AccountGuardrails(&r.in.Set, a)
	if org {
		id, gs = AccountBaselineID(r.in.RunID, "organization"), OrgGuardrails(&r.in.Set)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		TaskQueue:  TaskQueue,
		// A cancelled rollout cancels its baselines; approval-gated
		// remediations are their own (abandoned) workflows and stay pending.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		RetryPolicy:           &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var rb *RollbackSpec
	if r.in.Rollback != nil {
		rb = r.in.Rollback
	}
	in := BaselineInput{
		Rollback:    rb,
		Org:         org,
		RunID:       r.in.RunID,
		Account:     a,
		Guardrails:  gs,
		Exemptions:  r.in.Set.Exemptions,
		Policies:    r.in.Set.ApprovalPolicies,
		Mode:        r.in.Mode,
		RequestedBy: r.in.RequestedBy,
		Requester:   r.in.Requester,
		Digest:      r.in.Set.Digest,
	}
	if r.compact(ctx) {
		r.compactInput(&in)
	}
	return workflow.ExecuteChildWorkflow(cctx, AccountBaseline, in)
}

// compact reports whether children get compact inputs: the activities
// read definitions from the rollout's start event by the set's digest, so
// there must be a digest and the rollout must be where RolloutID says.
func (r *rollout) compact(ctx workflow.Context) bool {
	return r.lean && r.in.Set.Digest != "" && workflow.GetInfo(ctx).WorkflowExecution.ID == RolloutID(r.in.RunID)
}

// compactInput keeps of a child's input what its decisions need:
// guardrails as references (CompactGuardrail), except the approval-gated
// ones of an apply, whose definition a remediation records for its
// approvers; the exemptions that can cover the account; approval
// policies only where a remediation may be requested.
func (r *rollout) compactInput(in *BaselineInput) {
	in.Compact = true
	ids := map[string]bool{}
	for i, g := range in.Guardrails {
		ids[g.ID] = true
		if in.Mode != ModeApply || g.Remediation.Mode != guardrails.ModeApproval {
			in.Guardrails[i] = CompactGuardrail(g)
		}
	}
	in.Exemptions = nil
	for _, e := range r.in.Set.Exemptions {
		if (e.Guardrail == "*" || ids[e.Guardrail]) && exemptionScoped(e, in.Account) {
			in.Exemptions = append(in.Exemptions, e)
		}
	}
	if in.Mode != ModeApply {
		in.Policies = nil
	}
}

func (r *rollout) record(wave int, a Account, res BaselineResult, err error) {
	w := &r.st.Waves[wave]
	w.Running--
	if err != nil {
		// A failed baseline still reports what it found (the details of its
		// error), so the counts include the checks that did run.
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&res)
		}
	}
	ar := res.Counts
	ar.AccountID = a.ID
	ar.OK = err == nil
	w.Counts.add(ar)
	r.noteDrift(ar)
	if r.holds() {
		for _, id := range res.Pending {
			w.Held = append(w.Held, HeldRemediation{ID: id, AccountID: a.ID})
		}
	}
	if err == nil {
		w.Succeeded++
		return
	}
	ar.Error = errorMessage(err)
	w.Failed++
	if len(w.Failures) < maxListedFailures {
		w.Failures = append(w.Failures, ar)
	}
}

func (c *AccountResult) add(o AccountResult) {
	c.Compliant += o.Compliant
	c.NonCompliant += o.NonCompliant
	c.Remediated += o.Remediated
	c.PendingApproval += o.PendingApproval
	c.Exempted += o.Exempted
	c.Planned += o.Planned
	c.NotChecked += o.NotChecked
	c.NotApplicable += o.NotApplicable
	c.RolledBack += o.RolledBack
	c.Refused += o.Refused
}

// errorMessage unwraps Temporal's child/activity wrappers to the cause a
// person needs (account, region, role, action are in it).
func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out: " + timeout.Error()
	}
	return err.Error()
}

func (r *rollout) result() RolloutResult { return RolloutResult{Progress: r.progress()} }

func (r *rollout) progress() Progress {
	p := Progress{RunID: r.in.RunID, Mode: r.in.Mode, Digest: r.in.Set.Digest, State: "discovering", RequestedBy: r.in.RequestedBy, Requester: r.in.Requester}
	if r.st == nil {
		return p
	}
	p.StoppedReason = r.st.StoppedReason
	p.Skipped = r.st.Skipped
	p.ExpiredExemptions = r.st.ExpiredExemptions
	p.EvidenceMissed, p.EvidenceError = r.st.EvidenceMissed, r.st.EvidenceError
	switch {
	case r.st.StoppedReason != "":
		p.State = "stopped"
	case r.done:
		p.State = "completed"
	case r.paused:
		p.State = "paused"
	default:
		p.State = "running"
	}
	for _, w := range r.st.Waves {
		wp := WaveProgress{Name: w.Name, Total: w.Total, Running: w.Running, Succeeded: w.Succeeded, Failed: w.Failed, Held: len(w.Held)}
		if w.Holding && p.State == "running" {
			p.State = "holding"
		}
		wp.Pending = wp.Total - wp.Succeeded - wp.Failed - wp.Running
		p.Waves = append(p.Waves, wp)
		p.Failed = append(p.Failed, w.Failures...)
		p.Totals.add(w.Counts)
	}
	sort.Slice(p.Failed, func(i, j int) bool { return p.Failed[i].AccountID < p.Failed[j].AccountID })
	return p
}
