// Package workflows holds orgguard's deterministic orchestration: the
// organization rollout, the per-account baseline and the approval-gated
// remediation. Nothing here performs I/O: every side effect is an activity,
// called by its registered name (see the Activity* constants) so that this
// package depends on the guardrails' plain types only.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// TaskQueue is the one task queue orgguard's workers poll.
const TaskQueue = "orgguard"

// Workflow type names (registered explicitly: they are API).
const (
	WorkflowOrgRollout      = "OrgRollout"
	WorkflowAccountBaseline = "AccountBaseline"
	WorkflowRemediation     = "Remediation"
	WorkflowHealthcheck     = "Healthcheck"
)

// Activity names (registered explicitly by the worker).
const (
	ActivityDiscoverAccounts = "DiscoverAccounts"
	ActivityCheckGuardrail   = "CheckGuardrail"
	ActivityApplyRemediation = "ApplyRemediation"
	ActivityNotifyApprovers  = "NotifyApprovers"
	ActivityPing             = "Ping"
	ActivityLoadTrust        = "LoadTrust"
	// ActivityPreflightAccount assumes an account's role once and reads
	// which regions are enabled, before any guardrail runs (issue 10).
	ActivityPreflightAccount = "PreflightAccount"
	// ActivityReleaseRun drops the worker's cached credentials of one
	// account in one run when that account's baseline ends.
	ActivityReleaseRun = "ReleaseRun"
	// ActivityLoadAppliedChanges reads what a run applied in one account
	// (with each change's undo) for rollback.
	ActivityLoadAppliedChanges = "LoadAppliedChanges"
	// ActivityPendingForFinding lists the running remediations of one
	// finding (any planned change), so a changed plan supersedes them.
	ActivityPendingForFinding = "PendingForFinding"
	// ActivityRemediationOutcomes reads the status of remediations
	// (running ones as pending) for hold_until_approved.
	ActivityRemediationOutcomes = "RemediationOutcomes"
	// ActivityPlanUndo checks that a resource is still as orgguard left it
	// and returns the reverse change as a finding.
	ActivityPlanUndo = "PlanUndo"
	// ActivityCheckAccountRegion checks every guardrail of a baseline stage
	// in one account and region (versionLeanChecks); CheckGuardrail stays
	// for verification re-checks and for baselines started before it.
	ActivityCheckAccountRegion = "CheckAccountRegion"
	// ActivityRecordBaseline (versionEvidence) writes one account's
	// evidence records, read from its finished baseline.
	ActivityRecordBaseline = "RecordBaseline"
	// ActivityRecordRun writes a run's manifest to the evidence store.
	ActivityRecordRun = "RecordRun"
	// ActivityRecordRemediation writes a finished remediation's outcome
	// and decision trail to the evidence store.
	ActivityRecordRemediation = "RecordRemediation"
)

// versionEvidence gates the evidence store (issue 12): the rollout
// records each account's finished baseline (RecordBaseline, beside the
// window: the next account does not wait for it) and its own manifest when
// it starts and ends; remediations record themselves when they end.
const versionEvidence = "evidence"

// RecordBaselineInput names a finished baseline whose result the worker
// reads from Temporal (the result is not in the input: history does not
// carry the findings a third time) and writes as evidence records.
type RecordBaselineInput struct {
	RunID string `json:"run_id"`
	// Key is the account ID, or "organization" for the organization wave.
	Key     string  `json:"key"`
	Account Account `json:"account"`
	Mode    Mode    `json:"mode"`
	Digest  string  `json:"digest"`
	// WorkflowID and WorkflowRunID name the baseline execution.
	WorkflowID    string `json:"workflow_id"`
	WorkflowRunID string `json:"workflow_run_id"`
}

// RecordBaselineOutput counts the records written.
type RecordBaselineOutput struct {
	Records int `json:"records"`
}

// RecordRunInput is a run's manifest as the rollout knows it.
type RecordRunInput struct {
	RunID       string              `json:"run_id"`
	Pack        string              `json:"pack"`
	Digest      string              `json:"digest"`
	Mode        Mode                `json:"mode"`
	RequestedBy string              `json:"requested_by,omitempty"`
	Requester   *identity.Principal `json:"requester,omitempty"`
	Reason      string              `json:"reason,omitempty"`
	StartedAt   time.Time           `json:"started_at"`
	FinishedAt  time.Time           `json:"finished_at,omitzero"`
	Status      string              `json:"status"`
	Counts      *AccountResult      `json:"counts,omitempty"`
	// Stopped says why a rollout stopped early (a failure budget).
	Stopped string `json:"stopped,omitempty"`
}

// RecordRemediationInput asks the worker to record the calling
// remediation workflow's state (read through its remediation query).
type RecordRemediationInput struct {
	ID string `json:"id"`
}

// Query, signal and update names.
const (
	QueryProgress    = "progress"
	QueryRemediation = "remediation"
	QueryBaseline    = "baseline"
	SignalPause      = "pause"
	SignalResume     = "resume"
	UpdateApprove    = "approve"
	UpdateReject     = "reject"
	// SignalRefreshTrust asks a remediation to reload the worker's trust
	// snapshot (issuer keys after a rotation). Anyone may send it: the keys
	// come from the worker, never from the signal.
	SignalRefreshTrust = "refresh-trust"
	// SignalSupersede closes a pending remediation whose finding now has
	// another plan (SupersedeRequest). It can only close a request, never
	// approve or change one: no more than namespace access allows anyway.
	SignalSupersede = "supersede"
)

// SupersedeRequest names the request for the new plan.
type SupersedeRequest struct {
	By    string `json:"by"`
	RunID string `json:"run_id"`
}

// ActivityHeartbeatTimeout is the HeartbeatTimeout of the activities that
// check and change AWS (with versionSafety): how long a worker that died
// holds an attempt before Temporal retries it elsewhere. The activities
// heartbeat every activities.DefaultHeartbeatEvery (5 s) and the worker
// sends them at least that often (worker.Options.MaxHeartbeatThrottleInterval),
// so a live worker has 10 s of slack. In the chaos test every SIGKILL of
// the worker stalled the accounts in flight for this long (it was 30 s).
// Changing a timeout changes no command, so histories recorded with 2
// minutes, 30 s (or none) replay.
const ActivityHeartbeatTimeout = 15 * time.Second

// versionSafety gates rollout safety (issue 10): preflight per account,
// remediation failures in the failure budget, one approval per finding,
// hold_until_approved, exact wave state across continue-as-new.
const versionSafety = "rollout-safety"

// versionLeanChecks gates the leaner rollout (issue 11): one
// CheckAccountRegion activity per account × region and stage instead of one
// CheckGuardrail per guardrail × region; children and activities that name
// guardrails by the compiled set's digest instead of carrying their
// definitions; and, in check and plan mode, member accounts that do not
// wait for the organization wave.
const versionLeanChecks = "lean-checks"

// versionTrust gates verified identities and the governance floor
// (issue 9): workflows started before it keep their old behaviour on
// replay, and refuse votes they cannot verify.
const versionTrust = "trust"

// LoadTrustInput asks the worker for its trust snapshot.
type LoadTrustInput struct {
	// Refresh re-fetches issuer keys (rate-limited by the worker).
	Refresh bool `json:"refresh,omitempty"`
}

// PreflightInput asks whether an account's role can be assumed and which
// of the wanted regions are enabled in it.
type PreflightInput struct {
	RunID     string   `json:"run_id"`
	AccountID string   `json:"account_id"`
	Regions   []string `json:"regions"`
}

// PreflightOutput is the preflight's answer. An account whose role cannot
// be assumed fails the activity with a non-retryable ApplicationError of
// type "AssumeRoleFailed" whose message names the role ARN and the error.
type PreflightOutput struct {
	RoleARN string `json:"role_arn"`
	// Enabled are the wanted regions the account can use; NotEnabled the
	// wanted regions it has not opted into (opt-in status "not-opted-in").
	Enabled    []string `json:"enabled"`
	NotEnabled []string `json:"not_enabled,omitempty"`
}

// ReleaseRunInput names the account and run whose cached credentials the
// worker may drop.
type ReleaseRunInput struct {
	RunID     string `json:"run_id"`
	AccountID string `json:"account_id"`
}

// Mode of a rollout.
type Mode string

const (
	ModeCheck Mode = "check" // read only: findings
	ModePlan  Mode = "plan"  // read only: findings and the changes apply would make
	ModeApply Mode = "apply" // change what drifted, per each guardrail's remediation mode
)

// RolloutID is the workflow ID of a rollout run.
func RolloutID(runID string) string { return "orgguard-" + runID }

// AccountBaselineID is the deterministic workflow ID of one account's baseline in a run.
func AccountBaselineID(runID, accountID string) string {
	return "orgguard-" + runID + "-" + accountID
}

// FindingKey identifies one finding across runs: account, region,
// guardrail and resource.
func FindingKey(accountID, region, guardrailID, resource string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{accountID, region, guardrailID, resource}, "\x00")))
	return accountID + "-" + hex.EncodeToString(h[:])[:10]
}

// FindingRemediationID is the ID of the approval request for one finding
// and one exact planned change, the same in every run: a later run that
// finds the same open finding with the same plan attaches to the pending
// request instead of opening another. A changed plan gets a new ID, and
// the request for the old plan is closed as superseded.
func FindingRemediationID(accountID, region, guardrailID, resource, changeDigest string) string {
	d := changeDigest
	if i := strings.IndexByte(d, ':'); i >= 0 {
		d = d[i+1:]
	}
	if len(d) > 8 {
		d = d[:8]
	}
	return FindingRemediationPrefix(accountID, region, guardrailID, resource) + d
}

// FindingRemediationPrefix is the part of FindingRemediationID shared by
// every plan of one finding.
func FindingRemediationPrefix(accountID, region, guardrailID, resource string) string {
	return "rem-" + FindingKey(accountID, region, guardrailID, resource) + "-"
}

// PendingForFindingInput asks for the running remediations whose ID starts
// with Prefix (FindingRemediationPrefix) in one account and guardrail.
type PendingForFindingInput struct {
	Prefix      string `json:"prefix"`
	AccountID   string `json:"account_id"`
	GuardrailID string `json:"guardrail_id"`
}

// PendingForFindingOutput lists their workflow IDs.
type PendingForFindingOutput struct {
	IDs []string `json:"ids"`
}

// RemediationOutcomesInput names remediations.
type RemediationOutcomesInput struct {
	IDs []string `json:"ids"`
}

// RemediationOutcomesOutput maps each ID to its status: a Rem* constant
// (RemPending while it runs), or "unknown" when it cannot be found.
type RemediationOutcomesOutput struct {
	Status map[string]string `json:"status"`
}

// checkAccountRegion runs the CheckAccountRegion activity.
func checkAccountRegion(ctx workflow.Context, in CheckAccountRegionInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, ActivityCheckAccountRegion, in)
}

// RemediationID is the deterministic ID of the remediation of one finding in
// a run; it is also the approval ID people type, so it is kept short.
func RemediationID(runID, accountID, region, guardrailID, resource string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{accountID, region, guardrailID, resource}, "\x00")))
	return "rem-" + runID + "-" + accountID + "-" + hex.EncodeToString(h[:])[:8]
}

// Account is one account of the organization as discovery saw it.
type Account struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Email  string            `json:"email,omitempty"`
	Status string            `json:"status"`  // ACTIVE | SUSPENDED | PENDING_CLOSURE
	OUPath string            `json:"ou_path"` // "Root/Workloads/Prod"
	OUIDs  []string          `json:"ou_ids,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// DiscoverInput asks for the organization's accounts.
type DiscoverInput struct {
	RunID    string `json:"run_id"`
	WithTags bool   `json:"with_tags,omitempty"`
}

// DiscoverOutput is the organization as discovered.
type DiscoverOutput struct {
	ManagementAccountID string    `json:"management_account_id"`
	OrganizationID      string    `json:"organization_id"`
	Accounts            []Account `json:"accounts"` // every status, sorted by ID
}

// FindingStatus is the state of one resource against one guardrail.
type FindingStatus string

const (
	StatusCompliant     FindingStatus = "compliant"
	StatusNonCompliant  FindingStatus = "non_compliant"
	StatusNotApplicable FindingStatus = "not_applicable"
)

// Change is an exact planned change: what apply will do, as data and as a
// diff a person can read.
type Change struct {
	Summary string `json:"summary"`
	// Diff is a human-readable diff ("- ingress tcp 22 0.0.0.0/0").
	Diff string `json:"diff"`
	// Actions are the API actions apply will call, e.g. "ec2:RevokeSecurityGroupIngress".
	Actions []string `json:"actions"`
	// Params carries the control-specific data apply needs (JSON-compatible values).
	Params map[string]any `json:"params,omitempty"`
}

// Finding is the result of checking one resource.
type Finding struct {
	GuardrailID string        `json:"guardrail_id"`
	AccountID   string        `json:"account_id"`
	Region      string        `json:"region"`
	Resource    string        `json:"resource"` // ARN or "arn-like" id
	Status      FindingStatus `json:"status"`
	// Evidence says what was observed, in words and key facts.
	Evidence string            `json:"evidence"`
	Facts    map[string]string `json:"facts,omitempty"`
	// Change is set when the guardrail can remediate this finding.
	Change *Change `json:"change,omitempty"`
	// Controls copies the guardrail's framework mappings for reports.
	Controls []string `json:"controls,omitempty"`
	CSF      string   `json:"csf,omitempty"`
	Severity string   `json:"severity,omitempty"`
}

// CheckInput asks for the findings of one guardrail in one account and region.
type CheckInput struct {
	RunID     string               `json:"run_id"`
	AccountID string               `json:"account_id"`
	Region    string               `json:"region"`
	Guardrail guardrails.Guardrail `json:"guardrail"`
	// Resource, when set, restricts the check to one resource (verification).
	Resource string `json:"resource,omitempty"`
	// Digest, when set, makes Guardrail a reference (CompactGuardrail): the
	// worker reads the definition from the run's compiled set with this
	// digest.
	Digest string `json:"digest,omitempty"`
}

// CheckAccountRegionInput asks for the findings of several guardrails in
// one account and region: every guardrail of one baseline stage there.
type CheckAccountRegionInput struct {
	RunID     string `json:"run_id"`
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	// Digest and GuardrailIDs name the guardrails in the run's compiled set,
	// which the worker reads once (from the rollout's start event) and
	// verifies against the digest.
	Digest       string   `json:"digest,omitempty"`
	GuardrailIDs []string `json:"guardrail_ids,omitempty"`
	// Guardrails carries the definitions instead, when the baseline has
	// them (a child of a rollout started before versionLeanChecks).
	Guardrails []guardrails.Guardrail `json:"guardrails,omitempty"`
	// Epoch counts the changes the baseline applied in the account before
	// this check: reads a worker cached in an earlier epoch (perhaps
	// before another worker's write) are not used.
	Epoch int `json:"epoch,omitempty"`
}

// CheckAccountRegionOutput holds one result per guardrail, in the order
// asked.
type CheckAccountRegionOutput struct {
	Results []GuardrailResult `json:"results"`
}

// GuardrailResult is one guardrail's check: what CheckGuardrail returns,
// or the error it would have failed with.
type GuardrailResult struct {
	GuardrailID string    `json:"guardrail_id"`
	Findings    []Finding `json:"findings,omitempty"`
	// NotChecked: this worker has no implementation of the guardrail's kind.
	NotChecked string      `json:"not_checked,omitempty"`
	Error      *CheckError `json:"error,omitempty"`
}

// CheckError is a guardrail's failed check, classified as the activity
// error would be (Type "RegionNotEnabled", "AccessDenied", …).
type CheckError struct {
	Message      string `json:"message"`
	Type         string `json:"type,omitempty"`
	NonRetryable bool   `json:"non_retryable,omitempty"`
}

// CompactGuardrail is what a workflow needs of a guardrail to decide:
// identity, kind, regions, framework mappings and remediation settings.
// Activities given a compact guardrail with the set's digest read the
// definition (policy documents, rule parameters, control settings) from
// the set.
func CompactGuardrail(g guardrails.Guardrail) guardrails.Guardrail {
	return guardrails.Guardrail{
		ID: g.ID, Kind: g.Kind, Name: g.Name, Severity: g.Severity, CSF: g.CSF,
		Controls: g.Controls, Target: g.Target, Regions: g.Regions, Remediation: g.Remediation,
	}
}

// CheckOutput holds the findings.
type CheckOutput struct {
	Findings []Finding `json:"findings"`
	// NotChecked is set when this worker has no implementation of the
	// guardrail's kind: reported, never silently passed.
	NotChecked string `json:"not_checked,omitempty"`
}

// ApplyInput applies the change of one finding.
type ApplyInput struct {
	RunID     string               `json:"run_id"`
	Guardrail guardrails.Guardrail `json:"guardrail"`
	Finding   Finding              `json:"finding"`
	// SourceIdentity is set for approved changes: the approver, so CloudTrail
	// in the member account shows who approved.
	SourceIdentity string `json:"source_identity,omitempty"`
	// IdempotencyKey is minted in the workflow and passed to APIs that take a
	// client token.
	IdempotencyKey string `json:"idempotency_key"`
	// Undo applies Finding.Change as a rollback: the kind's Undo restores
	// the prior state it describes instead of Apply.
	Undo bool `json:"undo,omitempty"`
	// Digest, when set, makes Guardrail a reference (see CheckInput.Digest).
	Digest string `json:"digest,omitempty"`
}

// LoadAppliedInput asks what a run applied in one account ("organization"
// for the organization wave), optionally only for some guardrails.
type LoadAppliedInput struct {
	RunID      string   `json:"run_id"`
	AccountID  string   `json:"account_id"`
	Guardrails []string `json:"guardrails,omitempty"`
}

// AppliedChange is one change a run applied, with its undo.
type AppliedChange struct {
	GuardrailID   string   `json:"guardrail_id"`
	Region        string   `json:"region"`
	Resource      string   `json:"resource"`
	Undo          Change   `json:"undo"`
	RemediationID string   `json:"remediation_id,omitempty"`
	AppliedBy     []string `json:"applied_by,omitempty"`
	Status        string   `json:"status"` // remediated | not_verified
}

// LoadAppliedOutput lists a run's applied changes in one account.
type LoadAppliedOutput struct {
	Changes []AppliedChange `json:"changes"`
	// NotFound is set when the run has no baseline for the account.
	NotFound string `json:"not_found,omitempty"`
}

// PlanUndoInput asks whether one applied change can be rolled back.
type PlanUndoInput struct {
	RunID     string               `json:"run_id"`
	AccountID string               `json:"account_id"`
	Region    string               `json:"region"`
	Guardrail guardrails.Guardrail `json:"guardrail"`
	Resource  string               `json:"resource"`
	Undo      Change               `json:"undo"`
	// Digest, when set, makes Guardrail a reference (see CheckInput.Digest).
	Digest string `json:"digest,omitempty"`
}

// PlanUndoOutput is the rollback plan of one change: Finding carries the
// reverse change (Status non_compliant, Change = the undo) when the
// resource is still as orgguard left it; otherwise Refused says why not
// (what the resource looks like now).
type PlanUndoOutput struct {
	Finding *Finding `json:"finding,omitempty"`
	Refused string   `json:"refused,omitempty"`
}

// ApplyOutput says what apply did.
type ApplyOutput struct {
	// Changed is false when everything was already in place.
	Changed bool `json:"changed"`
	// Calls lists the write calls made, e.g. "ec2:RevokeSecurityGroupIngress sg-123".
	Calls []string `json:"calls,omitempty"`
	// Undo, set by kinds that can reverse what they changed, is the change
	// that restores the prior state Apply replaced: Summary and Diff say it
	// in words ("+ ingress tcp 22 0.0.0.0/0"), Params hold the prior state
	// and what Apply left (so a rollback can refuse when it drifted since).
	// Nil when nothing changed or the kind cannot reverse.
	Undo *Change `json:"undo,omitempty"`
}

// NotifyInput tells approvers a remediation waits for them.
type NotifyInput struct {
	RemediationID string                    `json:"remediation_id"`
	Policy        guardrails.ApprovalPolicy `json:"policy"`
	Finding       Finding                   `json:"finding"`
	Deadline      time.Time                 `json:"deadline"`
	Escalation    bool                      `json:"escalation,omitempty"`
	// SupersededBy, when set, tells the approvers this request is closed:
	// the finding's plan changed and the named request replaces it.
	SupersededBy string `json:"superseded_by,omitempty"`
}

// ActivityNotifyEvent delivers one event to the destinations subscribed to
// it (versionNotifyEvents): the worker's notification config, and for
// approval events the approval policy's SNS topic and webhook. It reports
// each delivery (NotifyEventOutput) instead of failing on a refusal.
const ActivityNotifyEvent = "NotifyEvent"

// versionNotifyEvents gates notifications people can act on (issue 12):
// remediations send approval requests through NotifyEvent and announce
// their outcome (remediated, failed or not verified, expired), keeping
// each delivery's result in their state; rollouts announce a stop by a
// failure budget and the drift a scheduled check found.
const versionNotifyEvents = "notify-events"

// EventType names an event destinations subscribe to. The names are API:
// worker notification configs and receivers match on them.
type EventType string

const (
	EventApprovalRequested  EventType = "approval_requested"
	EventApprovalSuperseded EventType = "approval_superseded"
	EventRemediated         EventType = "remediated"
	// EventRemediationFailed: the apply failed, or its re-check did not
	// find the resource compliant (Status says which).
	EventRemediationFailed EventType = "remediation_failed"
	EventApprovalExpired   EventType = "approval_expired"
	// EventRolloutStopped: a wave spent its failure budget.
	EventRolloutStopped EventType = "rollout_stopped"
	// EventDriftDetected: a scheduled check or plan found non-compliant
	// resources.
	EventDriftDetected EventType = "drift_detected"
)

// EventTypes lists every event type, in the order the docs describe them.
func EventTypes() []EventType {
	return []EventType{EventApprovalRequested, EventApprovalSuperseded, EventRemediated, EventRemediationFailed,
		EventApprovalExpired, EventRolloutStopped, EventDriftDetected}
}

// Event is one notification: what happened, to which remediation or
// rollout. It carries no secret and no destination: the worker decides
// where it goes.
type Event struct {
	Type EventType `json:"type"`
	// ID is the same on every attempt to deliver this event (receivers
	// deduplicate by it): remediation or run ID, event type, and the
	// escalation level or execution where one request is sent again.
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	RunID  string    `json:"run_id"`
	Digest string    `json:"pack_digest,omitempty"`
	// Remediation is set for approval and remediation events, Rollout for
	// rollout events.
	Remediation *RemediationEvent `json:"remediation,omitempty"`
	Rollout     *RolloutEvent     `json:"rollout,omitempty"`
}

// RemediationEvent is what an event tells about a remediation.
type RemediationEvent struct {
	ID          string   `json:"id"`
	Status      string   `json:"status"`
	AccountID   string   `json:"account_id"`
	AccountName string   `json:"account_name,omitempty"`
	Region      string   `json:"region"`
	GuardrailID string   `json:"guardrail_id"`
	Controls    []string `json:"controls,omitempty"`
	Resource    string   `json:"resource"`
	Evidence    string   `json:"evidence,omitempty"`
	// Change is the planned change in words (no control parameters).
	ChangeSummary string `json:"change_summary,omitempty"`
	ChangeDiff    string `json:"change_diff,omitempty"`
	// ChangeDigest is what a vote is bound to (orgguard approve --digest).
	ChangeDigest string    `json:"change_digest,omitempty"`
	Policy       string    `json:"policy,omitempty"`
	Approvers    []string  `json:"approvers,omitempty"`
	IdPGroups    []string  `json:"idp_groups,omitempty"`
	Quorum       int       `json:"quorum,omitempty"`
	Deadline     time.Time `json:"deadline,omitzero"`
	Escalation   bool      `json:"escalation,omitempty"`
	RequestedBy  string    `json:"requested_by,omitempty"`
	ApprovedBy   []string  `json:"approved_by,omitempty"`
	Calls        []string  `json:"calls,omitempty"`
	Error        string    `json:"error,omitempty"`
	Remaining    string    `json:"remaining,omitempty"`
	SupersededBy string    `json:"superseded_by,omitempty"`
	Rollback     bool      `json:"rollback,omitempty"`
}

// RolloutEvent is what an event tells about a rollout.
type RolloutEvent struct {
	Mode        Mode   `json:"mode"`
	RequestedBy string `json:"requested_by,omitempty"`
	// Schedule is set for a run started by a Temporal Schedule: the run
	// ID the schedule was created with ("sched-<name>").
	Schedule      string         `json:"schedule,omitempty"`
	State         string         `json:"state"`
	StoppedReason string         `json:"stopped_reason,omitempty"`
	Waves         []WaveProgress `json:"waves,omitempty"`
	Totals        EventCounts    `json:"totals"`
	// Failed lists failed accounts (at most maxEventAccounts).
	Failed []EventAccount `json:"failed,omitempty"`
	// Drift lists accounts with non-compliant findings (at most
	// maxEventAccounts); DriftAccounts counts them all.
	Drift         []EventAccount `json:"drift,omitempty"`
	DriftAccounts int            `json:"drift_accounts,omitempty"`
}

// EventCounts are a rollout's summed findings.
type EventCounts struct {
	Compliant       int `json:"compliant"`
	NonCompliant    int `json:"non_compliant"`
	Remediated      int `json:"remediated"`
	PendingApproval int `json:"pending_approval"`
	Exempted        int `json:"exempted,omitempty"`
	Planned         int `json:"planned,omitempty"`
	NotChecked      int `json:"not_checked,omitempty"`
	NotApplicable   int `json:"not_applicable,omitempty"`
}

// EventAccount is one account a rollout event names: failed (Error), or
// with non-compliant findings.
type EventAccount struct {
	AccountID    string `json:"account_id"`
	Error        string `json:"error,omitempty"`
	NonCompliant int    `json:"non_compliant,omitempty"`
	Compliant    int    `json:"compliant,omitempty"`
}

// NotifyEventInput asks the worker to deliver an event.
type NotifyEventInput struct {
	Event Event `json:"event"`
	// PolicyNotify are the approval policy's destinations (from the pack),
	// for approval events only.
	PolicyNotify *guardrails.Notify `json:"policy_notify,omitempty"`
	// Policy names the approval policy PolicyNotify belongs to.
	Policy string `json:"policy,omitempty"`
	// MaxAttempts is the activity's MaximumAttempts: on its last attempt
	// the activity records what it could not deliver instead of asking
	// to be retried later.
	MaxAttempts int32 `json:"max_attempts,omitempty"`
}

// NotifyEventOutput reports one delivery per destination.
type NotifyEventOutput struct {
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// Delivery is the outcome of sending one event to one destination. It
// names the destination, never its URL (webhook URLs carry tokens).
type Delivery struct {
	Destination string    `json:"destination"`
	Event       EventType `json:"event"`
	OK          bool      `json:"ok"`
	// StatusCode is the HTTP status of the last attempt (0 for SNS or when
	// no answer came).
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	Attempts   int       `json:"attempts"`
	At         time.Time `json:"at"`
}

// String says what a person needs to know about a delivery.
func (d Delivery) String() string {
	if d.OK {
		return fmt.Sprintf("notification to %s sent: %s (%d attempt%s)", d.Destination, d.Event, d.Attempts, plural(d.Attempts))
	}
	status := ""
	if d.StatusCode != 0 {
		status = fmt.Sprintf("%d ", d.StatusCode)
	}
	return fmt.Sprintf("notification to %s failed: %s%s (%s, %d attempt%s)", d.Destination, status, d.Error, d.Event, d.Attempts, plural(d.Attempts))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// notifyEvent runs the NotifyEvent activity.
func notifyEvent(ctx workflow.Context, in NotifyEventInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, ActivityNotifyEvent, in)
}
