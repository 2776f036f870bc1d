package planner_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A view defined through the JSON API (as the Spark extension sends it) is
// recorded with its definer in the store: after a restart, a reader with
// SELECT on the view alone still reads what it reads, as its definer; a
// forged claim still reads nothing.
func TestRecordedViewSurvivesRestart(t *testing.T) {
	k, data := keys(t), t.TempDir()
	p := startPlanner(t, k, data)
	root := p.token("root", "admin")
	p.mustSQL(root, `CREATE DATABASE hr; CREATE TABLE hr.secret (id bigint, ssn string); CREATE DATABASE pub;
		CREATE TABLE pub.t (id bigint);
		CREATE ROLE owner; GRANT ROLE owner TO GROUP owners; GRANT SELECT ON TABLE hr.secret WHERE id > 0 TO ROLE owner;
		GRANT CREATE ON DATABASE pub TO ROLE owner;
		CREATE ROLE reader; GRANT ROLE reader TO GROUP analysts; GRANT SELECT ON TABLE pub.t TO ROLE reader`)
	cols := []any{map[string]any{"name": "id", "type": "bigint"}, map[string]any{"name": "ssn", "type": "string"}}
	code, body := p.post(p.token("dora", "owners"), "Authorize", map[string]any{
		"client": "spark", "statement": "CREATE VIEW pub.v AS SELECT * FROM hr.secret",
		"objects": []any{map[string]any{"database": "pub", "table": "v", "isView": true, "action": "ACTION_CREATE",
			"columns": cols, "viewReads": []any{map[string]any{"database": "hr", "table": "secret"}}}},
	})
	require.Equal(t, 200, code, body)
	require.Equal(t, true, dig(body, "decisions", 0, "allowed"), body)
	p.mustSQL(root, "GRANT SELECT ON VIEW pub.v TO ROLE reader")
	require.NoError(t, p.stopErr())
	p.start()

	alice := p.token("alice", "analysts")
	read := func(view string) map[string]any {
		code, body := p.post(alice, "Authorize", map[string]any{"client": "spark", "objects": []any{
			map[string]any{"database": "pub", "table": view, "isView": true, "columns": cols},
			map[string]any{"database": "hr", "table": "secret", "underView": "pub." + view, "columns": cols},
		}})
		require.Equal(t, 200, code, body)
		return body
	}
	body = read("v")
	require.Equal(t, true, dig(body, "decisions", 1, "allowed"), body)
	require.Contains(t, dig(body, "decisions", 1, "reason"), `read through view pub.v as its definer "dora"`)
	require.Equal(t, "id > 0", dig(body, "decisions", 1, "rowFilter"))
	body = read("t")
	require.Equal(t, true, dig(body, "decisions", 0, "allowed"), body)
	require.Equal(t, nil, dig(body, "decisions", 1, "allowed"), "a table claimed as a view lends nothing")
	require.Contains(t, p.mustSQL(root, "SHOW TABLES IN pub"), "VIEW")
}
