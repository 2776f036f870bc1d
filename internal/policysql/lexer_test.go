package policysql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// lexTexts returns the source text of each token of in (without the EOF).
func lexTexts(t *testing.T, in string, filter bool) []string {
	t.Helper()
	toks, err := lex(newSource(in), 0, len(in), filter)
	require.Nil(t, err)
	var out []string
	for _, tok := range toks[:len(toks)-1] {
		out = append(out, in[tok.off:tok.end])
	}
	return out
}

func TestLexTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"words and punctuation", "GRANT SELECT(a,b) ON db.t;", []string{"GRANT", "SELECT", "(", "a", ",", "b", ")", "ON", "db", ".", "t", ";"}},
		{"operators are single characters", "a<=>b<>c>=d||e->f", []string{"a", "<", "=", ">", "b", "<", ">", "c", ">", "=", "d", "|", "|", "e", "-", ">", "f"}},
		{"nested generics", "map<string,array<int>>", []string{"map", "<", "string", ",", "array", "<", "int", ">", ">"}},
		{"strings and quoted names", "'a''b' `c``d` \"e\" 'f\\'g'", []string{"'a''b'", "`c``d`", "\"e\"", "'f\\'g'"}},
		{"comments are skipped", "a -- x\nb /* y\n z */ c--", []string{"a", "b", "c"}},
		{"comment markers inside strings", "'--' '/*'", []string{"'--'", "'/*'"}},
		// Numbers end where Spark's lexer ends them.
		{"integers", "1 10L 1Y 12abc 1user", []string{"1", "10L", "1Y", "12abc", "1user"}},
		{"decimals", "1. 1.5 .5 1.e5 1e5 1E+5 1e-3", []string{"1.", "1.5", ".", "5", "1.e5", "1e5", "1E+5", "1e-3"}},
		{"decimal suffixes", "1.5D 1.5f 2.5BD 1e3d", []string{"1.5D", "1.5f", "2.5BD", "1e3d"}},
		{"words after decimals", "1.5user 1.user 1.5Dx 1ex", []string{"1.5", "user", "1.", "user", "1.5", "Dx", "1ex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, lexTexts(t, tc.in, false))
		})
	}
}

func TestLexDecodes(t *testing.T) {
	in := `'it''s' 'a\'b' '\0\b\n\r\t\Z\%\_\q\\' ` + "`a``b`"
	toks, err := lex(newSource(in), 0, len(in), false)
	require.Nil(t, err)
	require.Equal(t, []token{
		{kind: tkString, off: 0, end: 7, val: "it's"},
		{kind: tkString, off: 8, end: 14, val: "a'b"},
		{kind: tkString, off: 15, end: 37, val: "\x00\b\n\r\t\x1a\\%\\_q\\"},
		{kind: tkQuoted, off: 38, end: 44, val: "a`b"},
		{kind: tkEOF, off: 44, end: 44},
	}, toks)
}
