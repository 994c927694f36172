package awssim

import (
	"fmt"
	"net/http"
)

// apiError is what an operation returns to make the server answer with an AWS
// error. The protocol writer renders it in the wire shape of the service
// (JSON __type, Query ErrorResponse, EC2 Response/Errors, REST-XML Error).
type apiError struct {
	Status  int
	Code    string
	Message string
	// Fields are extra members of JSON error bodies, e.g. Organizations'
	// ConstraintViolationException "Reason".
	Fields map[string]string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// newError builds an apiError; status is the HTTP status AWS uses for that code.
func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Helpers for the statuses that cover almost every AWS error.
// with adds an extra error body member (JSON protocols only).
func (e *apiError) with(key, value string) *apiError {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	e.Fields[key] = value
	return e
}

func errBadRequest(code, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, code, format, args...)
}

func errForbidden(code, format string, args ...any) *apiError {
	return newError(http.StatusForbidden, code, format, args...)
}

func errNotFound(code, format string, args ...any) *apiError {
	return newError(http.StatusNotFound, code, format, args...)
}

func errConflict(code, format string, args ...any) *apiError {
	return newError(http.StatusConflict, code, format, args...)
}

// asAPIError converts any error returned by an operation into an apiError;
// errors that are not apiErrors are bugs in the simulator and surface as
// InternalFailure so the SDK sees a 5xx rather than a malformed response.
func asAPIError(err error, internalCode string) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	return newError(http.StatusInternalServerError, internalCode, "simulator error: %v", err)
}
