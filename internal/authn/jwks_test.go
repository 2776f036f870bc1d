package authn

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// jwksServer serves a JWK Set that a test can change.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			http.Error(w, "unavailable", s.status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(keys ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func jwkOf(t testing.TB, pub crypto.PublicKey, kid string, extra ...any) map[string]any {
	t.Helper()
	m, err := publicJWK(pub)
	require.NoError(t, err)
	out := map[string]any{"kid": kid, "use": "sig"}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(extra); i += 2 {
		out[extra[i].(string)] = extra[i+1]
	}
	return out
}

func TestJWKSRotation(t *testing.T) {
	k1 := rsaKey(t, "main", 2048)
	k2 := rsaKey(t, "other", 2048)
	k3 := rsaKey(t, "third", 2048)
	e1 := ecKey(t, "ec", elliptic.P256())
	srv := newJWKSServer(t, jwkOf(t, &k1.PublicKey, "k1", "alg", "RS256"), jwkOf(t, &e1.PublicKey, "e1"))

	v, err := NewVerifier(context.Background(), Config{JWKSURL: srv.URL, Logger: quietLog})
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, int32(1), srv.fetches.Load(), "fetched at start")
	require.Equal(t, []string{"k1", "e1"}, v.KeyIDs())

	for name, tok := range map[string]string{
		"RS256 k1":     mint(t, "RS256", map[string]any{"kid": "k1"}, baseClaims(), rs256(k1)),
		"ES256 e1":     mint(t, "ES256", map[string]any{"kid": "e1"}, baseClaims(), es256(e1)),
		"RS256 no kid": mint(t, "RS256", nil, baseClaims(), rs256(k1)),
	} {
		p, err := v.Verify(tok, testNow)
		require.NoError(t, err, name)
		require.Equal(t, "alice", p.User)
	}
	require.Equal(t, int32(1), srv.fetches.Load(), "known kids cause no fetch")

	// The issuer rotates: k2 appears. A token with the new kid triggers a
	// refresh and verifies.
	srv.set(jwkOf(t, &k1.PublicKey, "k1"), jwkOf(t, &k2.PublicKey, "k2"), jwkOf(t, &e1.PublicKey, "e1"))
	tok2 := mint(t, "RS256", map[string]any{"kid": "k2"}, baseClaims(), rs256(k2))
	_, err = v.Verify(tok2, testNow)
	require.NoError(t, err)
	require.Equal(t, int32(2), srv.fetches.Load())

	// Unknown kids refresh at most once a minute: k3 right after is not
	// fetched, whatever the caller sends.
	srv.set(jwkOf(t, &k3.PublicKey, "k3"))
	before := srv.fetches.Load()
	tok3 := mint(t, "RS256", map[string]any{"kid": "k3"}, baseClaims(), rs256(k3))
	for i := 0; i < 5; i++ {
		_, err = v.Verify(tok3, testNow)
		require.Equal(t, CodeBadSignature, CodeOf(err))
	}
	require.Equal(t, before, srv.fetches.Load())
	// The keys it had stay in use.
	_, err = v.Verify(mint(t, "RS256", map[string]any{"kid": "k1"}, baseClaims(), rs256(k1)), testNow)
	require.NoError(t, err)

	// With a short minimum interval, the next unknown kid is fetched.
	fast, err := NewVerifier(context.Background(), Config{JWKSURL: srv.URL, JWKSMinRefreshInterval: time.Millisecond, Logger: quietLog})
	require.NoError(t, err)
	defer fast.Close()
	srv.set(jwkOf(t, &k3.PublicKey, "k3"), jwkOf(t, &k2.PublicKey, "k2"))
	time.Sleep(5 * time.Millisecond)
	_, err = fast.Verify(tok2, testNow)
	require.NoError(t, err)
}

func TestJWKSPeriodicRefreshAndClose(t *testing.T) {
	k1 := rsaKey(t, "main", 2048)
	k2 := rsaKey(t, "other", 2048)
	srv := newJWKSServer(t, jwkOf(t, &k1.PublicKey, "k1"))
	v, err := NewVerifier(context.Background(), Config{JWKSURL: srv.URL, JWKSRefreshInterval: 10 * time.Millisecond, JWKSMinRefreshInterval: 10 * time.Millisecond, Logger: quietLog})
	require.NoError(t, err)

	// No kid, so only the periodic refresh can bring k2 in.
	tok2 := mint(t, "RS256", nil, baseClaims(), rs256(k2))
	tok1 := mint(t, "RS256", nil, baseClaims(), rs256(k1))
	srv.set(jwkOf(t, &k2.PublicKey, "k2"))
	require.Eventually(t, func() bool { _, err := v.Verify(tok2, testNow); return err == nil }, 5*time.Second, 5*time.Millisecond)
	_, err = v.Verify(tok1, testNow)
	require.Equal(t, CodeBadSignature, CodeOf(err), "a key removed from the JWKS is no longer trusted")

	// A failing JWKS keeps the last good keys.
	srv.setStatus(http.StatusServiceUnavailable)
	n := srv.fetches.Load()
	require.Eventually(t, func() bool { return srv.fetches.Load() > n+1 }, 5*time.Second, 5*time.Millisecond)
	_, err = v.Verify(tok2, testNow)
	require.NoError(t, err)

	v.Close()
	time.Sleep(20 * time.Millisecond) // a request cancelled by Close may still reach the server
	n = srv.fetches.Load()
	time.Sleep(100 * time.Millisecond) // ten refresh intervals
	require.Equal(t, n, srv.fetches.Load(), "no refresh after Close")
	_, err = v.Verify(tok2, testNow)
	require.NoError(t, err, "a closed verifier still verifies with the keys it has")
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	good := rsaKey(t, "main", 2048)
	small := rsaKey(t, "rsa1024", 1024)
	p384 := ecKey(t, "p384", elliptic.P384())
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newJWKSServer(t,
		map[string]any{"kty": "oct", "kid": "hmac", "k": b64.EncodeToString(pkixPEM(t, &good.PublicKey))},
		jwkOf(t, &small.PublicKey, "small"),
		map[string]any{"kty": "EC", "crv": "P-384", "kid": "p384", "x": b64.EncodeToString(p384.X.Bytes()), "y": b64.EncodeToString(p384.Y.Bytes())},
		jwkOf(t, &good.PublicKey, "enc", "use", "enc"),
		jwkOf(t, &good.PublicKey, "oaep", "use", nil, "alg", "RSA-OAEP"),
		jwkOf(t, &good.PublicKey, "priv", "d", "AQAB"),
		jwkOf(t, &good.PublicKey, "rs512only", "alg", "RS512"),
		map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		jwkOf(t, &good.PublicKey, "good"),
	)
	v, err := NewVerifier(context.Background(), Config{JWKSURL: srv.URL, Logger: log})
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, []string{"rs512only", "good"}, v.KeyIDs())
	for _, kid := range []string{"hmac", "small", "p384", "priv", "ed"} {
		require.Contains(t, logs.String(), `kid=`+kid, "a suspicious key is reported")
	}
	require.NotContains(t, logs.String(), `kid=enc`, "encryption keys are skipped silently")
	// A kid restricted to RS512 does not verify RS256.
	_, err = v.Verify(mint(t, "RS256", map[string]any{"kid": "rs512only"}, baseClaims(), rs256(good)), testNow)
	require.Equal(t, CodeNoKey, CodeOf(err))
	_, err = v.Verify(mint(t, "RS256", map[string]any{"kid": "good"}, baseClaims(), rs256(good)), testNow)
	require.NoError(t, err)
	require.NotContains(t, logs.String(), b64.EncodeToString(good.N.Bytes())[:40], "keys are never logged")
}

func TestLogsHoldNoTokens(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k := rsaKey(t, "main", 2048)
	srv := newJWKSServer(t, jwkOf(t, &k.PublicKey, "k1"))
	file := writePub(t, t.TempDir(), "k.pem", &k.PublicKey)
	v, err := NewVerifier(context.Background(), Config{JWKSURL: srv.URL, PublicKeyFiles: []string{file}, AcceptSelfSigned: true, Logger: log})
	require.NoError(t, err)
	defer v.Close()
	toks := []string{
		mint(t, "RS256", map[string]any{"kid": "nope"}, baseClaims(), rs256(k)),
		mint(t, "RS256", nil, with(baseClaims(), "exp", 1), rs256(k)),
		mint(t, "HS256", nil, baseClaims(), withMethodHS(pkixPEM(t, &k.PublicKey))),
	}
	self, err := SignSelfSigned(TokenSpec{User: "x"}, testNow)
	require.NoError(t, err)
	toks = append(toks, self)
	for _, tok := range toks {
		_, _ = v.Verify(tok, testNow)
	}
	require.Contains(t, logs.String(), "INSECURE")
	require.Contains(t, logs.String(), "code=bad_algorithm")
	for _, tok := range toks {
		for _, part := range strings.Split(tok, ".") {
			require.NotContains(t, logs.String(), part[:20])
		}
	}
}
