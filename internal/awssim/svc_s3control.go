package awssim

import (
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
// unlike S3 (XMLErrorWrapped).
func s3ControlService() *service {
	return &service{
		Name:     "s3",
		Protocol: protoRESTXML,
		XMLNS:    s3ControlXMLNS,
		Global:   true,
		// S3 Control's errors are <ErrorResponse><Error>, unlike S3's.
		XMLErrorWrapped: true,
		Routes: []route{
			{Method: "GET", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "GetPublicAccessBlock", Handler: s3cGetPublicAccessBlock},
			{Method: "PUT", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "PutPublicAccessBlock", Handler: s3cPutPublicAccessBlock},
			{Method: "DELETE", Pattern: "/v20180820/configuration/publicAccessBlock", Op: "DeletePublicAccessBlock", Handler: s3cDeletePublicAccessBlock},
		},
	}
}

const s3ControlXMLNS = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// s3cAccount checks x-amz-account-id: it is required and must be the
// caller's own account.
func s3cAccount(req *request) (*s3State, error) {
	id := req.HTTP.Header.Get("X-Amz-Account-Id")
	if id == "" {
		return nil, errBadRequest("InvalidRequest", "Account ID is required")
	}
	if id != req.Account.ID {
		return nil, errForbidden("AccessDenied", "Access Denied")
	}
	return s3StateOf(req.Account), nil
}

func s3cGetPublicAccessBlock(req *request) (any, error) {
	st, err := s3cAccount(req)
	if err != nil {
		return nil, err
	}
	if st.accountPAB == nil {
		return nil, errNotFound("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return &restResponse{Body: st.accountPAB, RootElement: "PublicAccessBlockConfiguration"}, nil
}

func s3cPutPublicAccessBlock(req *request) (any, error) {
	st, err := s3cAccount(req)
	if err != nil {
		return nil, err
	}
	var p s3PublicAccessBlock
	if err := xml.Unmarshal(req.Body, &p); err != nil {
		return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	st.accountPAB = &p
	return nil, nil
}

func s3cDeletePublicAccessBlock(req *request) (any, error) {
	st, err := s3cAccount(req)
	if err != nil {
		return nil, err
	}
	st.accountPAB = nil
	return &restResponse{Status: http.StatusNoContent}, nil
}
