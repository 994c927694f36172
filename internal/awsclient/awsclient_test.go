package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func apiErr(service, op, code string, status int) error {
	return apiErrMsg(service, op, code, "msg", status)
}

func apiErrMsg(service, op, code, message string, status int) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: message},
	}}
}

func TestClassify(t *testing.T) {
	where := Where{Account: "111111111111", Region: "eu-west-1", Role: "arn:aws:iam::111111111111:role/OrgguardExecutionRole"}
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
		typ       string
	}{
		{"throttling", apiErr("EC2", "DescribeVpcs", "RequestLimitExceeded", 503), true, ""},
		{"too many requests", apiErr("SecurityHub", "BatchEnableStandards", "TooManyRequestsException", 429), true, ""},
		{"5xx", apiErr("IAM", "ListUsers", "ServiceFailure", 500), true, ""},
		{"context canceled mid-call", &smithy.OperationError{ServiceID: "Config Service", OperationName: "StartConfigurationRecorder", Err: context.Canceled}, true, ""},
		{"concurrent modification", apiErr("Organizations", "AttachPolicy", "ConcurrentModificationException", 400), true, ""},
		{"access denied", apiErr("EC2", "RevokeSecurityGroupIngress", "UnauthorizedOperation", 403), false, ErrAccessDenied},
		{"validation", apiErr("IAM", "UpdateAccountPasswordPolicy", "ValidationError", 400), false, ErrValidation},
		{"not found", apiErr("EC2", "RevokeSecurityGroupIngress", "InvalidGroup.NotFound", 400), false, ErrNotFound},
		{"no such entity", apiErr("IAM", "GetAccountPasswordPolicy", "NoSuchEntity", 404), false, ErrNotFound},
		{"other 4xx never retries forever", apiErr("EC2", "CreateFlowLogs", "FlowLogAlreadyExists", 400), false, ErrClient},
		{"region not opted into", apiErr("EC2", "DescribeVpcs", "OptInRequired", 401), false, ErrRegionNotEnabled},
		{"regional STS in a disabled region", apiErr("STS", "AssumeRole", "RegionDisabledException", 403), false, ErrRegionNotEnabled},
		{"access denied right after role creation is still access denied", apiErr("STS", "AssumeRole", "AccessDenied", 403), false, ErrAccessDenied},
		{"cloudtrail log group that is really missing a role", apiErrMsg("CloudTrail", "CreateTrail", "InvalidCloudWatchLogsLogGroupArnException",
			"You must specify a log group and a role ARN.", 400), false, ErrValidation},
		{"other invalid parameter value", apiErrMsg("EC2", "CreateFlowLogs", "InvalidParameterValue", "Invalid traffic type", 400), false, ErrValidation},
		{"not found outside KMS", apiErr("CloudWatch Logs", "PutRetentionPolicy", "ResourceNotFoundException", 400), false, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.err, where)
			var app *temporal.ApplicationError
			if tc.retryable {
				require.False(t, errors.As(err, &app), "retryable errors stay plain: %v", err)
				return
			}
			require.True(t, errors.As(err, &app))
			require.True(t, app.NonRetryable())
			require.Equal(t, tc.typ, app.Type())
			// The message names action, account, region and role.
			for _, want := range []string{Action(tc.err), where.Account, where.Region, where.Role} {
				require.Contains(t, app.Message(), want)
			}
		})
	}
}

// Every entry of the propagation table is retried as ErrPropagation, with
// the same actionable message as the other classes.
func TestClassifyPropagation(t *testing.T) {
	where := Where{Account: "111111111111", Region: "eu-west-1", Role: "arn:aws:iam::111111111111:role/OrgguardExecutionRole"}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"cloudtrail role not assumable yet", apiErrMsg("CloudTrail", "CreateTrail", "InvalidCloudWatchLogsRoleArnException",
			"Access denied. Check the trust relationships for your role.", 400)},
		{"cloudtrail role policy not effective yet", apiErrMsg("CloudTrail", "UpdateTrail", "InvalidCloudWatchLogsLogGroupArnException",
			"Access denied. Check the permissions for your role.", 400)},
		{"cloudtrail key policy not visible yet", apiErrMsg("CloudTrail", "CreateTrail", "InsufficientEncryptionPolicyException",
			"Insufficient permissions to access S3 bucket b or KMS key k.", 400)},
		{"cloudtrail bucket policy not visible yet", apiErrMsg("CloudTrail", "CreateTrail", "InsufficientS3BucketPolicyException",
			"Incorrect S3 bucket policy is detected for bucket: b", 400)},
		{"cloudtrail key not visible yet", apiErrMsg("CloudTrail", "CreateTrail", "KmsKeyNotFoundException", "KMS key not found: k", 400)},
		{"config bucket policy not visible yet", apiErr("Config Service", "PutDeliveryChannel", "InsufficientDeliveryPolicyException", 400)},
		{"config role not usable yet", apiErr("Config Service", "PutConfigurationRecorder", "InvalidRoleException", 400)},
		{"kms key just created", apiErr("KMS", "EnableKeyRotation", "NotFoundException", 400)},
		{"instance profile just created", apiErrMsg("EC2", "RunInstances", "InvalidParameterValue",
			"Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", 400)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.err, where)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			require.False(t, app.NonRetryable())
			require.Equal(t, ErrPropagation, app.Type())
			require.Equal(t, PropagationRetryDelay, app.NextRetryDelay())
			for _, want := range []string{Action(tc.err), where.Account, where.Region, where.Role} {
				require.Contains(t, app.Message(), want)
			}
		})
	}
	// Each table entry has its case above.
	require.Len(t, propagationErrors, 9)
}

func TestActionNames(t *testing.T) {
	require.Equal(t, "ec2:DescribeVpcs", Action(apiErr("EC2", "DescribeVpcs", "X", 400)))
	require.Equal(t, "config:PutConfigRule", Action(apiErr("Config Service", "PutConfigRule", "X", 400)))
	require.Equal(t, "logs:PutMetricFilter", Action(apiErr("CloudWatch Logs", "PutMetricFilter", "X", 400)))
}

func TestLimiterRules(t *testing.T) {
	l := NewLimiter(map[string]Limit{"ec2:DescribeSecurityGroups": {RPS: 1, Burst: 1}})
	key, r, ok := l.rule("ec2", "DescribeSecurityGroups")
	require.True(t, ok)
	require.Equal(t, "ec2:DescribeSecurityGroups", key)
	require.Equal(t, 1.0, r.RPS)
	key, _, _ = l.rule("ec2", "DescribeVpcs")
	require.Equal(t, "ec2:Describe*", key, "the longest prefix wins")
	key, _, _ = l.rule("ec2", "RevokeSecurityGroupIngress")
	require.Equal(t, "ec2:*", key)
	_, _, ok = l.rule("kms", "ListKeys")
	require.False(t, ok)
	require.Equal(t, "orgguard-run-1", SessionName("run:1"))
}

func BenchmarkLimiterWait(b *testing.B) {
	l := NewLimiter(map[string]Limit{"ec2:*": {RPS: 1e9, Burst: 1 << 30}})
	ctx := context.Background()
	for b.Loop() {
		_, _ = l.bucketFor("111111111111", "us-east-1", "ec2", "DescribeVpcs").wait(ctx)
	}
}

// The limiter sees each SDK call's service and operation.
func TestLimiterMiddlewareSeesOperations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	l := NewLimiter(nil)
	l.Attach(&cfg, "111111111111")
	_, _ = ec2.NewFromConfig(cfg).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	_, _ = securityhub.NewFromConfig(cfg).BatchEnableStandards(context.Background(), &securityhub.BatchEnableStandardsInput{
		StandardsSubscriptionRequests: []shtypes.StandardsSubscriptionRequest{{StandardsArn: aws.String("arn")}}})
	require.Equal(t, map[string]int{
		"ec2:Describe*|111111111111|eu-west-1":                    1,
		"securityhub:BatchEnableStandards|111111111111|eu-west-1": 1,
	}, l.Waits())
}

// Each code, as the service answers it (with its HTTP status) and as the
// SDK hands it on without one, is retried or not by what it means in that
// service: LimitExceededException is throttling in Security Hub and in
// Config's StartConfigRulesEvaluation, a quota elsewhere.
func TestClassifyServiceCodes(t *testing.T) {
	where := Where{Account: "111111111111", Region: "eu-west-1"}
	opErr := func(service, op string, status int, err error) error {
		if status == 0 {
			return &smithy.OperationError{ServiceID: service, OperationName: op, Err: err}
		}
		return &smithy.OperationError{ServiceID: service, OperationName: op, Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err,
		}}
	}
	generic := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "msg"} }
	for _, tc := range []struct {
		name, service, op string
		status            int
		err               error
		retryable         bool
	}{
		{"Security Hub throttling", "SecurityHub", "BatchEnableStandards", 429, &shtypes.LimitExceededException{}, true},
		{"Config evaluation in progress", "Config Service", "StartConfigRulesEvaluation", 400, &cfgtypes.LimitExceededException{}, true},
		{"Config aggregator quota", "Config Service", "PutConfigurationAggregator", 400, &cfgtypes.LimitExceededException{}, false},
		{"KMS quota", "KMS", "CreateKey", 400, &kmstypes.LimitExceededException{}, false},
		{"CloudWatch Logs quota", "CloudWatch Logs", "CreateLogGroup", 400, &logstypes.LimitExceededException{}, false},
		{"IAM quota", "IAM", "CreateRole", 409, &iamtypes.LimitExceededException{}, false},
		{"EC2 Unavailable", "EC2", "DescribeVpcs", 503, generic("Unavailable"), true},
		{"Organizations ServiceException", "Organizations", "ListAccounts", 500, &orgtypes.ServiceException{}, true},
		{"Organizations TooManyRequestsException", "Organizations", "ListAccounts", 429, &orgtypes.TooManyRequestsException{}, true},
		{"CloudWatch InternalServiceError", "CloudWatch", "PutMetricAlarm", 500, &cwtypes.InternalServiceFault{ErrorCodeOverride: aws.String("InternalServiceError")}, true},
		{"IAM ServiceFailure", "IAM", "GetRole", 500, &iamtypes.ServiceFailureException{}, true},
		{"S3 SlowDown", "S3", "PutBucketPolicy", 503, generic("SlowDown"), true},
	} {
		for _, status := range []int{tc.status, 0} {
			t.Run(fmt.Sprintf("%s/status %d", tc.name, status), func(t *testing.T) {
				err := opErr(tc.service, tc.op, status, tc.err)
				require.Equal(t, tc.retryable, Retryable(err))
				var app *temporal.ApplicationError
				if tc.retryable {
					require.False(t, errors.As(Classify(err, where), &app), "retryable errors stay plain")
					return
				}
				require.True(t, errors.As(Classify(err, where), &app))
				require.True(t, app.NonRetryable())
				require.Equal(t, ErrClient, app.Type())
			})
		}
	}
}

func TestPropagationDelayGrows(t *testing.T) {
	want := []time.Duration{2 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, attempt := range []int32{0, 1, 2, 3, 4, 5, 100} {
		require.Equal(t, want[i], PropagationDelay(attempt), "attempt %d", attempt)
	}
	err := WithPropagationDelay(Propagating("iam:PassRole not visible yet"), 2)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrPropagation, app.Type())
	require.Equal(t, 4*time.Second, app.NextRetryDelay())
	require.Contains(t, app.Error(), "iam:PassRole not visible yet")
	other := errors.New("throttled")
	require.Same(t, other, WithPropagationDelay(other, 3))
}
