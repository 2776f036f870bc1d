package policysql

import (
	"context"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sqlPart(s string) FilterPart { return FilterPart{SQL: s} }

func callPart(name string, args ...string) FilterPart { return FilterPart{Call: name, Args: args} }

// validFilters are row filters and their parts. They also seed FuzzParseFilter.
var validFilters = []struct {
	name string
	in   string
	want []FilterPart
}{
	{"plain sql", "region = 'eu'", []FilterPart{sqlPart("region = 'eu'")}},
	{"trimmed", "  \n a = 1 \t", []FilterPart{sqlPart("a = 1")}},
	{"user() at the end", "owner = user()", []FilterPart{sqlPart("owner = "), callPart("user")}},
	{"current_user() is user()", "CURRENT_USER() = owner", []FilterPart{callPart("user"), sqlPart(" = owner")}},
	{"helpers are case-insensitive", "User ( ) = owner", []FilterPart{callPart("user"), sqlPart(" = owner")}},
	{"backticked helper name", "`user`() = owner", []FilterPart{callPart("user"), sqlPart(" = owner")}},
	{"several helpers", "has_roles('Admin', 'EU') OR region = user_attribute('Region')", []FilterPart{
		callPart("has_roles", "admin", "eu"), sqlPart(" OR region = "), callPart("user_attribute", "Region"),
	}},
	{"has_access lower-cased", "has_access('Sales.Orders')", []FilterPart{callPart("has_access", "sales.orders")}},
	{"helper inside a call", "lower(user())", []FilterPart{sqlPart("lower("), callPart("user"), sqlPart(")")}},
	{"whitespace kept verbatim", "a  =\n user()\n AND b", []FilterPart{sqlPart("a  =\n "), callPart("user"), sqlPart("\n AND b")}},
	{"escaped helper arguments", `has_roles('it''s', 'a\'b')`, []FilterPart{callPart("has_roles", "it's", "a'b")}},
	{"qualified user is a column", "t.user = 'x' AND s.current_user.id = 1", []FilterPart{sqlPart("t.user = 'x' AND s.current_user.id = 1")}},
	{"backticked user is a column", "`user` = 'x'", []FilterPart{sqlPart("`user` = 'x'")}},
	{"struct field of a column named user", "user.name = 'x'", []FilterPart{sqlPart("user.name = 'x'")}},
	{"qualified function is not a helper", "udfs.has_roles('a')", []FilterPart{sqlPart("udfs.has_roles('a')")}},
	{"operators and numbers", "a >= 1.5e3 AND b <> 2 OR c != 3 AND d || 'x' = 'y' AND e[0] % 2 = 1",
		[]FilterPart{sqlPart("a >= 1.5e3 AND b <> 2 OR c != 3 AND d || 'x' = 'y' AND e[0] % 2 = 1")}},
	{"a number takes its trailing dot, as in Spark", "a = 1.user()", []FilterPart{sqlPart("a = 1."), callPart("user")}},
	{"lambda", "exists(tags, t -> t = user_attribute('team'))", []FilterPart{
		sqlPart("exists(tags, t -> t = "), callPart("user_attribute", "team"), sqlPart(")"),
	}},
	{"strings hide everything", "note = 'user() -- ; SELECT /* \"'", []FilterPart{sqlPart("note = 'user() -- ; SELECT /* \"'")}},
	{"unicode in strings and backticks", "`prénom` = 'Zoë'", []FilterPart{sqlPart("`prénom` = 'Zoë'")}},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range validFilters {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFilter(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// filterErrors are row filters ParseFilter must refuse, with the error it
// must give. They also seed FuzzParseFilter.
var filterErrors = []struct {
	name string
	in   string
	want string
}{
	{"empty", "", "line 1, column 1: expected a boolean expression, found end of input; the row filter is empty"},
	{"blank", " \n  ", "line 2, column 3: expected a boolean expression, found end of input; the row filter is empty"},
	{"unclosed parenthesis", "(a = 1 OR (b = 2)", "line 1, column 1: unbalanced '(': it is never closed"},
	{"stray parenthesis", "a = 1) OR (b", "line 1, column 6: unbalanced ')': there is no '(' to close"},
	{"unterminated string", "a = 'x", "line 1, column 5: unterminated string literal: ' has no closing '"},
	{"semicolon", "a = 1; DROP TABLE x", "line 1, column 6: ';' is not allowed in a row filter"},
	{"subquery", "a IN (SELECT id FROM t)", "line 1, column 7: subqueries (SELECT) are not allowed in a row filter"},
	{"line comment", "a = 1 -- AND b", "line 1, column 7: comments are not allowed in a row filter"},
	{"block comment", "a = /**/ 1", "line 1, column 5: comments are not allowed in a row filter"},
	{"double quotes", `a = "x"`, "line 1, column 5: double-quoted text is a string or an identifier depending on Spark's settings; write 'single quotes' for a string or `backticks` for a column"},
	{"raw string", `a RLIKE r'\d+\' OR user() = '`, "line 1, column 9: raw string literals (r'...') are not supported; write a '...' string"},
	{"unexpected character", "a = $x", "line 1, column 5: unexpected character '$'"},
	{"user() with an argument", "user('x') = a", "line 1, column 6: expected ')', found string 'x'; user() takes no arguments"},
	{"current_user() with an argument", "current_user(1)", "line 1, column 14: expected ')', found '1'; current_user() takes no arguments"},
	{"has_roles() without arguments", "has_roles()", "line 1, column 1: has_roles() takes one or more role names, e.g. has_roles('analyst', 'steward')"},
	{"has_roles() with an identifier", "has_roles(admin)", "line 1, column 11: expected string literal, found 'admin'; has_roles() arguments must be string literals"},
	{"has_roles() with an expression", "has_roles('a' || 'b')", "line 1, column 15: expected ',' or ')', found '|'"},
	{"has_roles() with a trailing comma", "has_roles('a',)", "line 1, column 15: expected string literal, found ')'; has_roles() arguments must be string literals"},
	{"has_roles() with an empty name", "has_roles('a', '')", "line 1, column 16: has_roles() arguments must not be empty"},
	{"unclosed helper call", "has_roles('a'", "line 1, column 14: expected ',' or ')', found end of input"},
	{"has_access() with two arguments", "has_access('a.b', 'c.d')", "line 1, column 1: has_access() takes exactly one argument, e.g. has_access('db.table')"},
	{"has_access() without a database", "has_access('orders')", "line 1, column 12: has_access() needs a table name written 'db.table', not 'orders'"},
	{"user_attribute() without arguments", "user_attribute() = a", "line 1, column 1: user_attribute() takes exactly one argument, e.g. user_attribute('region')"},
	{"helper argument with a control character", "user_attribute('a\\nb')", "line 1, column 16: user_attribute() arguments must not contain control characters"},
	{"session_user()", "owner = session_user()", "line 1, column 9: session_user() is the Spark session's user, not the lakegate user; use user()"},
	{"bare current_user", "owner = current_user", "line 1, column 9: bare current_user is ambiguous in Spark (a column, or else the Spark session's user); write user() for the lakegate user or `current_user` for a column"},
	{"bare USER", "owner = USER", "line 1, column 9: bare USER is ambiguous in Spark (a column, or else the Spark session's user); write user() for the lakegate user or `USER` for a column"},
	{"invalid utf-8", "a = '\xff'", "line 1, column 6: invalid UTF-8"},
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range filterErrors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFilter(tc.in)
			require.Nil(t, got)
			require.Error(t, err)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			require.Equal(t, tc.want, err.Error())
		})
	}
}

func TestQuoteString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"alice", "'alice'"},
		{"Alice.Smith@example.com", "'Alice.Smith@example.com'"},
		{"a b_c,d:e+f/g=h-1", "'a b_c,d:e+f/g=h-1'"},
		{"it's", "CAST(X'69742773' AS STRING)"},
		{`a\`, "CAST(X'615C' AS STRING)"},
		{"Zoë", "CAST(X'5A6FC3AB' AS STRING)"},
		{"a\x00b", "CAST(X'610062' AS STRING)"},
		{"eu;", "CAST(X'65753B' AS STRING)"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, QuoteString(tc.in))
		})
	}
}

// quotedRE is everything QuoteString may return: a quoted run of harmless
// bytes, or a hex literal cast to a string.
var quotedRE = regexp.MustCompile(`^('[A-Za-z0-9 _.,:@+/=-]*'|CAST\(X'([0-9A-F]{2})+' AS STRING\))$`)

// TestQuoteStringInjection binds hostile user names and attribute values
// into a filter and checks that each stays one literal meaning exactly itself.
func TestQuoteStringInjection(t *testing.T) {
	for _, hostile := range []string{
		`x' OR '1'='1`,
		`a\`,
		`a\' OR 1=1 --`,
		`'; DROP TABLE t; --`,
		`x'/* */OR/**/'1'='1`,
		`\'' OR ''='`,
		`" OR ""="`,
		"x`) OR (`1`=`1",
		"user()",
		"has_roles('admin')",
		"' OR user_attribute('k') = '",
		"\u02bc OR 1=1 --", // modifier letter apostrophe
		"\uff07 OR 1=1 --", // fullwidth apostrophe
		"a\nOR 1=1",
		"a\x00' OR 1=1",
		"\xff\xfe' OR 1=1", // not UTF-8
		"${jndi:ldap://x/a}",
	} {
		t.Run(hostile, func(t *testing.T) {
			q := QuoteString(hostile)
			m := quotedRE.FindStringSubmatch(q)
			require.NotNil(t, m, "QuoteString(%q) = %s, which is not a plain literal", hostile, q)
			if strings.HasPrefix(q, "CAST") {
				decoded, err := hex.DecodeString(strings.TrimSuffix(strings.TrimPrefix(q, "CAST(X'"), "' AS STRING)"))
				require.NoError(t, err)
				require.Equal(t, hostile, string(decoded))
			} else {
				require.Equal(t, "'"+hostile+"'", q)
			}

			// Bound into a filter, the value is one literal: the filter still
			// parses, with no helper call and no extra clause smuggled in.
			bound := "owner = " + q + " AND region = 'eu'"
			parts, err := ParseFilter(bound)
			require.NoError(t, err)
			require.Equal(t, []FilterPart{sqlPart(bound)}, parts)
			toks, perr := lex(newSource(bound), 0, len(bound), true)
			require.Nil(t, perr)
			var kinds []tokKind
			for _, tok := range toks {
				kinds = append(kinds, tok.kind)
			}
			require.Contains(t, [][]tokKind{
				{tkIdent, tkPunct, tkString, tkIdent, tkIdent, tkPunct, tkString, tkEOF},
				{tkIdent, tkPunct, tkIdent, tkPunct, tkIdent, tkString, tkIdent, tkIdent, tkPunct, tkIdent, tkIdent, tkPunct, tkString, tkEOF},
			}, kinds, "the bound value must lex as one literal")
		})
	}
}

// Issue 13: a NUL inside a literal, and nesting beyond MaxFilterDepth, are
// refused as parse errors (not server errors, not unbounded recursion later).
func TestFilterNulAndDepth(t *testing.T) {
	_, err := ParseFilter("name = 'a\x00b'")
	require.Error(t, err)
	require.Contains(t, err.Error(), "NUL")
	_, err = Parse("GRANT SELECT ON TABLE db.t WHERE name = 'a\x00b' TO ROLE r")
	require.Error(t, err)
	require.Contains(t, err.Error(), "NUL")
	deep := strings.Repeat("(", MaxFilterDepth) + "a = 1" + strings.Repeat(")", MaxFilterDepth)
	_, err = ParseFilter(deep)
	require.NoError(t, err)
	_, err = ParseFilter("(" + deep + ")")
	require.Error(t, err)
	require.Contains(t, err.Error(), "more than 64 deep")
}

// Issue 13: positions are counted incrementally, so a script of n statements
// on one line costs O(n) rune counting, not O(n²) (200,000 statements took
// 135 s). Work is counted, not timed.
func TestParseIsLinearOnOneLine(t *testing.T) {
	for _, n := range []int{1000, 8000} {
		src := newSource(strings.Repeat("SHOW CURRENT ROLES; ", n))
		out, err := parseSource(context.Background(), src)
		require.NoError(t, err)
		require.Len(t, out, n)
		require.LessOrEqual(t, src.counted, len(src.text), "n=%d: counted %d bytes of a %d-byte text", n, src.counted, len(src.text))
	}
	_, err := Parse(strings.Repeat("SHOW ROLES;\n", MaxStatements+1))
	require.Error(t, err)
	require.Contains(t, err.Error(), "more than 10000 statements")
}
