package policy

import "strings"

// constantValue reports whether a bound row filter is the same for every
// row: (value, true) when its boolean structure folds to a constant once
// the helpers are bound (for example "FALSE AND region = 'US'" for a user
// without the role), else (false, false). It only reads the AND / OR / NOT
// / parenthesis structure and treats everything else as an opaque
// condition; anything it does not fully understand (CASE, BETWEEN, an
// unbalanced or unusual shape) is reported as not constant, which is always
// safe: the filter is then sent to the engine as it is.
func constantValue(sql string) (value, known bool) {
	toks, ok := scanFilter(sql)
	if !ok || len(toks) == 0 {
		return false, false
	}
	for _, t := range toks {
		if strings.EqualFold(t, "CASE") || strings.EqualFold(t, "BETWEEN") {
			return false, false
		}
	}
	f := &folder{toks: toks}
	v, k := f.or()
	if !f.ok || f.pos != len(toks) {
		return false, false
	}
	return v, k
}

// scanFilter splits SQL into tokens: quoted strings and identifiers whole,
// words, and single punctuation characters.
func scanFilter(s string) ([]string, bool) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' && c != '`' {
					j++
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, false
			}
			out = append(out, s[i:j+1])
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			out = append(out, s[i:i+1])
			i++
		}
	}
	return out, true
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

type folder struct {
	toks []string
	pos  int
	ok   bool
}

func (f *folder) peekIs(word string) bool {
	return f.pos < len(f.toks) && strings.EqualFold(f.toks[f.pos], word)
}

// Each production returns (value, known).

func (f *folder) or() (bool, bool) {
	f.ok = true
	v, k := f.and()
	for f.ok && f.peekIs("OR") {
		f.pos++
		w, wk := f.and()
		switch {
		case (k && v) || (wk && w):
			v, k = true, true
		case k && wk:
			v, k = false, true
		default:
			v, k = false, false
		}
	}
	return v, k
}

func (f *folder) and() (bool, bool) {
	v, k := f.not()
	for f.ok && f.peekIs("AND") {
		f.pos++
		w, wk := f.not()
		switch {
		case (k && !v) || (wk && !w):
			v, k = false, true
		case k && wk:
			v, k = true, true
		default:
			v, k = false, false
		}
	}
	return v, k
}

func (f *folder) not() (bool, bool) {
	if f.peekIs("NOT") {
		f.pos++
		v, k := f.not()
		return !v, k
	}
	return f.atom()
}

func (f *folder) atom() (bool, bool) {
	if f.pos >= len(f.toks) {
		f.ok = false
		return false, false
	}
	switch t := f.toks[f.pos]; {
	case t == "(":
		start := f.pos
		f.pos++
		v, k := f.or()
		if f.ok && f.pos < len(f.toks) && f.toks[f.pos] == ")" {
			f.pos++
			if f.atEnd() {
				return v, k
			}
		}
		// Not a boolean group (e.g. "(a + b) > 1"): read it as one
		// opaque condition instead.
		f.pos, f.ok = start, true
		return f.opaque()
	case strings.EqualFold(t, "TRUE") && f.endsAfter(1):
		f.pos++
		return true, true
	case strings.EqualFold(t, "FALSE") && f.endsAfter(1):
		f.pos++
		return false, true
	}
	return f.opaque()
}

// atEnd: the next token ends a condition.
func (f *folder) atEnd() bool {
	return f.pos >= len(f.toks) || f.toks[f.pos] == ")" || f.peekIs("AND") || f.peekIs("OR")
}

func (f *folder) endsAfter(n int) bool {
	f.pos += n
	end := f.atEnd()
	f.pos -= n
	return end
}

// opaque consumes one condition the folder does not interpret, up to an
// AND / OR / ")" at its own nesting level.
func (f *folder) opaque() (bool, bool) {
	depth, n := 0, 0
	for f.pos < len(f.toks) {
		t := f.toks[f.pos]
		if depth == 0 && (t == ")" || strings.EqualFold(t, "AND") || strings.EqualFold(t, "OR")) {
			break
		}
		switch t {
		case "(":
			depth++
		case ")":
			depth--
		}
		f.pos++
		n++
	}
	if n == 0 || depth != 0 {
		f.ok = false
		return false, false
	}
	return compareLiterals(f.toks[f.pos-n : f.pos])
}

// compareLiterals folds 'a' = 'b' and 'a' <> 'b' (as user() = 'u' becomes
// once bound) when both sides are plain string literals.
func compareLiterals(t []string) (bool, bool) {
	var op string
	switch {
	case len(t) == 3 && t[1] == "=":
		op = "="
	case len(t) == 4 && ((t[1] == "<" && t[2] == ">") || (t[1] == "!" && t[2] == "=")):
		op, t = "<>", []string{t[0], "", t[3]}
	default:
		return false, false
	}
	a, aok := plainLiteral(t[0])
	b, bok := plainLiteral(t[2])
	if !aok || !bok {
		return false, false
	}
	return (a == b) == (op == "="), true
}

func plainLiteral(t string) (string, bool) {
	if len(t) < 2 || t[0] != '\'' || t[len(t)-1] != '\'' {
		return "", false
	}
	v := t[1 : len(t)-1]
	if strings.ContainsAny(v, "'\\") {
		return "", false
	}
	return v, true
}
