package authn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify mutates valid and broken tokens. Verify must never panic,
// must fail with an *Error that has a code and does not echo the token,
// and must accept nothing whose header.payload differs from one of the
// signed seeds: no mutation of a signed token (changed, added or removed
// characters, re-encoding, padding, swapped parts) is accepted.
//
// The fuzzing engine runs this function in several processes and sends
// one process's seeds to the others, so the keys and the signed inputs
// must be the same in every process: the keys are derived from fixed
// seeds, and the seeds' headers and payloads are fixed.
func FuzzVerify(f *testing.F) {
	fx := newFixtureWith(f, deterministicRSA(f, "lakegate FuzzVerify rsa"), deterministicEC(f, "lakegate FuzzVerify ec"))
	self := deterministicEC(f, "lakegate FuzzVerify self-signed")
	selfJWK, err := publicJWK(&self.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	claims := baseClaims()
	rsaKid := kidOf(f, &fx.rsa.PublicKey)

	// signed header.payload inputs that a verifier may accept, and by which
	// verifier: strict only verifies configured keys; lenient also the
	// self-signed one.
	signed := map[string]string{}
	add := func(tok, who string) {
		h, p, _ := segments(tok)
		signed[h+"."+p] = who
		f.Add(tok)
	}
	for _, tok := range []string{
		mint(f, "RS256", map[string]any{"kid": rsaKid}, claims, rs256(fx.rsa)),
		mint(f, "RS256", nil, with(claims, "groups", "a,b", "attributes", map[string]any{"region": "eu"}), rs256(fx.rsa)),
		mint(f, "RS512", nil, claims, withMethod(jwt.SigningMethodRS512, fx.rsa)),
		mint(f, "ES256", nil, claims, es256(fx.ec)),
		// signed by a configured key, and carrying a jwk too
		mint(f, "RS256", map[string]any{"jwk": selfJWK}, claims, rs256(fx.rsa)),
	} {
		if _, err := fx.strict.Verify(tok, testNow); err != nil {
			f.Fatalf("seed does not verify: %v", err)
		}
		add(tok, "both")
	}
	selfSigned := mint(f, "ES256", map[string]any{"jwk": selfJWK}, claims, es256(self))
	if p, err := fx.lenient.Verify(selfSigned, testNow); err != nil || !p.SelfSigned {
		f.Fatalf("self-signed seed does not verify: %v", err)
	}
	add(selfSigned, "lenient")

	valid := mint(f, "RS256", map[string]any{"kid": rsaKid}, claims, rs256(fx.rsa))
	h, p, s := segments(valid)
	for _, seed := range []string{
		mint(f, "none", nil, claims, nil),
		mint(f, "HS256", nil, claims, withMethodHS(fx.rsaPEM)),
		mint(f, "PS256", nil, claims, withMethod(jwt.SigningMethodPS256, fx.rsa)),
		mint(f, "RS256", map[string]any{"crit": []string{"x"}}, claims, rs256(fx.rsa)),
		mint(f, "RS256", nil, with(claims, "exp", nil), rs256(fx.rsa)),
		h + "." + p + "." + s + s,
		h + "." + p,
		h + "." + p + "." + s + "." + s,
		h + "=." + p + "." + s,
		"",
		"..",
		"e30.e30.e30",
		strings.Repeat("a", 100),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, tok string) {
		for _, v := range []*Verifier{fx.strict, fx.lenient} {
			pr, err := v.Verify(tok, testNow)
			if err == nil {
				if pr == nil || pr.User == "" || pr.Groups == nil || pr.Attributes == nil {
					t.Fatalf("accepted with an incomplete principal: %+v", pr)
				}
				h, p, _ := segments(tok)
				switch who := signed[h+"."+p]; {
				case who == "both" && !pr.SelfSigned:
				case who == "lenient" && v == fx.lenient && pr.SelfSigned:
				default:
					t.Fatalf("accepted a token whose header and payload were not signed (self-signed=%v): %q", pr.SelfSigned, tok)
				}
				continue
			}
			if pr != nil {
				t.Fatalf("principal returned with an error")
			}
			if CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			if len(tok) > 64 && strings.Contains(err.Error(), tok) {
				t.Fatalf("the message echoes the token: %v", err)
			}
		}
	})
}

// deterministicEC derives a P-256 key from a label.
func deterministicEC(tb testing.TB, label string) *ecdsa.PrivateKey {
	tb.Helper()
	d := sha256.Sum256([]byte(label))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// deterministicRSA derives a 2048-bit RSA key from a label: two primes
// found by searching upwards from hash-derived starting points.
func deterministicRSA(tb testing.TB, label string) *rsa.PrivateKey {
	tb.Helper()
	one, two, e := big.NewInt(1), big.NewInt(2), big.NewInt(65537)
	prime := func(which string) *big.Int {
		var buf []byte
		for i := 0; len(buf) < 128; i++ {
			h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", label, which, i)))
			buf = append(buf, h[:]...)
		}
		p := new(big.Int).SetBytes(buf[:128])
		p.SetBit(p, 1023, 1)
		p.SetBit(p, 1022, 1)
		p.SetBit(p, 0, 1)
		for {
			pm1 := new(big.Int).Sub(p, one)
			if new(big.Int).GCD(nil, nil, e, pm1).Cmp(one) == 0 && p.ProbablyPrime(20) {
				return p
			}
			p.Add(p, two)
		}
	}
	p, q := prime("p"), prime("q")
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         new(big.Int).ModInverse(e, phi),
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		tb.Fatal(err)
	}
	return k
}
