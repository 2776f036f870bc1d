package policysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
)

// requireParseError checks the shape of an error from Parse or ParseFilter.
func requireParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	require.True(t, errors.As(err, &pe), "error is a *ParseError: %T %v", err, err)
	require.GreaterOrEqual(t, pe.Line, 1)
	require.GreaterOrEqual(t, pe.Col, 1)
	require.True(t, pe.Msg != "" || len(pe.Expected) > 0, "the error says something: %#v", pe)
}

func FuzzParse(f *testing.F) {
	for _, tc := range validStatements {
		f.Add(tc.in)
	}
	for _, tc := range parseErrors {
		f.Add(tc.in)
	}
	f.Add("-- script\nCREATE ROLE a; GRANT ROLE a TO GROUP g;\n/* x */ GRANT SELECT ON TABLE d.t WHERE has_roles('a') TO ROLE a;;")

	f.Fuzz(func(t *testing.T, in string) {
		got, err := Parse(in)
		if err != nil {
			requireParseError(t, err)
			require.Nil(t, got, "a parse error returns no statements")
			return
		}
		require.NotEmpty(t, got, "no error means at least one statement")
		for _, p := range got {
			require.NotNil(t, p.Stmt)
			require.Equal(t, strings.TrimSpace(p.Text), p.Text)
			again, err := Parse(p.Text)
			require.NoError(t, err, "re-parsing %q", p.Text)
			require.Len(t, again, 1)
			require.Equal(t, p.Stmt, again[0].Stmt, "re-parsing %q", p.Text)

			var g *catalog.Grant
			switch s := p.Stmt.(type) {
			case GrantPrivilege:
				g = &s.Grant
			case RevokePrivilege:
				g = &s.Grant
			}
			if g == nil {
				continue
			}
			if g.Object.Scope == catalog.ScopeURI {
				norm, err := NormalizeURI(g.Object.URI)
				require.NoError(t, err)
				require.Equal(t, g.Object.URI, norm, "stored URIs are normalized")
			}
			if g.Filter != "" {
				// The stored filter is canonical: it parses on its own, and
				// written back into a grant it is stored unchanged.
				_, err := ParseFilter(g.Filter)
				require.NoError(t, err, "stored filter %q", g.Filter)
				back, err := Parse("GRANT SELECT ON CATALOG WHERE " + g.Filter + " TO ROLE r")
				require.NoError(t, err, "stored filter %q", g.Filter)
				require.Equal(t, g.Filter, back[0].Stmt.(GrantPrivilege).Grant.Filter)
			}
		}
	})
}

// renderFilter writes parts back as filter text, each call in canonical form.
func renderFilter(parts []FilterPart) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Call == "" {
			b.WriteString(p.SQL)
			continue
		}
		args := make([]string, len(p.Args))
		for i, a := range p.Args {
			args[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(a) + "'"
		}
		// Backticks keep the name one token whatever precedes it (1`user`()).
		b.WriteString("`" + p.Call + "`(" + strings.Join(args, ", ") + ")")
	}
	return b.String()
}

func FuzzParseFilter(f *testing.F) {
	for _, tc := range validFilters {
		f.Add(tc.in)
	}
	for _, tc := range filterErrors {
		f.Add(tc.in)
	}

	f.Fuzz(func(t *testing.T, in string) {
		parts, err := ParseFilter(in)
		if err != nil {
			requireParseError(t, err)
			require.Nil(t, parts)
			return
		}
		require.NotEmpty(t, parts)
		for i, p := range parts {
			if p.Call == "" {
				require.NotEmpty(t, p.SQL)
				require.Nil(t, p.Args)
				require.False(t, i > 0 && parts[i-1].Call == "", "SQL runs are merged")
				continue
			}
			require.Empty(t, p.SQL)
			require.Contains(t, []string{"user", "has_roles", "has_access", "user_attribute"}, p.Call)
		}
		again, err := ParseFilter(renderFilter(parts))
		require.NoError(t, err, "re-parsing %q", renderFilter(parts))
		require.Equal(t, parts, again)
	})
}
