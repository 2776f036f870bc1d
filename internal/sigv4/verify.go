package sigv4

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of the verifier.
const (
	// MaxSkew is how far a signed request's time may be from the server's.
	MaxSkew = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires a presigned URL may ask for.
	MaxPresignExpiry = 7 * 24 * time.Hour
	// Service is the only SigV4 service name accepted.
	Service = "s3"
	// maxAuthBytes bounds the Authorization header and the credential.
	maxAuthBytes = 8 << 10
)

// Query parameters of a presigned URL.
const (
	QueryAlgorithm     = "X-Amz-Algorithm"
	QueryCredential    = "X-Amz-Credential"
	QueryDate          = "X-Amz-Date"
	QueryExpires       = "X-Amz-Expires"
	QuerySignedHeaders = "X-Amz-SignedHeaders"
	QuerySignature     = "X-Amz-Signature"
	QuerySecurityToken = "X-Amz-Security-Token"
)

// SecretFunc returns the secret access key of accessKeyID, or an error
// (preferably an *Error with CodeInvalidAccessKeyID) when there is none.
type SecretFunc func(accessKeyID string) (string, error)

// Verified is a request whose signature checked out.
type Verified struct {
	AccessKeyID string
	Region      string
	// Time is the request's signing time.
	Time time.Time
	// Presigned: authenticated by the query string; Expires is then set.
	Presigned bool
	Expires   time.Time
	// Payload is the payload hash of the canonical request: a hex SHA-256,
	// UNSIGNED-PAYLOAD or one of the STREAMING-* values.
	Payload string
	// Body yields the payload (decoded from aws-chunked for streaming
	// payloads) and fails, before its last byte, if it does not verify.
	Body io.ReadCloser
	// ContentLength is the length of Body, or -1 when unknown.
	ContentLength int64
	// Chunked reports that the request body was aws-chunked.
	Chunked bool
	// RawPath is the request path as sent; Query the decoded parameters
	// without the presigned URL's own X-Amz-* authentication parameters.
	RawPath string
	Query   []Param
	// SignedHeaders are the lower-case names the signature covers.
	SignedHeaders []string
}

// authInfo is what the Authorization header or the presigned query says.
type authInfo struct {
	accessKey, date, region, service string
	signed                           []string
	signature                        string
	amzDate                          string
	t                                time.Time
	presigned                        bool
	expires                          time.Duration
}

func (a *authInfo) scope() string {
	return a.date + "/" + a.region + "/" + a.service + "/" + terminator
}

// SplitRequestURI returns the raw path and query of the request target as the
// client sent it.
func SplitRequestURI(r *http.Request) (rawPath, rawQuery string) {
	target := r.RequestURI
	if target == "" && r.URL != nil { // a request made in process
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	if i := strings.Index(target, "://"); i >= 0 && !strings.HasPrefix(target, "/") {
		// absolute form: scheme://host/path?query
		rest := target[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			target = rest[j:]
		} else {
			target = "/"
		}
	}
	rawPath, rawQuery, _ = strings.Cut(target, "?")
	if rawPath == "" {
		rawPath = "/"
	}
	return rawPath, rawQuery
}

// Verify checks the request's signature at time now and returns what it
// established, with a body that verifies the payload while it is read.
func Verify(r *http.Request, now time.Time, secret SecretFunc) (*Verified, error) {
	rawPath, rawQuery := SplitRequestURI(r)
	params, err := ParseQuery(rawQuery)
	if err != nil {
		return nil, newErr(http.StatusBadRequest, CodeInvalidArgument, "the query string has an invalid percent-encoding")
	}
	if k, dup := repeatedParam(params); dup {
		code := CodeInvalidArgument
		if strings.HasPrefix(k, "X-Amz-") {
			code = CodeAuthorizationQuery
		}
		return nil, newErr(http.StatusBadRequest, code,
			"the query parameter %q appears more than once; the proxy and the store could read different values of it, so the request is refused", k)
	}
	if k, dup := repeatedHeader(r.Header); dup {
		return nil, newErr(http.StatusBadRequest, CodeInvalidArgument,
			"the header %q appears more than once; the proxy and the store could read different values of it, so the request is refused", k)
	}
	authz := r.Header.Values("Authorization")
	presign := hasParam(params, QueryAlgorithm) || hasParam(params, QueryCredential) || hasParam(params, QuerySignature)
	var a *authInfo
	switch {
	case len(authz) > 0 && presign:
		return nil, newErr(http.StatusBadRequest, CodeInvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return nil, malformedHeader("the request has more than one Authorization header")
	case len(authz) == 1:
		a, err = parseAuthorization(authz[0])
		if err == nil {
			err = headerDate(r, a)
		}
	case presign:
		a, err = parsePresigned(params)
	case hasParam(params, "AWSAccessKeyId") && hasParam(params, "Signature"):
		return nil, newErr(http.StatusBadRequest, CodeInvalidRequest, "this presigned URL uses signature version 2, which is not supported; presign with Signature Version 4 (boto3: Config(signature_version='s3v4'); AWS CLI: s3.signature_version = s3v4)")
	default:
		return nil, denied("anonymous requests are refused: sign requests with a lakegate access key (lakegate ensemble credentials)")
	}
	if err != nil {
		return nil, err
	}
	if r.Header.Get("X-Amz-Security-Token") != "" || hasParam(params, QuerySecurityToken) {
		return nil, newErr(http.StatusBadRequest, CodeInvalidToken, "lakegate access keys have no session token; remove X-Amz-Security-Token")
	}
	key, err := secret(a.accessKey)
	if err != nil {
		return nil, err
	}
	if err := checkTime(a, now); err != nil {
		return nil, err
	}

	payload := UnsignedPayload
	if !a.presigned {
		payload = r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			return nil, newErr(http.StatusBadRequest, CodeInvalidRequest, "Missing required header for this request: x-amz-content-sha256")
		}
		if !validPayload(payload) {
			return nil, newErr(http.StatusBadRequest, CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER or a lower-case hex SHA-256")
		}
	}
	if err := checkSignedHeaders(r, a); err != nil {
		return nil, err
	}
	uris, err := canonicalURIs(rawPath)
	if err != nil {
		return nil, newErr(http.StatusBadRequest, CodeInvalidArgument, "the request path has an invalid percent-encoding")
	}
	skip := ""
	if a.presigned {
		skip = QuerySignature
	}
	query := CanonicalQuery(params, skip)
	headers := canonicalHeaders(r, a.signed)
	signingKey := SigningKey(key, a.date, a.region, a.service)
	ok := false
	for _, uri := range uris {
		cr := CanonicalRequest(r.Method, uri, query, headers, a.signed, payload)
		if equalSig(Sign(signingKey, StringToSign(a.amzDate, a.scope(), cr)), a.signature) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, badSignature()
	}

	v := &Verified{
		AccessKeyID: a.accessKey, Region: a.region, Time: a.t, Presigned: a.presigned,
		Payload: payload, RawPath: rawPath, Query: params, SignedHeaders: a.signed,
	}
	if a.presigned {
		v.Expires = a.t.Add(a.expires)
		v.Query = withoutAuthParams(params)
	}
	if err := v.setBody(r, a, signingKey); err != nil {
		return nil, err
	}
	return v, nil
}

func hasParam(params []Param, key string) bool {
	for _, p := range params {
		if p.Key == key {
			return true
		}
	}
	return false
}

func param(params []Param, key string) (string, int) {
	v, n := "", 0
	for _, p := range params {
		if p.Key == key {
			v = p.Value
			n++
		}
	}
	return v, n
}

func withoutAuthParams(params []Param) []Param {
	out := make([]Param, 0, len(params))
	for _, p := range params {
		switch p.Key {
		case QueryAlgorithm, QueryCredential, QueryDate, QueryExpires, QuerySignedHeaders, QuerySignature:
			continue
		}
		out = append(out, p)
	}
	return out
}

func validPayload(p string) bool {
	switch p {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return true
	}
	if len(p) != 64 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".
func parseAuthorization(h string) (*authInfo, error) {
	if len(h) > maxAuthBytes {
		return nil, malformedHeader("the Authorization header is too long")
	}
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		switch {
		case strings.HasPrefix(h, "AWS "):
			return nil, newErr(http.StatusBadRequest, CodeInvalidRequest, "signature version 2 is not supported; use Signature Version 4 (AWS4-HMAC-SHA256)")
		case strings.HasPrefix(h, "AWS4-ECDSA-P256-SHA256"):
			return nil, newErr(http.StatusBadRequest, CodeInvalidRequest, "SigV4a is not supported; use AWS4-HMAC-SHA256")
		}
		return nil, malformedHeader("the authorization header must start with %s", Algorithm)
	}
	var cred, signed, sig string
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, malformedHeader("the authorization header is malformed; expected Credential=…, SignedHeaders=…, Signature=…")
		}
		if seen[k] {
			return nil, malformedHeader("the authorization header names %s twice", k)
		}
		seen[k] = true
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		default:
			return nil, malformedHeader("the authorization header has an unknown component")
		}
	}
	if cred == "" || signed == "" || sig == "" {
		return nil, malformedHeader("the authorization header is missing Credential, SignedHeaders or Signature")
	}
	a := &authInfo{}
	if err := a.parseCredential(cred, malformedHeader); err != nil {
		return nil, err
	}
	if err := a.parseSigned(signed, malformedHeader); err != nil {
		return nil, err
	}
	if !validSignature(sig) {
		return nil, malformedHeader("the signature must be 64 lower-case hex digits")
	}
	a.signature = sig
	return a, nil
}

// headerDate finds the signing time of a header-signed request.
func headerDate(r *http.Request, a *authInfo) error {
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		if !a.signs("x-amz-date") {
			return denied("x-amz-date must be a signed header")
		}
		t, err := time.Parse(amzDateFormat, d)
		if err != nil {
			return denied("X-Amz-Date must be in the form 20060102T150405Z")
		}
		a.t, a.amzDate = t, d
	} else if d := r.Header.Get("Date"); d != "" {
		if !a.signs("date") {
			return denied("the Date header must be signed")
		}
		t, err := http.ParseTime(d)
		if err != nil {
			return denied("the Date header is not a valid HTTP date")
		}
		a.t, a.amzDate = t.UTC(), t.UTC().Format(amzDateFormat)
	} else {
		return denied("AWS authentication requires a valid Date or x-amz-date header")
	}
	if a.amzDate[:scopeDateLen] != a.date {
		return malformedHeader("the credential date %s does not match the request date %s", a.date, a.amzDate[:scopeDateLen])
	}
	return nil
}

func parsePresigned(params []Param) (*authInfo, error) {
	get := func(k string) (string, error) {
		v, n := param(params, k)
		switch {
		case n == 0 || v == "":
			return "", malformedQuery("the presigned URL lacks %s", k)
		case n > 1:
			return "", malformedQuery("the presigned URL has %s more than once", k)
		}
		return v, nil
	}
	alg, err := get(QueryAlgorithm)
	if err != nil {
		return nil, err
	}
	if alg != Algorithm {
		return nil, malformedQuery("X-Amz-Algorithm must be %s", Algorithm)
	}
	a := &authInfo{presigned: true}
	cred, err := get(QueryCredential)
	if err != nil {
		return nil, err
	}
	if err := a.parseCredential(cred, malformedQuery); err != nil {
		return nil, err
	}
	if a.amzDate, err = get(QueryDate); err != nil {
		return nil, err
	}
	if a.t, err = time.Parse(amzDateFormat, a.amzDate); err != nil {
		return nil, malformedQuery("X-Amz-Date must be in the form 20060102T150405Z")
	}
	if a.amzDate[:scopeDateLen] != a.date {
		return nil, malformedQuery("the credential date %s does not match X-Amz-Date", a.date)
	}
	exp, err := get(QueryExpires)
	if err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > MaxPresignExpiry || exp[0] == '+' {
		return nil, malformedQuery("X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	a.expires = time.Duration(secs) * time.Second
	signed, err := get(QuerySignedHeaders)
	if err != nil {
		return nil, err
	}
	if err := a.parseSigned(signed, malformedQuery); err != nil {
		return nil, err
	}
	if a.signature, err = get(QuerySignature); err != nil {
		return nil, err
	}
	if !validSignature(a.signature) {
		return nil, malformedQuery("X-Amz-Signature must be 64 lower-case hex digits")
	}
	return a, nil
}

func (a *authInfo) parseCredential(cred string, bad func(string, ...any) *Error) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return bad("the credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request")
	}
	a.accessKey, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if a.accessKey == "" || len(a.accessKey) > 1024 {
		return bad("the credential names no valid access key")
	}
	if len(a.date) != scopeDateLen || !allDigits(a.date) {
		return bad("the credential date must be YYYYMMDD")
	}
	if a.region == "" || len(a.region) > 64 || !regionChars(a.region) {
		return bad("the credential region is invalid")
	}
	if a.service != Service {
		return bad("the credential is for service %q; this endpoint is s3", clip(a.service))
	}
	if parts[4] != terminator {
		return bad("the credential must end with aws4_request")
	}
	return nil
}

func (a *authInfo) parseSigned(s string, bad func(string, ...any) *Error) error {
	names := strings.Split(s, ";")
	for i, n := range names {
		if n == "" || !headerToken(n) {
			return bad("SignedHeaders must be lower-case header names separated by ';'")
		}
		if i > 0 && names[i-1] >= n {
			return bad("SignedHeaders must be sorted and without repeats")
		}
	}
	a.signed = names
	if !a.signs("host") {
		return bad("SignedHeaders must include host")
	}
	return nil
}

func (a *authInfo) signs(name string) bool {
	for _, n := range a.signed {
		if n == name {
			return true
		}
	}
	return false
}

func checkTime(a *authInfo, now time.Time) error {
	if a.presigned {
		if a.t.Sub(now) > MaxSkew {
			return denied("the presigned URL is not valid yet (X-Amz-Date is in the future)")
		}
		if now.After(a.t.Add(a.expires)) {
			return denied("Request has expired")
		}
		return nil
	}
	if d := now.Sub(a.t); d > MaxSkew || d < -MaxSkew {
		return newErr(http.StatusForbidden, CodeRequestTimeTooSkewed,
			"The difference between the request time (%s) and the server time (%s) is too large (more than %s)",
			a.t.UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat), MaxSkew)
	}
	return nil
}

// checkSignedHeaders refuses requests that carry x-amz-* headers the
// signature does not cover: they could change what a captured request does.
func checkSignedHeaders(r *http.Request, a *authInfo) error {
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && !a.signs(lk) {
			return denied("There were headers present in the request which were not signed: %s", clip(lk))
		}
	}
	return nil
}

func validSignature(s string) bool { return len(s) == 64 && validPayload(s) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func regionChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || 'A' <= c && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// headerToken: a lower-case HTTP header name.
func headerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// repeatedParam reports a query parameter given more than once (S3 and the
// proxy could each pick a different value).
func repeatedParam(params []Param) (string, bool) {
	seen := make(map[string]struct{}, len(params))
	for _, p := range params {
		if _, ok := seen[p.Key]; ok {
			return p.Key, true
		}
		seen[p.Key] = struct{}{}
	}
	return "", false
}

// singleHeaders are the headers the proxy itself reads (authentication,
// framing, copy source, ACL): given twice, the proxy could act on one value
// and the store on another. Headers it only forwards reach the store as sent.
var singleHeaders = map[string]bool{
	"Authorization": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true, "Date": true,
	"X-Amz-Date": true, "X-Amz-Content-Sha256": true, "X-Amz-Security-Token": true, "X-Amz-Trailer": true,
	"X-Amz-Decoded-Content-Length": true, "X-Amz-Copy-Source": true, "X-Amz-Acl": true,
}

// repeatedHeader reports a header the proxy reads that the request carries
// more than once.
func repeatedHeader(h http.Header) (string, bool) {
	for k, vs := range h {
		if len(vs) > 1 && singleHeaders[k] {
			return k, true
		}
	}
	return "", false
}
