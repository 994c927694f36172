package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"
)

// Where says where a call went, for error messages people can act on.
type Where struct {
	Account string
	Region  string
	Role    string
}

// Error types of non-retryable application errors (Temporal ApplicationError.Type()).
const (
	ErrAccessDenied = "AccessDenied"
	ErrValidation   = "Validation"
	ErrNotFound     = "NotFound"
	ErrClient       = "ClientError"
	// ErrRegionNotEnabled: the account has not opted into the region. The
	// workflow reports the region as not_applicable rather than failing.
	ErrRegionNotEnabled = "RegionNotEnabled"
)

// ErrPropagation is the type of a retryable ApplicationError: a write the
// call depends on (an IAM role, a key, a policy) has not propagated yet.
// The activity's retry policy bounds how long it is waited for; nothing
// loops inside the activity.
const ErrPropagation = "Propagation"

// PropagationRetryDelay is the longest wait between attempts after a
// propagation error. Propagation takes seconds, sometimes more; the
// workflows' exponential backoff from 1-2 s would spend most of their 5-8
// attempts within the first few seconds. PropagationDelay waits 2, 4, 8,
// then 10 s: a minute over 8 attempts, and no more than 2 s lost when
// propagation took a second or two (with a flat 10 s, the chaos test's
// 313 propagation retries, IAM and KMS visible 2 s after a write, cost
// some 50 minutes of waiting across its 198 accounts).
const PropagationRetryDelay = 10 * time.Second

// PropagationDelay is the wait after attempt (1-based) failed with a
// propagation error.
func PropagationDelay(attempt int32) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 4 {
		return PropagationRetryDelay
	}
	return min(PropagationRetryDelay, (2*time.Second)<<(attempt-1))
}

// WithPropagationDelay sets the NextRetryDelay of a propagation error
// returned by the given attempt of an activity (PropagationDelay); any
// other error, and one that carries details, is returned as it is.
func WithPropagationDelay(err error, attempt int32) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrPropagation || app.HasDetails() {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(app.Message(), ErrPropagation, temporal.ApplicationErrorOptions{
		NextRetryDelay: PropagationDelay(attempt), Cause: app.Unwrap(),
	})
}

// Propagating is the retryable ErrPropagation error for a wait on
// something written a moment ago, retried PropagationRetryDelay later.
func Propagating(msg string) error {
	return temporal.NewApplicationErrorWithOptions(msg, ErrPropagation, temporal.ApplicationErrorOptions{NextRetryDelay: PropagationRetryDelay})
}

// throttleCodes are retried whatever HTTP status came with them (S3
// reports some errors in the body of a 200 answer). Server faults the SDK
// models are retried by their fault as well; the codes named here are
// those AWS also sends unmodeled (EC2, S3) or under a code other than the
// model's shape name (CloudWatch's InternalServiceFault is
// InternalServiceError).
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"ConcurrentModificationException": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
	"RequestExpired": true, "ExpiredToken": true, "ExpiredTokenException": true, "IDPCommunicationError": true,
	"InternalError": true, "InternalFailure": true, "ServiceUnavailable": true, "ServiceUnavailableException": true,
	"InternalServerError": true, "InternalServerErrorException": true, "InternalException": true,
	// EC2 "Unavailable: The server is overloaded" (503, not in the SDK's
	// model); Organizations ServiceException and IAM ServiceFailure (500,
	// server faults in the SDK's models); CloudWatch InternalServiceError
	// (500, the Query code of InternalServiceFault).
	"Unavailable": true, "ServiceException": true, "ServiceFailure": true, "InternalServiceError": true, "InternalServiceFault": true,
}

// limitThrottles are the services (SDK service IDs), and where the code
// means something else elsewhere in the service the operations, whose
// LimitExceededException is throttling. The SDK's retryer counts the code
// as throttling everywhere, but KMS ("a length constraint or quota was
// exceeded"), CloudWatch Logs ("the maximum number of resources that can be
// created"), CloudWatch, EventBridge and CloudFormation use it for quotas,
// which no retry lifts. A LimitExceededException answered with HTTP 429 is
// throttling wherever it comes from.
var limitThrottles = map[string][]string{
	// "...beyond the current Amazon Web Services account or throttling
	// limits" (HTTP 429; the SDK model's LimitExceededException).
	// orgguard's Security Hub calls create nothing a quota counts.
	"SecurityHub": nil,
	// "For StartConfigRulesEvaluation API, this exception is thrown if an
	// evaluation is in progress or if you call the
	// StartConfigRulesEvaluation API more than once per minute"; for
	// PutConfigurationAggregator and PutServiceLinkedConfigurationRecorder
	// it is a quota (the SDK model's LimitExceededException).
	"Config Service": {"StartConfigRulesEvaluation"},
}

// limitThrottling reports whether a LimitExceededException is throttling.
func limitThrottling(err error) bool {
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusTooManyRequests {
		return true
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return false
	}
	ops, ok := limitThrottles[op.Service()]
	return ok && (ops == nil || slices.Contains(ops, op.Operation()))
}

// throttled reports whether AWS throttled a call: the SDK's throttling
// codes and HTTP 429, and LimitExceededException only where it is
// throttling (limitThrottling). 5xx answers are not: they say nothing
// about the caller's rate. The rate limiter adapts to it.
func throttled(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "LimitExceededException" {
		return limitThrottling(err)
	}
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
}

var accessDeniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "AuthFailure": true,
	"InvalidClientTokenId": true, "UnrecognizedClientException": true, "SignatureDoesNotMatch": true,
	"AWSOrganizationsNotInUseException": true, "SubscriptionRequiredException": true,
	"InvalidAccessException": true,
}

// regionNotEnabledCodes are answers from a region the account has not
// opted into (OptInRequired from the services, RegionDisabledException
// from a regional STS endpoint): not the caller's fault, nothing to retry.
var regionNotEnabledCodes = map[string]bool{"OptInRequired": true, "RegionDisabledException": true}

// propagationError is an error code AWS returns while an object written
// just before (a role, its policy, a key) is not visible yet to the
// service that uses it. Service (the SDK's service ID) and Message (a
// substring, case-insensitive) narrow a code that also means a real
// mistake.
type propagationError struct {
	Service, Code, Message string
}

// propagationErrors are retried (ErrPropagation) instead of failing as
// validation errors. IAM is eventually consistent: "changes that you make
// might not be immediately visible" (IAM User Guide, Troubleshooting,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
// and so is KMS
// (https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html).
// AccessDenied right after a role was created is deliberately not here: it
// is indistinguishable from a real denial.
var propagationErrors = []propagationError{
	// CloudTrail assumes the CloudWatch Logs role when the trail is created
	// or updated; a role (or trust) written a moment ago answers "Access
	// denied. Check the trust relationships for your role." Error listed in
	// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html#API_CreateTrail_Errors;
	// retried for propagation by hashicorp/terraform-provider-aws#1312.
	{Service: "CloudTrail", Code: "InvalidCloudWatchLogsRoleArnException"},
	// The same check through the role's policy on the log group: "Access
	// denied. Check the permissions for your role." (API_CreateTrail,
	// API_UpdateTrail errors; hashicorp/terraform-provider-aws#1312 and
	// #1820 retry it). Only the access-denied variant: "You must specify a
	// log group and a role ARN" is a real mistake.
	{Service: "CloudTrail", Code: "InvalidCloudWatchLogsLogGroupArnException", Message: "access denied"},
	// "This exception is thrown when the policy on the S3 bucket or KMS key
	// is not sufficient" (API_CreateTrail errors): a key policy written by
	// CreateKey a moment ago is subject to KMS eventual consistency.
	{Service: "CloudTrail", Code: "InsufficientEncryptionPolicyException"},
	// "...when the policy on the S3 bucket is not sufficient"
	// (API_CreateTrail errors), right after PutBucketPolicy.
	{Service: "CloudTrail", Code: "InsufficientS3BucketPolicyException"},
	// A key created a moment ago that CloudTrail cannot see yet
	// (API_CreateTrail errors: KmsKeyNotFoundException; KMS eventual
	// consistency above).
	{Service: "CloudTrail", Code: "KmsKeyNotFoundException"},
	// "Your Amazon S3 bucket policy does not allow AWS Config to write to
	// it" (https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html#API_PutDeliveryChannel_Errors),
	// right after the bucket policy or the recorder's role was written.
	{Service: "Config Service", Code: "InsufficientDeliveryPolicyException"},
	// Documented as "You have provided a null or empty role ARN"
	// (https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html#API_PutConfigurationRecorder_Errors).
	// orgguard always names the role it has just ensured, so here the code
	// means Config cannot use that role yet.
	{Service: "Config Service", Code: "InvalidRoleException"},
	// "AWS KMS may return a NotFoundException if you call
	// GetParametersForImport immediately after calling CreateKey" (KMS
	// eventual consistency page above). A missing alias that is expected
	// is handled by the caller before classification.
	{Service: "KMS", Code: "NotFoundException"},
	// "After you create an IAM role, it may take several seconds for the
	// permissions to propagate. If your first attempt to launch an instance
	// with a role fails, wait a few seconds before trying again"
	// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html);
	// EC2 answers "Invalid IAM Instance Profile name" (hashicorp/terraform#2037).
	{Service: "EC2", Code: "InvalidParameterValue", Message: "invalid iam instance profile"},
}

// propagation reports whether err is one of propagationErrors.
func propagation(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	service := ""
	var op *smithy.OperationError
	if errors.As(err, &op) {
		service = op.Service()
	}
	for _, p := range propagationErrors {
		if p.Code == api.ErrorCode() && (p.Service == "" || p.Service == service) &&
			(p.Message == "" || strings.Contains(strings.ToLower(api.ErrorMessage()), p.Message)) {
			return true
		}
	}
	return false
}

// Retryable reports whether a failed AWS call may succeed when retried:
// throttling, 5xx, expired credentials and network errors.
func Retryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		if api.ErrorCode() == "LimitExceededException" {
			return limitThrottling(err)
		}
		if throttleCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer ||
			retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
			return true
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		return resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == 429
	}
	if api != nil {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// A call cut short by its context was abandoned, not refused by AWS:
	// the attempt's context is canceled when Temporal has given the
	// attempt up (its heartbeat found it timed out or gone), and such an
	// error reported as final failed remediations in the chaos test.
	// A cancellation the workflow asked for is reported by the SDK as
	// canceled whatever the activity returns.
	if errors.Is(err, context.Canceled) {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	return errors.As(err, &maxAttempts)
}

// Action is "service:Operation" of a failed SDK call ("ec2:DescribeVpcs"),
// empty when the error did not come from one.
func Action(err error) string {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return ""
	}
	svc := strings.ToLower(strings.ReplaceAll(op.Service(), " ", ""))
	switch svc {
	case "configservice":
		svc = "config"
	case "cloudwatchlogs":
		svc = "logs"
	case "cloudwatch":
		svc = "cloudwatch"
	}
	return svc + ":" + op.Operation()
}

// Classify turns an AWS SDK error into a Temporal activity error: retryable
// problems stay plain (retried with backoff by the activity's retry policy),
// propagation delays become a retryable ApplicationError of type
// ErrPropagation, everything else becomes a non-retryable ApplicationError
// whose message names the account, region, role and API action and whose
// Type names the class. A 4xx returned as a plain error would retry forever.
func Classify(err error, w Where) error {
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	msg := Describe(err, w)
	if Retryable(err) {
		return errors.New(msg)
	}
	if propagation(err) {
		return Propagating(msg)
	}
	typ := ErrClient
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case regionNotEnabledCodes[code]:
			typ = ErrRegionNotEnabled
		case accessDeniedCodes[code]:
			typ = ErrAccessDenied
		case strings.Contains(code, "NotFound") || strings.HasPrefix(code, "NoSuch"):
			typ = ErrNotFound
		case strings.Contains(code, "Validation") || strings.HasPrefix(code, "Invalid") || strings.HasPrefix(code, "Malformed") || code == "MissingParameter":
			typ = ErrValidation
		}
	}
	return temporal.NewNonRetryableApplicationError(msg, typ, nil)
}

// Describe renders an AWS error with where it happened.
func Describe(err error, w Where) string {
	var b strings.Builder
	if a := Action(err); a != "" {
		fmt.Fprintf(&b, "%s", a)
	} else {
		b.WriteString("aws call")
	}
	fmt.Fprintf(&b, " in account %s", orDash(w.Account))
	if w.Region != "" {
		fmt.Fprintf(&b, " region %s", w.Region)
	}
	if w.Role != "" {
		fmt.Fprintf(&b, " as role %s", w.Role)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		fmt.Fprintf(&b, ": %s: %s", api.ErrorCode(), api.ErrorMessage())
	} else {
		fmt.Fprintf(&b, ": %v", err)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
