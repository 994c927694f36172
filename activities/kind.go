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
