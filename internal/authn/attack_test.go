package authn

import (
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func withMethodHS(secret []byte) signFunc { return withMethod(jwt.SigningMethodHS256, secret) }

// segments splits a token into its three parts.
func segments(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	return parts[0], parts[1], parts[2]
}

// nonCanonical changes the unused low bits of a base64url segment's last
// character, which a lax decoder ignores.
func nonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 {
		return ""
	}
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[i^1])
}

// TestAttacks is the attack suite: every token here must be refused, with
// the expected code, and without the token in the message.
func TestAttacks(t *testing.T) {
	f := newFixture(t)
	rsaKid := kidOf(t, &f.rsa.PublicKey)
	ecKid := kidOf(t, &f.ec.PublicKey)
	attacker := rsaKey(t, "other", 2048)
	attackerEC := ecKey(t, "attacker-ec", elliptic.P256())
	small := rsaKey(t, "rsa1024", 1024)
	p384 := ecKey(t, "p384", elliptic.P384())
	claims := baseClaims()

	valid := mint(t, "RS256", map[string]any{"kid": rsaKid}, claims, rs256(f.rsa))
	_, err := f.strict.Verify(valid, testNow)
	require.NoError(t, err, "the base token is valid")
	vh, vp, vs := segments(valid)
	other := mint(t, "RS256", map[string]any{"kid": rsaKid}, with(claims, "sub", "mallory"), rs256(f.rsa))
	_, op, _ := segments(other)

	// A verifier whose JWKS also publishes an HMAC secret, and a JWKS server
	// of the attacker that must never be contacted.
	secret := []byte("correct horse battery staple")
	jwks := newJWKSServer(t, map[string]any{"kty": "oct", "kid": "h", "k": b64.EncodeToString(secret)}, jwkOf(t, &f.rsa.PublicKey, "k1"))
	viaJWKS, err := NewVerifier(context.Background(), Config{JWKSURL: jwks.URL, Logger: quietLog})
	require.NoError(t, err)
	defer viaJWKS.Close()
	var attackerHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		_, _ = w.Write(mustJSON(t, map[string]any{"keys": []any{jwkOf(t, &attacker.PublicKey, "evil")}}))
	}))
	defer evil.Close()

	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "trust me"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	evilCert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	require.NoError(t, err)

	rsaPEM := f.rsaPEM
	jwkRSA := func(k any) map[string]string { m, err := publicJWK(k); require.NoError(t, err); return m }
	// A claims payload padded until its base64 has spare bits.
	padded := with(claims, "pad", "")
	for n := 0; len(b64.EncodeToString(mustJSON(t, padded)))%4 == 0; n++ {
		padded = with(claims, "pad", strings.Repeat("x", n+1))
	}
	paddedTok := mint(t, "RS256", nil, padded, rs256(f.rsa))
	_, err = f.strict.Verify(paddedTok, testNow)
	require.NoError(t, err)
	ph, pp, ps := segments(paddedTok)

	big := mint(t, "RS256", nil, with(claims, "attributes", map[string]string{"blob": strings.Repeat("z", 16384)}), rs256(f.rsa))

	type tc struct {
		name    string
		token   string
		want    string
		lenient bool      // verify with the AcceptSelfSigned verifier
		v       *Verifier // another verifier
	}
	cases := []tc{
		// Algorithm attacks.
		{name: "alg none, no signature", token: mint(t, "none", nil, claims, nil), want: CodeBadAlgorithm},
		{name: "alg none, with a valid RS256 signature", token: b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + vp + "." + vs, want: CodeBadAlgorithm},
		{name: "alg NONE", token: mint(t, "NONE", nil, claims, nil), want: CodeBadAlgorithm},
		{name: "alg None", token: mint(t, "None", nil, claims, nil), want: CodeBadAlgorithm},
		{name: "alg nOnE on lenient verifier", token: mint(t, "nOnE", map[string]any{"jwk": jwkRSA(&attacker.PublicKey)}, claims, nil), want: CodeBadAlgorithm, lenient: true},
		{name: "alg missing", token: mint(t, "RS256", map[string]any{"alg": nil}, claims, rs256(f.rsa)), want: CodeBadAlgorithm},
		{name: "alg not a string", token: mint(t, "RS256", map[string]any{"alg": []string{"RS256"}}, claims, rs256(f.rsa)), want: CodeBadAlgorithm},
		{name: "alg lower case rs256", token: mint(t, "rs256", nil, claims, rs256(f.rsa)), want: CodeBadAlgorithm},
		{name: "HS256 keyed with the RSA public key PEM", token: mint(t, "HS256", nil, claims, withMethod(jwt.SigningMethodHS256, rsaPEM)), want: CodeBadAlgorithm},
		{name: "HS384 keyed with the RSA public key PEM", token: mint(t, "HS384", nil, claims, withMethod(jwt.SigningMethodHS384, rsaPEM)), want: CodeBadAlgorithm},
		{name: "HS512 keyed with the RSA public key PEM", token: mint(t, "HS512", nil, claims, withMethod(jwt.SigningMethodHS512, rsaPEM)), want: CodeBadAlgorithm},
		{name: "HS256 keyed with the PEM, kid of the RSA key", token: mint(t, "HS256", map[string]any{"kid": rsaKid}, claims, withMethod(jwt.SigningMethodHS256, rsaPEM)), want: CodeBadAlgorithm},
		{name: "HS256 keyed with the DER public key", token: mint(t, "HS256", nil, claims, withMethod(jwt.SigningMethodHS256, x509.MarshalPKCS1PublicKey(&f.rsa.PublicKey))), want: CodeBadAlgorithm},
		{name: "PS256 signed with the real key", token: mint(t, "PS256", nil, claims, withMethod(jwt.SigningMethodPS256, f.rsa)), want: CodeBadAlgorithm},
		{name: "ES384", token: mint(t, "ES384", nil, claims, withMethod(jwt.SigningMethodES384, p384)), want: CodeBadAlgorithm},
		{name: "EdDSA", token: mint(t, "EdDSA", nil, claims, func(testing.TB, string) []byte { return make([]byte, 64) }), want: CodeBadAlgorithm},
		{name: "alg RS256 with an ES256 signature by the configured EC key", token: mint(t, "RS256", nil, claims, es256(f.ec)), want: CodeBadSignature},
		{name: "alg ES256 with an RS256 signature by the configured RSA key", token: mint(t, "ES256", nil, claims, rs256(f.rsa)), want: CodeBadSignature},

		// Key attacks.
		{name: "signed by another RSA key", token: mint(t, "RS256", nil, claims, rs256(attacker)), want: CodeBadSignature},
		{name: "signed by another RSA key, kid of the configured key", token: mint(t, "RS256", map[string]any{"kid": rsaKid}, claims, rs256(attacker)), want: CodeBadSignature},
		{name: "signed by another EC key", token: mint(t, "ES256", nil, claims, es256(attackerEC)), want: CodeBadSignature},
		{name: "RSA 1024-bit key", token: mint(t, "RS256", nil, claims, rs256(small)), want: CodeBadSignature},
		{name: "kid of the RSA key, ES256 by an attacker EC key", token: mint(t, "ES256", map[string]any{"kid": rsaKid}, claims, es256(attackerEC)), want: CodeNoKey},
		{name: "kid of the EC key, RS256 by an attacker RSA key", token: mint(t, "RS256", map[string]any{"kid": ecKid}, claims, rs256(attacker)), want: CodeNoKey},
		{name: "kid of the RSA key, ES256 by the configured EC key", token: mint(t, "ES256", map[string]any{"kid": rsaKid}, claims, es256(f.ec)), want: CodeNoKey},
		{name: "kid not a string", token: mint(t, "RS256", map[string]any{"kid": 1}, claims, rs256(f.rsa)), want: CodeMalformed},
		{name: "jku to an attacker JWKS", token: mint(t, "RS256", map[string]any{"jku": evil.URL, "kid": "evil"}, claims, rs256(attacker)), want: CodeBadSignature},
		{name: "x5c with an attacker certificate", token: mint(t, "RS256", map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(evilCert)}}, claims, rs256(attacker)), want: CodeBadSignature},
		{name: "x5u to an attacker", token: mint(t, "RS256", map[string]any{"x5u": evil.URL}, claims, rs256(attacker)), want: CodeBadSignature},
		{name: "ES256 signature in DER form", token: mint(t, "ES256", nil, claims, func(t testing.TB, input string) []byte {
			der, err := f.ec.Sign(rand.Reader, sha256Sum(input), nil)
			require.NoError(t, err)
			return der
		}), want: CodeBadSignature},

		// Embedded (self-signed) keys.
		{name: "self-signed against a strict verifier", token: mustSelfSigned(t), want: CodeSelfSignedRefused},
		{name: "self-signed RSA against a strict verifier", token: mint(t, "RS256", map[string]any{"jwk": jwkRSA(&attacker.PublicKey)}, claims, rs256(attacker)), want: CodeSelfSignedRefused},
		{name: "embedded jwk claims to be the configured key", token: mint(t, "RS256", map[string]any{"jwk": jwkRSA(&f.rsa.PublicKey)}, claims, rs256(attacker)), want: CodeBadSignature, lenient: true},
		{name: "embedded jwk that is a symmetric key, HS256", token: mint(t, "HS256", map[string]any{"jwk": map[string]string{"kty": "oct", "k": b64.EncodeToString(secret)}}, claims, withMethodHS(secret)), want: CodeBadAlgorithm, lenient: true},
		{name: "embedded jwk that is a symmetric key, RS256", token: mint(t, "RS256", map[string]any{"jwk": map[string]string{"kty": "oct", "k": b64.EncodeToString(secret)}}, claims, withMethodHS(secret)), want: CodeBadKey, lenient: true},
		{name: "embedded RSA 1024-bit key", token: mint(t, "RS256", map[string]any{"jwk": jwkRSA(&small.PublicKey)}, claims, rs256(small)), want: CodeBadKey, lenient: true},
		{name: "embedded EC P-384 key", token: mint(t, "ES256", map[string]any{"jwk": map[string]string{"kty": "EC", "crv": "P-384", "x": b64.EncodeToString(p384.X.FillBytes(make([]byte, 48))), "y": b64.EncodeToString(p384.Y.FillBytes(make([]byte, 48)))}}, claims, withMethod(jwt.SigningMethodES384, p384)), want: CodeBadKey, lenient: true},
		{name: "embedded EC key with an RS256 alg", token: mint(t, "RS256", map[string]any{"jwk": jwkRSA(&attackerEC.PublicKey)}, claims, rs256(attacker)), want: CodeBadKey, lenient: true},
		{name: "embedded jwk with a private part", token: mint(t, "ES256", map[string]any{"jwk": with(anyMap(jwkRSA(&attackerEC.PublicKey)), "d", b64.EncodeToString(attackerEC.D.Bytes()))}, claims, es256(attackerEC)), want: CodeBadKey, lenient: true},
		{name: "embedded jwk not an object", token: mint(t, "ES256", map[string]any{"jwk": "key"}, claims, es256(attackerEC)), want: CodeBadKey, lenient: true},
		{name: "embedded jwk point not on the curve", token: mint(t, "ES256", map[string]any{"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(make([]byte, 32)), "y": b64.EncodeToString(make([]byte, 32))}}, claims, es256(attackerEC)), want: CodeBadKey, lenient: true},
		{name: "self-signed with tampered payload", token: func() string {
			h, _, s := segments(mustSelfSigned(t))
			return h + "." + op + "." + s
		}(), want: CodeBadSignature, lenient: true},

		// JWKS attacks.
		{name: "JWKS with an HMAC key: HS256 with its kid", token: mint(t, "HS256", map[string]any{"kid": "h"}, claims, withMethodHS(secret)), want: CodeBadAlgorithm, v: viaJWKS},
		{name: "JWKS with an HMAC key: RS256 with its kid", token: mint(t, "RS256", map[string]any{"kid": "h"}, claims, rs256(attacker)), want: CodeBadSignature, v: viaJWKS},
		{name: "JWKS: jku to an attacker JWKS", token: mint(t, "RS256", map[string]any{"jku": evil.URL, "kid": "evil"}, claims, rs256(attacker)), want: CodeBadSignature, v: viaJWKS},

		// Tampering.
		{name: "tampered payload (user changed)", token: vh + "." + op + "." + vs, want: CodeBadSignature},
		{name: "tampered header", token: b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+rsaKid+`","typ":"JWT","x":1}`)) + "." + vp + "." + vs, want: CodeBadSignature},
		{name: "signature from another token", token: vh + "." + vp + "." + func() string { _, _, s := segments(other); return s }(), want: CodeBadSignature},
		{name: "signature bit flipped", token: vh + "." + vp + "." + flip(vs), want: CodeBadSignature},
		{name: "non-canonical base64 in the payload", token: ph + "." + nonCanonical(pp) + "." + ps, want: CodeMalformed},
		{name: "non-canonical base64 in the signature", token: ph + "." + pp + "." + nonCanonical(ps), want: CodeMalformed},

		// Claims.
		{name: "expired", token: mint(t, "RS256", nil, with(claims, "exp", testNow.Add(-31*time.Second).Unix()), rs256(f.rsa)), want: CodeExpired},
		{name: "not yet valid", token: mint(t, "RS256", nil, with(claims, "nbf", testNow.Add(31*time.Second).Unix()), rs256(f.rsa)), want: CodeNotYetValid},
		{name: "iat in the future beyond the leeway", token: mint(t, "RS256", nil, with(claims, "iat", testNow.Add(time.Minute).Unix()), rs256(f.rsa)), want: CodeNotYetValid},
		{name: "wrong iss", token: mint(t, "RS256", nil, with(claims, "iss", "https://evil.test"), rs256(f.rsa)), want: CodeBadIssuer},
		{name: "missing iss", token: mint(t, "RS256", nil, with(claims, "iss", nil), rs256(f.rsa)), want: CodeBadIssuer},
		{name: "iss not a string", token: mint(t, "RS256", nil, with(claims, "iss", []string{testIssuer}), rs256(f.rsa)), want: CodeBadClaim},
		{name: "wrong aud", token: mint(t, "RS256", nil, with(claims, "aud", "other"), rs256(f.rsa)), want: CodeBadAudience},
		{name: "wrong aud array", token: mint(t, "RS256", nil, with(claims, "aud", []string{"a", "b"}), rs256(f.rsa)), want: CodeBadAudience},
		{name: "missing aud", token: mint(t, "RS256", nil, with(claims, "aud", nil), rs256(f.rsa)), want: CodeBadAudience},
		{name: "aud not a string", token: mint(t, "RS256", nil, with(claims, "aud", 7), rs256(f.rsa)), want: CodeBadClaim},
		{name: "missing sub", token: mint(t, "RS256", nil, with(claims, "sub", nil), rs256(f.rsa)), want: CodeMissingSubject},
		{name: "empty sub", token: mint(t, "RS256", nil, with(claims, "sub", ""), rs256(f.rsa)), want: CodeMissingSubject},
		{name: "blank sub", token: mint(t, "RS256", nil, with(claims, "sub", "  "), rs256(f.rsa)), want: CodeMissingSubject},
		{name: "sub with a newline", token: mint(t, "RS256", nil, with(claims, "sub", "alice\nadmin"), rs256(f.rsa)), want: CodeBadSubject},
		{name: "sub with NUL", token: mint(t, "RS256", nil, with(claims, "sub", "alice\x00"), rs256(f.rsa)), want: CodeBadSubject},
		{name: "sub with a line separator", token: mint(t, "RS256", nil, with(claims, "sub", "alice\u2028admin"), rs256(f.rsa)), want: CodeBadSubject},
		{name: "sub of 257 bytes", token: mint(t, "RS256", nil, with(claims, "sub", strings.Repeat("a", 257)), rs256(f.rsa)), want: CodeBadSubject},
		{name: "sub not a string", token: mint(t, "RS256", nil, with(claims, "sub", 42), rs256(f.rsa)), want: CodeBadSubject},
		{name: "missing exp", token: mint(t, "RS256", nil, with(claims, "exp", nil), rs256(f.rsa)), want: CodeMissingExpiry},
		{name: "exp as a string", token: mint(t, "RS256", nil, with(claims, "exp", "9999999999"), rs256(f.rsa)), want: CodeBadClaim},
		{name: "exp negative", token: mint(t, "RS256", nil, with(claims, "exp", -1), rs256(f.rsa)), want: CodeBadClaim},
		{name: "exp past year 9999", token: mint(t, "RS256", nil, with(claims, "exp", 1e300), rs256(f.rsa)), want: CodeBadClaim},
		{name: "duplicate sub member", token: mintRaw(t, []byte(`{"alg":"RS256"}`), []byte(`{"sub":"alice","exp":9999999999,"iss":"`+testIssuer+`","aud":"`+testAudience+`","sub":"admin"}`), rs256(f.rsa)), want: CodeMalformed},
		{name: "groups of the wrong type", token: mint(t, "RS256", nil, with(claims, "groups", map[string]any{"admin": true}), rs256(f.rsa)), want: CodeBadClaim},
		{name: "group with a control character", token: mint(t, "RS256", nil, with(claims, "groups", []string{"ok", "ad\tmin"}), rs256(f.rsa)), want: CodeBadClaim},

		// Structure.
		{name: "empty", token: "", want: CodeMissingToken},
		{name: "oversized junk (16 KiB + 1)", token: strings.Repeat("a", 16385), want: CodeTooLarge},
		{name: "oversized signed token", token: big, want: CodeTooLarge},
		{name: "truncated: no signature", token: vh + "." + vp + ".", want: CodeMalformed},
		{name: "truncated: signature cut to a non-base64 length", token: valid[:len(valid)-1], want: CodeMalformed},
		{name: "truncated: signature two characters short", token: valid[:len(valid)-2], want: CodeBadSignature},
		{name: "truncated mid-payload", token: valid[:len(vh)+10], want: CodeMalformed},
		{name: "two segments", token: vh + "." + vp, want: CodeMalformed},
		{name: "four segments", token: valid + "." + vs, want: CodeMalformed},
		{name: "four segments, empty last", token: valid + ".", want: CodeMalformed},
		{name: "empty header", token: "." + vp + "." + vs, want: CodeMalformed},
		{name: "non-JSON header", token: b64.EncodeToString([]byte("alg=RS256")) + "." + vp + "." + vs, want: CodeMalformed},
		{name: "header is a JSON array", token: b64.EncodeToString([]byte(`["RS256"]`)) + "." + vp + "." + vs, want: CodeMalformed},
		{name: "header with duplicate alg", token: b64.EncodeToString([]byte(`{"alg":"none","alg":"RS256"}`)) + "." + vp + "." + vs, want: CodeMalformed},
		{name: "header with trailing data", token: b64.EncodeToString([]byte(`{"alg":"RS256"}{}`)) + "." + vp + "." + vs, want: CodeMalformed},
		{name: "non-JSON payload, validly signed", token: mintRaw(t, []byte(`{"alg":"RS256"}`), []byte("sub=admin"), rs256(f.rsa)), want: CodeMalformed},
		{name: "payload of invalid UTF-8, validly signed", token: mintRaw(t, []byte(`{"alg":"RS256"}`), []byte("{\"sub\":\"\xff\"}"), rs256(f.rsa)), want: CodeMalformed},
		{name: "bad base64: standard alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+", want: CodeMalformed},
		{name: "bad base64: padding", token: vh + "=." + vp + "." + vs, want: CodeMalformed},
		{name: "bad base64: star", token: vh + "." + vp[:5] + "*" + vp[6:] + "." + vs, want: CodeMalformed},
		{name: "bad base64: line break inside", token: vh + "." + vp[:5] + "\n" + vp[5:] + "." + vs, want: CodeMalformed},
		{name: "Bearer prefix", token: "Bearer " + valid, want: CodeMalformed},
		{name: "trailing newline", token: valid + "\n", want: CodeMalformed},
		{name: "crit with an unknown extension", token: mint(t, "RS256", map[string]any{"crit": []string{"urn:evil:ext"}, "urn:evil:ext": true}, claims, rs256(f.rsa)), want: CodeUnsupportedHeader},
		{name: "crit b64 false", token: mint(t, "RS256", map[string]any{"crit": []string{"b64"}, "b64": false}, claims, rs256(f.rsa)), want: CodeUnsupportedHeader},
		{name: "crit empty", token: mint(t, "RS256", map[string]any{"crit": []string{}}, claims, rs256(f.rsa)), want: CodeMalformed},
	}
	require.GreaterOrEqual(t, len(cases), 25)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := f.strict
			if c.lenient {
				v = f.lenient
			}
			if c.v != nil {
				v = c.v
			}
			p, err := v.Verify(c.token, testNow)
			require.Nil(t, p)
			require.Error(t, err)
			require.Equal(t, c.want, CodeOf(err), "message: %v", err)
			if testing.Verbose() {
				t.Log(err)
			}
			msg := err.Error()
			for _, part := range strings.Split(c.token, ".") {
				if len(part) >= 16 {
					require.NotContains(t, msg, part[:16], "the message echoes the token")
				}
			}
			if !c.lenient {
				// The lenient verifier refuses them too, unless the token
				// is validly self-signed (none is, except the two below).
				_, err := f.lenient.Verify(c.token, testNow)
				if c.want != CodeSelfSignedRefused {
					require.Error(t, err)
				}
			}
		})
	}
	require.Zero(t, attackerHits.Load(), "jku/x5u are never fetched")
}

func mustSelfSigned(t testing.TB) string {
	t.Helper()
	tok, err := SignSelfSigned(TokenSpec{User: "admin", Groups: []string{"admins"}, Issuer: testIssuer, Audience: testAudience}, testNow)
	require.NoError(t, err)
	return tok
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// flip changes one character in the middle of a segment.
func flip(seg string) string {
	i := len(seg) / 2
	c := byte('A')
	if seg[i] == 'A' {
		c = 'B'
	}
	return seg[:i] + string(c) + seg[i+1:]
}
