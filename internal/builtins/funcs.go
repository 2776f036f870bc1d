package builtins

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mask replaces every code point of s with 'x': Mask("abcd") == "xxxx".
// A byte that is not part of valid UTF-8 counts as one code point.
func Mask(s string) string {
	return strings.Repeat("x", utf8.RuneCountInString(s))
}

// MaskCCN masks a credit-card-like string: when s has more than 4 ASCII
// letters and digits, every one of them but the last 4 becomes 'X';
// with 4 or fewer, all of them do. Every other character is kept.
// MaskCCN("4111-1111-1111-1234") == "XXXX-XXXX-XXXX-1234".
func MaskCCN(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isASCIIAlnum(s[i]) {
			n++
		}
	}
	hide := n // number of leading letters/digits that become X
	if n > 4 {
		hide = n - 4
	}
	b := []byte(s) // ASCII bytes never occur inside a multi-byte UTF-8 sequence
	seen := 0
	for i := range b {
		if isASCIIAlnum(b[i]) {
			if seen < hide {
				b[i] = 'X'
			}
			seen++
		}
	}
	return string(b)
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tokenizeDomain separates tokenize's key derivation from any other use
// of SHA-256 on the same input.
const tokenizeDomain = "lakegate-tokenize-v1\x00"

// keyStream is tokenize's byte stream: SHA-256(K ‖ uint32be(j)) for
// j = 0, 1, 2, … concatenated, with K = SHA-256(domain ‖ input).
type keyStream struct {
	k     [32]byte
	j     int // index of the block in buf, -1 before the first
	block [32]byte
}

func newKeyStream(s string) *keyStream {
	h := sha256.New()
	h.Write([]byte(tokenizeDomain))
	h.Write([]byte(s))
	ks := &keyStream{j: -1}
	h.Sum(ks.k[:0])
	return ks
}

// at returns byte i of the stream.
func (ks *keyStream) at(i int) byte {
	if j := i / 32; j != ks.j {
		var in [36]byte
		copy(in[:], ks.k[:])
		binary.BigEndian.PutUint32(in[32:], uint32(j))
		ks.block = sha256.Sum256(in[:])
		ks.j = j
	}
	return ks.block[i%32]
}

// Tokenize replaces every ASCII letter and digit of s with a different one
// of the same kind (digit, lower-case or upper-case letter), chosen by a
// keyed hash of the whole of s, and keeps every other code point. It is
// deterministic and format preserving; Tokenize(s) != s whenever s has an
// ASCII letter or digit. See docs/builtins.md for the exact algorithm.
func Tokenize(s string) string {
	ks := newKeyStream(s)
	var out strings.Builder
	out.Grow(len(s))
	for i, pos := 0, 0; pos < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[pos:])
		c := s[pos]
		switch {
		case size == 1 && c >= '0' && c <= '9':
			out.WriteByte('0' + (c-'0'+1+ks.at(i)%9)%10)
		case size == 1 && c >= 'a' && c <= 'z':
			out.WriteByte('a' + (c-'a'+1+ks.at(i)%25)%26)
		case size == 1 && c >= 'A' && c <= 'Z':
			out.WriteByte('A' + (c-'A'+1+ks.at(i)%25)%26)
		default:
			out.WriteString(s[pos : pos+size])
		}
		pos += size
	}
	return out.String()
}

// TokenizeInt tokenizes the decimal digits of |x| with Tokenize and keeps
// the sign. bits is 64 (BIGINT) or 32 (INT); when the result does not fit
// that type, only its last 18 (BIGINT) or 9 (INT) digits are kept.
// TokenizeInt panics for any other bits.
func TokenizeInt(x int64, bits int) int64 {
	var keep int
	switch bits {
	case 64:
		keep = 18
	case 32:
		keep = 9
	default:
		panic("builtins: TokenizeInt: bits must be 32 or 64, not " + strconv.Itoa(bits))
	}
	neg := x < 0
	mag := uint64(x)
	if neg {
		mag = -mag // two's complement: also right for math.MinInt64
	}
	digits := Tokenize(strconv.FormatUint(mag, 10))
	r, _ := strconv.ParseUint(digits, 10, 64) // at most 19 digits: fits
	limit := uint64(1)<<(bits-1) - 1          // largest positive value
	if neg {
		limit++ // the negative range has one more value
	}
	if r > limit {
		r %= pow10(keep)
	}
	if neg {
		return int64(-r)
	}
	return int64(r)
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// Sha2 returns the first 15 hex digits of SHA-256(s) as a BIGINT (so it is
// never negative): Sha2("abcd") == 0x88d4266fd4e6338.
func Sha2(s string) int64 {
	sum := sha256.Sum256([]byte(s))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 4)
}

// Hash returns SHA-256(s) as 64 lower-case hex digits.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// FnvHash returns the 64-bit FNV-1a hash of s as a signed BIGINT.
func FnvHash(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// PhiAge caps an age at 90, as HIPAA's safe harbour asks: min(x, 90).
func PhiAge(x int64) int64 {
	return min(x, 90)
}

// source is the part of *rand.Rand the random builtins use.
type source interface {
	IntN(n int) int
	Uint64() uint64
	ExpFloat64() float64
}

// globalSource draws from math/rand/v2's top-level (randomly seeded) source.
type globalSource struct{}

func (globalSource) IntN(n int) int      { return rand.IntN(n) }
func (globalSource) Uint64() uint64      { return rand.Uint64() }
func (globalSource) ExpFloat64() float64 { return rand.ExpFloat64() }

func pick(rng *rand.Rand) source {
	if rng == nil {
		return globalSource{}
	}
	return rng
}

// RandomCCN returns a random 16-digit, Luhn-valid number starting with
// '4' (no separators). A nil rng uses math/rand/v2's global source.
func RandomCCN(rng *rand.Rand) string {
	src := pick(rng)
	b := make([]byte, 16)
	b[0] = '4'
	for i := 1; i < 15; i++ {
		b[i] = byte('0' + src.IntN(10))
	}
	b[15] = LuhnCheckDigit(string(b[:15]))
	return string(b)
}

// LuhnCheckDigit returns the digit that makes payload+digit pass the Luhn
// check. payload must be ASCII digits.
func LuhnCheckDigit(payload string) byte {
	sum := 0
	// The check digit will be rightmost, so the payload's last digit is
	// doubled, and every second one before it.
	for i := len(payload) - 1; i >= 0; i -= 2 {
		d := int(payload[i]-'0') * 2
		if d > 9 {
			d -= 9
		}
		sum += d
		if i > 0 {
			sum += int(payload[i-1] - '0')
		}
	}
	return byte('0' + (10-sum%10)%10)
}

// LuhnValid reports whether s is a non-empty string of ASCII digits that
// passes the Luhn check.
func LuhnValid(s string) bool {
	if s == "" || !allDigits(s) {
		return false
	}
	return LuhnCheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// DefaultEpsilon is diff_privacy's privacy budget when none is given.
const DefaultEpsilon = 1.0

// checkEpsilon reports whether eps can parameterize Laplace noise: finite,
// greater than 0, and not so small that the scale 1/eps overflows.
func checkEpsilon(eps float64) bool {
	return eps > 0 && !math.IsInf(eps, 0) && !math.IsInf(1/eps, 0)
}

// laplace draws from Laplace(0, 1/eps): an exponential magnitude with a
// random sign.
func laplace(eps float64, src source) float64 {
	n := src.ExpFloat64() / eps
	if src.Uint64()&1 == 1 {
		n = -n
	}
	return n
}

// DiffPrivacy returns x plus Laplace(0, 1/eps) noise. It panics unless
// eps is finite and > 0 (Eval checks this and returns an error instead).
// A nil rng uses math/rand/v2's global source.
func DiffPrivacy(x, eps float64, rng *rand.Rand) float64 {
	if !checkEpsilon(eps) {
		panic("builtins: DiffPrivacy: epsilon must be finite and > 0")
	}
	return x + laplace(eps, pick(rng))
}

// diffPrivacyInt adds noise rounded half away from zero to an integer and
// saturates the sum to the range of a bits-wide signed integer.
func diffPrivacyInt(x int64, bits int, eps float64, src source) int64 {
	lo, hi := intRange(bits)
	n := math.Round(laplace(eps, src))
	switch {
	case n >= 0x1p63:
		return hi
	case n < -0x1p63:
		return lo
	}
	sum := new(big.Int).Add(big.NewInt(x), big.NewInt(int64(n)))
	switch {
	case sum.Cmp(big.NewInt(hi)) > 0:
		return hi
	case sum.Cmp(big.NewInt(lo)) < 0:
		return lo
	}
	return sum.Int64()
}

// diffPrivacyDecimal adds noise to the unscaled decimal u at scale, rounds
// half away from zero to that scale and saturates to bound.
func diffPrivacyDecimal(u *big.Int, scale int, bound *big.Int, eps float64, src source) *big.Int {
	noise := new(big.Rat).SetFloat64(laplace(eps, src)) // finite, so exact
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	sum := new(big.Rat).SetFrac(u, pow)
	sum.Add(sum, noise)
	sum.Mul(sum, new(big.Rat).SetInt(pow)) // back to unscaled units
	r := roundHalfAway(sum)
	if r.CmpAbs(bound) > 0 {
		r.Set(bound)
		if sum.Sign() < 0 {
			r.Neg(r)
		}
	}
	return r
}

// roundHalfAway rounds r to the nearest integer, halves away from zero.
func roundHalfAway(r *big.Rat) *big.Int {
	num := new(big.Int).Abs(r.Num())
	den := r.Denom()
	// floor((2|num| + den) / (2 den))
	q := new(big.Int).Lsh(num, 1)
	q.Add(q, den)
	q.Quo(q, new(big.Int).Lsh(den, 1))
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}
