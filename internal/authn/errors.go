package authn

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Stable error codes. They are written to the audit log, so never change
// one; add a new one instead.
const (
	CodeMissingToken      = "missing_token"      // no token at all
	CodeTooLarge          = "too_large"          // longer than Config.MaxTokenBytes
	CodeMalformed         = "malformed"          // not a compact JWS: segments, base64url, JSON
	CodeBadAlgorithm      = "bad_algorithm"      // alg is not RS256, RS512 or ES256
	CodeUnsupportedHeader = "unsupported_header" // crit names an extension we do not implement
	CodeNoKey             = "no_key"             // no configured key fits the token's alg/kid
	CodeBadKey            = "bad_key"            // the key embedded in a self-signed token is unusable
	CodeBadSignature      = "bad_signature"      // no key verifies the signature
	CodeSelfSignedRefused = "self_signed_refused"
	CodeExpired           = "expired"
	CodeNotYetValid       = "not_yet_valid" // nbf or iat in the future (beyond the leeway)
	CodeMissingExpiry     = "missing_expiry"
	CodeBadIssuer         = "bad_issuer"
	CodeBadAudience       = "bad_audience"
	CodeMissingSubject    = "missing_subject"
	CodeBadSubject        = "bad_subject" // too long, control characters, invalid UTF-8
	CodeBadClaim          = "bad_claim"   // a claim has the wrong JSON type or content
	CodeConfig            = "config"      // NewVerifier: a key source is missing or unusable
)

// Error is the error of every refused token (and of NewVerifier). Code is
// one of the Code constants; Msg tells a person what is wrong and what to
// do, and never contains the token.
type Error struct {
	Code string
	Msg  string
	Err  error // underlying cause, if any (never holds token material)
}

func (e *Error) Error() string { return "authn: " + e.Code + ": " + e.Msg }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, &authn.Error{Code: authn.CodeExpired}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// CodeOf returns the Code of the *Error in err's chain, or "" if there is
// none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsCode reports whether err's chain holds an *Error with the given code.
func IsCode(err error, code string) bool { return err != nil && CodeOf(err) == code }

// IsExpired reports whether err says the token has expired (the client
// should fetch a new token and retry).
func IsExpired(err error) bool { return IsCode(err, CodeExpired) }

// IsSelfSignedRefused reports whether err refused a self-signed token.
func IsSelfSignedRefused(err error) bool { return IsCode(err, CodeSelfSignedRefused) }

func newErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapErr(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// quote renders an attacker-controlled value (alg, kid, iss, …) for a
// message: quoted, control characters escaped, and cut to a short length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func quoteList(ss []string) string {
	const max = 5
	q := make([]string, 0, min(len(ss), max)+1)
	for i, s := range ss {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(ss)-max))
			break
		}
		q = append(q, quote(s))
	}
	return strings.Join(q, ", ")
}
