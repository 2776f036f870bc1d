package policysql

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ParseError is the error of Parse and ParseFilter. It points at the token
// (or character) where the text stopped making sense.
type ParseError struct {
	Line int // 1-based
	Col  int // 1-based, counted in characters (runes), not bytes
	// Found describes what was found there: a token as written, quoted
	// ('FOO', ';'), a string literal as "string '…'", a quoted identifier
	// or double-quoted text as written, a character ('#', U+00A0), or
	// "end of input". Long tokens are shortened with "...".
	Found string
	// Expected lists what would have been accepted there (keywords in upper
	// case, punctuation quoted, or a description such as "role name"). It is
	// empty when Msg alone explains the problem.
	Expected []string
	// Msg explains a problem that is not (only) an unexpected token, such as
	// an unterminated string or a duplicate column.
	Msg string
}

// Error renders the error as "line L, column C: expected X, Y or Z, found 'W'",
// or "line L, column C: <Msg>" when there is no expected list.
func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Col)
	if len(e.Expected) > 0 {
		b.WriteString("expected ")
		b.WriteString(orList(e.Expected))
		b.WriteString(", found ")
		b.WriteString(e.Found)
		if e.Msg != "" {
			b.WriteString("; ")
		}
	}
	b.WriteString(e.Msg)
	return b.String()
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// source is a text being parsed, with an index of its line starts so that
// byte offsets turn into line and column cheaply. The last position asked
// for is remembered: the parser asks in increasing order (each statement's
// start), so counting the runes of a long line happens once in all, not
// once per statement on it (a one-line script of 200,000 statements was
// quadratic).
type source struct {
	text       string
	lineStarts []int
	last       Pos
	lastOff    int
	counted    int // bytes pos has counted runes over, for the linearity test
}

func newSource(text string) *source {
	s := &source{text: text, lineStarts: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	return s
}

// pos turns a byte offset into a 1-based line and column (in runes).
func (s *source) pos(off int) Pos {
	line := sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off }) - 1
	from, col := s.lineStarts[line], 1
	if s.last.Line == line+1 && s.lastOff >= from && s.lastOff <= off {
		from, col = s.lastOff, s.last.Col // continue counting on the same line
	}
	p := Pos{Line: line + 1, Col: col + utf8.RuneCountInString(s.text[from:off])}
	s.counted += off - from
	s.last, s.lastOff = p, off
	return p
}

// errorAt builds a ParseError at byte offset off.
func (s *source) errorAt(off int, found string, expected []string, msg string) *ParseError {
	p := s.pos(off)
	return &ParseError{Line: p.Line, Col: p.Col, Found: found, Expected: expected, Msg: msg}
}

// tokenError builds a ParseError at token t.
func (s *source) tokenError(t token, expected []string, msg string) *ParseError {
	return s.errorAt(t.off, s.describe(t), expected, msg)
}

// describe renders a token for the Found part of an error message.
func (s *source) describe(t token) string {
	if t.kind == tkEOF {
		return "end of input"
	}
	raw := s.text[t.off:t.end]
	if utf8.RuneCountInString(raw) > 40 {
		raw = string([]rune(raw)[:37]) + "..."
	}
	switch t.kind {
	case tkString:
		return "string " + raw
	case tkQuoted, tkDQString:
		return raw
	}
	return "'" + raw + "'"
}

// checkUTF8 rejects text that is not valid UTF-8, pointing at the first bad byte.
func checkUTF8(src *source) *ParseError {
	text := src.text
	for off := 0; off < len(text); {
		r, size := utf8.DecodeRuneInString(text[off:])
		if r == utf8.RuneError && size == 1 {
			return src.errorAt(off, fmt.Sprintf("byte 0x%02X", text[off]), nil, "invalid UTF-8")
		}
		off += size
	}
	return nil
}
