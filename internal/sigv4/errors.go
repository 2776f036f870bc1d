package sigv4

import (
	"fmt"
	"net/http"
)

// Error is a refused request: an S3 error code, its HTTP status and a message
// for the client. It never holds secrets.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// S3 error codes used by the verifier.
const (
	CodeAccessDenied          = "AccessDenied"
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	CodeInvalidAccessKeyID    = "InvalidAccessKeyId"
	CodeRequestTimeTooSkewed  = "RequestTimeTooSkewed"
	CodeAuthorizationHeader   = "AuthorizationHeaderMalformed"
	CodeAuthorizationQuery    = "AuthorizationQueryParametersError"
	CodeContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
	CodeInvalidArgument       = "InvalidArgument"
	CodeInvalidRequest        = "InvalidRequest"
	CodeMissingContentLength  = "MissingContentLength"
	CodeIncompleteBody        = "IncompleteBody"
	CodeBadDigest             = "BadDigest"
	CodeExpiredToken          = "ExpiredToken"
	CodeInvalidToken          = "InvalidToken"
	CodeMissingSecurityHeader = "MissingSecurityHeader"
	CodeNotImplemented        = "NotImplemented"
	CodeInvalidChunkSizeError = "InvalidChunkSizeError"
	CodeMalformedTrailerError = "MalformedTrailerError"
)

func newErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func denied(format string, args ...any) *Error {
	return newErr(http.StatusForbidden, CodeAccessDenied, format, args...)
}

func malformedHeader(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, CodeAuthorizationHeader, format, args...)
}

func malformedQuery(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, CodeAuthorizationQuery, format, args...)
}

func badSignature() *Error {
	return newErr(http.StatusForbidden, CodeSignatureDoesNotMatch,
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}
