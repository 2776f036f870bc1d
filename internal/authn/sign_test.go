package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGenerateKeyPair(t *testing.T) {
	old := syscall.Umask(0o077) // the public key must still come out 0644
	defer syscall.Umask(old)

	dir := filepath.Join(t.TempDir(), "keys")
	priv, pub, err := GenerateKeyPair(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "jwt-private.pem"), priv)
	require.Equal(t, filepath.Join(dir, "jwt-public.pem"), pub)
	for path, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode(), path)
	}
	privPEM, err := os.ReadFile(priv)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(privPEM), "-----BEGIN PRIVATE KEY-----"))
	pubPEM, err := os.ReadFile(pub)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(pubPEM), "-----BEGIN PUBLIC KEY-----"))

	// Never overwrite, and leave both files alone.
	_, _, err = GenerateKeyPair(dir)
	require.ErrorContains(t, err, "already exists")
	again, err := os.ReadFile(priv)
	require.NoError(t, err)
	require.Equal(t, privPEM, again)
	// Only one of the two existing is enough to refuse.
	dir2 := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir2, "jwt-public.pem"), []byte("x"), 0o644))
	_, _, err = GenerateKeyPair(dir2)
	require.Error(t, err)
	_, err = os.Stat(filepath.Join(dir2, "jwt-private.pem"))
	require.True(t, os.IsNotExist(err))

	// The pair works end to end: sign with the private key, verify with the public file.
	key, err := LoadPrivateKey(priv)
	require.NoError(t, err)
	require.Equal(t, GeneratedRSABits, key.(*rsa.PrivateKey).N.BitLen())
	v, err := NewVerifier(context.Background(), Config{PublicKeyFiles: []string{pub}, Logger: quietLog})
	require.NoError(t, err)
	defer v.Close()
	tok, err := SignToken(key, TokenSpec{User: "carol", Groups: []string{"admins"}, TTL: time.Minute}, testNow)
	require.NoError(t, err)
	p, err := v.Verify(tok, testNow)
	require.NoError(t, err)
	require.Equal(t, "carol", p.User)
	require.Equal(t, v.KeyIDs(), []string{kidOf(t, key.Public())})
}

func TestLoadPrivateKey(t *testing.T) {
	rk := rsaKey(t, "main", 2048)
	ek := ecKey(t, "ec", elliptic.P256())
	pkcs8RSA, err := x509.MarshalPKCS8PrivateKey(rk)
	require.NoError(t, err)
	pkcs8EC, err := x509.MarshalPKCS8PrivateKey(ek)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(ek)
	require.NoError(t, err)
	p384, err := x509.MarshalECPrivateKey(ecKey(t, "p384", elliptic.P384()))
	require.NoError(t, err)
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	dir := t.TempDir()

	ok := []struct {
		name, in string
		rsa      bool
	}{
		{"PKCS#8 RSA text", string(pemBytes("PRIVATE KEY", pkcs8RSA)), true},
		{"PKCS#1 RSA text", string(pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk))), true},
		{"PKCS#8 EC text", string(pemBytes("PRIVATE KEY", pkcs8EC)), false},
		{"SEC1 EC with parameters (openssl ecparam -genkey)", ecParams + string(pemBytes("EC PRIVATE KEY", sec1)), false},
		{"path", keyFile(t, dir, pemBytes("PRIVATE KEY", pkcs8RSA)), true},
		{"escaped newlines", strings.ReplaceAll(string(pemBytes("PRIVATE KEY", pkcs8EC)), "\n", `\n`), false},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadPrivateKey(tc.in)
			require.NoError(t, err)
			if tc.rsa {
				require.IsType(t, &rsa.PrivateKey{}, s)
			} else {
				require.IsType(t, &ecdsa.PrivateKey{}, s)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"missing file", filepath.Join(dir, "none.pem"), "cannot read"},
		{"public key only", string(pkixPEM(t, &rk.PublicKey)), "no PEM private key"},
		{"RSA 1024", string(pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey(t, "rsa1024", 1024)))), "1024 bits"},
		{"P-384", string(pemBytes("EC PRIVATE KEY", p384)), "P-256"},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"corrupt", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "does not parse"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPrivateKey(tc.in)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "MII", "no key material in errors")
		})
	}
}

func TestSignToken(t *testing.T) {
	f := newFixture(t)
	spec := TokenSpec{User: "dave", Groups: []string{"Eng", "ops"}, TTL: 10 * time.Minute, Issuer: testIssuer, Audience: testAudience,
		Attributes: map[string]string{"region": "eu"}}
	rsTok, err := SignToken(f.rsa, spec, testNow)
	require.NoError(t, err)
	esTok, err := SignToken(f.ec, spec, testNow)
	require.NoError(t, err)
	for name, tok := range map[string]string{"RS256": rsTok, "ES256": esTok} {
		t.Run(name, func(t *testing.T) {
			rt, err := parseToken(tok, DefaultMaxTokenBytes)
			require.NoError(t, err)
			require.Equal(t, name, rt.alg)
			want := f.rsa.Public()
			if name == "ES256" {
				want = f.ec.Public()
			}
			require.Equal(t, kidOf(t, want), rt.kid)
			p, err := f.strict.Verify(tok, testNow.Add(5*time.Minute))
			require.NoError(t, err)
			require.Equal(t, "dave", p.User)
			require.Equal(t, []string{"eng", "ops"}, p.Groups)
			require.Equal(t, map[string]string{"region": "eu"}, p.Attributes)
			require.Equal(t, testNow.Add(10*time.Minute), p.ExpiresAt)
			_, err = f.strict.Verify(tok, testNow.Add(11*time.Minute))
			require.True(t, IsExpired(err))
		})
	}

	// Defaults and refusals.
	tok, err := SignToken(f.rsa, TokenSpec{User: "eve"}, testNow)
	require.NoError(t, err)
	rt, err := parseToken(tok, DefaultMaxTokenBytes)
	require.NoError(t, err)
	require.Equal(t, "[]", string(rt.payload["groups"]))
	require.NotContains(t, rt.payload, "iss")
	require.NotContains(t, rt.payload, "aud")
	require.NotContains(t, rt.payload, "attributes")
	require.Equal(t, strconv.FormatInt(testNow.Add(DefaultTokenTTL).Unix(), 10), string(rt.payload["exp"]))

	for _, bad := range []TokenSpec{{}, {User: " "}, {User: "a\nb"}, {User: "x", TTL: -time.Second}, {User: "x", Groups: []string{"a\x00"}}} {
		_, err := SignToken(f.rsa, bad, testNow)
		require.Error(t, err, "%+v", bad)
		_, err = SignSelfSigned(bad, testNow)
		require.Error(t, err, "%+v", bad)
	}
	_, err = SignToken(rsaKey(t, "rsa1024", 1024), TokenSpec{User: "x"}, testNow)
	require.ErrorContains(t, err, "1024 bits")
	_, err = SignToken(nil, TokenSpec{User: "x"}, testNow)
	require.Error(t, err)
}

func keyFile(t *testing.T, dir string, data []byte) string {
	p := filepath.Join(dir, "k.pem")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}
