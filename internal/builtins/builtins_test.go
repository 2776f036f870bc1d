package builtins

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The facts below are written by hand from docs/builtins.md and the spec, not
// taken from vectors.json, so regenerating the file cannot hide a bug in
// them.

func eval(t *testing.T, fn string, arg Value, extra ...Value) Value {
	t.Helper()
	v, err := Eval(fn, arg, extra, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatalf("%s(%v): %v", fn, arg, err)
	}
	return v
}

func TestOkeraFacts(t *testing.T) {
	for _, tc := range []struct {
		fn   string
		arg  Value
		want Value
	}{
		{"mask", str("abcd"), str("xxxx")},
		{"mask_ccn", str("abcd-efgh"), str("XXXX-efgh")},
		{"mask_ccn", str("4111-1111-1111-1234"), str("XXXX-XXXX-XXXX-1234")},
		{"zero", str("x"), str("")},
		{"sha2", str("abcd"), bigint(0x88d4266fd4e6338)},
		{"sha2", str("abcd"), bigint(616221734123496248)},
		{"phi_age", bigint(95), bigint(90)},
		{"phi_age", int32v(45), int32v(45)},
		{"phi_age", int32v(90), int32v(90)},
		{"null", str("abc"), null("string")},
		{"null", bigint(7), null("bigint")},
		{"null", date("2020-01-01"), null("date")},
		{"null", decimal("decimal(10,2)", "1.00"), null("decimal(10,2)")},
		{"hash", str("abcd"), str("88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589")},
		// FNV-1a 64: the offset basis for "", and the published value for "a".
		{"fnv_hash", str(""), bigint(int64(-3750763034362895579))},
		{"fnv_hash", str("a"), bigint(int64(-5808556873153909620))}, // 0xaf63dc4c8601ec8c
		{"mask", str("日本語😀"), str("xxxx")},
		{"mask_ccn", str("1234"), str("XXXX")},
		{"mask_ccn", str("ümlaut-1234"), str("üXXXXX-1234")},
		{"zero", bigint(5), bigint(0)},
		{"zero", double(2.5), double(0)},
		{"zero", boolean(true), boolean(false)},
		{"zero", date("2024-02-29"), date("1970-01-01")},
		{"zero", decimal("decimal(10,2)", "12.50"), decimal("decimal(10,2)", "0.00")},
		{"mask", bigint(5), null("bigint")},
		{"sha2", double(1.5), null("bigint")},
		{"hash", date("2024-02-29"), null("string")},
		{"sha2", bigint(1234), bigint(Sha2("1234"))},
		{"sha2", boolean(true), bigint(Sha2("true"))},
	} {
		got := eval(t, tc.fn, tc.arg)
		if !valueEqual(got, tc.want) {
			t.Errorf("%s(%s) = %s, want %s", tc.fn, showValue(tc.arg), showValue(got), showValue(tc.want))
		}
	}
	if uint64(0xaf63dc4c8601ec8c) != uint64(FnvHash("a")) {
		t.Errorf("FnvHash(a) = %x", uint64(FnvHash("a")))
	}
}

func TestNullInNullOut(t *testing.T) {
	types := []string{"string", "bigint", "int", "smallint", "tinyint", "double", "float", "boolean", "date",
		"decimal(10,2)", "timestamp"}
	for _, fn := range Names() {
		for _, ty := range types {
			got := eval(t, fn, null(ty))
			rt, err := ResultType(fn, ty)
			if err != nil {
				t.Fatal(err)
			}
			if got.V != nil || got.Type != rt {
				t.Errorf("%s(NULL %s) = %s, want NULL %s", fn, ty, showValue(got), rt)
			}
		}
	}
}

func TestOtherTypesGiveNull(t *testing.T) {
	ts := Value{Type: "timestamp", V: "2024-01-01 00:00:00"}
	for _, fn := range Names() {
		got := eval(t, fn, ts)
		if got.V != nil {
			t.Errorf("%s(timestamp) = %v, want NULL", fn, got.V)
		}
	}
}

// tokenizeRef is a second, deliberately plain reading of the spec.
func tokenizeRef(s string) string {
	k := sha256.Sum256([]byte("lakegate-tokenize-v1\x00" + s))
	runes := []rune(s)
	var stream []byte
	for j := 0; len(stream) < len(runes); j++ {
		var be [4]byte
		binary.BigEndian.PutUint32(be[:], uint32(j))
		block := sha256.Sum256(append(k[:], be[:]...))
		stream = append(stream, block[:]...)
	}
	out := make([]rune, len(runes))
	for i, c := range runes {
		b := int(stream[i])
		switch {
		case '0' <= c && c <= '9':
			c = '0' + rune((int(c-'0')+1+b%9)%10)
		case 'a' <= c && c <= 'z':
			c = 'a' + rune((int(c-'a')+1+b%25)%26)
		case 'A' <= c && c <= 'Z':
			c = 'A' + rune((int(c-'A')+1+b%25)%26)
		}
		out[i] = c
	}
	return string(out)
}

func TestTokenize(t *testing.T) {
	long := strings.Repeat("Ab9-ü日😀", 20) // several 32-byte blocks of the stream
	for _, s := range []string{"", "a", "abcd", "ABCD", "0123456789", "4111-1111-1111-1234", "ümlaut",
		"日本語", "Hello, World! 😀", "e\u0301", long} {
		got := Tokenize(s)
		if want := tokenizeRef(s); got != want {
			t.Errorf("Tokenize(%q) = %q, reference %q", s, got, want)
		}
		if Tokenize(s) != got {
			t.Errorf("Tokenize(%q) is not deterministic", s)
		}
		gr, sr := []rune(got), []rune(s)
		if len(gr) != len(sr) {
			t.Fatalf("Tokenize(%q) = %q: length changed", s, got)
		}
		for i := range sr {
			a, b := sr[i], gr[i]
			switch {
			case a < 128 && isASCIIAlnum(byte(a)):
				if a == b || kind(a) != kind(b) {
					t.Errorf("Tokenize(%q): %q became %q", s, a, b)
				}
			case a != b:
				t.Errorf("Tokenize(%q): %q changed to %q", s, a, b)
			}
		}
	}
	// Invalid UTF-8: each bad byte is one code point, copied unchanged.
	bad := "a\xffb"
	got := Tokenize(bad)
	if len(got) != 3 || got[1] != 0xff || got[0] == 'a' || got[2] == 'b' {
		t.Errorf("Tokenize(%q) = %q", bad, got)
	}
	if Mask(bad) != "xxx" {
		t.Errorf("Mask(%q) = %q", bad, Mask(bad))
	}
}

func kind(r rune) int {
	switch {
	case '0' <= r && r <= '9':
		return 1
	case 'a' <= r && r <= 'z':
		return 2
	case 'A' <= r && r <= 'Z':
		return 3
	}
	return 0
}

func TestTokenizeInt(t *testing.T) {
	for _, tc := range []struct {
		x    int64
		bits int
	}{
		{0, 64}, {5, 64}, {-5, 64}, {1234, 64}, {-1234, 64}, {math.MaxInt64, 64}, {math.MinInt64, 64},
		{999999999999999999, 64}, {0, 32}, {7, 32}, {math.MaxInt32, 32}, {math.MinInt32, 32}, {123456789, 32},
		{-1000000000, 32}, {1999999999, 32}, {1000000000, 32}, {1007407407347407402, 64}, {-1007407407347407402, 64},
	} {
		got := TokenizeInt(tc.x, tc.bits)
		mag := strconv.FormatUint(uint64(tc.x), 10)
		if tc.x < 0 {
			mag = strings.TrimPrefix(strconv.FormatInt(tc.x, 10), "-")
		}
		digits := tokenizeRef(mag)
		want, _ := strconv.ParseUint(digits, 10, 64)
		lo, hi := intRange(tc.bits)
		keep := map[int]uint64{64: 1e18, 32: 1e9}[tc.bits]
		if tc.x < 0 {
			if want > uint64(-(lo+1))+1 {
				want %= keep
			}
		} else if want > uint64(hi) {
			want %= keep
		}
		w := int64(want)
		if tc.x < 0 {
			w = -w
		}
		if got != w {
			t.Errorf("TokenizeInt(%d, %d) = %d, want %d (digits %s)", tc.x, tc.bits, got, w, digits)
		}
		if got == tc.x {
			t.Errorf("TokenizeInt(%d, %d) did not change the value", tc.x, tc.bits)
		}
		if got < lo || got > hi {
			t.Errorf("TokenizeInt(%d, %d) = %d out of range", tc.x, tc.bits, got)
		}
		if v := eval(t, "tokenize", Value{Type: map[int]string{64: "bigint", 32: "int"}[tc.bits], V: tc.x}); v.V != got {
			t.Errorf("Eval(tokenize, %d) = %v, want %d", tc.x, v.V, got)
		}
	}
	// Hand-checked truncations: 1007407407347407402 tokenizes to the digits
	// 9985656184772343698 (> MaxInt64), 1000000000 to 2866271288 (> MaxInt32).
	if got := TokenizeInt(1007407407347407402, 64); got != 985656184772343698 {
		t.Errorf("TokenizeInt(1007407407347407402) = %d", got)
	}
	if got := TokenizeInt(-1007407407347407402, 64); got != -985656184772343698 {
		t.Errorf("TokenizeInt(-1007407407347407402) = %d", got)
	}
	if got := TokenizeInt(1000000000, 32); got != 866271288 {
		t.Errorf("TokenizeInt(1000000000, 32) = %d", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("TokenizeInt(1, 16) did not panic")
		}
	}()
	TokenizeInt(1, 16)
}

func TestMaskCCN(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"a":                   "X",
		"abcd":                "XXXX",
		"abcde":               "Xbcde",
		"4111 1111 1111 1234": "XXXX XXXX XXXX 1234",
		"--12-34--":           "--XX-XX--",
		"日本1234567":           "日本XXX4567",
		"a\xff12345":          "X\xffX2345",
	} {
		if got := MaskCCN(in); got != want {
			t.Errorf("MaskCCN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{
		"4111111111111111": true, "4111111111111112": false, "79927398713": true, "0": true,
		"": false, "4111-1111": false, "18": true, "17": false,
	} {
		if LuhnValid(s) != want {
			t.Errorf("LuhnValid(%q) = %v", s, !want)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	seen := map[string]bool{}
	for range 100 {
		s := RandomCCN(rng)
		if !isLuhn16(s) || !LuhnValid(s) {
			t.Fatalf("RandomCCN = %q", s)
		}
		seen[s] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct numbers in 100 draws", len(seen))
	}
	if !isLuhn16(RandomCCN(nil)) {
		t.Error("RandomCCN(nil) is not valid")
	}
}

func TestDiffPrivacyHelper(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const n = 10000
	var sum, sumAbs float64
	for range n {
		d := DiffPrivacy(5, 1, rng) - 5
		sum += d
		sumAbs += math.Abs(d)
	}
	if m := sum / n; math.Abs(m) > 0.1 {
		t.Errorf("mean noise %v", m)
	}
	if m := sumAbs / n; math.Abs(m-1) > 0.1 {
		t.Errorf("mean |noise| %v, want 1±0.1", m)
	}
	for _, eps := range []float64{0, -1, math.NaN(), math.Inf(1), 1e-320} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("DiffPrivacy with epsilon %v did not panic", eps)
				}
			}()
			DiffPrivacy(1, eps, rng)
		}()
		if _, err := Eval("diff_privacy", double(1), []Value{double(eps)}, rng); err == nil {
			t.Errorf("Eval(diff_privacy, 1, %v) did not fail", eps)
		}
	}
}

func TestDiffPrivacyTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for range 1000 {
		v, err := Eval("diff_privacy", decimal("decimal(5,2)", "-999.99"), []Value{double(0.01)}, rng)
		if err != nil {
			t.Fatal(err)
		}
		s := v.V.(string)
		if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-1 != 2 {
			t.Fatalf("decimal(5,2) result %q does not have scale 2", s)
		}
		if _, _, err := parseDecimal(typeInfo{name: "decimal(5,2)", class: classDecimal, prec: 5, scale: 2}, s); err != nil {
			t.Fatal(err)
		}
		f, _ := Eval("diff_privacy", float(1.1), nil, rng)
		if x := f.V.(float64); float64(float32(x)) != x {
			t.Fatalf("float result %v is not a float32", x)
		}
		b, _ := Eval("diff_privacy", tinyint(-128), []Value{int32v(1)}, rng)
		if x := b.V.(int64); x < -128 || x > 127 {
			t.Fatalf("tinyint result %d", x)
		}
	}
	// bare decimal keeps the value's own scale
	v, _ := Eval("diff_privacy", decimal("decimal", "1.250"), nil, rng)
	if s := v.V.(string); len(s)-strings.IndexByte(s, '.')-1 != 3 {
		t.Errorf("bare decimal result %q", s)
	}
	if v := eval(t, "zero", decimal("decimal", "1.250")); v.V != "0.000" {
		t.Errorf("zero(decimal 1.250) = %v", v.V)
	}
}

func TestRoundHalfAway(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want int64
	}{{0.5, 1}, {-0.5, -1}, {1.49, 1}, {-1.5, -2}, {2.5, 3}, {0, 0}, {-0.4, 0}} {
		r := roundHalfAway(newRat(tc.in))
		if r.Int64() != tc.want {
			t.Errorf("roundHalfAway(%v) = %v", tc.in, r)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		fn    string
		arg   Value
		extra []Value
	}{
		{"no_such_fn", str("a"), nil},
		{"mask", str("a"), []Value{str("x")}},
		{"diff_privacy", double(1), []Value{double(1), double(1)}},
		{"mask", Value{Type: "string", V: 5}, nil},
		{"mask", Value{Type: "int", V: int64(1) << 40}, nil},
		{"mask", Value{Type: "tinyint", V: int64(128)}, nil},
		{"mask", Value{Type: "float", V: 1.1}, nil},
		{"mask", Value{Type: "decimal(5,2)", V: "1.234"}, nil},
		{"mask", Value{Type: "decimal(5,2)", V: "1000"}, nil},
		{"mask", Value{Type: "decimal(5,2)", V: "1e3"}, nil},
		{"mask", Value{Type: "decimal(40,2)", V: "1"}, nil},
		{"mask", Value{Type: "", V: "x"}, nil},
		{"mask", Value{Type: "int(3)", V: int64(1)}, nil},
		{"diff_privacy", double(1), []Value{str("1")}},
		{"diff_privacy", double(1), []Value{null("double")}},
	} {
		if v, err := Eval(tc.fn, tc.arg, tc.extra, nil); err == nil {
			t.Errorf("Eval(%s, %v, %v) = %v, want an error", tc.fn, tc.arg, tc.extra, v)
		}
	}
}

func TestLookupAndNames(t *testing.T) {
	want := []string{"diff_privacy", "fnv_hash", "hash", "mask", "mask_ccn", "null", "phi_age",
		"random_ccn", "sha2", "tokenize", "zero"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v", got)
	}
	for _, n := range []string{"MASK_CCN", "Mask", "diff_PRIVACY"} {
		f, ok := Lookup(n)
		if !ok || f.Name != strings.ToLower(n) || f.Doc == "" {
			t.Errorf("Lookup(%q) = %+v, %v", n, f, ok)
		}
	}
	if _, ok := Lookup("mask2"); ok {
		t.Error("Lookup(mask2) found something")
	}
	for _, n := range Names() {
		f, _ := Lookup(n)
		wantDet := n != "random_ccn" && n != "diff_privacy"
		if f.Deterministic != wantDet || f.MinArgs != 0 || f.MaxArgs != map[bool]int{true: 1, false: 0}[n == "diff_privacy"] {
			t.Errorf("%+v", f)
		}
	}
	v := eval(t, "MASK", str("ab"))
	if v.V != "xx" {
		t.Errorf("MASK(ab) = %v", v.V)
	}
}

func TestResultTypeAndAliases(t *testing.T) {
	for _, tc := range []struct{ fn, in, want string }{
		{"sha2", "string", "bigint"}, {"fnv_hash", "int", "bigint"}, {"hash", "bigint", "string"},
		{"mask", "INTEGER", "int"}, {"zero", "Long", "bigint"}, {"null", "Decimal(10, 2)", "decimal(10,2)"},
		{"mask", "varchar(10)", "varchar(10)"}, {"phi_age", "timestamp", "timestamp"},
	} {
		got, err := ResultType(tc.fn, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ResultType(%s, %s) = %q, %v; want %q", tc.fn, tc.in, got, err, tc.want)
		}
	}
	if v := eval(t, "mask", Value{Type: "VARCHAR(10)", V: "abc"}); v.V != "xxx" || v.Type != "varchar(10)" {
		t.Errorf("mask(varchar) = %+v", v)
	}
	if v := eval(t, "phi_age", Value{Type: "integer", V: int64(100)}); v.V != int64(90) || v.Type != "int" {
		t.Errorf("phi_age(integer 100) = %+v", v)
	}
	if v := eval(t, "zero", Value{Type: "date", V: time.Date(2020, 5, 6, 7, 8, 9, 0, time.Local)}); !valueEqual(v, date("1970-01-01")) {
		t.Errorf("zero(date) = %+v", v)
	}
	if utf8.RuneCountInString(Mask("👨\u200d👩\u200d👧")) != 5 {
		t.Error("ZWJ sequence")
	}
}

func newRat(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }
