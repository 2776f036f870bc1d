package ddl

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// run executes sql as pr over st; it returns the batch and the first error.
func run(t *testing.T, st *catalog.State, pr policy.Principal, sql string) (*Batch, []Result, error) {
	t.Helper()
	pol, err := policy.Compile(st, policy.Options{})
	require.NoError(t, err)
	stmts, err := policysql.Parse(sql)
	require.NoError(t, err)
	b := NewBatch(st, pol, pol.Subject(pr), pr, policy.Options{})
	var out []Result
	for _, p := range stmts {
		r, err := b.Run(p.Stmt)
		if err != nil {
			return b, out, err
		}
		out = append(out, r)
	}
	return b, out, nil
}

var admin = policy.Principal{User: "root", Groups: []string{"admin"}}

func world(t *testing.T) *catalog.State {
	st := &catalog.State{}
	b, _, err := run(t, st, admin, `CREATE ROLE r; CREATE ATTRIBUTE pii.ssn; CREATE DATABASE hr;
		CREATE TABLE hr.emp (id int, ssn string); ALTER TABLE hr.emp ADD COLUMN ATTRIBUTE ssn pii.ssn;
		GRANT SELECT ON TABLE hr.emp TO ROLE r; GRANT SELECT ON DATABASE hr TO ROLE r`)
	require.NoError(t, err)
	out := b.State()
	ids := map[int64]int64{} // as the store would number them
	for _, g := range out.Grants.All() {
		ids[g.ID] = int64(len(ids) + 1)
	}
	out.Grants = out.Grants.Renumber(ids)
	return out
}

// Statements in, changes out, and the caller's state is never written.
func TestChangesAreDataAndTheInputIsUntouched(t *testing.T) {
	st := world(t)
	before := dump(t, st)
	b, res, err := run(t, st, admin, "DROP DATABASE hr CASCADE; SHOW DATABASES")
	require.NoError(t, err)
	require.Equal(t, before, dump(t, st), "the batch wrote the state it was given")
	require.Equal(t, "database hr dropped with 1 tables and 2 grants", res[0].Message)
	require.Equal(t, [][]string{}, res[1].Rows, "SHOW sees the batch's own changes")
	var ops []Op
	for _, c := range b.Changes() {
		ops = append(ops, c.Op)
	}
	require.Equal(t, []Op{RemoveGrant, RemoveGrant, DropDatabase}, ops, "the cascade: the grants on the database and its table, then the database")
	require.Empty(t, b.State().ColumnAttrs)
}

// Every kind of change leaves the rows it started from as they were: the
// State it was given is shared with readers of the served policy.
func TestEveryChangeCopiesOnWrite(t *testing.T) {
	b, _, err := run(t, world(t), admin, "GRANT ROLE r TO USER u")
	require.NoError(t, err)
	st := b.State()
	before := dump(t, st)
	for _, sql := range []string{
		"CREATE ROLE q; GRANT ROLE q TO GROUP g; GRANT ROLE r TO USER u",
		"REVOKE ROLE r FROM USER u",
		"CREATE ROLE q; GRANT SELECT(id) ON TABLE hr.emp TO ROLE r; GRANT SELECT ON TABLE hr.emp TO ROLE q",
		"REVOKE SELECT ON TABLE hr.emp FROM ROLE r",
		"DROP ROLE r",
		"CREATE ATTRIBUTE pii.x; ALTER TABLE hr.emp ADD COLUMN ATTRIBUTE id pii.x",
		"ALTER TABLE hr.emp DROP COLUMN ATTRIBUTE ssn pii.ssn",
		"CREATE TABLE hr.other (a int); DROP TABLE hr.emp",
		"CREATE DATABASE fin; DROP DATABASE hr CASCADE",
	} {
		_, _, err := run(t, st, admin, sql)
		require.NoError(t, err, sql)
		require.Equal(t, before, dump(t, st), "%s wrote the state it was given", sql)
	}
}

// dump is every value of st, deeply, as text.
func dump(t *testing.T, st *catalog.State) string {
	out, err := json.Marshal(struct {
		State  *catalog.State
		Grants []catalog.Grant
	}{st, st.Grants.All()})
	require.NoError(t, err)
	return string(out)
}

// A refused statement says why, as a domain error, and a batch that fails
// part-way has changes the planner must not apply (it applies none).
func TestRefusalsAreDomainErrors(t *testing.T) {
	st := world(t)
	for sql, kind := range map[string]Kind{
		"DROP DATABASE hr":                           Precondition,
		"CREATE ROLE r":                              AlreadyExists,
		"GRANT SELECT ON TABLE hr.nope TO ROLE r":    NotFound,
		"GRANT INSERT(id) ON TABLE hr.emp TO ROLE r": Invalid,
		"DROP TABLE hr.nope":                         NotFound,
	} {
		_, _, err := run(t, st, admin, sql)
		var e *Error
		require.ErrorAs(t, err, &e, sql)
		require.Equal(t, kind, e.Kind, "%s: %v", sql, err)
	}
	_, _, err := run(t, st, policy.Principal{User: "bob"}, "CREATE ROLE x")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, Denied, e.Kind)
	require.Contains(t, e.Msg, "admin group")
}
