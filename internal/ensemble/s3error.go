package ensemble

import (
	"encoding/xml"
	"io"
	"net/http"
	"time"

	"github.com/lakegate/lakegate/internal/sigv4"
)

// s3Error is an S3 error response.
type s3Error = sigv4.Error

func errAccessDenied(msg string) *s3Error {
	return &s3Error{Status: http.StatusForbidden, Code: sigv4.CodeAccessDenied, Message: msg}
}

func errNotImplemented(msg string) *s3Error {
	return &s3Error{Status: http.StatusNotImplemented, Code: sigv4.CodeNotImplemented, Message: msg}
}

func errInvalidRequest(msg string) *s3Error {
	return &s3Error{Status: http.StatusBadRequest, Code: sigv4.CodeInvalidRequest, Message: msg}
}

func errUnavailable(msg string) *s3Error {
	return &s3Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: msg}
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// maxDrain bounds how much of a refused request's body is read and thrown
// away before the error is sent, so that a client sending the body (as the
// AWS SDK for Go does even with Expect: 100-continue) reads the error
// instead of a connection reset; drainTimeout bounds the time it may take.
// A client that waits for 100 Continue gets it and sends the body: a bounded
// cost for a clean error.
const (
	maxDrain     = 64 << 20
	drainTimeout = 5 * time.Second
)

func drain(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.ContentLength == 0 {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(drainTimeout))
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

// writeError sends e the way S3 does: an XML body (none for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error, requestID string) {
	drain(w, r)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", requestID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body, _ := xml.Marshal(xmlError{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: requestID})
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
