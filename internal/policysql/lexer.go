package policysql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tkEOF      tokKind = iota
	tkIdent            // bare word: [A-Za-z_][A-Za-z0-9_]*; may be a keyword
	tkQuoted           // `backticked identifier`; never a keyword
	tkString           // 'string literal'
	tkDQString         // "double-quoted text": never accepted, lexed for a precise error
	tkNumber           // 12, 1.5, 1e3, 10L, 2.5BD (suffix letters are kept)
	tkPunct            // one character of punctuationChars
)

// punctuationChars are the single-character tokens. Operators are lexed one
// character at a time ("<=" is '<' then '='): the policy grammar only needs
// '<' and '>' on their own (array<map<string,int>>), and a row filter is
// copied verbatim, so its operators need no meaning here.
const punctuationChars = "(),.;=<>!+-*/%&|^~:[]"

// token is one lexeme. off and end are byte offsets into the source.
type token struct {
	kind     tokKind
	off, end int
	// val is the word as written (tkIdent, tkNumber, tkPunct) or the decoded
	// content (tkQuoted, tkString, tkDQString).
	val string
}

func (t token) isKw(kw string) bool  { return t.kind == tkIdent && strings.EqualFold(t.val, kw) }
func (t token) is(punct string) bool { return t.kind == tkPunct && t.val == punct }
func (t token) isName() bool         { return t.kind == tkIdent || t.kind == tkQuoted }

// isEnd reports whether t ends a statement.
func (t token) isEnd() bool { return t.kind == tkEOF || t.is(";") }

// lexer splits src.text[off:end] into tokens. In filter mode comments are an
// error: a row filter is stored and later spliced into a query as text, and a
// comment inside it could hide the rest of that query.
type lexer struct {
	src    *source
	off    int
	end    int
	filter bool
}

// lex returns the tokens of src.text[start:end], ending with a tkEOF token at end.
func lex(src *source, start, end int, filter bool) ([]token, *ParseError) {
	l := &lexer{src: src, off: start, end: end, filter: filter}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tkEOF {
			return toks, nil
		}
	}
}

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < l.end {
		return l.src.text[l.off+ahead]
	}
	return 0
}

func (l *lexer) next() (token, *ParseError) {
	text := l.src.text
	for {
		for l.off < l.end && isSpace(text[l.off]) {
			l.off++
		}
		if l.off >= l.end {
			return token{kind: tkEOF, off: l.end, end: l.end}, nil
		}
		c, c2 := text[l.off], l.peekByte(1)
		isLine, isBlock := c == '-' && c2 == '-', c == '/' && c2 == '*'
		if !isLine && !isBlock {
			break
		}
		if l.filter {
			return token{}, l.src.errorAt(l.off, "'"+text[l.off:l.off+2]+"'", nil,
				"comments are not allowed in a row filter")
		}
		if isLine {
			if nl := strings.IndexByte(text[l.off:l.end], '\n'); nl >= 0 {
				l.off += nl + 1
			} else {
				l.off = l.end
			}
			continue
		}
		closing := strings.Index(text[l.off+2:l.end], "*/")
		if closing < 0 {
			return token{}, l.src.errorAt(l.off, "'/*'", nil, "unterminated comment: '/*' has no closing '*/'")
		}
		l.off += 2 + closing + 2
	}

	start := l.off
	c := text[l.off]
	switch {
	case isIdentStart(c):
		for l.off < l.end && isIdentPart(text[l.off]) {
			l.off++
		}
		word := text[start:l.off]
		if q := l.peekByte(0); (word == "r" || word == "R") && (q == '\'' || q == '"') {
			// Spark's raw strings have no escapes: r'a\' ends where 'a\'
			// would not, so the two readings would disagree about what is
			// quoted. Refuse them rather than guess.
			return token{}, l.src.errorAt(start, "'"+word+string(q)+"'", nil,
				"raw string literals (r'...') are not supported; write a '...' string")
		}
		return token{kind: tkIdent, off: start, end: l.off, val: word}, nil
	case isDigit(c):
		l.number()
		return token{kind: tkNumber, off: start, end: l.off, val: text[start:l.off]}, nil
	case c == '\'':
		return l.quoted(tkString, '\'', "string literal")
	case c == '"':
		return l.quoted(tkDQString, '"', "double-quoted text")
	case c == '`':
		return l.backticked()
	case strings.IndexByte(punctuationChars, c) >= 0:
		l.off++
		return token{kind: tkPunct, off: start, end: l.off, val: text[start:l.off]}, nil
	}
	r, _ := utf8.DecodeRuneInString(text[l.off:l.end])
	msg := "unexpected character " + describeRune(r)
	if unicode.IsLetter(r) {
		msg += "; names with such characters are written in `backticks`"
	}
	return token{}, l.src.errorAt(start, describeRune(r), nil, msg)
}

// number lexes a numeric literal where Spark's lexer would end it, so that
// both agree on where every token starts:
//   - digits alone take any letters that follow: 10L and 1Y are typed
//     integers, 1user is one (identifier-like) word in Spark;
//   - a '.' right after the digits belongs to the number (1. is a decimal),
//     and so does a fraction or exponent (1.5, 1e-3, 1.e5);
//   - after a fraction or exponent only a type suffix follows (1.5D, 1.5F,
//     2.5BD), so 1.5user is a number and a word, and 1.user() a number and
//     a call.
//
// Whether the result is a valid number is for the caller to check.
func (l *lexer) number() {
	text := l.src.text
	digits := func() {
		for l.off < l.end && isDigit(text[l.off]) {
			l.off++
		}
	}
	digits()
	decimal := false
	if l.peekByte(0) == '.' {
		l.off++
		digits()
		decimal = true
	}
	if e := l.peekByte(0); e == 'e' || e == 'E' {
		if isDigit(l.peekByte(1)) || ((l.peekByte(1) == '+' || l.peekByte(1) == '-') && isDigit(l.peekByte(2))) {
			l.off += 2
			digits()
			decimal = true
		}
	}
	if !decimal {
		for l.off < l.end && isIdentPart(text[l.off]) {
			l.off++
		}
		return
	}
	for _, suffix := range []string{"bd", "d", "f"} {
		n := len(suffix)
		if l.off+n <= l.end && strings.EqualFold(text[l.off:l.off+n], suffix) && !isIdentPart(l.peekByte(n)) {
			l.off += n
			return
		}
	}
}

// quoted lexes a string delimited by quote. A doubled quote stands for one
// quote; a backslash escapes the next character: \0 \b \n \r \t \Z are the
// control characters MySQL, Hive and Spark give them, \% and \_ keep their
// backslash (as in Spark, for LIKE patterns), any other \c is c.
func (l *lexer) quoted(kind tokKind, quote byte, what string) (token, *ParseError) {
	text := l.src.text
	start := l.off
	l.off++
	var b strings.Builder
	for {
		if l.off >= l.end {
			return token{}, l.src.errorAt(start, string(quote), nil,
				fmt.Sprintf("unterminated %s: %c has no closing %c", what, quote, quote))
		}
		c := text[l.off]
		switch {
		case c == quote && l.peekByte(1) == quote:
			b.WriteByte(quote)
			l.off += 2
		case c == quote:
			l.off++
			return token{kind: kind, off: start, end: l.off, val: b.String()}, nil
		case c == '\\':
			if l.off+1 >= l.end {
				l.off++
				continue // reports the unterminated literal
			}
			b.WriteString(unescape(text[l.off+1]))
			l.off += 2
		default:
			b.WriteByte(c)
			l.off++
		}
	}
}

func unescape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return `\` + string(c)
	}
	return string(c)
}

// backticked lexes a `quoted identifier`: any characters but a backtick, a
// doubled backtick standing for one. Control characters are refused: they are
// never meant, and some stores (PostgreSQL) cannot even hold NUL.
func (l *lexer) backticked() (token, *ParseError) {
	text := l.src.text
	start := l.off
	l.off++
	var b strings.Builder
	for {
		if l.off >= l.end {
			return token{}, l.src.errorAt(start, "'`'", nil, "unterminated quoted identifier: ` has no closing `")
		}
		c := text[l.off]
		switch {
		case c == '`' && l.peekByte(1) == '`':
			b.WriteByte('`')
			l.off += 2
		case c == '`':
			l.off++
			if b.Len() == 0 {
				return token{}, l.src.errorAt(start, "'``'", nil, "empty quoted identifier")
			}
			return token{kind: tkQuoted, off: start, end: l.off, val: b.String()}, nil
		case c < 0x20 || c == 0x7f:
			return token{}, l.src.errorAt(l.off, describeRune(rune(c)), nil,
				"quoted identifier contains control character "+describeRune(rune(c)))
		default:
			b.WriteByte(c)
			l.off++
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// describeRune shows a character in an error message: printable ASCII
// quoted, other printable characters quoted with their code point, and the
// rest (NUL, NBSP pasted from a web page, …) as U+XXXX.
func describeRune(r rune) string {
	switch {
	case r > 0x20 && r < 0x7f:
		return "'" + string(r) + "'"
	case r > 0x7f && unicode.IsGraphic(r) && !unicode.IsSpace(r):
		return fmt.Sprintf("'%c' (U+%04X)", r, r)
	}
	return fmt.Sprintf("U+%04X", r)
}
