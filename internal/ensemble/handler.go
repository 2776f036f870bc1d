package ensemble

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/s3keys"
	"github.com/lakegate/lakegate/internal/sigv4"
)

// Limits of bodies the proxy reads itself.
const (
	maxDeleteBody      = 2 << 20 // DeleteObjects: at most 1000 keys of 1024 bytes
	maxCompleteBody    = 4 << 20 // CompleteMultipartUpload: at most 10,000 parts
	maxDeleteKeys      = 1000
	maxListBucketsBody = 16 << 20
)

// ServeHTTP serves the S3 API and, on path-style requests under /_lakegate/,
// the proxy's own endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rawPath, _ := sigv4.SplitRequestURI(r)
	if strings.HasPrefix(rawPath, controlPrefix) && !s.virtualHost(r.Host) {
		s.control(w, r, rawPath)
		return
	}
	s.serveS3(w, r)
}

func (s *Server) virtualHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.ToLower(h)
	for _, d := range s.cfg.VirtualHostDomains {
		if strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// bodyWatch remembers the first error reading the client's body gave, so a
// payload that failed verification is reported as such.
type bodyWatch struct {
	r   io.Reader
	err error
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rid := newRequestID()
	rec := audit.Record{RequestTime: start.UTC(), RequestID: rid, ClientApplication: "lakegate-ensemble",
		ClientNetworkAddress: r.RemoteAddr}
	fail := func(e *s3Error, outcome string) {
		rec.Outcome = outcome
		if rec.Reason == "" {
			rec.Reason = e.Code + ": " + e.Message
		}
		rec.LatencyUS = time.Since(start).Microseconds()
		s.audit.Write(rec)
		writeError(w, r, e, rid)
	}

	var ident *s3keys.Identity
	v, err := sigv4.Verify(r, start, func(id string) (string, error) {
		i, secret, err := s.keys.Lookup(id)
		if err != nil {
			return "", &sigv4.Error{Status: http.StatusForbidden, Code: sigv4.CodeInvalidAccessKeyID,
				Message: "The AWS Access Key Id you provided does not exist in our records."}
		}
		ident = i
		return secret, nil
	})
	if err == nil {
		err = s.keys.Check(ident, start)
	}
	if ident != nil {
		rec.User, rec.Groups = ident.User, ident.Groups
	}
	if err != nil {
		rec.StatementType, rec.Statement = "AUTHENTICATE", r.Method+" "+rawTarget(r)
		var e *sigv4.Error
		switch {
		case errors.As(err, &e):
		case errors.Is(err, s3keys.ErrExpired):
			e = &s3Error{Status: http.StatusBadRequest, Code: sigv4.CodeExpiredToken, Message: err.Error()}
		case errors.Is(err, s3keys.ErrRevoked):
			e = &s3Error{Status: http.StatusForbidden, Code: sigv4.CodeInvalidAccessKeyID, Message: err.Error()}
		default:
			s.log.Error("cannot check an access key", "err", err)
			e = errUnavailable("the access key cannot be checked right now; the request is refused")
		}
		rec.AuthFailure = e.Code
		s.log.Info("request refused", "code", e.Code, "peer", r.RemoteAddr, "user", rec.User)
		fail(e, audit.OutcomeDenied)
		return
	}

	bucket, key, _, perr := splitBucketKey(r.Host, v.RawPath, s.cfg.VirtualHostDomains)
	var req *s3Request
	if perr == nil {
		req, perr = classify(r, bucket, key, v.Query)
	}
	if perr != nil {
		rec.StatementType, rec.Statement = "S3", r.Method+" "+rawTarget(r)
		outcome := audit.OutcomeError
		if perr.Code == sigv4.CodeAccessDenied {
			outcome = audit.OutcomeDenied
		}
		fail(perr, outcome)
		return
	}
	rec.StatementType = "S3 " + req.op

	body, length, payload := io.Reader(v.Body), v.ContentLength, v.Payload
	switch {
	case v.Chunked || payload == sigv4.UnsignedPayload:
		payload = sigv4.UnsignedPayload
	case length == 0:
		payload = sigv4.EmptySHA256
	}
	if length == 0 {
		payload = sigv4.EmptySHA256
	}
	if req.op == "DeleteObjects" {
		buf, keys, derr := readDeleteBody(v.Body)
		if derr != nil {
			rec.Statement = "DeleteObjects s3://" + bucket
			fail(derr, audit.OutcomeError)
			return
		}
		for _, k := range keys {
			uri, kerr := objectURI(bucket, k)
			if kerr != nil {
				rec.Statement = "DeleteObjects s3://" + bucket
				fail(kerr, audit.OutcomeDenied)
				return
			}
			req.checks = append(req.checks, check{uri, []catalog.Privilege{catalog.PrivDrop}})
		}
		sum := sha256.Sum256(buf)
		body, length, payload = bytes.NewReader(buf), int64(len(buf)), hex.EncodeToString(sum[:])
	}
	if req.op == "CompleteMultipartUpload" {
		buf, berr := readBody(v.Body, maxCompleteBody, req.op)
		if berr == nil {
			_, berr = parseStrictXML(buf, "CompleteMultipartUpload", completeShape)
		}
		if berr != nil {
			rec.Statement = req.op + " " + rawTarget(r)
			fail(berr, audit.OutcomeError)
			return
		}
		sum := sha256.Sum256(buf)
		body, length, payload = bytes.NewReader(buf), int64(len(buf)), hex.EncodeToString(sum[:])
	}

	uris := make([]string, len(req.checks))
	for i, c := range req.checks {
		uris[i] = c.uri
	}
	rec.Statement, rec.Objects = req.op+" "+strings.Join(uris, " "), uris
	if req.op == "ListBuckets" {
		rec.Statement = "ListBuckets"
	}
	if len(req.checks) > 0 {
		decisions, derr := s.decider.Decide(r.Context(), ident, rec.Statement, req.checks)
		if derr != nil {
			s.log.Error("no access decision; refusing the request", "err", derr, "op", req.op, "user", ident.User)
			rec.Reason = derr.Error()
			fail(errUnavailable("lakegate could not get an access decision from the planner, so the request is refused; try again later"), audit.OutcomeError)
			return
		}
		var denials []string
		for _, d := range decisions {
			if !d.Allowed {
				denials = append(denials, d.Reason)
			}
		}
		if len(denials) > 0 {
			rec.Reason = strings.Join(denials, "; ")
			fail(errAccessDenied("Access Denied by lakegate: "+denials[0]), audit.OutcomeDenied)
			return
		}
		rec.Outcome = audit.OutcomeAllowed
		rec.Reason = decisions[0].Reason
	} else if req.op == "ListBuckets" {
		rec.Outcome = audit.OutcomeAllowed
		rec.Reason = "each bucket listed only if the user may see it"
	} else {
		fail(errAccessDenied("no access decision for this request"), audit.OutcomeDenied) // fail closed
		return
	}
	rec.LatencyUS = time.Since(start).Microseconds()
	s.audit.Write(rec)
	s.log.Debug("forwarding", "op", req.op, "user", ident.User, "payload", payloadKind(v.Payload), "length", length)

	header := forwardHeaders(r.Header)
	if req.copySource != nil {
		header.Set("X-Amz-Copy-Source", copySourceHeader(req.copySource))
	}
	target := s.upstream.target(req.bucket, req.key, req.params)
	if s.upstream.spliceable(r, req.op) {
		s.getSpliced(w, r, target, header, payload, rid, req.op)
		return
	}
	watch := &bodyWatch{r: body}
	resp, uerr := s.upstream.send(r.Context(), r.Method, target, header, watch, length, payload)
	if e, ok := sigv4.BodyError(watch.err); ok {
		if resp != nil {
			resp.Body.Close()
		}
		writeError(w, r, e, rid)
		return
	}
	if uerr != nil {
		if r.Context().Err() == nil {
			s.log.Warn("upstream request failed", "err", uerr, "op", req.op)
		}
		writeError(w, r, errUnavailable("the upstream store could not be reached"), rid)
		return
	}
	defer resp.Body.Close()
	if req.op == "ListBuckets" && resp.StatusCode == http.StatusOK {
		s.filterBuckets(w, r, resp, ident, rid)
		return
	}
	if _, err := relay(w, resp, rid); err != nil && r.Context().Err() == nil {
		s.log.Debug("relaying the upstream response ended early", "err", err, "op", req.op)
	}
}

// getSpliced forwards a GetObject on the splice path (splice.go).
func (s *Server) getSpliced(w http.ResponseWriter, r *http.Request, target *url.URL, header http.Header, payload, rid, op string) {
	req, err := s.upstream.signed(r.Context(), http.MethodGet, target, header, nil, 0, payload)
	var x *rawExchange
	if err == nil {
		x, err = s.upstream.getRaw(r.Context(), req)
	}
	if err != nil {
		if r.Context().Err() == nil {
			s.log.Warn("upstream request failed", "err", err, "op", op)
		}
		writeError(w, r, errUnavailable("the upstream store could not be reached"), rid)
		return
	}
	if _, err := x.relay(w, rid); err != nil && r.Context().Err() == nil {
		s.log.Debug("relaying the upstream response ended early", "err", err, "op", op)
	}
}

// payloadKind names how a payload was signed, for debug logs.
func payloadKind(p string) string {
	if len(p) == 64 {
		return "sha256"
	}
	return p
}

func rawTarget(r *http.Request) string {
	p, _ := sigv4.SplitRequestURI(r)
	return p
}

// readBody reads a request body of at most max bytes.
func readBody(body io.Reader, max int64, op string) ([]byte, *s3Error) {
	buf, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		if e, ok := sigv4.BodyError(err); ok {
			return nil, e
		}
		return nil, errInvalidRequest("the request body could not be read")
	}
	if int64(len(buf)) > max {
		return nil, errInvalidRequest("the " + op + " body is too large")
	}
	return buf, nil
}

// readDeleteBody reads a DeleteObjects body (bounded, strictly parsed) and its keys.
func readDeleteBody(body io.Reader) ([]byte, []string, *s3Error) {
	buf, e := readBody(body, maxDeleteBody, "DeleteObjects")
	if e != nil {
		return nil, nil, e
	}
	root, e := parseStrictXML(buf, "Delete", deleteShape)
	if e != nil {
		return nil, nil, e
	}
	var keys []string
	for _, o := range root.children {
		if o.name == "Object" {
			keys = append(keys, o.child("Key").text)
		}
	}
	if len(keys) == 0 {
		return nil, nil, malformedXML("no Object to delete")
	}
	if len(keys) > maxDeleteKeys {
		return nil, nil, &s3Error{Status: http.StatusBadRequest, Code: "MalformedXML", Message: "at most 1000 keys may be deleted in one request"}
	}
	return buf, keys, nil
}
