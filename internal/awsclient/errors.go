package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

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
)

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"ConcurrentModificationException": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
	"RequestExpired": true, "ExpiredToken": true, "ExpiredTokenException": true, "IDPCommunicationError": true,
	"InternalError": true, "InternalFailure": true, "ServiceUnavailable": true, "ServiceUnavailableException": true,
	"InternalServerError": true, "InternalServerErrorException": true, "InternalException": true,
}

var accessDeniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "AuthFailure": true,
	"InvalidClientTokenId": true, "UnrecognizedClientException": true, "SignatureDoesNotMatch": true,
	"AWSOrganizationsNotInUseException": true, "OptInRequired": true, "SubscriptionRequiredException": true,
	"InvalidAccessException": true, "RegionDisabledException": true,
}

// Retryable reports whether a failed AWS call may succeed when retried:
// throttling, 5xx, expired credentials and network errors.
func Retryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		if throttleCodes[api.ErrorCode()] || retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
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
// everything else becomes a non-retryable ApplicationError whose message
// names the account, region, role and API action and whose Type names the
// class. A 4xx returned as a plain error would retry forever.
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
	typ := ErrClient
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
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
