package awssim

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Eventual consistency, off unless Options.ConsistencyDelay (or
// AWSSIM_CONSISTENCY_DELAY) is set. IAM documents that "changes that you
// make might not be immediately visible" (IAM User Guide, Troubleshooting
// IAM, eventual consistency) and KMS that its resources are eventually
// consistent (KMS Developer Guide, eventual consistency); AWS Config
// evaluates rules asynchronously. With a delay D, during D after a write:
//
//   - A role just created, or whose trust policy just changed, is not usable
//     by other services: STS AssumeRole answers AccessDenied (after
//     UpdateAssumeRolePolicy the previous trust policy still applies),
//     CloudTrail InvalidCloudWatchLogsRoleArnException "Access denied. Check
//     the trust relationships for your role.", Config InvalidRoleException,
//     SSM Automation "The defined assume role is unable to be assumed.", and
//     flow logs delivering with it report DeliverLogsStatus FAILED,
//     "Access error".
//   - A role whose permissions just changed (Put/DeleteRolePolicy,
//     Attach/DetachRolePolicy): CloudTrail answers
//     InvalidCloudWatchLogsLogGroupArnException "Access denied. Check the
//     permissions for your role." and flow logs report "Access error".
//     These are the answers terraform-provider-aws retries for
//     (hashicorp/terraform-provider-aws#1312, #1820; hashicorp/terraform#13631).
//   - A KMS key just created, or whose key policy just changed: CloudTrail
//     answers InsufficientEncryptionPolicyException ("Insufficient
//     permissions to access S3 bucket ... or KMS key ..."); CloudWatch Logs,
//     SNS and the Config delivery channel do not find it.
//   - A KMS alias just created: other services cannot resolve it
//     (CloudTrail KmsKeyNotFoundException).
//   - AWS Config: an evaluation started by PutConfigRule,
//     StartConfigRulesEvaluation or a change to an evaluated resource
//     completes after D; until then compliance reads answer the previous
//     results (none for a new rule: INSUFFICIENT_DATA, no evaluation
//     results). See cfgVisibleResults.
//
// The service written to sees its own write at once (IAM GetRole, KMS
// DescribeKey), and seeded resources are settled from the start.

// Environment variables New reads unless Options.IgnoreEnvironment is set,
// so the demo and test harnesses that build their own Options can turn
// eventual consistency and faults on without code changes.
const (
	// EnvConsistencyDelay is a Go duration ("2s") used when
	// Options.ConsistencyDelay is 0.
	EnvConsistencyDelay = "AWSSIM_CONSISTENCY_DELAY"
	// EnvFaults is a fault profile (ParseFaults) added to Options.Faults.
	EnvFaults = "AWSSIM_FAULTS"
)

func applyEnvironment(opts *Options) error {
	if opts.IgnoreEnvironment {
		return nil
	}
	if v := strings.TrimSpace(os.Getenv(EnvConsistencyDelay)); v != "" && opts.ConsistencyDelay == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvConsistencyDelay, err)
		}
		opts.ConsistencyDelay = d
	}
	if v := os.Getenv(EnvFaults); strings.TrimSpace(v) != "" {
		faults, err := ParseFaults(v)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvFaults, err)
		}
		opts.Faults = append(append([]Fault(nil), opts.Faults...), faults...)
	}
	return nil
}

// ConsistencyDelay is the server's eventual-consistency delay, 0 when off.
func (s *Server) ConsistencyDelay() time.Duration { return s.consistencyDelay }

// settled reports whether a write made at written is visible to every
// service. The zero time (seeded resources, never written) is settled.
func (s *Server) settled(written time.Time) bool {
	return s.consistencyDelay <= 0 || written.IsZero() || !s.now().Before(written.Add(s.consistencyDelay))
}

// roleView is an IAM role as another AWS service sees it.
type roleView struct {
	// role is nil when no role has the ARN, or it was created within the
	// delay.
	role *iamRole
	// trustSettled: the current trust policy is in force everywhere.
	trustSettled bool
	// permsSettled: the current permission policies are.
	permsSettled bool
}

// usable reports whether a service can assume the role with its current
// trust and permissions.
func (v roleView) usable() bool { return v.role != nil && v.trustSettled && v.permsSettled }

// roleSeen looks a role up by ARN the way another service does.
func (s *Server) roleSeen(arn string) roleView {
	r := roleByARN(s, arn)
	if r == nil || !s.settled(r.created) {
		return roleView{}
	}
	return roleView{role: r, trustSettled: s.settled(r.trustWritten), permsSettled: s.settled(r.permsWritten)}
}

// trustInForce is the trust policy STS applies to role: the current one, the
// one before the latest UpdateAssumeRolePolicy while that is propagating, or
// none (ok false) for a role created within the delay.
func (s *Server) trustInForce(role *iamRole) (principals []string, externalID string, ok bool) {
	switch {
	case !s.settled(role.created):
		return nil, "", false
	case s.settled(role.trustWritten):
		return role.TrustedPrincipals, role.ExternalID, true
	}
	return role.prevTrustedPrincipals, role.prevExternalID, true
}

// rolePermsChanged records a change to a role's permission policies.
func (s *Server) rolePermsChanged(role *iamRole) { role.permsWritten = s.now() }

// roleTrustChanging records the trust policy in force before an
// UpdateAssumeRolePolicy replaces it; call it before the change.
func (s *Server) roleTrustChanging(role *iamRole) {
	if s.settled(role.trustWritten) {
		role.prevTrustedPrincipals, role.prevExternalID = role.TrustedPrincipals, role.ExternalID
	}
	role.trustWritten = s.now()
}

// kmsSeen resolves a key ID, ARN or alias the way another service does: an
// alias created within the delay resolves to nothing. settled reports
// whether the key and its key policy are in force everywhere.
func kmsSeen(s *Server, caller *account, region, id string) (k *kmsKey, settled bool) {
	if written, isAlias := kmsAliasWritten(s, caller, region, id); isAlias && !s.settled(written) {
		return nil, false
	}
	k = kmsResolve(s, caller, region, id)
	if k == nil {
		return nil, false
	}
	return k, s.settled(k.written)
}
