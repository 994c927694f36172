package awssim

import (
	"net/http"
	"strings"
)

// protocol is an AWS wire protocol. It decides how the operation is found in
// the request and how results and errors are rendered.
type protocol int

const (
	protoJSON10    protocol = iota // X-Amz-Target, application/x-amz-json-1.0
	protoJSON11                    // X-Amz-Target, application/x-amz-json-1.1
	protoQuery                     // form Action=..., XML <OpResponse><OpResult>
	protoEC2                       // form Action=..., XML <OpResponse> without Result wrapper
	protoRESTJSON                  // method + path, JSON bodies
	protoRESTXML                   // method + path, XML bodies
	protoRPCv2CBOR                 // POST /service/<Name>/operation/<Op>, CBOR bodies (CloudWatch)
)

func (p protocol) isJSON() bool  { return p == protoJSON10 || p == protoJSON11 }
func (p protocol) isQuery() bool { return p == protoQuery || p == protoEC2 }

// errorCodes are the codes a service uses for errors the core raises before or
// around an operation. They differ by service, not just by protocol (STS says
// InvalidClientTokenId, Organizations UnrecognizedClientException, EC2
// AuthFailure), so each service states its own.
type errorCodes struct {
	UnknownKey   string // access key the server never issued
	ExpiredToken string // temporary credentials past their Expiration
	AccessDenied string // forced AccessDenied fault
	Throttling   string // token bucket empty or ThrottleRate
	Internal     string // injected HTTP 500 or simulator bug
	Unavailable  string // injected HTTP 503
	UnknownOp    string // operation not implemented
	Validation   string // malformed request (bad JSON, bad parameter)
	// ThrottlingStatus overrides statusFor(Throttling) where a service
	// pairs a shared code with another status (Access Analyzer's
	// ThrottlingException is HTTP 429, KMS's 400).
	ThrottlingStatus int
}

// throttlingStatus is the HTTP status of the service's throttling error.
func (c *errorCodes) throttlingStatus() int {
	if c.ThrottlingStatus != 0 {
		return c.ThrottlingStatus
	}
	return statusFor(c.Throttling)
}

// operation implements one AWS API call. It runs with the server lock held, so
// it may read and change any state through req without further locking. It
// returns the output shape (rendered by the protocol writer) or an error;
// errors that are not *apiError become the service's Internal error.
type operation func(req *request) (any, error)

// route maps a REST request to an operation. Pattern segments in braces bind
// path parameters ("/{Bucket}"; a trailing "{Key+}" binds the rest of the
// path). Query, when set, names a query-string key that must be present, which
// is how S3 distinguishes sub-resources (?encryption, ?policy).
type route struct {
	Method  string
	Pattern string
	Query   string
	Op      string
	Handler operation
}

// service describes one AWS service the simulator speaks.
type service struct {
	// Name is the SigV4 signing name (credential scope), used to route Query
	// and REST requests and recorded as Call.Service.
	Name     string
	Protocol protocol
	// TargetPrefix is the X-Amz-Target prefix of JSON services
	// ("AWSOrganizationsV20161128").
	TargetPrefix string
	// SmithyServiceName is the service shape name in RPC v2 CBOR paths
	// ("GraniteServiceVersion20100801" for CloudWatch).
	SmithyServiceName string
	// QueryCompatible RPC v2 CBOR services (CloudWatch) also send the
	// X-Amzn-Query-Error header the SDK prefers for the error code.
	QueryCompatible bool
	// XMLNS is the namespace of XML responses (Query, EC2, REST-XML).
	XMLNS string
	// Global services (IAM, Organizations) keep one state per account and log
	// region us-east-1 whatever region the client signed for.
	Global bool
	Codes  errorCodes
	// Ops holds JSON and Query operations by name.
	Ops map[string]operation
	// Routes holds REST operations, tried in order.
	Routes []route
	// XMLErrorWrapped renders REST-XML errors as
	// <ErrorResponse><Error>...</Error></ErrorResponse> (S3 Control) instead
	// of S3's bare <Error>.
	XMLErrorWrapped bool
	// Init, when set, adds the service's resources from the seed. It runs
	// in New after accounts and the organization exist, before serving.
	Init func(s *Server, seed *Seed) error
}

// defaultCodes fills the codes a service left empty with the ones its protocol
// uses most often.
func (svc *service) defaultCodes() {
	c := &svc.Codes
	set := func(field *string, v string) {
		if *field == "" {
			*field = v
		}
	}
	switch svc.Protocol {
	case protoJSON10, protoJSON11, protoRPCv2CBOR:
		set(&c.UnknownKey, "UnrecognizedClientException")
		set(&c.ExpiredToken, "ExpiredTokenException")
		set(&c.AccessDenied, "AccessDeniedException")
		set(&c.Throttling, "ThrottlingException")
		set(&c.Internal, "InternalFailure")
		set(&c.Unavailable, "ServiceUnavailable")
		set(&c.UnknownOp, "UnknownOperationException")
		set(&c.Validation, "ValidationException")
	case protoQuery:
		set(&c.UnknownKey, "InvalidClientTokenId")
		set(&c.ExpiredToken, "ExpiredToken")
		set(&c.AccessDenied, "AccessDenied")
		set(&c.Throttling, "Throttling")
		set(&c.Internal, "InternalFailure")
		set(&c.Unavailable, "ServiceUnavailable")
		set(&c.UnknownOp, "InvalidAction")
		set(&c.Validation, "ValidationError")
	case protoEC2:
		set(&c.UnknownKey, "AuthFailure")
		set(&c.ExpiredToken, "RequestExpired")
		set(&c.AccessDenied, "UnauthorizedOperation")
		set(&c.Throttling, "RequestLimitExceeded")
		set(&c.Internal, "InternalError")
		set(&c.Unavailable, "Unavailable")
		set(&c.UnknownOp, "InvalidAction")
		set(&c.Validation, "InvalidParameterValue")
	case protoRESTJSON:
		set(&c.UnknownKey, "UnrecognizedClientException")
		set(&c.ExpiredToken, "ExpiredTokenException")
		set(&c.AccessDenied, "AccessDeniedException")
		set(&c.Throttling, "TooManyRequestsException")
		set(&c.Internal, "InternalServerException")
		set(&c.Unavailable, "ServiceUnavailableException")
		set(&c.UnknownOp, "UnknownOperationException")
		set(&c.Validation, "BadRequestException")
	case protoRESTXML:
		set(&c.UnknownKey, "InvalidAccessKeyId")
		set(&c.ExpiredToken, "ExpiredToken")
		set(&c.AccessDenied, "AccessDenied")
		set(&c.Throttling, "SlowDown")
		set(&c.Internal, "InternalError")
		set(&c.Unavailable, "ServiceUnavailable")
		set(&c.UnknownOp, "NotImplemented")
		set(&c.Validation, "InvalidRequest")
	}
}

// statusFor returns the HTTP status AWS pairs with the core error codes.
func statusFor(code string) int {
	switch code {
	case "UnrecognizedClientException", "ValidationException", "UnknownOperationException",
		"InvalidAction", "ValidationError", "InvalidParameterValue", "ExpiredTokenException",
		"ExpiredToken", "ThrottlingException", "Throttling", "InvalidRequest", "BadRequestException":
		return http.StatusBadRequest
	case "TooManyRequestsException":
		return http.StatusTooManyRequests
	case "RequestLimitExceeded":
		// EC2 answers throttling with 503.
		return http.StatusServiceUnavailable
	case "SlowDown":
		return http.StatusServiceUnavailable
	case "NotImplemented":
		return http.StatusNotImplemented
	case "InternalFailure", "InternalError", "InternalServerException", "ServiceFailure", "ServiceException",
		"InternalException", "InternalServiceError", "InternalServiceFault", "KMSInternalException",
		"InternalServerErrorException":
		return http.StatusInternalServerError
	case "ServiceUnavailable", "ServiceUnavailableException", "Unavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden
}

// matchRoute reports whether r matches rt and returns the bound path
// parameters.
func matchRoute(rt route, r *http.Request) (map[string]string, bool) {
	if rt.Method != r.Method {
		return nil, false
	}
	if rt.Query != "" {
		if _, ok := r.URL.Query()[rt.Query]; !ok {
			return nil, false
		}
	}
	path := r.URL.Path
	pat := strings.Split(strings.Trim(rt.Pattern, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if rt.Pattern == "/" {
		pat = nil
	}
	if path == "/" {
		got = nil
	}
	params := map[string]string{}
	for i, seg := range pat {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}") {
			if i >= len(got) {
				return nil, false
			}
			params[seg[1:len(seg)-2]] = strings.Join(got[i:], "/")
			return params, true
		}
		if i >= len(got) {
			return nil, false
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			params[seg[1:len(seg)-1]] = got[i]
			continue
		}
		if seg != got[i] {
			return nil, false
		}
	}
	if len(got) != len(pat) {
		return nil, false
	}
	return params, true
}
