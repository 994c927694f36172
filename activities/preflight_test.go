package activities

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

func TestEnabledRegions(t *testing.T) {
	t.Parallel()
	region := func(name, status string) ec2types.Region {
		return ec2types.Region{RegionName: aws.String(name), OptInStatus: aws.String(status)}
	}
	regions := []ec2types.Region{
		region("us-east-1", "opt-in-not-required"),
		region("af-south-1", "opted-in"),
		region("ap-east-1", "not-opted-in"),
		region("eu-west-1", "opt-in-not-required"),
	}
	for _, tc := range []struct {
		name                string
		wanted              []string
		enabled, notEnabled []string
	}{
		{"enabled by default", []string{"eu-west-1", "us-east-1"}, []string{"eu-west-1", "us-east-1"}, nil},
		{"opted in", []string{"af-south-1"}, []string{"af-south-1"}, nil},
		{"not opted in", []string{"us-east-1", "ap-east-1"}, []string{"us-east-1"}, []string{"ap-east-1"}},
		{"not listed at all", []string{"eu-west-1", "xx-nowhere-1"}, []string{"eu-west-1"}, []string{"xx-nowhere-1"}},
		{"organization-wide guardrails", []string{workflows.OrgRegion}, []string{workflows.OrgRegion}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enabled, notEnabled := enabledRegions(tc.wanted, regions)
			require.Equal(t, tc.enabled, enabled)
			require.Equal(t, tc.notEnabled, notEnabled)
		})
	}
}

// preflight runs the activity through the test activity environment.
func preflight(t *testing.T, f *awsclient.Factory, account string, regions ...string) (workflows.PreflightOutput, error) {
	t.Helper()
	a := New(f)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a.PreflightAccount)
	v, err := env.ExecuteActivity(a.PreflightAccount, workflows.PreflightInput{RunID: "run-1", AccountID: account, Regions: regions})
	var out workflows.PreflightOutput
	if err == nil {
		require.NoError(t, v.Get(&out))
	}
	return out, err
}

func requireAssumeRoleFailed(t *testing.T, err error, want string) {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, ErrAssumeRoleFailed, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Message(), want)
}

func TestPreflightAccount(t *testing.T) {
	t.Parallel()
	roleARN := "arn:aws:iam::" + acctWebProd + ":role/OrgguardExecutionRole"

	t.Run("enabled and not enabled regions", func(t *testing.T) {
		t.Parallel()
		s := newSim(t, awssim.Options{})
		// af-south-1 is an opt-in region the demo organization does not
		// enable; xx-nowhere-1 does not exist.
		out, err := preflight(t, s.factory, acctWebProd, usEast1, "af-south-1", euWest1, "xx-nowhere-1")
		require.NoError(t, err)
		require.Equal(t, workflows.PreflightOutput{RoleARN: roleARN,
			Enabled: []string{usEast1, euWest1}, NotEnabled: []string{"af-south-1", "xx-nowhere-1"}}, out)
		require.Len(t, s.srv.CallsMatching(awssim.CallFilter{Service: "sts", Operation: "AssumeRole", OnlySuccess: true}), 1)
	})
	t.Run("opt-in region enabled in one account, not in another", func(t *testing.T) {
		t.Parallel()
		// Every other member account has not opted into af-south-1.
		s := newSim(t, awssim.Options{Seed: awssim.GenerateSeed(awssim.GenerateOptions{
			Accounts: 3, TopLevelOUs: 1, Regions: []string{usEast1, "af-south-1"}, NotOptedInEvery: 2})})
		out, err := preflight(t, s.factory, "200000000001", usEast1, "af-south-1")
		require.NoError(t, err)
		require.Equal(t, []string{usEast1}, out.Enabled)
		require.Equal(t, []string{"af-south-1"}, out.NotEnabled)
		out, err = preflight(t, s.factory, "200000000002", usEast1, "af-south-1")
		require.NoError(t, err)
		require.Equal(t, []string{usEast1, "af-south-1"}, out.Enabled)
		require.Empty(t, out.NotEnabled)
	})
	t.Run("role whose trust refuses the worker", func(t *testing.T) {
		t.Parallel()
		s := newSim(t, awssim.Options{Faults: []awssim.Fault{{Service: "sts", Operation: "AssumeRole", AccountID: acctWebProd, AccessDenied: true}}})
		_, err := preflight(t, s.factory, acctWebProd, usEast1)
		requireAssumeRoleFailed(t, err, "account "+acctWebProd+": cannot assume role "+roleARN+": AccessDenied: ")
		require.Empty(t, s.srv.CallsMatching(awssim.CallFilter{Service: "ec2"}), "nothing runs in an account whose role is broken")
	})
	t.Run("role that does not exist", func(t *testing.T) {
		t.Parallel()
		s := newSim(t, awssim.Options{})
		ak, sk := s.srv.ManagementCredentials()
		f := awsclient.New(aws.Config{Region: usEast1, BaseEndpoint: aws.String(s.srv.URL()), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
			awsclient.Options{RoleName: "NoSuchRole", ExternalID: "orgguard-demo"})
		_, err := preflight(t, f, acctWebProd, usEast1)
		requireAssumeRoleFailed(t, err, "account "+acctWebProd+": cannot assume role arn:aws:iam::"+acctWebProd+":role/NoSuchRole: AccessDenied: ")
	})
	t.Run("suspended account", func(t *testing.T) {
		t.Parallel()
		s := newSim(t, awssim.Options{})
		_, err := preflight(t, s.factory, "100000000011", usEast1)
		requireAssumeRoleFailed(t, err, "cannot assume role arn:aws:iam::100000000011:role/OrgguardExecutionRole: AccessDenied: ")
	})
	t.Run("throttled AssumeRole is retried", func(t *testing.T) {
		t.Parallel()
		s := newSim(t, awssim.Options{Faults: []awssim.Fault{{Service: "sts", Operation: "AssumeRole", Throttle: &awssim.Throttle{}}}})
		_, err := preflight(t, s.factory, acctWebProd, usEast1)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.False(t, app.NonRetryable(), "%v", err)
		require.NotEqual(t, ErrAssumeRoleFailed, app.Type())
	})
}
