package ddl

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// The incremental compile is an optimisation only: after any sequence of
// policy changes, policy.Recompile from the previous index gives exactly the
// index policy.Compile builds from scratch. The changes are random batches
// of real statements run through Batch, as the planner runs them, over a
// small world so that they collide (the same role granted, revoked,
// dropped and recreated; tables dropped under their grants and attributes).
func TestRecompileEqualsCompile(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			b, _, err := run(t, &catalog.State{}, admin, `CREATE ROLE r0; CREATE ROLE r1; CREATE ROLE r2;
				CREATE ATTRIBUTE pii.x; CREATE ATTRIBUTE pii.y; CREATE DATABASE d0; CREATE DATABASE d1;
				CREATE TABLE d0.t0 (a int, b string, c string); CREATE TABLE d1.t1 (a int, b string, c string)`)
			require.NoError(t, err)
			st := b.State()
			pol, err := policy.Compile(st, policy.Options{})
			require.NoError(t, err)
			var nextID int64
			applied, most := 0, 0
			for step := 0; step < 600; step++ {
				stmts := make([]string, 1+rng.IntN(2))
				for i := range stmts {
					stmts[i] = randomStatement(rng)
				}
				sql := strings.Join(stmts, "; ")
				parsed, err := policysql.Parse(sql)
				require.NoError(t, err, sql)
				b := NewBatch(st, pol, pol.Subject(admin), admin, policy.Options{})
				failed := false
				for _, p := range parsed {
					if _, err := b.Run(p.Stmt); err != nil {
						failed = true // a refused batch changes nothing, as in the planner
						break
					}
				}
				if failed || len(b.Changes()) == 0 {
					continue
				}
				applied++
				next := b.State()
				ids := map[int64]int64{} // as the store numbers them: in the order added
				for _, g := range next.Grants.All() {
					if g.ID < 0 {
						nextID++
						ids[g.ID] = nextID
					}
				}
				next.Grants = next.Grants.Renumber(ids)
				next.Version = st.Version + 1

				inc, err := policy.Recompile(pol, next, policy.Options{})
				require.NoError(t, err, sql)
				full, err := policy.Compile(next, policy.Options{})
				require.NoError(t, err, sql)
				if !reflect.DeepEqual(inc, full) {
					t.Fatalf("step %d (%s): the incremental index differs from the full compile", step, sql)
				}
				st, pol = next, inc
				most = max(most, st.Grants.Len())
			}
			require.Greater(t, applied, 100, "too few batches changed anything: the test would prove little")
			require.Greater(t, most, 5, "too few grants at once: the test would prove little")
		})
	}
}

// randomStatement is one policy statement over a small world of roles,
// principals, databases, tables, columns and attributes.
func randomStatement(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	role := pick("r0", "r1", "r2", "r3")
	db := pick("d0", "d1")
	table := db + "." + pick("t0", "t1", "t2")
	col := pick("a", "b", "c")
	attr := pick("pii.x", "pii.y")
	member := pick("GROUP g0", "GROUP G1", "USER u0", "USER u1")
	grant := pick(
		"SELECT ON TABLE "+table,
		"SELECT("+col+") ON TABLE "+table,
		"SELECT ON DATABASE "+db+" HAVING ATTRIBUTE IN ("+attr+")",
		"SELECT ON DATABASE "+db+" HAVING ATTRIBUTE NOT IN ("+attr+") TRANSFORM "+attr+" WITH mask()",
		"SELECT ON TABLE "+table+" WHERE a > "+pick("1", "2"),
		"ALL ON DATABASE "+db,
		"INSERT ON TABLE "+table,
		"SHOW ON CATALOG",
		"SELECT ON URI 's3://lake/"+pick("x", "y")+"'",
	)
	switch rng.IntN(24) {
	case 0:
		return "CREATE ROLE " + role
	case 1:
		return "DROP ROLE IF EXISTS " + role
	case 2, 3:
		return "GRANT ROLE " + role + " TO " + member
	case 4:
		return "REVOKE ROLE " + role + " FROM " + member
	case 5, 6, 7, 8, 9, 10, 11, 12, 13:
		return "GRANT " + grant + " TO ROLE " + role
	case 14, 15:
		return "REVOKE " + grant + " FROM ROLE " + role
	case 16:
		return "CREATE ATTRIBUTE IF NOT EXISTS " + attr
	case 17:
		return "CREATE DATABASE IF NOT EXISTS " + db
	case 18:
		return "DROP DATABASE IF EXISTS " + db + " CASCADE"
	case 19, 20:
		return "CREATE TABLE IF NOT EXISTS " + table + " (a int, b string, c string)"
	case 21:
		return "DROP TABLE IF EXISTS " + table
	default:
		return "ALTER TABLE " + table + " " + pick("ADD", "DROP") + " COLUMN ATTRIBUTE " + col + " " + attr
	}
}
