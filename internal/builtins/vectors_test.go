package builtins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorsPath is the test-vector file shared with the Scala test suite.
var vectorsPath = filepath.Join("..", "..", "testdata", "builtins", "vectors.json")

// ---- The file format (see docs/builtins.md, "Test vectors") ----

type jsonValue struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type vectorCase struct {
	Fn     string      `json:"fn"`
	Args   []jsonValue `json:"args"`
	Result *jsonValue  `json:"result,omitempty"`
	Error  bool        `json:"error,omitempty"`
	Note   string      `json:"note,omitempty"`
}

type vectorProperty struct {
	Fn         string      `json:"fn"`
	Args       []jsonValue `json:"args"`
	Check      string      `json:"check"`
	Draws      int         `json:"draws"`
	Distinct   bool        `json:"distinct,omitempty"`
	MeanTol    float64     `json:"mean_tol,omitempty"`
	AbsMean    float64     `json:"abs_mean,omitempty"`
	AbsMeanTol float64     `json:"abs_mean_tol,omitempty"`
	Note       string      `json:"note,omitempty"`
}

type vectorFile struct {
	Version     int              `json:"version"`
	Description string           `json:"description"`
	Cases       []vectorCase     `json:"cases"`
	Properties  []vectorProperty `json:"properties"`
}

const vectorsDescription = "Test vectors for lakegate's builtins, read by the Go and the Scala test suites. " +
	"Spec and format: docs/builtins.md. Generated: LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/builtins -run TestVectors"

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// encodeValue renders v in the file's form.
func encodeValue(v Value) (jsonValue, error) {
	ti, err := parseType(v.Type)
	if err != nil {
		return jsonValue{}, err
	}
	jv := jsonValue{Type: v.Type}
	if v.V == nil {
		jv.Value = json.RawMessage("null")
		return jv, nil
	}
	if err := checkValue(ti, v.V); err != nil {
		return jsonValue{}, err
	}
	var raw []byte
	switch ti.class {
	case classString, classDecimal:
		raw, err = marshalCompact(v.V.(string))
	case classIntegral:
		raw = []byte(strconv.FormatInt(v.V.(int64), 10))
	case classDouble, classFloat:
		f := v.V.(float64)
		switch {
		case math.IsNaN(f):
			raw = []byte(`"NaN"`)
		case math.IsInf(f, 1):
			raw = []byte(`"Infinity"`)
		case math.IsInf(f, -1):
			raw = []byte(`"-Infinity"`)
		case ti.class == classFloat:
			raw = []byte(strconv.FormatFloat(f, 'g', -1, 32))
		default:
			raw = []byte(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case classBoolean:
		raw = []byte(strconv.FormatBool(v.V.(bool)))
	case classDate:
		raw = []byte(`"` + v.V.(time.Time).Format(time.DateOnly) + `"`)
	default:
		return jsonValue{}, fmt.Errorf("type %q cannot appear in the vectors", v.Type)
	}
	jv.Value = raw
	return jv, err
}

// decodeValue reads a value of the file.
func decodeValue(jv jsonValue) (Value, error) {
	ti, err := parseType(jv.Type)
	if err != nil {
		return Value{}, err
	}
	raw := strings.TrimSpace(string(jv.Value))
	if raw == "" || raw == "null" {
		return Value{Type: jv.Type}, nil
	}
	var v any
	switch ti.class {
	case classString, classDecimal:
		var s string
		err = json.Unmarshal([]byte(raw), &s)
		v = s
	case classIntegral:
		v, err = strconv.ParseInt(raw, 10, 64)
	case classDouble, classFloat:
		bits := 64
		if ti.class == classFloat {
			bits = 32
		}
		var f float64
		switch raw {
		case `"NaN"`:
			f = math.NaN()
		case `"Infinity"`:
			f = math.Inf(1)
		case `"-Infinity"`:
			f = math.Inf(-1)
		default:
			f, err = strconv.ParseFloat(raw, bits)
		}
		v = f
	case classBoolean:
		var b bool
		err = json.Unmarshal([]byte(raw), &b)
		v = b
	case classDate:
		var s string
		if err = json.Unmarshal([]byte(raw), &s); err == nil {
			v, err = time.Parse(time.DateOnly, s)
		}
	default:
		return Value{}, fmt.Errorf("type %q cannot appear in the vectors", jv.Type)
	}
	if err != nil {
		return Value{}, fmt.Errorf("value %s of type %s: %v", raw, jv.Type, err)
	}
	if err := checkValue(ti, v); err != nil {
		return Value{}, err
	}
	return Value{Type: jv.Type, V: v}, nil
}

// valueEqual compares two values the way both test suites must: same type
// name, both NULL or equal values; floating point by bits (NaN equals
// NaN), decimals numerically, dates by their Y-M-D.
func valueEqual(a, b Value) bool {
	if a.Type != b.Type || (a.V == nil) != (b.V == nil) {
		return false
	}
	if a.V == nil {
		return true
	}
	ti, err := parseType(a.Type)
	if err != nil {
		return false
	}
	switch ti.class {
	case classDouble, classFloat:
		x, ok1 := a.V.(float64)
		y, ok2 := b.V.(float64)
		return ok1 && ok2 && (math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y))
	case classDecimal:
		x, ok1 := new(big.Rat).SetString(a.V.(string))
		y, ok2 := new(big.Rat).SetString(b.V.(string))
		return ok1 && ok2 && x.Cmp(y) == 0
	case classDate:
		x, y := a.V.(time.Time), b.V.(time.Time)
		return x.Format(time.DateOnly) == y.Format(time.DateOnly)
	}
	return a.V == b.V
}

func showValue(v Value) string {
	jv, err := encodeValue(v)
	if err != nil {
		return fmt.Sprintf("%s %#v", v.Type, v.V)
	}
	return jv.Type + " " + string(jv.Value)
}

// writeVectors renders the file: one case or property per line, so diffs
// stay readable.
func writeVectors(f vectorFile) ([]byte, error) {
	var b bytes.Buffer
	head, err := marshalCompact(f.Description)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "{\n  \"version\": %d,\n  \"description\": %s,\n  \"cases\": [\n", f.Version, head)
	for i, c := range f.Cases {
		line, err := marshalCompact(c)
		if err != nil {
			return nil, err
		}
		b.WriteString("    ")
		b.Write(line)
		if i < len(f.Cases)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ],\n  \"properties\": [\n")
	for i, p := range f.Properties {
		line, err := marshalCompact(p)
		if err != nil {
			return nil, err
		}
		b.WriteString("    ")
		b.Write(line)
		if i < len(f.Properties)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes(), nil
}

func readVectors(t *testing.T) vectorFile {
	t.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (generate it: LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/builtins -run TestVectors)", err)
	}
	var f vectorFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", vectorsPath, err)
	}
	return f
}

// ---- The case list the file is generated from ----

func str(s string) Value        { return Value{Type: "string", V: s} }
func bigint(x int64) Value      { return Value{Type: "bigint", V: x} }
func int32v(x int64) Value      { return Value{Type: "int", V: x} }
func smallint(x int64) Value    { return Value{Type: "smallint", V: x} }
func tinyint(x int64) Value     { return Value{Type: "tinyint", V: x} }
func double(x float64) Value    { return Value{Type: "double", V: x} }
func float(x float32) Value     { return Value{Type: "float", V: float64(x)} }
func boolean(b bool) Value      { return Value{Type: "boolean", V: b} }
func decimal(t, s string) Value { return Value{Type: t, V: s} }
func null(t string) Value       { return Value{Type: t} }
func date(s string) Value {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return Value{Type: "date", V: d}
}

type caseSpec struct {
	fn      string
	args    []Value
	wantErr bool
	note    string
}

func c(fn string, args ...Value) caseSpec { return caseSpec{fn: fn, args: args} }
func cn(note, fn string, args ...Value) caseSpec {
	return caseSpec{fn: fn, args: args, note: note}
}
func cerr(note, fn string, args ...Value) caseSpec {
	return caseSpec{fn: fn, args: args, wantErr: true, note: note}
}

// otherTypes is one non-NULL value of each type class but strings; used
// to show that a string-only function gives NULL for all of them.
func otherTypes() []Value {
	return []Value{bigint(4111111111111111), int32v(1234), smallint(12), tinyint(7),
		double(1.5), float(2.5), boolean(true), date("2024-02-29"), decimal("decimal(10,2)", "12.50")}
}

func vectorCases() []caseSpec {
	var cs []caseSpec
	add := func(more ...caseSpec) { cs = append(cs, more...) }
	forEach := func(fn string, vs []Value) {
		for _, v := range vs {
			add(c(fn, v))
		}
	}

	// mask
	add(cn("Okera fact", "mask", str("abcd")),
		c("mask", str("")),
		c("mask", null("string")),
		c("mask", str("ABC-123 x")),
		c("mask", str("ümlaut")),
		c("mask", str("日本語")),
		cn("astral code points count once each", "mask", str("😀👍")),
		cn("ZWJ sequence: 5 code points", "mask", str("👨\u200d👩\u200d👧")),
		cn("combining accent: 2 code points", "mask", str("e\u0301")),
		c("mask", str("a\tb\nc")),
		c("mask", null("bigint")),
	)
	forEach("mask", otherTypes())

	// mask_ccn
	add(cn("Okera fact", "mask_ccn", str("abcd-efgh")),
		c("mask_ccn", str("4111-1111-1111-1234")),
		c("mask_ccn", str("4111111111111234")),
		c("mask_ccn", str("4111 1111 1111 1234 😀")),
		cn("4 or fewer letters/digits: all masked", "mask_ccn", str("1234")),
		c("mask_ccn", str("ab-c")),
		c("mask_ccn", str("12345")),
		c("mask_ccn", str("")),
		c("mask_ccn", str("----")),
		cn("only ASCII letters and digits count; ü is kept", "mask_ccn", str("ümlaut-1234")),
		c("mask_ccn", str("日本語 4111 1111")),
		cn("full-width digits are not ASCII: kept", "mask_ccn", str("１２３４５６")),
		c("mask_ccn", null("string")),
	)
	forEach("mask_ccn", otherTypes())

	// tokenize
	for _, s := range []string{"abcd", "ABCD", "0123456789", "4111-1111-1111-1234", "", "a", "z", "Z", "9",
		"ümlaut", "日本語", "Hello, World! 😀", "user@example.com", "  ", "--",
		"The quick brown fox jumps over the lazy dog 0123456789"} {
		add(c("tokenize", str(s)))
	}
	add(c("tokenize", null("string")),
		c("tokenize", bigint(0)), c("tokenize", bigint(1234)), c("tokenize", bigint(-1234)),
		c("tokenize", bigint(999999999999999999)),
		cn("19 digits that still fit", "tokenize", bigint(math.MaxInt64)),
		cn("tokenized digits exceed BIGINT: the last 18 are kept", "tokenize", bigint(1007407407347407402)),
		cn("tokenized digits exceed BIGINT: the last 18 are kept", "tokenize", bigint(-1007407407347407402)),
		c("tokenize", bigint(math.MinInt64)),
		c("tokenize", bigint(4111111111111111)),
		c("tokenize", null("bigint")),
		c("tokenize", int32v(0)), c("tokenize", int32v(7)), c("tokenize", int32v(-45)),
		c("tokenize", int32v(123456789)),
		cn("tokenized digits exceed INT: the last 9 are kept", "tokenize", int32v(1000000000)),
		c("tokenize", int32v(math.MaxInt32)), c("tokenize", int32v(math.MinInt32)),
		c("tokenize", null("int")),
		cn("only string, int and bigint are tokenized", "tokenize", smallint(12)),
		c("tokenize", tinyint(7)), c("tokenize", double(1.5)), c("tokenize", float(2.5)),
		c("tokenize", boolean(true)), c("tokenize", date("2024-02-29")),
		c("tokenize", decimal("decimal(10,2)", "12.50")),
	)

	// sha2, hash, fnv_hash share their inputs.
	digestIn := []Value{str("abcd"), str(""), str("ümlaut"), str("日本語"), str("😀"), str("1234"),
		bigint(1234), int32v(-5), smallint(7), tinyint(-128), boolean(true), boolean(false),
		bigint(math.MinInt64), str("true"),
		null("string"), null("bigint"), null("boolean"),
		double(1.5), float(2.5), date("2024-02-29"), decimal("decimal(10,2)", "12.50")}
	add(cn("Okera fact: 0x88d4266fd4e6338", "sha2", str("abcd")))
	forEach("sha2", digestIn[1:])
	forEach("hash", digestIn)
	forEach("fnv_hash", digestIn)

	// null
	all := append([]Value{str("abc"), str("")}, otherTypes()...)
	forEach("null", all)
	add(c("null", null("string")), c("null", null("date")), c("null", double(math.NaN())))

	// zero
	add(cn("Okera fact", "zero", str("x")))
	forEach("zero", []Value{str(""), str("日本語"), bigint(5), int32v(-3), smallint(12), tinyint(-7),
		double(3.5), double(math.Inf(-1)), float(2.5), boolean(true), boolean(false), date("2024-02-29"),
		decimal("decimal(10,2)", "12.50"), decimal("decimal(5,0)", "-7"),
		null("string"), null("int"), null("decimal(10,2)")})

	// random_ccn: only the deterministic outcomes; see the properties.
	forEach("random_ccn", []Value{null("string")})
	forEach("random_ccn", otherTypes())

	// phi_age
	add(cn("Okera fact", "phi_age", bigint(95)),
		cn("Okera fact", "phi_age", int32v(45)),
		cn("Okera fact", "phi_age", int32v(90)),
		c("phi_age", int32v(91)), c("phi_age", smallint(200)), c("phi_age", tinyint(127)),
		c("phi_age", tinyint(-5)), c("phi_age", bigint(0)), c("phi_age", bigint(math.MaxInt64)),
		c("phi_age", null("int")),
		cn("integral types only", "phi_age", str("95")),
		c("phi_age", double(95.5)), c("phi_age", float(95.5)), c("phi_age", boolean(true)),
		c("phi_age", date("1930-01-01")), c("phi_age", decimal("decimal(10,2)", "95.00")),
	)

	// diff_privacy: deterministic outcomes and rejected calls.
	add(c("diff_privacy", null("double")),
		c("diff_privacy", null("bigint"), double(2)),
		c("diff_privacy", null("decimal(10,2)")),
		c("diff_privacy", str("abc")), c("diff_privacy", str("")),
		c("diff_privacy", boolean(true)), c("diff_privacy", date("2024-02-29")),
		c("diff_privacy", null("string"), double(0.5)),
		cerr("epsilon must be > 0", "diff_privacy", double(1), double(0)),
		cerr("epsilon must be > 0", "diff_privacy", bigint(1), int32v(-1)),
		cerr("epsilon must be finite", "diff_privacy", double(1), double(math.Inf(1))),
		cerr("epsilon must not be NaN", "diff_privacy", double(1), double(math.NaN())),
		cerr("epsilon must not be NULL", "diff_privacy", double(1), null("double")),
		cerr("epsilon must be numeric", "diff_privacy", double(1), str("1")),
		cerr("the checks on epsilon come before the NULL rule", "diff_privacy", null("double"), double(0)),
		cerr("at most one argument after the column", "diff_privacy", double(1), double(1), double(1)),
		cerr("mask takes no argument after the column", "mask", str("abcd"), str("x")),
		cerr("tokenize takes no argument after the column", "tokenize", str("abcd"), int32v(1)),
	)
	return cs
}

// vectorProperties are the checks for the random functions.
func vectorProperties() []vectorProperty {
	p := func(fn, check string, draws int, args ...Value) vectorProperty {
		vp := vectorProperty{Fn: fn, Check: check, Draws: draws}
		for _, a := range args {
			jv, err := encodeValue(a)
			if err != nil {
				panic(err)
			}
			vp.Args = append(vp.Args, jv)
		}
		return vp
	}
	luhn := func(arg Value) vectorProperty {
		vp := p("random_ccn", "luhn16", 100, arg)
		vp.Distinct = true
		return vp
	}
	// laplace: mean(noise) within ±meanTol of 0, mean(|noise|) within
	// absMean ± absTol; absMean is 1/epsilon for continuous types.
	lap := func(absMean, meanTol, absTol float64, args ...Value) vectorProperty {
		vp := p("diff_privacy", "laplace", 10000, args...)
		vp.MeanTol, vp.AbsMean, vp.AbsMeanTol = meanTol, absMean, absTol
		return vp
	}
	// For integral types the noise is rounded: E|round(L)| for
	// L ~ Laplace(0, b) is e^(1/(2b)) / (e^(1/b) - 1).
	roundedAbs := func(b float64) float64 {
		v := math.Exp(1/(2*b)) / (math.Exp(1/b) - 1)
		return math.Round(v*1e4) / 1e4
	}
	props := []vectorProperty{
		luhn(str("x")), luhn(str("")), luhn(str("4111-1111-1111-1234")), luhn(str("日本語 😀")),
		lap(1, 0.1, 0.1, double(0), double(1)),
		lap(1, 0.1, 0.1, double(0)),
		lap(0.5, 0.05, 0.05, double(100), double(2)),
		lap(1, 0.1, 0.1, float(1.5), float(1)),
		lap(1, 0.1, 0.1, decimal("decimal(10,2)", "12.50"), double(1)),
		lap(roundedAbs(1), 0.1, 0.1, bigint(0), double(1)),
		lap(roundedAbs(2), 0.2, 0.2, int32v(1000), double(0.5)),
		lap(roundedAbs(1), 0.1, 0.1, smallint(-300), int32v(1)),
		lap(roundedAbs(1), 0.1, 0.1, tinyint(0), decimal("decimal(3,1)", "1.0")),
		p("diff_privacy", "saturates", 1000, tinyint(120), double(0.01)),
		p("diff_privacy", "saturates", 1000, smallint(-32000), double(0.001)),
		p("diff_privacy", "saturates", 1000, int32v(math.MaxInt32-5), double(0.1)),
		p("diff_privacy", "saturates", 1000, bigint(math.MaxInt64), double(1)),
		p("diff_privacy", "saturates", 1000, bigint(math.MinInt64), double(1)),
		p("diff_privacy", "saturates", 1000, decimal("decimal(5,2)", "999.00"), double(1)),
	}
	return props
}

// generateVectors evaluates the case list with this package.
func generateVectors() (vectorFile, error) {
	f := vectorFile{Version: 1, Description: vectorsDescription}
	for _, cs := range vectorCases() {
		vc := vectorCase{Fn: cs.fn, Note: cs.note}
		for _, a := range cs.args {
			jv, err := encodeValue(a)
			if err != nil {
				return f, fmt.Errorf("%s: %v", cs.fn, err)
			}
			vc.Args = append(vc.Args, jv)
		}
		res, err := Eval(cs.fn, cs.args[0], cs.args[1:], rand.New(rand.NewPCG(1, 2)))
		if (err != nil) != cs.wantErr {
			return f, fmt.Errorf("%s%v: error %v, want error: %v", cs.fn, cs.args, err, cs.wantErr)
		}
		if err != nil {
			vc.Error = true
		} else {
			again, _ := Eval(cs.fn, cs.args[0], cs.args[1:], rand.New(rand.NewPCG(3, 4)))
			if !valueEqual(res, again) {
				return f, fmt.Errorf("%s%v is not deterministic: move it to the properties", cs.fn, cs.args)
			}
			jv, err := encodeValue(res)
			if err != nil {
				return f, err
			}
			vc.Result = &jv
		}
		f.Cases = append(f.Cases, vc)
	}
	f.Properties = vectorProperties()
	return f, nil
}

// ---- The tests ----

func TestVectors(t *testing.T) {
	gen, err := generateVectors()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LAKEGATE_UPDATE_GOLDEN") == "1" {
		data, err := writeVectors(gen)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(vectorsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d cases, %d properties", vectorsPath, len(gen.Cases), len(gen.Properties))
	}
	file := readVectors(t)

	t.Run("file matches the case list", func(t *testing.T) {
		for _, d := range diffVectors(file, gen) {
			t.Error(d)
		}
		if t.Failed() {
			t.Log("regenerate with LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/builtins -run TestVectors (and add new cases to vectors_test.go, not to the file)")
		}
	})

	t.Run("cases", func(t *testing.T) {
		if file.Version != 1 {
			t.Fatalf("version %d", file.Version)
		}
		for i, vc := range file.Cases {
			args := make([]Value, len(vc.Args))
			for j, a := range vc.Args {
				if args[j], err = decodeValue(a); err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
			}
			got, err := Eval(vc.Fn, args[0], args[1:], rand.New(rand.NewPCG(5, 6)))
			if vc.Error {
				if err == nil {
					t.Errorf("case %d: %s%s = %s, want an error", i, vc.Fn, showArgs(args), showValue(got))
				}
				continue
			}
			if err != nil {
				t.Errorf("case %d: %s%s: %v", i, vc.Fn, showArgs(args), err)
				continue
			}
			if vc.Result == nil {
				t.Fatalf("case %d has neither result nor error", i)
			}
			want, err := decodeValue(*vc.Result)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if !valueEqual(got, want) {
				t.Errorf("case %d: %s%s = %s, want %s", i, vc.Fn, showArgs(args), showValue(got), showValue(want))
			}
		}
	})

	t.Run("properties", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for i, p := range file.Properties {
			if err := checkProperty(p, rng); err != nil {
				t.Errorf("property %d (%s %s): %v", i, p.Fn, p.Check, err)
			}
		}
	})

	t.Run("coverage", func(t *testing.T) {
		if len(file.Cases) < 80 {
			t.Errorf("only %d cases", len(file.Cases))
		}
		classes := []string{"string", "bigint", "int", "smallint", "tinyint", "double", "float", "boolean", "date", "decimal"}
		seen := map[string]map[string]bool{}
		nulls := map[string]bool{}
		note := func(fn string, a jsonValue) {
			if seen[fn] == nil {
				seen[fn] = map[string]bool{}
			}
			base, _, _ := strings.Cut(a.Type, "(")
			seen[fn][base] = true
			if string(a.Value) == "null" {
				nulls[fn] = true
			}
		}
		for _, vc := range file.Cases {
			if !vc.Error {
				note(vc.Fn, vc.Args[0])
			}
		}
		for _, p := range file.Properties {
			note(p.Fn, p.Args[0])
		}
		for _, fn := range Names() {
			for _, cl := range classes {
				if !seen[fn][cl] {
					t.Errorf("%s: no vector with a %s column", fn, cl)
				}
			}
			if !nulls[fn] {
				t.Errorf("%s: no vector with a NULL column", fn)
			}
		}
	})
}

func showArgs(args []Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = showValue(a)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// diffVectors lists how file differs from gen, comparing values by
// meaning (so whitespace and number spelling do not matter).
func diffVectors(file, gen vectorFile) []string {
	var out []string
	add := func(format string, a ...any) {
		if len(out) < 20 {
			out = append(out, fmt.Sprintf(format, a...))
		}
	}
	sameValues := func(a, b []jsonValue) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			x, err1 := decodeValue(a[i])
			y, err2 := decodeValue(b[i])
			if err1 != nil || err2 != nil || !valueEqual(x, y) {
				return false
			}
		}
		return true
	}
	if file.Version != gen.Version || file.Description != gen.Description {
		add("header differs")
	}
	if len(file.Cases) != len(gen.Cases) {
		add("file has %d cases, the case list %d", len(file.Cases), len(gen.Cases))
	}
	for i := range min(len(file.Cases), len(gen.Cases)) {
		f, g := file.Cases[i], gen.Cases[i]
		same := f.Fn == g.Fn && f.Error == g.Error && f.Note == g.Note && sameValues(f.Args, g.Args) &&
			(f.Result == nil) == (g.Result == nil) && (f.Result == nil || sameValues([]jsonValue{*f.Result}, []jsonValue{*g.Result}))
		if !same {
			fl, _ := marshalCompact(f)
			gl, _ := marshalCompact(g)
			add("case %d:\n  file: %s\n  want: %s", i, fl, gl)
		}
	}
	if len(file.Properties) != len(gen.Properties) {
		add("file has %d properties, the list %d", len(file.Properties), len(gen.Properties))
	}
	for i := range min(len(file.Properties), len(gen.Properties)) {
		f, g := file.Properties[i], gen.Properties[i]
		fa, ga := f.Args, g.Args
		f.Args, g.Args = nil, nil
		fl, _ := marshalCompact(f)
		gl, _ := marshalCompact(g)
		if !bytes.Equal(fl, gl) || !sameValues(fa, ga) {
			add("property %d:\n  file: %s\n  want: %s", i, fl, gl)
		}
	}
	return out
}

// checkProperty runs one property of the file, as the Scala suite must.
func checkProperty(p vectorProperty, rng *rand.Rand) error {
	if len(p.Args) == 0 || p.Draws <= 0 {
		return fmt.Errorf("needs args and draws")
	}
	args := make([]Value, len(p.Args))
	for i, a := range p.Args {
		var err error
		if args[i], err = decodeValue(a); err != nil {
			return err
		}
	}
	ti, _ := parseType(args[0].Type)
	results := make([]Value, p.Draws)
	for i := range results {
		r, err := Eval(p.Fn, args[0], args[1:], rng)
		if err != nil {
			return err
		}
		if r.V == nil {
			return fmt.Errorf("draw %d is NULL", i)
		}
		results[i] = r
	}
	switch p.Check {
	case "luhn16":
		seen := map[string]bool{}
		for _, r := range results {
			s, _ := r.V.(string)
			if r.Type != "string" || !isLuhn16(s) {
				return fmt.Errorf("%s is not a Luhn-valid 16-digit number starting with 4", showValue(r))
			}
			seen[s] = true
		}
		if p.Distinct && len(seen) != len(results) {
			return fmt.Errorf("only %d distinct values in %d draws", len(seen), len(results))
		}
	case "laplace":
		var sum, sumAbs float64
		for _, r := range results {
			if r.Type != args[0].Type {
				return fmt.Errorf("result type %s, want %s", r.Type, args[0].Type)
			}
			if err := checkValue(ti, r.V); err != nil {
				return err
			}
			n := noise(ti, args[0].V, r.V)
			sum += n
			sumAbs += math.Abs(n)
		}
		mean, absMean := sum/float64(p.Draws), sumAbs/float64(p.Draws)
		if math.Abs(mean) > p.MeanTol {
			return fmt.Errorf("mean noise %.4f, want within ±%g", mean, p.MeanTol)
		}
		if math.Abs(absMean-p.AbsMean) > p.AbsMeanTol {
			return fmt.Errorf("mean |noise| %.4f, want %g ± %g", absMean, p.AbsMean, p.AbsMeanTol)
		}
	case "saturates":
		hit := false
		for _, r := range results {
			if r.Type != args[0].Type {
				return fmt.Errorf("result type %s, want %s", r.Type, args[0].Type)
			}
			if err := checkValue(ti, r.V); err != nil {
				return err
			}
			switch ti.class {
			case classIntegral:
				lo, hi := intRange(ti.bits)
				hit = hit || r.V.(int64) == lo || r.V.(int64) == hi
			case classDecimal:
				u, scale, _ := parseDecimal(ti, r.V.(string))
				hit = hit || new(big.Int).Abs(u).Cmp(decimalBound(ti, scale)) == 0
			default:
				return fmt.Errorf("saturates needs an integral or decimal column")
			}
		}
		if !hit {
			return fmt.Errorf("no draw reached the type's bound")
		}
	default:
		return fmt.Errorf("unknown check %q", p.Check)
	}
	return nil
}

// noise is result - x, exact for integral and decimal types.
func noise(ti typeInfo, x, r any) float64 {
	switch ti.class {
	case classIntegral:
		d := new(big.Int).Sub(big.NewInt(r.(int64)), big.NewInt(x.(int64)))
		f, _ := new(big.Float).SetInt(d).Float64()
		return f
	case classDecimal:
		a, _ := new(big.Rat).SetString(r.(string))
		b, _ := new(big.Rat).SetString(x.(string))
		f, _ := a.Sub(a, b).Float64()
		return f
	}
	return r.(float64) - x.(float64)
}

// isLuhn16 is an independent Luhn check (not LuhnValid), so the
// properties do not trust the code they test.
func isLuhn16(s string) bool {
	if len(s) != 16 || s[0] != '4' {
		return false
	}
	sum := 0
	for i := 0; i < 16; i++ {
		c := s[15-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
