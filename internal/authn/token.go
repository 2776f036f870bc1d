package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lakegate/lakegate/internal/catalog"
)

// rawToken is a compact JWS taken apart, before its signature is checked.
type rawToken struct {
	header       map[string]json.RawMessage
	payload      map[string]json.RawMessage
	signingInput string // header.payload, as received
	sig          []byte
	alg, kid     string
	jwk          json.RawMessage // the "jwk" header parameter, nil if absent
}

// parseToken checks the structure of a compact JWS strictly: three
// non-empty base64url segments (unpadded, canonical, nothing but the
// base64url alphabet), header and payload JSON objects in UTF-8 without
// duplicate members, an accepted alg and no crit.
func parseToken(tok string, maxBytes int) (*rawToken, error) {
	if tok == "" {
		return nil, newErr(CodeMissingToken, "no token was given; send a JWT (for example OKERA_TOKEN or one minted with `lakegate token`)")
	}
	if len(tok) > maxBytes {
		return nil, newErr(CodeTooLarge, "the token is %d bytes, over the limit of %d; ask its issuer for a smaller token (fewer groups or attributes) or raise the planner's token size limit", len(tok), maxBytes)
	}
	dots := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return nil, newErr(CodeMalformed, "the token has a character (at byte %d) that a compact JWT never contains (only A-Z a-z 0-9 - _ and two dots); check that it was copied whole, without quotes, spaces, line breaks or a \"Bearer \" prefix", i)
		}
	}
	if dots != 2 {
		return nil, newErr(CodeMalformed, "a JWT has three parts separated by dots (header.payload.signature), this token has %d; check that it was copied whole", dots+1)
	}
	hSeg, rest, _ := strings.Cut(tok, ".")
	pSeg, sSeg, _ := strings.Cut(rest, ".")
	signingInput := tok[:len(hSeg)+1+len(pSeg)]

	hdrBytes, err := decodeSegment(hSeg, "header")
	if err != nil {
		return nil, err
	}
	header, err := decodeObject(hdrBytes)
	if err != nil {
		return nil, wrapErr(CodeMalformed, err, "the token header is not a valid JSON object (%v); the token is corrupt or not a JWT", err)
	}
	rt := &rawToken{header: header, signingInput: signingInput}

	rawAlg, ok := header["alg"]
	if !ok {
		return nil, newErr(CodeBadAlgorithm, "the token header has no alg; tokens must be signed with RS256, RS512 or ES256")
	}
	if err := json.Unmarshal(rawAlg, &rt.alg); err != nil {
		return nil, newErr(CodeBadAlgorithm, "the token header's alg is not a string; tokens must be signed with RS256, RS512 or ES256")
	}
	if err := checkAlg(rt.alg); err != nil {
		return nil, err
	}
	if raw, ok := header["crit"]; ok {
		var crit []string
		if err := json.Unmarshal(raw, &crit); err != nil || len(crit) == 0 {
			return nil, newErr(CodeMalformed, "the token header's crit is not a non-empty array of names; the token is corrupt")
		}
		return nil, newErr(CodeUnsupportedHeader, "the token marks header parameters %s as critical (crit), which lakegate does not implement; issue the token without crit", quoteList(crit))
	}
	if raw, ok := header["kid"]; ok {
		if err := json.Unmarshal(raw, &rt.kid); err != nil {
			return nil, newErr(CodeMalformed, "the token header's kid is not a string; the token is corrupt")
		}
	}
	if raw, ok := header["jwk"]; ok {
		rt.jwk = raw
	}

	payBytes, err := decodeSegment(pSeg, "payload")
	if err != nil {
		return nil, err
	}
	if rt.payload, err = decodeObject(payBytes); err != nil {
		return nil, wrapErr(CodeMalformed, err, "the token payload is not a valid JSON object (%v); the token is corrupt or not a JWT", err)
	}
	if rt.sig, err = decodeSegment(sSeg, "signature"); err != nil {
		return nil, err
	}
	return rt, nil
}

func checkAlg(alg string) error {
	switch alg {
	case "RS256", "RS512", "ES256":
		return nil
	}
	switch {
	case strings.EqualFold(alg, "none"):
		return newErr(CodeBadAlgorithm, "the token is unsigned (alg %s); lakegate never accepts unsigned tokens, sign it with RS256, RS512 or ES256", quote(alg))
	case len(alg) > 2 && strings.EqualFold(alg[:2], "HS"):
		return newErr(CodeBadAlgorithm, "the token is signed with a shared secret (alg %s); lakegate never accepts HMAC tokens, sign it with RS256, RS512 or ES256", quote(alg))
	}
	return newErr(CodeBadAlgorithm, "the token's algorithm %s is not accepted; sign it with RS256, RS512 or ES256", quote(alg))
}

func decodeSegment(seg, what string) ([]byte, error) {
	if seg == "" {
		return nil, newErr(CodeMalformed, "the token's %s part is empty; check that it was copied whole", what)
	}
	b, err := b64.Strict().DecodeString(seg)
	if err != nil {
		return nil, newErr(CodeMalformed, "the token's %s part is not valid unpadded base64url; check that it was copied whole", what)
	}
	return b, nil
}

var errNotObject = errors.New("not a JSON object")

// decodeObject decodes one JSON object into its members, refusing invalid
// UTF-8, duplicate member names and anything after the object. Duplicates
// are refused because JSON parsers disagree about which one wins.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return nil, errNotObject
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		name, ok := t.(string)
		if !ok {
			return nil, errNotObject
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("member %s appears twice", quote(name))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errNotObject
		}
		m[name] = raw
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// Claims are read from the verified payload with exact (case-sensitive)
// member names.

func claimString(m map[string]json.RawMessage, name string) (s string, present bool, err error) {
	raw, ok := m[name]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
		return "", true, newErr(CodeBadClaim, "the token's %s claim is not a string; fix the token issuer's configuration", name)
	}
	return s, true, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

func claimTime(m map[string]json.RawMessage, name string) (t *timeClaim, err error) {
	raw, ok := m[name]
	if !ok {
		return nil, nil
	}
	bad := func() error {
		return newErr(CodeBadClaim, "the token's %s claim is not a NumericDate (seconds since 1970 as a JSON number); fix the token issuer", name)
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return nil, bad()
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return nil, bad()
	}
	sec, frac := math.Modf(f)
	return &timeClaim{sec: int64(sec), nsec: int64(frac * 1e9)}, nil
}

type timeClaim struct{ sec, nsec int64 }

// claimAudience reads aud: a string or an array of strings.
func claimAudience(m map[string]json.RawMessage) ([]string, error) {
	raw, ok := m["aud"]
	if !ok {
		return nil, nil
	}
	var one string
	if raw[0] == '"' && json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if raw[0] == '[' && json.Unmarshal(raw, &many) == nil {
		return many, nil
	}
	return nil, newErr(CodeBadClaim, "the token's aud claim is neither a string nor an array of strings; fix the token issuer")
}

const maxNameBytes = 256

// checkName checks a user or group name: valid UTF-8, at most 256 bytes,
// no control characters. It returns a short reason, or "".
func checkName(s string) string {
	if len(s) > maxNameBytes {
		return fmt.Sprintf("is %d bytes long, over the limit of %d", len(s), maxNameBytes)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "contains a control character (such as a line break)"
		}
	}
	return ""
}

// claimGroups reads the groups claim: a JSON array of strings or one
// comma-separated string. Names are trimmed, lower-cased, de-duplicated and
// sorted; empty names are dropped.
func claimGroups(m map[string]json.RawMessage, name string) ([]string, error) {
	groups := []string{}
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return groups, nil
	}
	var list []string
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, newErr(CodeBadClaim, "the token's %s claim does not decode", quote(name))
		}
		list = strings.Split(s, ",")
	case '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, newErr(CodeBadClaim, "the token's %s claim must be an array of strings or a comma-separated string, and it holds something else; fix the token issuer", quote(name))
		}
	default:
		return nil, newErr(CodeBadClaim, "the token's %s claim must be an array of strings or a comma-separated string; fix the token issuer", quote(name))
	}
	seen := make(map[string]bool, len(list))
	for _, g := range list {
		g = catalog.FoldName(strings.TrimSpace(g))
		if g == "" || seen[g] {
			continue
		}
		if why := checkName(g); why != "" {
			return nil, newErr(CodeBadClaim, "a group in the token's %s claim %s; fix the token issuer", quote(name), why)
		}
		seen[g] = true
		groups = append(groups, g)
	}
	slices.Sort(groups)
	return groups, nil
}

// claimAttributes reads the object claim "attributes", keeping string
// values only. Anything else (a non-object claim, non-string values) is
// ignored.
func claimAttributes(m map[string]json.RawMessage) map[string]string {
	attrs := map[string]string{}
	raw, ok := m["attributes"]
	if !ok || raw[0] != '{' {
		return attrs
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return attrs
	}
	for k, v := range obj {
		if len(v) == 0 || v[0] != '"' {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			attrs[k] = s
		}
	}
	return attrs
}
