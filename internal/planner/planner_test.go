package planner

import (
	"context"
	"crypto"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

// env is an in-process planner on a loopback port.
type env struct {
	t      testing.TB
	srv    *Server
	base   string
	key    crypto.Signer
	cancel context.CancelFunc
	done   chan error
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	_, pub, err := authn.GenerateKeyPair(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	key, err := authn.LoadPrivateKey(filepath.Join(dir, "keys", authn.PrivateKeyFile))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data"), logger)
	require.NoError(t, err)
	cfg := Config{Auth: authn.Config{PublicKeyFiles: []string{pub}, Leeway: time.Second}, Logger: logger}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(ctx, cfg, st, filepath.Join(dir, "data"))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &env{t: t, srv: srv, base: "http://" + ln.Addr().String(), key: key, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-e.done)
	})
	return e
}

func (e *env) client(user string, groups ...string) lakegatev1connect.PlannerServiceClient {
	tok, err := authn.SignToken(e.key, authn.TokenSpec{User: user, Groups: groups, TTL: time.Hour}, time.Now())
	require.NoError(e.t, err)
	return e.clientWithToken(tok)
}

func (e *env) clientWithToken(tok string) lakegatev1connect.PlannerServiceClient {
	return lakegatev1connect.NewPlannerServiceClient(http.DefaultClient, e.base, connect.WithInterceptors(
		connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer "+tok)
				return next(ctx, req)
			}
		})))
}

func sql(t testing.TB, c lakegatev1connect.PlannerServiceClient, stmts string) (*lakegatev1.ExecuteSqlResponse, error) {
	t.Helper()
	r, err := c.ExecuteSql(context.Background(), connect.NewRequest(&lakegatev1.ExecuteSqlRequest{Sql: stmts}))
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

func mustSQL(t *testing.T, c lakegatev1connect.PlannerServiceClient, stmts string) *lakegatev1.ExecuteSqlResponse {
	t.Helper()
	r, err := sql(t, c, stmts)
	require.NoError(t, err, stmts)
	return r
}

func authorize(t *testing.T, c lakegatev1connect.PlannerServiceClient, sessionID string, objs ...*lakegatev1.AuthObject) *lakegatev1.AuthorizeResponse {
	t.Helper()
	r, err := c.Authorize(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeRequest{SessionId: sessionID, Objects: objs}))
	require.NoError(t, err)
	return r.Msg
}

func table(db, t string, cols ...string) *lakegatev1.AuthObject {
	o := &lakegatev1.AuthObject{Database: db, Table: t}
	for _, c := range cols {
		o.Columns = append(o.Columns, &lakegatev1.Column{Name: c, Type: "string"})
	}
	return o
}

func rowsOf(r *lakegatev1.ExecuteSqlResponse, i int) []string {
	var out []string
	for _, row := range r.Results[i].Rows {
		out = append(out, strings.Join(row.Values, "|"))
	}
	return out
}

func TestGrantAndRevokeInOneCall(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	r := mustSQL(t, root, `CREATE ROLE a;
		GRANT SELECT ON TABLE okera_sample.users TO ROLE a;
		GRANT SELECT(uid) ON TABLE okera_sample.users TO ROLE a;
		REVOKE SELECT ON TABLE okera_sample.users FROM ROLE a;
		SHOW GRANTS TO ROLE a`)
	require.Equal(t, []string{"a|SELECT|TABLE okera_sample.users|uid|||"}, rowsOf(r, 4))
	r = mustSQL(t, root, "SHOW GRANTS TO ROLE a")
	require.Equal(t, []string{"a|SELECT|TABLE okera_sample.users|uid|||"}, rowsOf(r, 0), "what the store holds matches")
	// The revoked grant's id was mapped: revoking the remaining one works.
	mustSQL(t, root, "REVOKE SELECT(uid) ON TABLE okera_sample.users FROM ROLE a")
	require.Empty(t, rowsOf(mustSQL(t, root, "SHOW GRANTS TO ROLE a"), 0))
}

func TestDroppedTableTakesItsGrants(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	mustSQL(t, root, `CREATE DATABASE s; CREATE TABLE s.t (a string); CREATE ROLE r; GRANT ROLE r TO GROUP g;
		GRANT SELECT ON TABLE s.t TO ROLE r`)
	alice := e.client("alice", "g")
	require.True(t, authorize(t, alice, "", table("s", "t", "a")).Decisions[0].Allowed)
	mustSQL(t, root, "DROP TABLE s.t; CREATE TABLE s.t (a string)")
	d := authorize(t, alice, "", table("s", "t", "a")).Decisions[0]
	require.False(t, d.Allowed, "a new table of the same name must not inherit the old grants")
	require.Empty(t, rowsOf(mustSQL(t, root, "SHOW GRANTS TO ROLE r"), 0))
}

func TestHolderOfAllMayGrantBelowIt(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	mustSQL(t, root, `CREATE DATABASE s; CREATE TABLE s.t (a string); CREATE ROLE owner; CREATE ROLE reader;
		GRANT ROLE owner TO GROUP owners; GRANT ALL ON DATABASE s TO ROLE owner`)
	olga := e.client("olga", "owners")
	mustSQL(t, olga, "GRANT SELECT ON TABLE s.t TO ROLE reader")
	_, err := sql(t, olga, "GRANT SELECT ON TABLE okera_sample.users TO ROLE reader")
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	_, err = sql(t, olga, "GRANT ROLE reader TO GROUP owners")
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
}

// A session id borrowed with another token never yields the first
// session's identity.
func TestSessionIDCannotBeBorrowed(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	bob := e.client("bob")
	obj := table("okera_sample", "users", "uid")
	require.True(t, authorize(t, root, "shared-session", obj).Decisions[0].Allowed)
	r := authorize(t, bob, "shared-session", obj)
	require.Equal(t, "bob", r.User)
	require.False(t, r.Decisions[0].Allowed)
	require.True(t, authorize(t, root, "shared-session", obj).Decisions[0].Allowed)
}

// A cached session does not outlive its token.
func TestCachedSessionExpires(t *testing.T) {
	e := newEnv(t)
	tok, err := authn.SignToken(e.key, authn.TokenSpec{User: "root", Groups: []string{"admin"}, TTL: 2 * time.Second}, time.Now())
	require.NoError(t, err)
	c := e.clientWithToken(tok)
	obj := table("okera_sample", "users", "uid")
	require.True(t, authorize(t, c, "s", obj).Decisions[0].Allowed)
	deadline := time.Now().Add(10 * time.Second) // expiry plus the verifier's leeway
	for {
		_, err := c.Authorize(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeRequest{SessionId: "s", Objects: []*lakegatev1.AuthObject{obj}}))
		if err != nil {
			require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
			return
		}
		require.True(t, time.Now().Before(deadline), "an expired token kept working through its session")
		time.Sleep(500 * time.Millisecond)
	}
}

func TestPolicyChangeReachesCachedSessions(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	alice := e.client("alice", "analysts")
	obj := table("okera_sample", "users", "uid", "ccn")
	require.False(t, authorize(t, alice, "s1", obj).Decisions[0].Allowed)
	mustSQL(t, root, "CREATE ROLE a; GRANT ROLE a TO GROUP analysts; GRANT SELECT ON TABLE okera_sample.users TO ROLE a")
	r := authorize(t, alice, "s1", obj)
	require.True(t, r.Decisions[0].Allowed)
	mustSQL(t, root, "REVOKE SELECT ON TABLE okera_sample.users FROM ROLE a")
	r2 := authorize(t, alice, "s1", obj)
	require.False(t, r2.Decisions[0].Allowed)
	require.Greater(t, r2.PolicyVersion, r.PolicyVersion)
}

// Tables enter the catalog through an allowed CREATE: the engine asks for
// the new table with the CREATE action and its columns; the planner records
// it before answering, so it can be granted on and tagged at once. A denied
// CREATE, and a CREATE of a name the planner knows, change nothing.
func TestCreatedTablesAreRecorded(t *testing.T) {
	e := newEnv(t)
	root := e.client("root", "admin")
	bob := e.client("bob")
	create := func(db, tb string, cols ...string) *lakegatev1.AuthObject {
		o := table(db, tb, cols...)
		o.Action = lakegatev1.Action_ACTION_CREATE
		o.Location = "s3://b/" + tb
		return o
	}
	r := authorize(t, bob, "", create("lake", "junk", "x"))
	require.False(t, r.Decisions[0].Allowed)
	require.Contains(t, r.Decisions[0].Reason, "CREATE")
	before := e.srv.snapshot().policy.Version()
	r = authorize(t, root, "", create("lake", "events", "ID", "payload"))
	require.True(t, r.Decisions[0].Allowed, r.Decisions[0].Reason)
	require.Greater(t, r.PolicyVersion, before, "recorded before the answer, and the answer says so")
	require.Equal(t, []string{"events|TABLE"}, rowsOf(mustSQL(t, root, "SHOW TABLES IN lake"), 0))
	tb, ok := e.srv.snapshot().policy.Table("lake", "events")
	require.True(t, ok)
	require.Equal(t, "s3://b/events", tb.Location)
	require.Equal(t, []catalog.Column{{Name: "id", Type: "string"}, {Name: "payload", Type: "string"}}, tb.Columns)
	// Now it can be granted on and tagged, by column name.
	mustSQL(t, root, "CREATE ROLE r; CREATE ATTRIBUTE x.y; ALTER TABLE lake.events ADD COLUMN ATTRIBUTE id x.y; GRANT SELECT ON TABLE lake.events TO ROLE r")
	// A second CREATE of a known name never rewrites its record.
	v := e.srv.snapshot().policy.Version()
	r = authorize(t, root, "", create("lake", "events", "other"))
	require.True(t, r.Decisions[0].Allowed)
	require.Equal(t, v, r.PolicyVersion)
	tb, _ = e.srv.snapshot().policy.Table("lake", "events")
	require.Len(t, tb.Columns, 2)
}
