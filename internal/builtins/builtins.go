package builtins

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Func describes one builtin.
type Func struct {
	Name string // lower case
	// MinArgs and MaxArgs bound the number of extra literal arguments
	// after the column (the column itself is not counted).
	MinArgs, MaxArgs int
	// Deterministic is false for functions that return a new value on
	// every call (random_ccn, diff_privacy).
	Deterministic bool
	Doc           string
}

var funcs = []Func{
	{Name: "mask", Deterministic: true,
		Doc: "Strings: every code point becomes 'x'. Other types: NULL."},
	{Name: "mask_ccn", Deterministic: true,
		Doc: "Strings: ASCII letters and digits become 'X' except the last 4 (all of them if there are 4 or fewer). Other types: NULL."},
	{Name: "tokenize", Deterministic: true,
		Doc: "Strings, INT, BIGINT: deterministic, format-preserving replacement of every ASCII letter and digit. Other types: NULL."},
	{Name: "sha2", Deterministic: true,
		Doc: "BIGINT from the first 15 hex digits of SHA-256 of the value's string form (strings, integral types, booleans). Other types: NULL."},
	{Name: "hash", Deterministic: true,
		Doc: "Lower-case hex SHA-256 of the value's string form (strings, integral types, booleans). Other types: NULL."},
	{Name: "fnv_hash", Deterministic: true,
		Doc: "FNV-1a 64-bit hash of the value's string form as a signed BIGINT (strings, integral types, booleans). Other types: NULL."},
	{Name: "null", Deterministic: true,
		Doc: "NULL of the column's type."},
	{Name: "zero", Deterministic: true,
		Doc: "The zero of the column's type: '', 0, false, 1970-01-01. Other types: NULL."},
	{Name: "random_ccn", Deterministic: false,
		Doc: "Strings: a random Luhn-valid 16-digit number starting with 4, new on every call. Other types: NULL."},
	{Name: "phi_age", Deterministic: true,
		Doc: "Integral types: min(x, 90). Other types: NULL."},
	{Name: "diff_privacy", MaxArgs: 1, Deterministic: false,
		Doc: "Numeric types: x plus Laplace(0, 1/epsilon) noise, epsilon (default 1.0) > 0; integral types round and saturate. Other types: NULL."},
}

var byName = func() map[string]Func {
	m := make(map[string]Func, len(funcs))
	for _, f := range funcs {
		m[f.Name] = f
	}
	return m
}()

// Lookup finds a builtin by name, ignoring case.
func Lookup(name string) (Func, bool) {
	f, ok := byName[strings.ToLower(name)]
	return f, ok
}

// Names lists the builtins' names, sorted.
func Names() []string {
	out := make([]string, 0, len(funcs))
	for _, f := range funcs {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

// Value is a typed SQL value. Type is a column type name: string, bigint,
// int, smallint, tinyint, double, float, boolean, date, decimal or
// decimal(p,s) (varchar(n)/char(n) are strings; usual aliases such as
// integer or long are accepted; any other name is a type the builtins
// do not transform). V is nil for NULL, otherwise:
//
//	string, varchar, char              string
//	bigint, int, smallint, tinyint     int64 (within the type's range)
//	double                             float64
//	float                              float64 holding a float32 value
//	boolean                            bool
//	date                               time.Time (only its Y-M-D is used)
//	decimal                            string, plain notation ("-12.50")
//	other types                        anything
type Value struct {
	Type string
	V    any
}

// ResultType returns the type of name(column of type argType): BIGINT for
// sha2 and fnv_hash, STRING for hash, the column's own type otherwise
// (canonical spelling: lower case, aliases resolved).
func ResultType(name, argType string) (string, error) {
	f, ok := Lookup(name)
	if !ok {
		return "", fmt.Errorf("builtins: unknown function %q", name)
	}
	ti, err := parseType(argType)
	if err != nil {
		return "", err
	}
	return resultType(f, ti), nil
}

func resultType(f Func, ti typeInfo) string {
	switch f.Name {
	case "sha2", "fnv_hash":
		return "bigint"
	case "hash":
		return "string"
	}
	return ti.name
}

// Eval applies the builtin name to the column value arg with the extra
// literal arguments extra. rng feeds random_ccn and diff_privacy; nil uses
// math/rand/v2's global source. Errors are for calls that cannot be
// planned: unknown function, wrong number of extra arguments, a bad extra
// argument (diff_privacy's epsilon), or a V that does not match its Type.
// A NULL column gives a NULL result of the result type, after the extra
// arguments have been checked.
func Eval(name string, arg Value, extra []Value, rng *rand.Rand) (Value, error) {
	f, ok := Lookup(name)
	if !ok {
		return Value{}, fmt.Errorf("builtins: unknown function %q", name)
	}
	if len(extra) < f.MinArgs || len(extra) > f.MaxArgs {
		if f.MinArgs == f.MaxArgs {
			return Value{}, fmt.Errorf("builtins: %s takes %d argument(s) after the column, got %d", f.Name, f.MaxArgs, len(extra))
		}
		return Value{}, fmt.Errorf("builtins: %s takes %d to %d argument(s) after the column, got %d", f.Name, f.MinArgs, f.MaxArgs, len(extra))
	}
	ti, err := parseType(arg.Type)
	if err != nil {
		return Value{}, err
	}
	if arg.V != nil {
		if err := checkValue(ti, arg.V); err != nil {
			return Value{}, err
		}
	}
	eps := DefaultEpsilon
	if f.Name == "diff_privacy" && len(extra) == 1 {
		if eps, err = epsilonArg(extra[0]); err != nil {
			return Value{}, err
		}
	}
	rt := resultType(f, ti)
	if arg.V == nil {
		return Value{Type: rt, V: nil}, nil
	}
	null := Value{Type: rt, V: nil}
	out := func(v any) (Value, error) { return Value{Type: rt, V: v}, nil }
	switch f.Name {
	case "mask":
		if ti.class == classString {
			return out(Mask(arg.V.(string)))
		}
	case "mask_ccn":
		if ti.class == classString {
			return out(MaskCCN(arg.V.(string)))
		}
	case "tokenize":
		switch {
		case ti.class == classString:
			return out(Tokenize(arg.V.(string)))
		case ti.class == classIntegral && (ti.bits == 64 || ti.bits == 32):
			return out(TokenizeInt(arg.V.(int64), ti.bits))
		}
	case "sha2", "hash", "fnv_hash":
		s, ok := stringForm(ti, arg.V)
		if !ok {
			return null, nil
		}
		switch f.Name {
		case "sha2":
			return out(Sha2(s))
		case "hash":
			return out(Hash(s))
		default:
			return out(FnvHash(s))
		}
	case "null":
		return null, nil
	case "zero":
		switch ti.class {
		case classString:
			return out("")
		case classIntegral:
			return out(int64(0))
		case classDouble, classFloat:
			return out(0.0)
		case classBoolean:
			return out(false)
		case classDate:
			return out(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
		case classDecimal:
			_, scale, _ := parseDecimal(ti, arg.V.(string))
			return out(formatDecimal(new(big.Int), scale))
		}
	case "random_ccn":
		if ti.class == classString {
			return out(RandomCCN(rng))
		}
	case "phi_age":
		if ti.class == classIntegral {
			return out(PhiAge(arg.V.(int64)))
		}
	case "diff_privacy":
		src := pick(rng)
		switch ti.class {
		case classIntegral:
			return out(diffPrivacyInt(arg.V.(int64), ti.bits, eps, src))
		case classDouble:
			return out(arg.V.(float64) + laplace(eps, src))
		case classFloat:
			return out(float64(float32(arg.V.(float64) + laplace(eps, src))))
		case classDecimal:
			u, scale, _ := parseDecimal(ti, arg.V.(string))
			r := diffPrivacyDecimal(u, scale, decimalBound(ti, scale), eps, src)
			return out(formatDecimal(r, scale))
		}
	}
	return null, nil
}

// epsilonArg reads diff_privacy's epsilon: a non-NULL numeric literal,
// finite and > 0.
func epsilonArg(v Value) (float64, error) {
	bad := fmt.Errorf("builtins: diff_privacy's epsilon must be a finite number > 0, got %v (%s)", v.V, v.Type)
	ti, err := parseType(v.Type)
	if err != nil || v.V == nil {
		return 0, bad
	}
	switch ti.class {
	case classIntegral, classDouble, classFloat, classDecimal:
	default:
		return 0, bad
	}
	if err := checkValue(ti, v.V); err != nil {
		return 0, err
	}
	eps, ok := toFloat(ti, v.V)
	if !ok || !checkEpsilon(eps) {
		return 0, bad
	}
	return eps, nil
}

// stringForm is the text sha2, hash and fnv_hash digest: strings as they
// are, integral types in decimal, booleans as true/false.
func stringForm(ti typeInfo, v any) (string, bool) {
	switch ti.class {
	case classString:
		return v.(string), true
	case classIntegral:
		return strconv.FormatInt(v.(int64), 10), true
	case classBoolean:
		if v.(bool) {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
