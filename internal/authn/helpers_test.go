package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "lakegate"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// Keys are generated once per test binary and shared by name.
var (
	keyMu    sync.Mutex
	keyCache = map[string]any{}
)

func rsaKey(t testing.TB, name string, bits int) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	keyCache[name] = k
	return k
}

func ecKey(t testing.TB, name string, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k.(*ecdsa.PrivateKey)
	}
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	keyCache[name] = k
	return k
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkixPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pemBytes("PUBLIC KEY", der)
}

func writePub(t testing.TB, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	return writeFile(t, dir, name, pkixPEM(t, pub))
}

func kidOf(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	kid, err := Thumbprint(pub)
	require.NoError(t, err)
	return kid
}

// baseClaims are valid claims for the test verifiers at testNow.
func baseClaims() map[string]any {
	return map[string]any{
		"sub":    "alice",
		"groups": []string{"Analysts", "eng"},
		"iat":    testNow.Unix(),
		"nbf":    testNow.Unix(),
		"exp":    testNow.Add(time.Hour).Unix(),
		"iss":    testIssuer,
		"aud":    testAudience,
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

type signFunc func(t testing.TB, input string) []byte

// mintRaw assembles header.payload.signature from raw JSON bytes.
func mintRaw(t testing.TB, header, payload []byte, sign signFunc) string {
	t.Helper()
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	var sig []byte
	if sign != nil {
		sig = sign(t, input)
	}
	return input + "." + b64.EncodeToString(sig)
}

// mint signs claims under a header; alg in the header is set from alg
// unless the header already has one.
func mint(t testing.TB, alg string, header map[string]any, claims any, sign signFunc) string {
	t.Helper()
	h := map[string]any{"typ": "JWT", "alg": alg}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return mintRaw(t, mustJSON(t, h), mustJSON(t, claims), sign)
}

func withMethod(m jwt.SigningMethod, key any) signFunc {
	return func(t testing.TB, input string) []byte {
		t.Helper()
		sig, err := m.Sign(input, key)
		require.NoError(t, err)
		return sig
	}
}

func rs256(k *rsa.PrivateKey) signFunc   { return withMethod(jwt.SigningMethodRS256, k) }
func es256(k *ecdsa.PrivateKey) signFunc { return withMethod(jwt.SigningMethodES256, k) }

// fixture is a pair of verifiers over the same PEM keys: an RSA 2048 key
// ("main") and an EC P-256 key ("ec"), with issuer and audience set.
type fixture struct {
	rsa     *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
	strict  *Verifier // AcceptSelfSigned false
	lenient *Verifier // AcceptSelfSigned true
	rsaPEM  []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, rsaKey(t, "main", 2048), ecKey(t, "ec", elliptic.P256()))
}

func newFixtureWith(t testing.TB, rk *rsa.PrivateKey, ek *ecdsa.PrivateKey) *fixture {
	t.Helper()
	f := &fixture{rsa: rk, ec: ek}
	dir := t.TempDir()
	f.rsaPEM = pkixPEM(t, &f.rsa.PublicKey)
	files := []string{
		writeFile(t, dir, "rsa.pem", f.rsaPEM),
		writePub(t, dir, "ec.pem", &f.ec.PublicKey),
	}
	cfg := Config{PublicKeyFiles: files, Issuer: testIssuer, Audience: testAudience, Logger: quietLog}
	var err error
	f.strict, err = NewVerifier(context.Background(), cfg)
	require.NoError(t, err)
	cfg.AcceptSelfSigned = true
	f.lenient, err = NewVerifier(context.Background(), cfg)
	require.NoError(t, err)
	if tt, ok := t.(interface{ Cleanup(func()) }); ok {
		tt.Cleanup(func() { f.strict.Close(); f.lenient.Close() })
	}
	return f
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
