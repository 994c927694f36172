package activities

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// Env is what a guardrail implementation gets for one account and region.
type Env struct {
	Config    aws.Config // credentials of the member role (with SourceIdentity when approved)
	Where     awsclient.Where
	AccountID string
	Region    string
	Partition string
	Guardrail guardrails.Guardrail
	// IdempotencyKey is set on apply; pass it as ClientToken where an API takes one.
	IdempotencyKey string
	// Roles serializes this worker's writes of the account's global
	// service roles (nil: unserialized).
	Roles *roleWriter
}

// ARN builds an ARN in the environment's partition, region and account.
func (e Env) ARN(service, resource string) string {
	return "arn:" + e.Partition + ":" + service + ":" + e.Region + ":" + e.AccountID + ":" + resource
}

// Kind is the contract every guardrail kind implements.
//
// Check is read-only and returns one finding per resource it examined
// (compliant ones too, as evidence), setting Change on non-compliant findings
// it can remediate. When resource is non-empty only that resource is checked.
//
// Apply makes a finding compliant. It must be idempotent: re-read the
// resource, change only what is still needed, and return Changed=false with
// no write call when everything is already in place. It applies the change
// that was planned (and perhaps approved), never more.
//
// Errors are returned raw; the activity classifies them.
type Kind interface {
	Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error)
	Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error)
}

// Reverter is implemented by kinds whose changes can be rolled back. Their
// Apply sets ApplyOutput.Undo whenever it changed something: the change
// that restores the prior state, whose Params hold that state and what
// Apply left (JSON-compatible values: they go through workflow history).
//
// PlanUndo re-reads the resource and returns "" when it is still as Apply
// left it, else why not, in words that name what changed ("security group
// sg-1 changed since orgguard left it: added ingress tcp 3389 from
// 0.0.0.0/0"). It writes nothing.
//
// Undo restores the prior state. Like Apply it is idempotent: a resource
// already restored (or restored half-way by an earlier attempt) is finished
// without repeating a write. A resource that drifted from what Apply left
// since the plan is refused with an *UndoRefusal, never overwritten.
type Reverter interface {
	PlanUndo(ctx context.Context, env Env, resource string, undo workflows.Change) (refused string, err error)
	Undo(ctx context.Context, env Env, resource string, undo workflows.Change) (workflows.ApplyOutput, error)
}

func registerBuiltins(a *Activities) {
	a.Register("control:ec2.default_security_group_closed", defaultSGClosed{})
	a.Register("control:ec2.no_public_ssh_rdp", noPublicSSHRDP{})
	a.Register("control:ec2.ebs_default_encryption", ebsDefaultEncryption{})
	a.Register("control:ec2.vpc_flow_logs", vpcFlowLogs{})
	a.Register("control:ec2.imdsv2", imdsv2{})
	a.Register("control:iam.password_policy", passwordPolicy{})
	a.Register("control:iam.root_mfa", rootMFA{})
	a.Register("control:iam.root_access_keys", rootAccessKeys{})
	a.Register("control:iam.password_and_keys_separate", passwordAndKeysSeparate{})
	a.Register("control:iam.unused_credentials", unusedCredentials{})
	a.Register("control:iam.access_key_rotation", accessKeyRotation{})
	a.Register("control:iam.console_mfa", consoleMFA{})
	a.Register("control:s3.account_public_access_block", s3AccountPublicAccessBlock{})
	a.Register("control:s3.bucket_encryption", s3BucketEncryption{})
	a.Register("control:guardduty.detector", guardDutyDetector{})
	a.Register("control:accessanalyzer.analyzer", accessAnalyzer{})
	a.Register("control:config.recorder", configRecorder{})
	a.Register("control:cloudtrail.multi_region", cloudTrailMultiRegion{})
	a.Register("control:cloudwatch.root_activity_alarm", rootActivityAlarm{})
	a.Register("control:kms.key_rotation", kmsKeyRotation{})
	a.Register("control:cloudformation.drift", cloudFormationDrift{})
	a.Register(string(guardrails.KindSCP), scpKind{})
	a.Register(string(guardrails.KindConfigRule), configRuleKind{})
	a.Register(string(guardrails.KindSecurityHub), securityHubKind{})
}
