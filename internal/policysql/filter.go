package policysql

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// FilterPart is literal SQL text or a call to a principal helper, to be bound per user.
type FilterPart struct {
	SQL  string   // literal SQL, copied verbatim from the filter; empty for a call
	Call string   // helper name: "user", "has_roles", "has_access" or "user_attribute"; empty for SQL
	Args []string // the helper's arguments, decoded (role names and "db.table" in lower case)
}

// helper describes one principal helper a row filter may call.
type helper struct {
	canonical string
	minArgs   int
	maxArgs   int // -1: no limit
	usage     string
	lower     bool // arguments are names, compared in lower case
}

var helpers = map[string]helper{
	"user":           {canonical: "user", usage: "user() takes no arguments"},
	"current_user":   {canonical: "user", usage: "current_user() takes no arguments"},
	"has_roles":      {canonical: "has_roles", minArgs: 1, maxArgs: -1, lower: true, usage: "has_roles() takes one or more role names, e.g. has_roles('analyst', 'steward')"},
	"has_access":     {canonical: "has_access", minArgs: 1, maxArgs: 1, lower: true, usage: "has_access() takes exactly one argument, e.g. has_access('db.table')"},
	"user_attribute": {canonical: "user_attribute", minArgs: 1, maxArgs: 1, usage: "user_attribute() takes exactly one argument, e.g. user_attribute('region')"},
}

// identityNames are Spark's own "who is running" functions. Written bare
// (without parentheses) Spark resolves them to a column if the table has
// one and otherwise to the Spark session user, which on a shared cluster is
// not the user lakegate authenticated; session_user() always is. Both are
// refused so a filter can only mean the lakegate user, via user().
var identityNames = map[string]bool{"user": true, "current_user": true, "session_user": true}

// MaxFilterDepth bounds how deep a row filter nests parentheses.
const MaxFilterDepth = 64

// ParseFilter checks a row filter expression (the text of a grant's WHERE
// clause) and splits it into literal SQL and calls of the principal helpers
// user(), current_user(), has_roles('r', …), has_access('db.t') and
// user_attribute('k'), which the engine binds for each user.
//
// It refuses what has no place in a row filter: an empty expression,
// unbalanced parentheses, unterminated strings, ';', comments, SELECT
// (subqueries), double-quoted text (a string or an identifier depending on
// Spark's settings), and Spark's own identity functions (session_user(),
// bare user / current_user), which would not name the lakegate user.
func ParseFilter(text string) ([]FilterPart, error) {
	src := newSource(text)
	if err := checkUTF8(src); err != nil {
		return nil, err
	}
	parts, _, err := parseFilter(src, 0, len(text))
	if err != nil {
		return nil, err
	}
	return parts, nil
}

// parseFilter checks the row filter in src.text[start:end]. It returns its
// parts and its canonical text: the tokens with each run of whitespace
// between them collapsed to one space. Positions in errors are those in src.
func parseFilter(src *source, start, end int) ([]FilterPart, string, *ParseError) {
	if i := strings.IndexByte(src.text[start:end], 0); i >= 0 {
		return nil, "", src.errorAt(start+i, "U+0000", nil, "a NUL character is not allowed in a row filter")
	}
	toks, err := lex(src, start, end, true)
	if err != nil {
		return nil, "", err
	}
	if toks[0].kind == tkEOF {
		return nil, "", src.tokenError(toks[0], []string{"a boolean expression"}, "the row filter is empty")
	}

	var parts []FilterPart
	runStart := toks[0].off // start of the pending literal SQL run
	var open []token        // unclosed '('
	for i := 0; i < len(toks)-1; i++ {
		t := toks[i]
		afterDot := i > 0 && toks[i-1].is(".")
		callsNext := toks[i+1].is("(")
		name := strings.ToLower(t.val)
		switch {
		case t.is(";"):
			return nil, "", src.tokenError(t, nil, "';' is not allowed in a row filter")
		case t.kind == tkDQString:
			return nil, "", src.tokenError(t, nil,
				"double-quoted text is a string or an identifier depending on Spark's settings; "+
					"write 'single quotes' for a string or `backticks` for a column")
		case t.isKw("select"):
			return nil, "", src.tokenError(t, nil, "subqueries (SELECT) are not allowed in a row filter")
		case t.is("("):
			open = append(open, t)
			if len(open) > MaxFilterDepth {
				return nil, "", src.tokenError(t, nil, fmt.Sprintf("the row filter nests parentheses more than %d deep", MaxFilterDepth))
			}
		case t.is(")"):
			if len(open) == 0 {
				return nil, "", src.tokenError(t, nil, "unbalanced ')': there is no '(' to close")
			}
			open = open[:len(open)-1]
		case t.isName() && !afterDot && name == "session_user" && callsNext:
			return nil, "", src.tokenError(t, nil,
				"session_user() is the Spark session's user, not the lakegate user; use user()")
		case t.isName() && !afterDot && callsNext && helpers[name].canonical != "":
			part, next, err := parseHelperCall(src, toks, i)
			if err != nil {
				return nil, "", err
			}
			if t.off > runStart {
				parts = append(parts, FilterPart{SQL: src.text[runStart:t.off]})
			}
			parts = append(parts, part)
			runStart = toks[next-1].end
			i = next - 1
		case t.kind == tkIdent && !afterDot && !toks[i+1].is(".") && identityNames[name]:
			return nil, "", src.tokenError(t, nil, fmt.Sprintf(
				"bare %s is ambiguous in Spark (a column, or else the Spark session's user); "+
					"write user() for the lakegate user or `%s` for a column", t.val, t.val))
		}
	}
	if len(open) > 0 {
		return nil, "", src.tokenError(open[len(open)-1], nil, "unbalanced '(': it is never closed")
	}
	last := toks[len(toks)-2]
	if last.end > runStart {
		parts = append(parts, FilterPart{SQL: src.text[runStart:last.end]})
	}

	var canon strings.Builder
	for i, t := range toks[:len(toks)-1] {
		if i > 0 && t.off > toks[i-1].end {
			canon.WriteByte(' ')
		}
		canon.WriteString(src.text[t.off:t.end])
	}
	return parts, canon.String(), nil
}

// parseHelperCall parses the helper call whose name is toks[i] (followed by
// '('). It returns the call and the index of the token after its ')'.
func parseHelperCall(src *source, toks []token, i int) (FilterPart, int, *ParseError) {
	name := toks[i]
	h := helpers[strings.ToLower(name.val)]
	var args []string
	j := i + 2 // past the '('
	if h.maxArgs == 0 && !toks[j].is(")") {
		return FilterPart{}, 0, src.tokenError(toks[j], []string{"')'"}, h.usage)
	}
	if !toks[j].is(")") {
		for {
			arg := toks[j]
			if arg.kind != tkString {
				return FilterPart{}, 0, src.tokenError(arg, []string{"string literal"},
					h.canonical+"() arguments must be string literals")
			}
			v := arg.val
			if h.lower {
				v = strings.ToLower(v)
			}
			if err := checkHelperArg(h, v); err != "" {
				return FilterPart{}, 0, src.tokenError(arg, nil, err)
			}
			args = append(args, v)
			j++
			if toks[j].is(")") {
				break
			}
			if !toks[j].is(",") {
				return FilterPart{}, 0, src.tokenError(toks[j], []string{"','", "')'"}, "")
			}
			j++
		}
	}
	if len(args) < h.minArgs || (h.maxArgs >= 0 && len(args) > h.maxArgs) {
		return FilterPart{}, 0, src.tokenError(name, nil, h.usage)
	}
	return FilterPart{Call: h.canonical, Args: args}, j + 1, nil
}

// checkHelperArg returns why v is not a valid argument of h, or "".
func checkHelperArg(h helper, v string) string {
	if v == "" {
		return h.canonical + "() arguments must not be empty"
	}
	if hasControl(v) {
		return h.canonical + "() arguments must not contain control characters"
	}
	if h.canonical == "has_access" {
		db, table, ok := strings.Cut(v, ".")
		if !ok || db == "" || table == "" || strings.Contains(table, ".") {
			return fmt.Sprintf("has_access() needs a table name written 'db.table', not '%s'", v)
		}
	}
	return ""
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// QuoteString renders s as a Spark SQL string literal that means s whatever
// the session's escaping mode (spark.sql.parser.escapedStringLiterals) or
// ANSI settings: 's' when every byte of s is in [A-Za-z0-9 _.,:@+/=-],
// otherwise CAST(X'<hex of the UTF-8 bytes>' AS STRING). No quote, backslash
// or comment marker of s ever reaches the SQL text, so a value such as the
// user name x' OR '1'='1 cannot change the query it is bound into.
func QuoteString(s string) string {
	for i := 0; i < len(s); i++ {
		if !isPlainStringByte(s[i]) {
			return "CAST(X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "' AS STRING)"
		}
	}
	return "'" + s + "'"
}

func isPlainStringByte(c byte) bool {
	return isIdentPart(c) || strings.IndexByte(" .,:@+/=-", c) >= 0
}
