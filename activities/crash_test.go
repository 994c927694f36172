package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// crashBefore makes the first call of operation (SDK service ID, e.g.
// "IAM") through env fail before it reaches AWS, as when the worker dies
// between the call before it and this one. Later calls go through.
func crashBefore(env Env, service, operation string) Env {
	var fired atomic.Bool
	env.Config = env.Config.Copy()
	env.Config.APIOptions = append(slices.Clip(env.Config.APIOptions), func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("crashBefore",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) == service && awsmiddleware.GetOperationName(ctx) == operation && fired.CompareAndSwap(false, true) {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("worker crashed before %s:%s", service, operation)
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.Before)
	})
	return env
}

// isPropagation reports an error the activity would retry as a
// propagation delay.
func isPropagation(err error, env Env) bool {
	var app *temporal.ApplicationError
	return errors.As(awsclient.Classify(err, env.Where), &app) && app.Type() == awsclient.ErrPropagation && !app.NonRetryable()
}

// succeeded counts the successful calls of service:operation (signing
// name) in the simulator's log.
func (s *sim) succeeded(service, operation string) int {
	return len(s.srv.CallsMatching(awssim.CallFilter{Service: service, Operation: operation, OnlySuccess: true}))
}

// TestCloudTrailApplyResumesAfterACrash crashes the CloudTrail remediation
// between each pair of calls that create and then configure something, runs
// Apply again as the activity's retry would, and checks that the result is
// complete and that nothing was created twice.
func TestCloudTrailApplyResumesAfterACrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, service, operation string
	}{
		{"role created, policy not put", "IAM", "PutRolePolicy"},
		{"key created, rotation not enabled", "KMS", "EnableKeyRotation"},
		{"key created, alias not created", "KMS", "CreateAlias"},
		{"log group created, retention not set", "CloudWatch Logs", "PutRetentionPolicy"},
		{"bucket created, policy not put", "S3", "PutBucketPolicy"},
		{"trail created, logging not started", "CloudTrail", "StartLogging"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, awssim.Options{})
			k := cloudTrailMultiRegion{}
			env := s.env(t, acctWebProd, usEast1, control("cloudtrail.multi_region", nil))
			w := k.want(env)
			before, err := k.Check(ctx, env, "")
			require.NoError(t, err)
			require.Len(t, before, 1)
			f := before[0]
			require.Equal(t, workflows.StatusNonCompliant, f.Status)

			_, err = s.apply(k, crashBefore(env, tc.service, tc.operation), f)
			require.ErrorContains(t, err, "worker crashed before "+tc.service+":"+tc.operation)
			_, err = s.apply(k, env, f)
			require.NoError(t, err, "the retry finishes the work")

			after, err := k.Check(ctx, env, "")
			require.NoError(t, err)
			require.Equal(t, workflows.StatusCompliant, after[0].Status, after[0].Evidence)

			// Nothing twice.
			for _, op := range [][2]string{{"kms", "CreateKey"}, {"iam", "CreateRole"}, {"logs", "CreateLogGroup"}, {"s3", "CreateBucket"}, {"cloudtrail", "CreateTrail"}} {
				require.Equal(t, 1, s.succeeded(op[0], op[1]), "%s:%s", op[0], op[1])
			}
			// The key: behind the alias, rotating, the only one orgguard made.
			kmsAPI := kms.NewFromConfig(env.Config)
			key, err := kmsAPI.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(w.alias)})
			require.NoError(t, err)
			rot, err := kmsAPI.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyMetadata.KeyId})
			require.NoError(t, err)
			require.True(t, rot.KeyRotationEnabled)
			keys, err := kmsAPI.ListKeys(ctx, &kms.ListKeysInput{})
			require.NoError(t, err)
			ours := 0
			for _, k := range keys.Keys {
				d, err := kmsAPI.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
				require.NoError(t, err)
				if aws.ToString(d.KeyMetadata.Description) == trailKeyDescription(w.alias) {
					ours++
				}
			}
			require.Equal(t, 1, ours, "keys orgguard made for %s", w.alias)
			// The role carries its policy.
			pol, err := iam.NewFromConfig(env.Config).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(w.role.Name), PolicyName: aws.String(rolePolicyName)})
			require.NoError(t, err, "the delivery role has its policy")
			doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
			require.NoError(t, err)
			require.JSONEq(t, w.role.policy(), doc)
			// The log group keeps its logs as long as configured.
			g, err := findLogGroup(ctx, cloudwatchlogs.NewFromConfig(env.Config), w.group)
			require.NoError(t, err)
			require.Equal(t, int32(w.retention), aws.ToInt32(g.RetentionInDays))
			// The trail logs.
			st, err := cloudtrail.NewFromConfig(env.Config).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(w.name)})
			require.NoError(t, err)
			require.True(t, aws.ToBool(st.IsLogging))
		})
	}
}

// Right after orgguard created the delivery role and the key, CloudTrail
// refuses them until IAM and KMS propagate; the activity reports that as a
// retryable Propagation error, and the retry after the delay completes the
// trail without creating anything twice.
func TestCloudTrailApplyWaitsForPropagation(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{ConsistencyDelay: 5 * time.Second, IgnoreEnvironment: true})
	k := cloudTrailMultiRegion{}
	env := s.env(t, acctWebProd, usEast1, control("cloudtrail.multi_region", nil))
	before, err := k.Check(ctx, env, "")
	require.NoError(t, err)
	f := before[0]

	_, err = k.Apply(ctx, applyEnv(env, f), f)
	require.Error(t, err)
	require.True(t, isPropagation(err, env), "classified as %v", awsclient.Classify(err, env.Where))
	s.clock.Add(5 * time.Second)
	_, err = k.Apply(ctx, applyEnv(env, f), f)
	require.NoError(t, err)

	after, err := k.Check(ctx, env, "")
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompliant, after[0].Status, after[0].Evidence)
	for _, op := range [][2]string{{"kms", "CreateKey"}, {"iam", "CreateRole"}, {"cloudtrail", "CreateTrail"}} {
		require.Equal(t, 1, s.succeeded(op[0], op[1]), "%s:%s", op[0], op[1])
	}
}

// A role whose inline policy drifted gets orgguard's policy back; a role
// that is complete is left alone.
func TestEnsureRolePutsAMissingOrChangedPolicy(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	env := s.env(t, acctWebProd, usEast1, control("cloudtrail.multi_region", nil))
	api := iam.NewFromConfig(env.Config)
	r := serviceRole{Name: "orgguard-test", Service: "cloudtrail.amazonaws.com", Actions: []string{"logs:PutLogEvents"}}

	wrote, err := ensureRole(ctx, api, r)
	require.NoError(t, err)
	require.True(t, wrote)
	wrote, err = ensureRole(ctx, api, r)
	require.NoError(t, err)
	require.False(t, wrote, "complete role: no write")

	_, err = api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(rolePolicyName),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`)})
	require.NoError(t, err)
	wrote, err = ensureRole(ctx, api, r)
	require.NoError(t, err)
	require.True(t, wrote, "changed policy is put back")
	ok, err := rolePolicyCurrent(ctx, api, r)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, s.succeeded("iam", "CreateRole"))
}

// An apply of a Config rule's setup that stopped between CreateRole and
// PutRolePolicy left the automation role without its policy: the check
// says so, and the retry puts the policy without creating the role again.
func TestConfigRuleApplyResumesAfterACrash(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	withRecorder(acctWebProd, usEast1)(t, s)
	k := configRuleKind{}
	env := s.env(t, acctWebProd, usEast1, restrictedIncoming)
	rule := env.ARN("config", "config-rule/"+restrictedIncoming.ConfigRule.RuleName)
	role := "orgguard-remediation"
	before, err := s.check(k, env, rule)
	require.NoError(t, err)
	require.Len(t, before, 1)

	_, err = s.apply(k, crashBefore(env, "IAM", "PutRolePolicy"), before[0])
	require.ErrorContains(t, err, "worker crashed before IAM:PutRolePolicy")
	mid, err := s.check(k, env, rule)
	require.NoError(t, err)
	require.Len(t, mid, 1)
	require.Equal(t, workflows.StatusNonCompliant, mid[0].Status)
	require.Contains(t, mid[0].Evidence, "automation role "+role+" lacks orgguard's policy")
	require.Contains(t, mid[0].Change.Actions, "iam:PutRolePolicy")
	require.NotContains(t, mid[0].Change.Actions, "iam:CreateRole")

	out, err := s.apply(k, env, mid[0])
	require.NoError(t, err, "the retry finishes the work")
	policy := "orgguard-" + restrictedIncoming.ConfigRule.RuleName
	require.Contains(t, out.Calls, "iam:PutRolePolicy "+role+" "+policy)
	after, err := s.check(k, env, rule)
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompliant, after[0].Status, after[0].Evidence)
	require.Equal(t, 1, s.succeeded("iam", "CreateRole"))
	pol, err := iam.NewFromConfig(env.Config).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)})
	require.NoError(t, err, "the automation role has its policy")
	doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	require.NoError(t, err)
	_, want, err := configRuleKind{}.spec(env)
	require.NoError(t, err)
	require.JSONEq(t, want.role.policy(), doc)
}
