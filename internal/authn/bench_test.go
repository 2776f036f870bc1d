package authn

import (
	"testing"
)

func BenchmarkVerifyRS256(b *testing.B) {
	f := newFixture(b)
	tok := mint(b, "RS256", map[string]any{"kid": kidOf(b, &f.rsa.PublicKey)}, baseClaims(), rs256(f.rsa))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.strict.Verify(tok, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256Parallel(b *testing.B) {
	f := newFixture(b)
	tok := mint(b, "RS256", map[string]any{"kid": kidOf(b, &f.rsa.PublicKey)}, baseClaims(), rs256(f.rsa))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.strict.Verify(tok, testNow); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyES256(b *testing.B) {
	f := newFixture(b)
	tok := mint(b, "ES256", nil, baseClaims(), es256(f.ec))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.strict.Verify(tok, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefuseAlgNone is the cost of refusing junk before any crypto.
func BenchmarkRefuseAlgNone(b *testing.B) {
	f := newFixture(b)
	tok := mint(b, "none", nil, baseClaims(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.strict.Verify(tok, testNow); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSignTokenRS256(b *testing.B) {
	k := rsaKey(b, "main", 2048)
	spec := TokenSpec{User: "alice", Groups: []string{"eng"}, Issuer: testIssuer, Audience: testAudience}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignToken(k, spec, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
