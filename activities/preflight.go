package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// ErrAssumeRoleFailed is the ApplicationError type of a preflight whose
// member role cannot be assumed.
const ErrAssumeRoleFailed = "AssumeRoleFailed"

// preflightPermissions are what PreflightAccount calls as the member role.
var preflightPermissions = []string{"ec2:DescribeRegions"}

// PreflightAccount assumes the member role of an account once and reads
// which of the wanted regions the account has enabled, so that an account
// whose role is broken is reported once (not once per guardrail and
// region), and regions it has not opted into are not applicable.
func (a *Activities) PreflightAccount(ctx context.Context, in workflows.PreflightInput) (workflows.PreflightOutput, error) {
	// Any enabled region answers DescribeRegions for all of them: the
	// root configuration's, else the first wanted one.
	region := a.AWS.Region()
	if region == "" && len(in.Regions) > 0 {
		region = in.Regions[0]
	}
	cfg, where, err := a.AWS.Account(ctx, in.AccountID, region, in.RunID, "")
	if err != nil {
		return workflows.PreflightOutput{}, err
	}
	out := workflows.PreflightOutput{RoleARN: where.Role}
	// The session is cached per account and run, so the guardrails that
	// follow on this worker reuse it.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return out, assumeRoleError(err, in.AccountID, where)
	}
	regions, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return out, awsclient.Classify(err, where)
	}
	out.Enabled, out.NotEnabled = enabledRegions(in.Regions, regions.Regions)
	activity.GetLogger(ctx).Info("preflight", "account_id", in.AccountID, "role", where.Role,
		"enabled", out.Enabled, "not_enabled", out.NotEnabled)
	return out, nil
}

// assumeRoleError classifies a failed AssumeRole: throttling, 5xx and
// network errors are retried; anything else means the role cannot be
// assumed (missing, trust or external ID wrong, account closed) and is
// reported once with the role and the AWS answer.
func assumeRoleError(err error, account string, where awsclient.Where) error {
	if awsclient.Retryable(err) {
		return awsclient.Classify(err, where)
	}
	reason := err.Error()
	var api smithy.APIError
	if errors.As(err, &api) {
		reason = api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("account %s: cannot assume role %s: %s", account, where.Role, reason), ErrAssumeRoleFailed, nil)
}

// enabledRegions splits the wanted regions by their opt-in status, in the
// order they were wanted. A wanted region that DescribeRegions does not
// list is not enabled either; the organization-wide pseudo-region always
// is.
func enabledRegions(wanted []string, regions []ec2types.Region) (enabled, notEnabled []string) {
	status := map[string]string{}
	for _, r := range regions {
		status[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
	}
	for _, name := range wanted {
		switch {
		case name == workflows.OrgRegion, status[name] == "opt-in-not-required", status[name] == "opted-in":
			enabled = append(enabled, name)
		default: // "not-opted-in", or not listed
			notEnabled = append(notEnabled, name)
		}
	}
	return enabled, notEnabled
}

// ReleaseRun drops this worker's cached sessions and reads of one account
// in one run, once the account's baseline is done; a long-running worker
// would otherwise keep them per account and run.
func (a *Activities) ReleaseRun(_ context.Context, in workflows.ReleaseRunInput) error {
	a.AWS.ReleaseRun(in.RunID, in.AccountID)
	a.reads.release(in.RunID, in.AccountID)
	return nil
}
