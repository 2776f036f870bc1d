package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key pair files written by GenerateKeyPair.
const (
	PrivateKeyFile = "jwt-private.pem"
	PublicKeyFile  = "jwt-public.pem"
	// GeneratedRSABits is the size of keys made by GenerateKeyPair: 3072
	// bits, NIST's recommendation for use beyond 2030.
	GeneratedRSABits = 3072
	// DefaultTokenTTL is the lifetime SignToken gives a token when
	// TokenSpec.TTL is zero.
	DefaultTokenTTL = time.Hour
)

// GenerateKeyPair makes an RSA key pair for signing tokens and writes
// dir/jwt-private.pem (PKCS#8 "PRIVATE KEY", mode 0600) and
// dir/jwt-public.pem (PKIX "PUBLIC KEY", mode 0644), creating dir with mode
// 0700 if needed. It never overwrites: if either file exists it fails and
// leaves both alone.
func GenerateKeyPair(dir string) (privPath, pubPath string, err error) {
	privPath = filepath.Join(dir, PrivateKeyFile)
	pubPath = filepath.Join(dir, PublicKeyFile)
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("authn: %s already exists; lakegate never overwrites a key, so remove it first or choose another directory", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("authn: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("authn: creating the key directory: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, GeneratedRSABits)
	if err != nil {
		return "", "", fmt.Errorf("authn: generating an RSA key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("authn: encoding the private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("authn: encoding the public key: %w", err)
	}
	if err := writeNew(privPath, 0o600, &pem.Block{Type: "PRIVATE KEY", Bytes: privDER}); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, 0o644, &pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}); err != nil {
		_ = os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// writeNew creates path (failing if it exists) with exactly mode perm.
func writeNew(path string, perm os.FileMode, block *pem.Block) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("authn: %w", err)
	}
	err = f.Chmod(perm) // the umask may have taken bits away
	if err == nil {
		err = pem.Encode(f, block)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("authn: writing %s: %w", path, err)
	}
	return nil
}

// LoadPrivateKey reads a private key for SignToken from PEM text or from
// the path of a PEM file: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE
// KEY") or SEC1 ("EC PRIVATE KEY"). RSA keys need at least 2048 bits, EC
// keys must be P-256. PEM text whose line breaks arrived as literal "\n"
// (as from some secret stores and environment variables) is accepted too.
func LoadPrivateKey(pemOrPath string) (crypto.Signer, error) {
	data := []byte(pemOrPath)
	where := "the PEM text"
	if !strings.Contains(pemOrPath, "-----BEGIN") {
		where = pemOrPath
		f, err := os.Open(pemOrPath)
		if err != nil {
			return nil, fmt.Errorf("authn: cannot read the private key: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
			slog.Default().Warn("the JWT private key file is readable by other users; restrict it with chmod 600", "path", pemOrPath, "mode", fi.Mode().Perm().String())
		}
		if data, err = io.ReadAll(io.LimitReader(f, maxKeyFile+1)); err != nil {
			return nil, fmt.Errorf("authn: cannot read the private key: %w", err)
		}
		if len(data) > maxKeyFile {
			return nil, fmt.Errorf("authn: %s is larger than %d bytes; it is not a PEM private key", pemOrPath, maxKeyFile)
		}
	} else if !strings.Contains(pemOrPath, "\n") && strings.Contains(pemOrPath, `\n`) {
		data = []byte(strings.ReplaceAll(pemOrPath, `\n`, "\n"))
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("authn: %s holds no PEM private key (\"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")", where)
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("authn: the private key in %s is encrypted; give an unencrypted one (keep it in a secret store), e.g. `openssl pkcs8 -topk8 -nocrypt`", where)
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue // EC PARAMETERS, certificates, …
		}
		if err != nil {
			return nil, fmt.Errorf("authn: the %s block in %s does not parse: %w", block.Type, where, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("authn: the key in %s is a %T, which cannot sign", where, key)
		}
		if _, err := signingAlg(signer.Public()); err != nil {
			return nil, fmt.Errorf("authn: the key in %s: %w", where, err)
		}
		return signer, nil
	}
}

// signingAlg picks the JWS algorithm for a key: RS256 for RSA, ES256 for
// EC P-256.
func signingAlg(pub crypto.PublicKey) (*signerMethod, error) {
	if err := checkKey(pub); err != nil {
		return nil, err
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		return &signerMethod{alg: "RS256", hash: crypto.SHA256}, nil
	default: // checkKey admits only RSA and EC P-256
		return &signerMethod{alg: "ES256", hash: crypto.SHA256, ecSize: 32}, nil
	}
}

// signerMethod is a jwt.SigningMethod that signs with any crypto.Signer
// (a key in memory, an HSM, a KMS), so that tokens need not be signed with
// an *rsa.PrivateKey. It is never registered with jwt, so parsers never see
// it.
type signerMethod struct {
	alg    string
	hash   crypto.Hash
	ecSize int // ECDSA: bytes per coordinate; 0 for RSA
}

func (m *signerMethod) Alg() string { return m.alg }

func (m *signerMethod) Verify(string, []byte, any) error {
	return errors.New("authn: signerMethod does not verify")
}

func (m *signerMethod) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("authn: %T is not a crypto.Signer", key)
	}
	h := m.hash.New()
	h.Write([]byte(signingString))
	sig, err := signer.Sign(rand.Reader, h.Sum(nil), m.hash) // PKCS#1 v1.5 for RSA, ASN.1 for ECDSA
	if err != nil || m.ecSize == 0 {
		return sig, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, errors.New("authn: the ECDSA signer returned a malformed signature")
	}
	out := make([]byte, 2*m.ecSize)
	rs.R.FillBytes(out[:m.ecSize])
	rs.S.FillBytes(out[m.ecSize:])
	return out, nil
}

// TokenSpec says what SignToken puts in a token.
type TokenSpec struct {
	User             string            // sub; required
	Groups           []string          // groups claim, as given
	TTL              time.Duration     // lifetime; 0 means DefaultTokenTTL
	Issuer, Audience string            // iss, aud; omitted when empty
	Attributes       map[string]string // attributes claim; omitted when empty
}

func (s TokenSpec) claims(now time.Time) (jwt.MapClaims, error) {
	if strings.TrimSpace(s.User) == "" {
		return nil, errors.New("authn: a token needs a user (sub)")
	}
	if why := checkName(s.User); why != "" {
		return nil, fmt.Errorf("authn: the user name %s", why)
	}
	for _, g := range s.Groups {
		if why := checkName(g); why != "" {
			return nil, fmt.Errorf("authn: a group name %s", why)
		}
	}
	ttl := s.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < 0:
		return nil, errors.New("authn: a token's TTL must be positive")
	}
	if now.IsZero() {
		now = time.Now()
	}
	groups := s.Groups
	if groups == nil {
		groups = []string{}
	}
	c := jwt.MapClaims{
		"sub":    s.User,
		"groups": groups,
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(ttl).Unix(),
	}
	if s.Issuer != "" {
		c["iss"] = s.Issuer
	}
	if s.Audience != "" {
		c["aud"] = s.Audience
	}
	if len(s.Attributes) > 0 {
		c["attributes"] = s.Attributes
	}
	return c, nil
}

// SignToken signs a token for spec with key: RS256 for an RSA key, ES256
// for an EC P-256 key. It sets sub, groups, iat, nbf, exp, and iss, aud and
// attributes when given; the kid header is the key's Thumbprint. now is the
// issue time (the zero time means time.Now()).
func SignToken(key crypto.Signer, spec TokenSpec, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("authn: no signing key")
	}
	method, err := signingAlg(key.Public())
	if err != nil {
		return "", fmt.Errorf("authn: cannot sign with this key: %w", err)
	}
	kid, err := Thumbprint(key.Public())
	if err != nil {
		return "", err
	}
	claims, err := spec.claims(now)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(method, claims)
	t.Header["kid"] = kid
	return t.SignedString(key)
}

// SignSelfSigned signs a token for spec with a fresh, throwaway EC P-256
// key and embeds the public half in the "jwk" header. Such a token proves
// nothing about its sender: a Verifier accepts it only with
// Config.AcceptSelfSigned (insecure POC mode).
func SignSelfSigned(spec TokenSpec, now time.Time) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("authn: generating a throwaway key: %w", err)
	}
	jwk, err := publicJWK(&key.PublicKey)
	if err != nil {
		return "", err
	}
	claims, err := spec.claims(now)
	if err != nil {
		return "", err
	}
	method, _ := signingAlg(&key.PublicKey)
	t := jwt.NewWithClaims(method, claims)
	t.Header["jwk"] = jwk
	return t.SignedString(key)
}
