package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Lists inside a row are stored as compact JSON text, NULL when empty:
//
//	grants.columns, grants.attributes  ["a","b"]
//	grants.transforms                  [{"attribute":"ns.tag","function":"mask","args":["'x'"]}]
//	tables.columns                     [{"name":"c","type":"string"}]
//	tables.definer_groups              ["g1","g2"]
//	tables.view_reads                  [{"database":"d","table":"t","uri":""}]
//
// Writing goes through encoding/json. Reading, which Load does for every row
// at start-up, first tries a small parser for exactly the shape written here
// (no whitespace, fixed key order) whose strings, unless they hold escapes,
// are substrings of the column text, so a list costs one slice and no string
// copies. Anything else falls back to encoding/json, so the fast path only
// ever changes the speed.

type jsonColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type jsonTransform struct {
	Attribute string   `json:"attribute"`
	Function  string   `json:"function"`
	Args      []string `json:"args,omitempty"`
}

type jsonViewRead struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	URI      string `json:"uri"`
}

// encodeJSON returns v as compact JSON without HTML escaping.
func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte{'\n'})), nil
}

// The encode functions return nil (SQL NULL) for an empty list.

func encodeStrings(ss []string) (any, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	return encodeJSON(ss)
}

func encodeColumns(cs []catalog.Column) (any, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	js := make([]jsonColumn, len(cs))
	for i, c := range cs {
		js[i] = jsonColumn(c)
	}
	return encodeJSON(js)
}

func encodeTransforms(ts []catalog.Transform) (any, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	js := make([]jsonTransform, len(ts))
	for i, t := range ts {
		js[i] = jsonTransform{Attribute: t.Attribute, Function: t.Function, Args: t.Args}
	}
	return encodeJSON(js)
}

func encodeViewReads(rs []catalog.ViewRead) (any, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	js := make([]jsonViewRead, len(rs))
	for i, r := range rs {
		js[i] = jsonViewRead(r)
	}
	return encodeJSON(js)
}

// The decode functions return nil for "" (SQL NULL) and for an empty list.

func decodeStrings(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	p := parser{s: s}
	if out := p.strings(); p.end() {
		return out, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("decode JSON list %q: %w", s, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func decodeColumns(s string) ([]catalog.Column, error) {
	if s == "" {
		return nil, nil
	}
	p := parser{s: s}
	if out := p.columns(); p.end() {
		return out, nil
	}
	var js []jsonColumn
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode JSON columns %q: %w", s, err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	out := make([]catalog.Column, len(js))
	for i, c := range js {
		out[i] = catalog.Column(c)
	}
	return out, nil
}

func decodeTransforms(s string) ([]catalog.Transform, error) {
	if s == "" {
		return nil, nil
	}
	p := parser{s: s}
	if out := p.transforms(); p.end() {
		return out, nil
	}
	var js []jsonTransform
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode JSON transforms %q: %w", s, err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	out := make([]catalog.Transform, len(js))
	for i, t := range js {
		if len(t.Args) == 0 {
			t.Args = nil
		}
		out[i] = catalog.Transform{Attribute: t.Attribute, Function: t.Function, Args: t.Args}
	}
	return out, nil
}

func decodeViewReads(s string) ([]catalog.ViewRead, error) {
	if s == "" {
		return nil, nil
	}
	p := parser{s: s}
	if out := p.viewReads(); p.end() {
		return out, nil
	}
	var js []jsonViewRead
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode JSON view reads %q: %w", s, err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	out := make([]catalog.ViewRead, len(js))
	for i, r := range js {
		out[i] = catalog.ViewRead(r)
	}
	return out, nil
}

// parser reads the exact JSON shapes the encode functions write, and the
// rows Load asks SQLite to render with json_array. Once it meets anything
// else it fails (bad is set) and the caller falls back to encoding/json.
type parser struct {
	s   string
	i   int
	bad bool
	// raw, when set, takes string bytes as they are instead of failing on
	// invalid UTF-8: SQLite's json_array copies TEXT bytes unchanged.
	raw bool
}

// end reports whether parsing succeeded and consumed all input.
func (p *parser) end() bool { return !p.bad && p.i == len(p.s) }

func (p *parser) peek(c byte) bool { return !p.bad && p.i < len(p.s) && p.s[p.i] == c }

func (p *parser) lit(l string) {
	if p.bad || len(p.s)-p.i < len(l) || p.s[p.i:p.i+len(l)] != l {
		p.bad = true
		return
	}
	p.i += len(l)
}

func (p *parser) fail() string {
	p.bad = true
	return ""
}

// str reads a JSON string. Without escapes it returns a substring of the
// input; with escapes it decodes them into a new string, as encoding/json
// does (a lone surrogate becomes U+FFFD). Raw control characters, and
// unless p.raw invalid UTF-8, fail.
func (p *parser) str() string {
	p.lit(`"`)
	if p.bad {
		return ""
	}
	start, ascii := p.i, true
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			out := p.s[start:p.i]
			p.i++
			if !ascii && !p.raw && !utf8.ValidString(out) {
				return p.fail()
			}
			return out
		case c == '\\':
			return p.unescape(start)
		case c < 0x20:
			return p.fail()
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return p.fail()
}

// unescape finishes a string that has an escape at p.i.
func (p *parser) unescape(start int) string {
	buf := make([]byte, 0, len(p.s)-start)
	buf = append(buf, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if !p.raw && !utf8.Valid(buf) {
				return p.fail()
			}
			return string(buf)
		case c < 0x20:
			return p.fail()
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return p.fail()
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := p.hex4()
			if p.bad {
				return ""
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if save := p.i; strings.HasPrefix(p.s[p.i:], `\u`) {
					p.i += 2
					if r2 = utf16.DecodeRune(r, p.hex4()); p.bad || r2 == utf8.RuneError {
						p.i, p.bad = save, false // not a pair: read the second escape on its own
						r2 = utf8.RuneError
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return p.fail()
		}
	}
	return p.fail()
}

func (p *parser) hex4() rune {
	if len(p.s)-p.i < 4 {
		p.bad = true
		return 0
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			p.bad = true
			return 0
		}
	}
	p.i += 4
	return r
}

// int reads a JSON integer.
func (p *parser) int() int64 {
	if p.bad {
		return 0
	}
	start := p.i
	if p.peek('-') {
		p.i++
	}
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		p.bad = true
	}
	return n
}

// count returns how many elements the array starting at p.i has, assuming
// none of its strings contains a comma (a wrong guess only costs a regrow).
func (p *parser) count() int {
	n, depth := 1, 0
	for i := p.i; i < len(p.s); i++ {
		switch p.s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth < 0 {
				return n
			}
		case ',':
			if depth == 0 {
				n++
			}
		}
	}
	return n
}

// list reads '[' elem (',' elem)* ']'; an empty list gives nil.
func list[T any](p *parser, elem func(*parser) T) []T {
	p.lit("[")
	if p.bad {
		return nil
	}
	if p.peek(']') {
		p.i++
		return nil
	}
	out := make([]T, 0, p.count())
	for {
		out = append(out, elem(p))
		if p.peek(',') {
			p.i++
			continue
		}
		p.lit("]")
		if p.bad {
			return nil
		}
		return out
	}
}

func (p *parser) strings() []string { return list(p, (*parser).str) }

func (p *parser) columns() []catalog.Column {
	return list(p, func(p *parser) catalog.Column {
		var c catalog.Column
		p.lit(`{"name":`)
		c.Name = p.str()
		p.lit(`,"type":`)
		c.Type = p.str()
		p.lit("}")
		return c
	})
}

func (p *parser) transforms() []catalog.Transform {
	return list(p, func(p *parser) catalog.Transform {
		var t catalog.Transform
		p.lit(`{"attribute":`)
		t.Attribute = p.str()
		p.lit(`,"function":`)
		t.Function = p.str()
		if p.peek(',') {
			p.lit(`,"args":`)
			t.Args = p.strings()
			if t.Args == nil {
				p.bad = true // encodeTransforms omits empty args
			}
		}
		p.lit("}")
		return t
	})
}

func (p *parser) viewReads() []catalog.ViewRead {
	return list(p, func(p *parser) catalog.ViewRead {
		var r catalog.ViewRead
		p.lit(`{"database":`)
		r.Database = p.str()
		p.lit(`,"table":`)
		r.Table = p.str()
		p.lit(`,"uri":`)
		r.URI = p.str()
		p.lit("}")
		return r
	})
}
