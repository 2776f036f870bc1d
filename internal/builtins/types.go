package builtins

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// class is the family of a column type; the builtins dispatch on it.
type class int

const (
	classOther    class = iota // any type outside the list below: every masking function returns NULL
	classString                // string, varchar(n), char(n)
	classIntegral              // tinyint, smallint, int, bigint
	classDouble                // double
	classFloat                 // float (32-bit)
	classBoolean               // boolean
	classDate                  // date
	classDecimal               // decimal, decimal(p,s)
)

// typeInfo is a parsed column type name.
type typeInfo struct {
	name  string // canonical name: lower case, no blanks, aliases resolved
	class class
	bits  int // classIntegral: 8, 16, 32 or 64
	// classDecimal: precision and scale; prec 0 means a bare "decimal",
	// whose values keep their own scale and may have up to 38 digits.
	prec, scale int
}

// aliases maps other spellings of the basic types (Spark, Hive and JDBC
// names) to the canonical ones the vectors use.
var aliases = map[string]string{
	"integer": "int",
	"long":    "bigint",
	"short":   "smallint",
	"byte":    "tinyint",
	"real":    "float",
	"bool":    "boolean",
	"numeric": "decimal",
	"dec":     "decimal",
}

func parseType(t string) (typeInfo, error) {
	name := strings.ToLower(strings.Join(strings.Fields(t), ""))
	if name == "" {
		return typeInfo{}, fmt.Errorf("builtins: value has no type")
	}
	base, params, hasParams := strings.Cut(name, "(")
	if a, ok := aliases[base]; ok {
		base = a
		if hasParams {
			name = base + "(" + params
		} else {
			name = base
		}
	}
	ti := typeInfo{name: name}
	switch base {
	case "string", "varchar", "char":
		ti.class = classString
	case "tinyint":
		ti.class, ti.bits = classIntegral, 8
	case "smallint":
		ti.class, ti.bits = classIntegral, 16
	case "int":
		ti.class, ti.bits = classIntegral, 32
	case "bigint":
		ti.class, ti.bits = classIntegral, 64
	case "double":
		ti.class = classDouble
	case "float":
		ti.class = classFloat
	case "boolean":
		ti.class = classBoolean
	case "date":
		ti.class = classDate
	case "decimal":
		ti.class = classDecimal
		if hasParams {
			p, s, ok := parseDecimalParams(params)
			if !ok {
				return typeInfo{}, fmt.Errorf("builtins: bad decimal type %q", t)
			}
			ti.prec, ti.scale = p, s
		}
	default:
		return ti, nil // classOther
	}
	if hasParams && ti.class != classString && ti.class != classDecimal {
		return typeInfo{}, fmt.Errorf("builtins: type %q takes no parameters", t)
	}
	return ti, nil
}

// parseDecimalParams parses "p,s)" or "p)".
func parseDecimalParams(params string) (p, s int, ok bool) {
	inner, rest, found := strings.Cut(params, ")")
	if !found || rest != "" {
		return 0, 0, false
	}
	ps, ss, hasScale := strings.Cut(inner, ",")
	p, err := strconv.Atoi(ps)
	if err != nil || p < 1 || p > 38 {
		return 0, 0, false
	}
	if hasScale {
		if s, err = strconv.Atoi(ss); err != nil || s < 0 || s > p {
			return 0, 0, false
		}
	}
	return p, s, true
}

// intRange is the range of a signed integer of the given width.
func intRange(bits int) (lo, hi int64) {
	hi = int64(uint64(1)<<(bits-1) - 1)
	return -hi - 1, hi
}

// checkValue verifies that v (not nil) is the Go representation of a
// value of type ti.
func checkValue(ti typeInfo, v any) error {
	bad := func(want string) error {
		return fmt.Errorf("builtins: a %s value must be %s, not %T", ti.name, want, v)
	}
	switch ti.class {
	case classString:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case classIntegral:
		x, ok := v.(int64)
		if !ok {
			return bad("an int64")
		}
		if lo, hi := intRange(ti.bits); x < lo || x > hi {
			return fmt.Errorf("builtins: %d is out of range for %s", x, ti.name)
		}
	case classDouble:
		if _, ok := v.(float64); !ok {
			return bad("a float64")
		}
	case classFloat:
		x, ok := v.(float64)
		if !ok {
			return bad("a float64")
		}
		if float64(float32(x)) != x && !math.IsNaN(x) {
			return fmt.Errorf("builtins: %v is not a float (32-bit) value", x)
		}
	case classBoolean:
		if _, ok := v.(bool); !ok {
			return bad("a bool")
		}
	case classDate:
		if _, ok := v.(time.Time); !ok {
			return bad("a time.Time")
		}
	case classDecimal:
		s, ok := v.(string)
		if !ok {
			return bad("a decimal string")
		}
		if _, _, err := parseDecimal(ti, s); err != nil {
			return err
		}
	}
	return nil
}

// parseDecimal parses a plain decimal string ("-12.50", "3", ".5") into
// its unscaled value at the scale of the type (or, for a bare "decimal",
// at the value's own scale), and returns that scale.
func parseDecimal(ti typeInfo, s string) (*big.Int, int, error) {
	bad := fmt.Errorf("builtins: %q is not a %s value", s, ti.name)
	t := s
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if ip == "" && fp == "" || !allDigits(ip) || !allDigits(fp) {
		return nil, 0, bad
	}
	scale := len(fp)
	if ti.prec > 0 {
		// Trailing zeros beyond the type's scale are allowed.
		trimmed := strings.TrimRight(fp, "0")
		if len(trimmed) > ti.scale {
			return nil, 0, bad
		}
		fp = trimmed + strings.Repeat("0", ti.scale-len(trimmed))
		scale = ti.scale
	}
	u, ok := new(big.Int).SetString("0"+ip+fp, 10)
	if !ok {
		return nil, 0, bad
	}
	if neg {
		u.Neg(u)
	}
	if new(big.Int).Abs(u).Cmp(decimalBound(ti, scale)) > 0 {
		return nil, 0, fmt.Errorf("builtins: %q does not fit %s", s, ti.name)
	}
	return u, scale, nil
}

// decimalBound is the largest unscaled magnitude a value of ti may have:
// 10^p - 1, with p = 38 for a bare "decimal".
func decimalBound(ti typeInfo, scale int) *big.Int {
	p := ti.prec
	if p == 0 {
		p = 38
	}
	b := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	return b.Sub(b, big.NewInt(1))
}

// formatDecimal renders an unscaled value with scale fraction digits.
func formatDecimal(u *big.Int, scale int) string {
	digits := new(big.Int).Abs(u).String()
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if u.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// toFloat converts a non-NULL numeric value to float64.
func toFloat(ti typeInfo, v any) (float64, bool) {
	switch ti.class {
	case classIntegral:
		return float64(v.(int64)), true
	case classDouble, classFloat:
		return v.(float64), true
	case classDecimal:
		u, scale, err := parseDecimal(ti, v.(string))
		if err != nil {
			return 0, false
		}
		r := new(big.Rat).SetFrac(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		f, _ := r.Float64()
		return f, true
	}
	return 0, false
}
