package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hash values that are not a hex SHA-256.
const (
	UnsignedPayload          = "UNSIGNED-PAYLOAD"
	StreamingPayload         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// EmptySHA256 is the hex SHA-256 of no bytes.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

const (
	amzDateFormat = "20060102T150405Z"
	scopeDateLen  = 8
	terminator    = "aws4_request"
)

// Param is one decoded query parameter, in the order it was sent.
type Param struct {
	Key, Value string
}

// ParseQuery splits a raw query string into decoded parameters. A parameter
// without '=' has an empty value. '+' decodes to a space, as in the AWS
// SDKs' own parsing; clients send spaces as %20 and '+' as %2B. Invalid
// percent-encoding is an error.
func ParseQuery(raw string) ([]Param, error) {
	if raw == "" {
		return nil, nil
	}
	parts := strings.Split(raw, "&")
	out := make([]Param, 0, len(parts))
	for _, part := range parts {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := queryUnescape(k)
		if err != nil {
			return nil, err
		}
		dv, err := queryUnescape(v)
		if err != nil {
			return nil, err
		}
		out = append(out, Param{dk, dv})
	}
	return out, nil
}

func queryUnescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	s = strings.ReplaceAll(s, "+", " ")
	return PathUnescape(s)
}

// PathUnescape decodes %XX sequences (and nothing else: '+' stays '+').
func PathUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errors.New("invalid percent-encoding")
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

// Escape encodes s the AWS way: every byte but A-Z a-z 0-9 - . _ ~ as %XX
// (upper-case hex); with keepSlash, '/' is kept too (paths).
func Escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexdigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
		} else {
			b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// CanonicalQuery renders params as SigV4's canonical query string: each key
// and value encoded the AWS way, sorted by key then value, skipping the
// parameter named skip (X-Amz-Signature for presigned URLs).
func CanonicalQuery(params []Param, skip string) string {
	type kv struct{ k, v string }
	enc := make([]kv, 0, len(params))
	for _, p := range params {
		if skip != "" && p.Key == skip {
			continue
		}
		enc = append(enc, kv{Escape(p.Key, false), Escape(p.Value, false)})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].k != enc[j].k {
			return enc[i].k < enc[j].k
		}
		return enc[i].v < enc[j].v
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// canonicalURIs returns the canonical URI candidates of a raw request path:
// the path as sent, and its AWS re-encoding when that differs. Both decode to
// the same path, so accepting either never changes what the request names.
func canonicalURIs(rawPath string) ([]string, error) {
	if rawPath == "" {
		rawPath = "/"
	}
	decoded, err := PathUnescape(rawPath)
	if err != nil {
		return nil, err
	}
	re := Escape(decoded, true)
	if re == rawPath {
		return []string{rawPath}, nil
	}
	return []string{rawPath, re}, nil
}

// canonicalHeaderValue trims a value and collapses inner runs of spaces, as
// the AWS SDKs do: runs of ' ' become one, then white space at both ends
// (Unicode's definition) goes.
func canonicalHeaderValue(v string) string {
	if strings.Contains(v, "  ") {
		var b strings.Builder
		space := false
		for i := 0; i < len(v); i++ {
			if v[i] == ' ' {
				if space {
					continue
				}
				space = true
			} else {
				space = false
			}
			b.WriteByte(v[i])
		}
		v = b.String()
	}
	return strings.TrimSpace(v)
}

// headerValues returns the values of a signed header as the server received
// them; Go's server keeps Host and Transfer-Encoding out of r.Header.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		return []string{r.Host}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return vs
		}
		if r.ContentLength >= 0 && len(r.TransferEncoding) == 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	}
	return r.Header.Values(name)
}

// canonicalHeaders renders the signed headers' canonical block.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(canonicalHeaderValue(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// CanonicalRequest joins the parts of a canonical request.
func CanonicalRequest(method, uri, query, headers string, signed []string, payload string) string {
	var b strings.Builder
	b.Grow(len(method) + len(uri) + len(query) + len(headers) + 64*len(signed) + len(payload) + 8)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// StringToSign is SigV4's string to sign for a canonical request.
func StringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// SigningKey derives the key that signs requests of one day, region and
// service from a secret access key.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

// Sign returns the hex signature of stringToSign.
func Sign(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// equalSig compares two hex signatures in constant time.
func equalSig(a, b string) bool {
	return len(a) == len(b) && hmac.Equal([]byte(a), []byte(b))
}
