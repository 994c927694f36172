// Package evidence is orgguard's evidence store: every run's findings,
// one record per account × region × guardrail × resource, and every
// remediation's decision trail, kept outside Temporal's history (which a
// namespace's retention deletes) so that auditors can take it away.
//
// The store is a set of immutable-by-key JSON objects under one layout,
// the same on a local directory (dev) and in an S3 bucket (production):
//
//	runs/<run>/run.json                      the run's manifest (RunManifest)
//	runs/<run>/accounts/<account>.jsonl      the account's records (one Record per line)
//	remediations/<remediation>/<wfrun>.json  one remediation's outcome and trail (RemediationRecord)
//	packs/<pack>/<started>_<run>             an empty marker: the runs of one pack, oldest first
//
// Each object is written whole by one activity and rewritten whole when
// the activity is retried, so writes are idempotent per run and resume
// after a crash; a reader streams one account object at a time.
package evidence

import (
	"time"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// SchemaVersion is the version of the records' JSON layout.
const SchemaVersion = 1

// Control is one framework mapping with its framework version, e.g.
// {CIS, "CIS AWS Foundations Benchmark", "v3.0.0", "5.4"}.
type Control = guardrails.ControlRef

// Record is one finding of one run: account × region × guardrail × resource.
type Record struct {
	Schema     int    `json:"schema"`
	RunID      string `json:"run_id"`
	PackDigest string `json:"pack_digest"`
	Mode       string `json:"mode"`

	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	OUPath      string `json:"ou_path,omitempty"`
	Region      string `json:"region"`
	GuardrailID string `json:"guardrail_id"`
	Kind        string `json:"kind,omitempty"`
	Resource    string `json:"resource"`

	// Status is the baseline item's status (workflows.ItemStatus):
	// compliant, non_compliant, planned, remediated, pending_approval, …
	Status   string            `json:"status"`
	Evidence string            `json:"evidence,omitempty"`
	Facts    map[string]string `json:"facts,omitempty"`
	// Change is the planned change (what apply makes or made).
	Change *workflows.Change `json:"change,omitempty"`
	// RemediationID names the approval request (RemediationRecord) when
	// the change is approval-gated.
	RemediationID string   `json:"remediation_id,omitempty"`
	Calls         []string `json:"calls,omitempty"`
	Exemption     string   `json:"exemption,omitempty"`
	Error         string   `json:"error,omitempty"`

	Controls []Control `json:"controls,omitempty"`
	CSF      string    `json:"csf,omitempty"`
	Severity string    `json:"severity,omitempty"`

	RecordedAt time.Time `json:"recorded_at"`
}

// RunManifest describes one run: what the rollout knows of it (pack,
// digest, mode, verified requester, times, status, counts).
type RunManifest struct {
	Schema int `json:"schema"`
	workflows.RecordRunInput
}

// RemediationRecord is one remediation workflow's outcome and decision
// trail: the request, every verified vote, what was applied.
type RemediationRecord struct {
	Schema     int                        `json:"schema"`
	WorkflowID string                     `json:"workflow_id"`
	RunID      string                     `json:"workflow_run_id"`
	State      workflows.RemediationState `json:"state"`
	RecordedAt time.Time                  `json:"recorded_at"`
}
