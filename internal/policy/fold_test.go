package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConstantValue(t *testing.T) {
	for _, c := range []struct {
		sql          string
		value, known bool
	}{
		{"TRUE", true, true},
		{"(TRUE)", true, true},
		{"FALSE", false, true},
		{"FALSE AND region = 'US'", false, true},
		{"region = 'US' AND FALSE", false, true},
		{"TRUE OR region = 'US'", true, true},
		{"NOT FALSE", true, true},
		{"NOT (TRUE AND FALSE) AND (FALSE OR TRUE)", true, true},
		{"region = 'US'", false, false},
		{"TRUE AND region = 'US'", false, false},
		{"FALSE OR region = 'US'", false, false},
		{"x BETWEEN 1 AND 5 AND FALSE", false, false},
		{"CASE WHEN a THEN TRUE ELSE FALSE END", false, false},
		{"(a + b) > 1 AND FALSE", false, true},
		{"name = 'x AND FALSE' OR TRUE", true, true},
		{"name = 'it''s' AND FALSE", false, true},
		{"name = 'FALSE'", false, false},
		{"TRUE = region", false, false},
		{"x IN ('a', 'b') OR FALSE", false, false},
		{"'unterminated", false, false},
		{"(region = 'US'", false, false},
		{"", false, false},
		{"'u0' = 'u1'", false, true},
		{"'u1' = 'u1' AND region = 'EU'", false, false},
		{"'u1' = 'u1' OR region = 'EU'", true, true},
		{"'a' <> 'b'", true, true},
		{"'a' != 'a'", false, true},
		{"'a''' = 'a'''", false, false},
		{"'a' = 'a' + 1", false, false},
	} {
		v, k := constantValue(c.sql)
		require.Equal(t, c.known, k, c.sql)
		if k {
			require.Equal(t, c.value, v, c.sql)
		}
	}
}
