package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestVerifyHappyPaths(t *testing.T) {
	main := rsaKey(t, "main", 2048)
	pkcs1 := rsaKey(t, "pkcs1", 2048)
	certKey := rsaKey(t, "cert", 2048)
	ec := ecKey(t, "ec", elliptic.P256())

	dir := t.TempDir()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &certKey.PublicKey, certKey)
	require.NoError(t, err)
	files := []string{
		writePub(t, dir, "main.pem", &main.PublicKey),
		writeFile(t, dir, "pkcs1.pem", pemBytes("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&pkcs1.PublicKey))),
		writePub(t, dir, "ec.pem", &ec.PublicKey),
		writeFile(t, dir, "cert.pem", pemBytes("CERTIFICATE", certDER)),
	}
	v, err := NewVerifier(context.Background(), Config{PublicKeyFiles: files, Issuer: testIssuer, Audience: testAudience, Logger: quietLog})
	require.NoError(t, err)
	defer v.Close()
	require.Len(t, v.KeyIDs(), 4)

	exp := testNow.Add(time.Hour)
	cases := []struct {
		name   string
		token  string
		user   string
		groups []string
		attrs  map[string]string
		exp    time.Time
	}{
		{name: "RS256 with kid", token: mint(t, "RS256", map[string]any{"kid": kidOf(t, &main.PublicKey)}, baseClaims(), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "RS512 PKCS#1 key without kid", token: mint(t, "RS512", nil, baseClaims(), withMethod(jwt.SigningMethodRS512, pkcs1)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "ES256 with kid", token: mint(t, "ES256", map[string]any{"kid": kidOf(t, &ec.PublicKey)}, baseClaims(), es256(ec)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "ES256 without kid", token: mint(t, "ES256", nil, baseClaims(), es256(ec)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "certificate key, foreign kid", token: mint(t, "RS256", map[string]any{"kid": "idp-key-2026"}, baseClaims(), rs256(certKey)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "groups as comma-separated string", token: mint(t, "RS256", nil, with(baseClaims(), "groups", " Admins, analysts ,admins,, ENG"), rs256(main)),
			user: "alice", groups: []string{"admins", "analysts", "eng"}, exp: exp},
		{name: "groups array de-duplicated and sorted", token: mint(t, "RS256", nil, with(baseClaims(), "groups", []string{"b", "A", "a", " B "}), rs256(main)),
			user: "alice", groups: []string{"a", "b"}, exp: exp},
		{name: "no groups claim", token: mint(t, "RS256", nil, with(baseClaims(), "groups", nil), rs256(main)),
			user: "alice", groups: []string{}, exp: exp},
		{name: "attributes, string values only", token: mint(t, "RS256", nil, with(baseClaims(), "attributes", map[string]any{"region": "eu", "level": 3, "x": nil, "o": map[string]any{}, "cc": "DE"}), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, attrs: map[string]string{"region": "eu", "cc": "DE"}, exp: exp},
		{name: "attributes not an object are ignored", token: mint(t, "RS256", nil, with(baseClaims(), "attributes", "region=eu"), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "aud as array", token: mint(t, "RS256", nil, with(baseClaims(), "aud", []string{"other", testAudience}), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "expired within leeway", token: mint(t, "RS256", nil, with(baseClaims(), "exp", testNow.Add(-20*time.Second).Unix()), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: testNow.Add(-20 * time.Second)},
		{name: "nbf and iat within leeway", token: mint(t, "RS256", nil, with(baseClaims(), "nbf", testNow.Add(20*time.Second).Unix(), "iat", testNow.Add(25*time.Second).Unix()), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp},
		{name: "fractional exp", token: mint(t, "RS256", nil, with(baseClaims(), "exp", float64(exp.Unix())+0.5), rs256(main)),
			user: "alice", groups: []string{"analysts", "eng"}, exp: exp.Add(500 * time.Millisecond)},
		{name: "pretty-printed JSON", token: mintRaw(t, []byte("{\n  \"alg\": \"RS256\"\n}"), []byte("{\n  \"sub\" : \"alice\",\n  \"groups\" : [ \"x\" ] ,\"attributes\": { \"a\" : \"b\" },\n  \"exp\" : "+fmt.Sprint(exp.Unix())+" , \"iss\": \""+testIssuer+"\", \"aud\": [ \""+testAudience+"\" ]\n}\n"), rs256(main)),
			user: "alice", groups: []string{"x"}, attrs: map[string]string{"a": "b"}, exp: exp},
		{name: "unicode user", token: mint(t, "RS256", nil, with(baseClaims(), "sub", "jörg@example.com"), rs256(main)),
			user: "jörg@example.com", groups: []string{"analysts", "eng"}, exp: exp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(tc.token, testNow)
			require.NoError(t, err)
			require.Equal(t, tc.user, p.User)
			require.Equal(t, tc.groups, p.Groups)
			if tc.attrs == nil {
				tc.attrs = map[string]string{}
			}
			require.Equal(t, tc.attrs, p.Attributes)
			require.False(t, p.SelfSigned)
			require.Equal(t, testIssuer, p.Issuer)
			require.True(t, tc.exp.Equal(p.ExpiresAt), "ExpiresAt %v, want %v", p.ExpiresAt, tc.exp)
		})
	}
}

func TestGroupsClaimNameAndDefaults(t *testing.T) {
	k := rsaKey(t, "main", 2048)
	file := writePub(t, t.TempDir(), "k.pem", &k.PublicKey)
	v, err := NewVerifier(context.Background(), Config{PublicKeyFiles: []string{file}, GroupsClaim: "roles", Logger: quietLog})
	require.NoError(t, err)
	defer v.Close()

	// No issuer or audience configured: any (or none) is accepted.
	tok := mint(t, "RS256", nil, with(baseClaims(), "roles", []string{"Admin"}, "iss", nil, "aud", nil), rs256(k))
	p, err := v.Verify(tok, testNow)
	require.NoError(t, err)
	require.Equal(t, []string{"admin"}, p.Groups)
	require.Empty(t, p.Issuer)

	// A zero time means the wall clock: this token expired long ago.
	_, err = v.Verify(mint(t, "RS256", nil, with(baseClaims(), "exp", 1e9, "nbf", nil, "iat", nil), rs256(k)), time.Time{})
	require.True(t, IsExpired(err), "%v", err)

	// Negative leeway means none.
	v0, err := NewVerifier(context.Background(), Config{PublicKeyFiles: []string{file}, Leeway: -1, Logger: quietLog})
	require.NoError(t, err)
	defer v0.Close()
	late := mint(t, "RS256", nil, with(baseClaims(), "exp", testNow.Add(-time.Second).Unix()), rs256(k))
	_, err = v0.Verify(late, testNow)
	require.True(t, IsCode(err, CodeExpired))
	_, err = v.Verify(late, testNow) // default leeway 30s
	require.NoError(t, err)

	// MaxTokenBytes is configurable.
	vs, err := NewVerifier(context.Background(), Config{PublicKeyFiles: []string{file}, MaxTokenBytes: 100, Logger: quietLog})
	require.NoError(t, err)
	_, err = vs.Verify(tok, testNow)
	require.True(t, IsCode(err, CodeTooLarge))
}

func TestNewVerifierConfigErrors(t *testing.T) {
	dir := t.TempDir()
	small := rsaKey(t, "rsa1024", 1024)
	p384 := ecKey(t, "p384", elliptic.P384())
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(rsaKey(t, "main", 2048))
	require.NoError(t, err)

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }))
	defer failing.Close()
	hmacOnly := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
	}))
	defer hmacOnly.Close()

	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the message
	}{
		{"no key source", Config{}, []string{"--jwt-public-key", "--jwks-url", "--insecure-accept-self-signed"}},
		{"missing file", Config{PublicKeyFiles: []string{dir + "/nope.pem"}}, []string{"nope.pem"}},
		{"private key file", Config{PublicKeyFiles: []string{writeFile(t, dir, "priv.pem", pemBytes("PRIVATE KEY", privDER))}}, []string{"private key", "public key"}},
		{"RSA 1024", Config{PublicKeyFiles: []string{writePub(t, dir, "small.pem", &small.PublicKey)}}, []string{"1024 bits", "2048"}},
		{"EC P-384", Config{PublicKeyFiles: []string{writePub(t, dir, "p384.pem", &p384.PublicKey)}}, []string{"P-384", "P-256"}},
		{"Ed25519", Config{PublicKeyFiles: []string{writePub(t, dir, "ed.pem", edPriv.Public())}}, []string{"not supported"}},
		{"not PEM", Config{PublicKeyFiles: []string{writeFile(t, dir, "junk.pem", []byte("hello"))}}, []string{"no PEM public key"}},
		{"JWKS unreachable", Config{JWKSURL: down.URL}, []string{"JWKS", "reach"}},
		{"JWKS HTTP 500", Config{JWKSURL: failing.URL}, []string{"HTTP 500"}},
		{"JWKS with only an HMAC key", Config{JWKSURL: hmacOnly.URL}, []string{"no usable signing key"}},
		{"JWKS URL not http", Config{JWKSURL: "file:///etc/passwd"}, []string{"http(s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quietLog
			v, err := NewVerifier(context.Background(), tc.cfg)
			require.Nil(t, v)
			require.Error(t, err)
			require.Equal(t, CodeConfig, CodeOf(err))
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}

	v, err := NewVerifier(context.Background(), Config{AcceptSelfSigned: true, Logger: quietLog})
	require.NoError(t, err, "self-signed mode needs no key")
	require.True(t, v.AcceptsSelfSigned())
	v.Close()
	v.Close() // idempotent
}

func TestSelfSigned(t *testing.T) {
	f := newFixture(t)
	spec := TokenSpec{User: "bob", Groups: []string{"Eng"}, Issuer: testIssuer, Audience: testAudience, TTL: time.Hour}
	tok, err := SignSelfSigned(spec, testNow)
	require.NoError(t, err)

	_, err = f.strict.Verify(tok, testNow)
	require.True(t, IsSelfSignedRefused(err), "got %v", err)
	require.Contains(t, err.Error(), "--insecure-accept-self-signed")

	p, err := f.lenient.Verify(tok, testNow)
	require.NoError(t, err)
	require.True(t, p.SelfSigned)
	require.Equal(t, "bob", p.User)
	require.Equal(t, []string{"eng"}, p.Groups)

	// A token signed by a configured key is not self-signed even in lenient mode,
	// even if it also carries a jwk.
	jwk, err := publicJWK(&f.rsa.PublicKey)
	require.NoError(t, err)
	signed := mint(t, "RS256", map[string]any{"jwk": jwk}, baseClaims(), rs256(f.rsa))
	p, err = f.lenient.Verify(signed, testNow)
	require.NoError(t, err)
	require.False(t, p.SelfSigned)
	p, err = f.strict.Verify(signed, testNow)
	require.NoError(t, err)
	require.False(t, p.SelfSigned)

	// Claims are checked on self-signed tokens too.
	old, err := SignSelfSigned(spec, testNow.Add(-2*time.Hour))
	require.NoError(t, err)
	_, err = f.lenient.Verify(old, testNow)
	require.True(t, IsExpired(err))

	// Self-signed with an RSA key works as well.
	rk := rsaKey(t, "selfrsa", 2048)
	rjwk, err := publicJWK(&rk.PublicKey)
	require.NoError(t, err)
	rtok := mint(t, "RS256", map[string]any{"jwk": rjwk}, baseClaims(), rs256(rk))
	p, err = f.lenient.Verify(rtok, testNow)
	require.NoError(t, err)
	require.True(t, p.SelfSigned)

	// A verifier with no configured key at all, self-signed mode only.
	only, err := NewVerifier(context.Background(), Config{AcceptSelfSigned: true, Logger: quietLog})
	require.NoError(t, err)
	defer only.Close()
	p, err = only.Verify(tok, testNow)
	require.NoError(t, err)
	require.True(t, p.SelfSigned)
	_, err = only.Verify(signed[:len(signed)], testNow) // has a jwk that verifies: fine
	require.NoError(t, err)
	plain := mint(t, "RS256", nil, baseClaims(), rs256(f.rsa))
	_, err = only.Verify(plain, testNow)
	require.Equal(t, CodeNoKey, CodeOf(err))
}

func TestErrorHelpers(t *testing.T) {
	f := newFixture(t)
	_, err := f.strict.Verify(mint(t, "RS256", nil, with(baseClaims(), "exp", testNow.Add(-time.Hour).Unix()), rs256(f.rsa)), testNow)
	var ae *Error
	require.True(t, errors.As(err, &ae))
	require.Equal(t, CodeExpired, ae.Code)
	require.True(t, errors.Is(err, &Error{Code: CodeExpired}))
	require.False(t, errors.Is(err, &Error{Code: CodeBadSignature}))
	require.True(t, errors.Is(err, jwt.ErrTokenExpired), "the jwt cause is kept")
	require.True(t, IsExpired(err))
	require.Equal(t, CodeExpired, CodeOf(err))
	require.Equal(t, "", CodeOf(errors.New("x")))
	require.False(t, IsCode(nil, CodeExpired))
	require.Contains(t, err.Error(), "authn: expired: the token expired at 2026-11-28T11:00:00Z")
	wrapped := errors.Join(errors.New("planner"), err)
	require.True(t, IsExpired(wrapped))
}

func TestConcurrentVerify(t *testing.T) {
	f := newFixture(t)
	good := mint(t, "RS256", nil, baseClaims(), rs256(f.rsa))
	bad := mint(t, "RS256", nil, baseClaims(), rs256(rsaKey(t, "other", 2048)))
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 50; j++ {
				if _, err := f.strict.Verify(good, testNow); err != nil {
					done <- err
					return
				}
				if _, err := f.strict.Verify(bad, testNow); err == nil {
					done <- errors.New("bad token accepted")
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-done)
	}
}
