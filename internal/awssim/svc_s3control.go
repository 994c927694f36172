package awssim

import (
	"bytes"
	"encoding/xml"
	"net/http"
)

// S3 Control (REST-XML, signs as "s3"): the account-level public access
// block. The SDK sends these calls to "{AccountId}.<endpoint host>" and the
// account in the x-amz-account-id header. Against a local endpoint that host
// does not resolve, so clients route it through the simulator as an HTTP
// proxy (HTTP_PROXY=<simulator URL>, honoured by the SDK's default HTTP
// client; loopback endpoints themselves are never proxied). The simulator
// serves proxy-form requests like any other.
//
// S3 Control wraps errors in <ErrorResponse><Error>…</Error></ErrorResponse>,
// unlike S3; the core renders the S3 shape, so this service renders its own
// errors (they are logged as successes in the call log; see s3cError).
func s3ControlService() *service {
	return &service{
		Name:     "s3",
		Protocol: protoRESTXML,
		XMLNS:    s3ControlXMLNS,
		Global:   true,
		Routes: []route{
			{Method: "GET", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "GetPublicAccessBlock", Handler: s3cGetPublicAccessBlock},
			{Method: "PUT", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "PutPublicAccessBlock", Handler: s3cPutPublicAccessBlock},
			{Method: "DELETE", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "DeletePublicAccessBlock", Handler: s3cDeletePublicAccessBlock},
		},
	}
}

const s3ControlXMLNS = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// s3cError renders an S3 Control error. It is returned as a response, not an
// error, because the core's REST-XML error shape is S3's unwrapped <Error>.
func s3cError(req *request, status int, code, msg string) *restResponse {
	var b bytes.Buffer
	b.WriteString(xml.Header + `<ErrorResponse><Error><Code>`)
	xml.EscapeText(&b, []byte(code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(msg))
	b.WriteString(`</Message></Error><RequestId>`)
	xml.EscapeText(&b, []byte(req.srv.randomID(16, "0123456789ABCDEF")))
	b.WriteString(`</RequestId></ErrorResponse>`)
	return &restResponse{Status: status, Header: http.Header{"Content-Type": {"application/xml"}}, Raw: b.Bytes()}
}

// s3cAccount checks x-amz-account-id: it is required and must be the
// caller's own account.
func s3cAccount(req *request) (*s3State, *restResponse) {
	id := req.HTTP.Header.Get("X-Amz-Account-Id")
	if id == "" {
		return nil, s3cError(req, http.StatusBadRequest, "InvalidRequest", "Account ID is required")
	}
	if id != req.Account.ID {
		return nil, s3cError(req, http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	return s3StateOf(req.Account), nil
}

func s3cGetPublicAccessBlock(req *request) (any, error) {
	st, fail := s3cAccount(req)
	if fail != nil {
		return fail, nil
	}
	if st.accountPAB == nil {
		return s3cError(req, http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"), nil
	}
	return &restResponse{Body: st.accountPAB, RootElement: "PublicAccessBlockConfiguration"}, nil
}

func s3cPutPublicAccessBlock(req *request) (any, error) {
	st, fail := s3cAccount(req)
	if fail != nil {
		return fail, nil
	}
	var p s3PublicAccessBlock
	if err := xml.Unmarshal(req.Body, &p); err != nil {
		return s3cError(req, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"), nil
	}
	st.accountPAB = &p
	return nil, nil
}

func s3cDeletePublicAccessBlock(req *request) (any, error) {
	st, fail := s3cAccount(req)
	if fail != nil {
		return fail, nil
	}
	st.accountPAB = nil
	return &restResponse{Status: http.StatusNoContent}, nil
}
