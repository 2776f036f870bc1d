package sigv4

import (
	"net/http"
)

// DebugCanonical renders the canonical request the verifier builds for r
// (first URI candidate), for LAKEGATE_DEBUG_SIGV4 in the tests.
func DebugCanonical(r *http.Request) string {
	raw, q := SplitRequestURI(r)
	params, _ := ParseQuery(q)
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err.Error()
	}
	uris, _ := canonicalURIs(raw)
	return CanonicalRequest(r.Method, uris[0], CanonicalQuery(params, ""), canonicalHeaders(r, a.signed), a.signed, r.Header.Get("X-Amz-Content-Sha256"))
}
