// Package authn verifies the JSON Web Tokens that every request to the
// planner carries and turns them into a Principal (user, groups,
// attributes) for the policy engine. It also mints tokens: GenerateKeyPair
// writes a key pair, LoadPrivateKey reads a private key, SignToken signs a
// token with it and SignSelfSigned signs one with a throwaway key.
//
// # What a Verifier accepts
//
// Only compact JWS tokens signed with RS256, RS512 or ES256 by a
// configured key: PEM public keys or certificates (Config.PublicKeyFiles)
// or the keys published at a JWKS URL (Config.JWKSURL). "alg": "none" in
// any spelling, every HMAC algorithm, RSA-PSS and everything else are
// refused before any key is looked at, and a key is only ever used with an
// algorithm of its own family (RSA for RS*, EC P-256 for ES256), so the
// HMAC-with-the-public-key confusion cannot happen. Every refusal is an
// *Error with a stable Code for the audit log and a message that says what
// is wrong and what to do, without echoing the token.
//
// Self-signed tokens (the POC mode of the Spark extension) carry their own
// public key in the JOSE header parameter "jwk". They prove nothing about
// who sent them, so a Verifier accepts them only when it was built with
// Config.AcceptSelfSigned (--insecure-accept-self-signed), only when no
// configured key verifies the token, and only for RSA keys of at least
// 2048 bits or EC P-256 keys; the Principal then has SelfSigned set, and
// NewVerifier logs a warning. A strict Verifier refuses such a token with
// self_signed_refused without looking at the embedded key.
//
// # Decisions
//
// Structure. Tokens longer than Config.MaxTokenBytes are refused before
// anything else. A token may contain only the base64url alphabet and
// exactly two dots (no padding, white space, line breaks or "Bearer "
// prefix: the caller strips those), and each part must be canonical
// base64url, so one signed token has exactly one accepted spelling. Header
// and payload must be UTF-8 JSON objects without duplicate members (JSON
// parsers disagree on which duplicate wins); claims are read with exact,
// case-sensitive names. A "crit" header is always refused: lakegate
// implements no extension. "jku", "x5u" and "x5c" are ignored: keys come
// only from the configuration.
//
// Keys and kids. A PEM key's kid is its RFC 7638 thumbprint (Thumbprint),
// which is also the kid SignToken writes. A PEM file may hold several
// "PUBLIC KEY" / "RSA PUBLIC KEY" blocks; of its "CERTIFICATE" blocks only
// the first (the leaf) is used, as a key container (dates and chain are
// not checked). A file holding a private key is refused. When a token's
// kid names a configured key, only that key is tried, and if it is of the
// wrong type for alg the token is refused (no_key); an unknown kid first
// triggers a JWKS refresh, then, like a token without kid, every
// configured key of the right type is tried: kids are hints, and all
// configured keys are equally trusted. RSA keys must have 2048 to 16384
// bits, EC keys must be P-256.
//
// JWKS. NewVerifier fails if the first fetch fails (a planner that cannot
// verify anything should not start silently). The set is refreshed every
// 10 minutes, one minute after a failed refresh, and on an unknown kid at
// most once a minute (the first time right away); a failed refresh keeps
// the last good keys. Entries that are not signature keys for an accepted
// algorithm ("use" other than "sig", "key_ops" without "verify", "alg" not
// RS256/RS512/ES256) are skipped; HMAC ("oct") keys, short RSA keys, other
// curves and entries with private members are skipped with a warning. A
// JWK's "alg" restricts the key to that algorithm. A set without a usable
// key is a failed fetch. A plain-http URL off the loopback is logged as a
// warning. Responses over 1 MiB are refused.
//
// Claims. exp is required; nbf and iat are checked when present; all three
// must be JSON numbers between 0 and the year 9999, and are compared with
// Config.Leeway (default 30s; negative for none). iss and aud are checked
// only when configured, and are then required; aud may be a string or an
// array, one match is enough. sub must be a non-blank string of at most
// 256 bytes of UTF-8 without control characters. The groups claim may be
// an array of strings or one comma-separated string; names are trimmed,
// lower-cased, de-duplicated and sorted, empty ones dropped; any other type,
// a non-string element or a name with a control character refuses the
// token (bad_claim) rather than silently dropping a group. The
// "attributes" claim keeps string members only; a non-object is ignored.
//
// Minting. GenerateKeyPair makes RSA 3072-bit keys (NIST's size for use
// beyond 2030). SignToken signs with any crypto.Signer (so keys in an HSM
// or KMS work), RS256 for RSA and ES256 for P-256; a zero TTL means one
// hour, "groups" is always present (possibly empty). SignSelfSigned uses a
// fresh P-256 key and writes no kid.
//
// Verify reads no clock but the time it is given (the zero time means
// now) and does no I/O except the rate-limited JWKS refresh on an unknown
// kid, so it is safe for concurrent use on the request path. Tokens and
// keys are never logged; refusals are logged at debug level with their
// code only.
package authn
