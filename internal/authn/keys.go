package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"strings"
)

// Key size limits. The upper RSA bound keeps a hostile embedded key from
// costing much CPU; real keys are 2048–4096 bits.
const (
	minRSABits = 2048
	maxRSABits = 16384
	maxKeyFile = 1 << 20 // PEM files larger than this are refused
)

// pubKey is one key a token may be verified with.
type pubKey struct {
	kid    string
	alg    string           // from a JWK's "alg": the only alg it may verify; "" = any of its family
	key    crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey (P-256), checked by checkKey
	source string           // for messages: "file /path" or "JWKS"
	// limited: a cluster signing key; its tokens are believed within
	// Config.ClusterKeyLimits only.
	limited bool
}

// fits reports whether k may verify a token with the given (accepted) alg.
func (k *pubKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	return keyFitsAlg(k.key, alg)
}

func keyFitsAlg(key crypto.PublicKey, alg string) bool {
	switch alg {
	case "RS256", "RS512":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ES256":
		ec, ok := key.(*ecdsa.PublicKey)
		return ok && ec.Curve == elliptic.P256()
	}
	return false
}

// keyKind names a key's type for messages.
func keyKind(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", key)
}

// checkKey refuses keys lakegate does not verify with: RSA outside
// 2048–16384 bits or with an odd exponent, EC on any curve but P-256, and
// every other key type.
func checkKey(key crypto.PublicKey) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.Sign() <= 0 {
			return errors.New("RSA key has no modulus")
		}
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return fmt.Errorf("RSA key has %d bits; lakegate accepts %d to %d bits (use at least 2048)", bits, minRSABits, maxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 || k.E > 1<<31-1 {
			return errors.New("RSA key has an invalid public exponent")
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			name := "unknown"
			if k.Curve != nil {
				name = k.Curve.Params().Name
			}
			return fmt.Errorf("EC key is on curve %s; lakegate accepts only P-256 (ES256)", name)
		}
		return nil
	case nil:
		return errors.New("no key")
	}
	return fmt.Errorf("key type %T is not supported; use RSA (RS256/RS512) or EC P-256 (ES256)", key)
}

var b64 = base64.RawURLEncoding

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of an
// RSA or EC P-256 public key. SignToken puts it in the kid header, and a
// Verifier gives the keys of PEM files this kid.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	var canon string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil {
			return "", errors.New("authn: RSA key has no modulus")
		}
		e := big.NewInt(int64(k.E)).Bytes()
		canon = `{"e":"` + b64.EncodeToString(e) + `","kty":"RSA","n":"` + b64.EncodeToString(k.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		x, y, err := ecCoords(k)
		if err != nil {
			return "", err
		}
		canon = `{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
	default:
		return "", fmt.Errorf("authn: cannot compute the thumbprint of a %T", pub)
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:]), nil
}

// ecCoords returns the fixed-length (32-byte) coordinates of a P-256 key.
func ecCoords(k *ecdsa.PublicKey) (x, y []byte, err error) {
	if k.Curve != elliptic.P256() {
		return nil, nil, errors.New("authn: only P-256 EC keys are supported")
	}
	b, err := k.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("authn: invalid EC key: %w", err)
	}
	return b[1:33], b[33:65], nil
}

// publicJWK is the JWK form of a public key, as embedded by SignSelfSigned.
func publicJWK(pub crypto.PublicKey) (map[string]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{
			"kty": "RSA",
			"n":   b64.EncodeToString(k.N.Bytes()),
			"e":   b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		}, nil
	case *ecdsa.PublicKey:
		x, y, err := ecCoords(k)
		if err != nil {
			return nil, err
		}
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(x), "y": b64.EncodeToString(y)}, nil
	}
	return nil, fmt.Errorf("authn: unsupported key type %T", pub)
}

// loadPublicKeyFile reads the PEM public keys of one file: "PUBLIC KEY"
// (PKIX), "RSA PUBLIC KEY" (PKCS#1) blocks, and the first "CERTIFICATE"
// (the leaf; further certificates are its chain and are not trusted as
// signers). Certificates are only key containers: their validity dates and
// issuers are not checked.
func loadPublicKeyFile(path string) ([]*pubKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read public key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read public key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes; it is not a PEM public key", path, maxKeyFile)
	}
	var keys []*pubKey
	sawCert := false
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key crypto.PublicKey
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			if sawCert {
				continue
			}
			sawCert = true
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s holds a private key (%s); give the planner only the public key, e.g. jwt-public.pem from `lakegate keygen` or the output of `openssl pkey -pubout`", path, block.Type)
		default:
			continue // EC PARAMETERS and the like
		}
		if err != nil {
			return nil, fmt.Errorf("%s: PEM block %d (%s) does not parse: %w", path, n, block.Type, err)
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("%s: PEM block %d: %w", path, n, err)
		}
		kid, err := Thumbprint(key)
		if err != nil {
			return nil, fmt.Errorf("%s: PEM block %d: %w", path, n, err)
		}
		keys = append(keys, &pubKey{kid: kid, key: key, source: "file " + path})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no PEM public key (\"PUBLIC KEY\", \"RSA PUBLIC KEY\") or certificate", path)
	}
	return keys, nil
}

// errSkipKey marks a JWKS entry that is fine but not for us (an encryption
// key, a key for another algorithm); it is skipped without a warning.
var errSkipKey = errors.New("not a signature verification key")

var acceptedAlgs = []string{"RS256", "RS512", "ES256"}

// parseJWK turns a JSON Web Key into a verification key. It refuses
// symmetric ("oct") keys, keys with private members, RSA keys under 2048
// bits and EC keys on curves other than P-256.
func parseJWK(m map[string]json.RawMessage, source string) (*pubKey, error) {
	str := func(name string) (string, error) {
		raw, ok := m[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("JWK member %q is not a string", name)
		}
		return s, nil
	}
	kty, err := str("kty")
	if err != nil {
		return nil, err
	}
	kid, err := str("kid")
	if err != nil {
		return nil, err
	}
	if kty == "oct" {
		return nil, errors.New("it is a symmetric (kty \"oct\", HMAC) key; lakegate never verifies tokens with shared secrets")
	}
	for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := m[priv]; ok {
			return nil, errors.New("it contains private key material; publish only public keys")
		}
	}
	use, err := str("use")
	if err != nil {
		return nil, err
	}
	if use != "" && use != "sig" {
		return nil, errSkipKey
	}
	if raw, ok := m["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(raw, &ops); err != nil {
			return nil, errors.New("JWK member \"key_ops\" is not an array of strings")
		}
		if !slices.Contains(ops, "verify") {
			return nil, errSkipKey
		}
	}
	alg, err := str("alg")
	if err != nil {
		return nil, err
	}
	if alg != "" && !slices.Contains(acceptedAlgs, alg) {
		return nil, errSkipKey
	}
	num := func(name string) ([]byte, error) {
		s, err := str(name)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, fmt.Errorf("JWK member %q is missing", name)
		}
		b, err := b64.Strict().DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, fmt.Errorf("JWK member %q is not base64url", name)
		}
		return b, nil
	}
	var key crypto.PublicKey
	switch kty {
	case "RSA":
		n, err := num("n")
		if err != nil {
			return nil, err
		}
		e, err := num("e")
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, errors.New("RSA public exponent is too large")
		}
		key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	case "EC":
		crv, err := str("crv")
		if err != nil {
			return nil, err
		}
		if crv != "P-256" {
			return nil, fmt.Errorf("EC key is on curve %s; lakegate accepts only P-256 (ES256)", quote(crv))
		}
		x, err := num("x")
		if err != nil {
			return nil, err
		}
		y, err := num("y")
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("P-256 coordinates must be 32 bytes each")
		}
		point := append(append([]byte{4}, x...), y...)
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, errors.New("the EC point is not on the P-256 curve")
		}
		key = ec
	case "":
		return nil, errors.New("JWK member \"kty\" is missing")
	default:
		return nil, fmt.Errorf("key type %s is not supported; use RSA or EC P-256", quote(kty))
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if alg != "" && !keyFitsAlg(key, alg) {
		return nil, fmt.Errorf("the JWK says alg %s, which does not fit its %s key", alg, kty)
	}
	return &pubKey{kid: kid, alg: alg, key: key, source: source}, nil
}
