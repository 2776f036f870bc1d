package planner

import (
	"context"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
)

// viewsEnv: hr.secret (ssn tagged pii.ssn), hr.other, pub.t. Group owners
// (dora) may read hr.secret with ssn masked and only rows whose owner is the
// user, may read hr.other, and may create in pub and hr; group analysts
// (alice) may read pub.t.
func viewsEnv(t *testing.T) (*env, lakegatev1connect.PlannerServiceClient) {
	e := newEnv(t)
	root := e.client("root", "admin")
	mustSQL(t, root, `CREATE DATABASE hr; CREATE DATABASE pub;
		CREATE TABLE hr.secret (id bigint, ssn string, owner string); CREATE TABLE hr.other (id bigint);
		CREATE TABLE pub.t (id bigint);
		CREATE ATTRIBUTE pii.ssn; ALTER TABLE hr.secret ADD COLUMN ATTRIBUTE ssn pii.ssn;
		CREATE ROLE owner; GRANT ROLE owner TO GROUP owners;
		GRANT SELECT ON TABLE hr.secret TRANSFORM pii.ssn WITH mask() WHERE owner = user() TO ROLE owner;
		GRANT SELECT ON TABLE hr.other TO ROLE owner;
		GRANT CREATE ON DATABASE pub TO ROLE owner; GRANT CREATE ON DATABASE hr TO ROLE owner;
		CREATE ROLE reader; GRANT ROLE reader TO GROUP analysts; GRANT SELECT ON TABLE pub.t TO ROLE reader`)
	return e, root
}

func defineView(act lakegatev1.Action, db, name string, reads ...*lakegatev1.ViewRead) *lakegatev1.AuthObject {
	o := table(db, name, "id", "ssn")
	o.IsView, o.Action, o.ViewReads = true, act, reads
	return o
}

func reads(db, t string) *lakegatev1.ViewRead { return &lakegatev1.ViewRead{Database: db, Table: t} }

func selectView(db, name string) *lakegatev1.AuthObject {
	o := table(db, name, "id", "ssn")
	o.IsView = true
	return o
}

func under(view string, o *lakegatev1.AuthObject) *lakegatev1.AuthObject {
	o.UnderView = view
	return o
}

func secret() *lakegatev1.AuthObject { return table("hr", "secret", "id", "ssn", "owner") }

func columnTreatments(d *lakegatev1.ObjectDecision) map[string]string {
	out := map[string]string{}
	for _, c := range d.Columns {
		out[c.Name] = strings.TrimPrefix(c.Action.String(), "COLUMN_ACTION_")
	}
	return out
}

// The attack of the issue: a relation the caller may read, claimed to be a
// view, and hr.secret claimed to be read under it. Denied, and nothing is
// recorded from it.
func TestForgedViewClaimIsDenied(t *testing.T) {
	e, root := viewsEnv(t)
	alice := e.client("alice", "analysts")
	r := authorize(t, alice, "", selectView("pub", "t"), under("pub.t", secret()))
	require.True(t, r.Decisions[0].Allowed, r.Decisions[0].Reason)
	require.False(t, r.Decisions[1].Allowed)
	require.Contains(t, r.Decisions[1].Reason, `user "alice"`)
	require.Equal(t, []string{"other|TABLE", "secret|TABLE"}, rowsOf(mustSQL(t, root, "SHOW TABLES IN hr"), 0))
	require.Equal(t, []string{"t|TABLE"}, rowsOf(mustSQL(t, root, "SHOW TABLES IN pub"), 0))

	// A view defined with a read of something else does not cover hr.secret.
	dora := e.client("dora", "owners")
	require.True(t, authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", reads("hr", "other"))).Decisions[0].Allowed)
	mustSQL(t, root, "GRANT SELECT ON VIEW pub.v TO ROLE reader")
	r = authorize(t, alice, "", selectView("pub", "v"), under("pub.v", secret()))
	require.True(t, r.Decisions[0].Allowed)
	require.False(t, r.Decisions[1].Allowed, "hr.secret is not among pub.v's reads")
}

// Reads never write: objects claimed as views, unknown tables with invented
// columns, read by anyone (the admin included) record nothing and leave the
// policy version alone.
func TestReadsNeverWrite(t *testing.T) {
	e, root := viewsEnv(t)
	before := e.srv.snapshot().policy.Version()
	r := authorize(t, root, "", selectView("lake", "fake"), table("lake", "events", "id"), table("hr", "ghost", "ssn", "x"))
	require.True(t, r.Decisions[1].Allowed)
	require.Equal(t, before, r.PolicyVersion)
	require.Equal(t, before, e.srv.snapshot().policy.Version())
	for _, name := range []string{"fake", "events"} {
		_, ok := e.srv.snapshot().policy.Table("lake", name)
		require.False(t, ok, name)
	}
	_, ok := e.srv.snapshot().policy.Table("hr", "ghost")
	require.False(t, ok)
}

func TestCreateViewRecordsItsDefiner(t *testing.T) {
	e, root := viewsEnv(t)
	dora, alice := e.client("dora", "Owners"), e.client("alice", "analysts")
	before := e.srv.snapshot().policy.Version()
	r := authorize(t, dora, "s", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", reads("HR", "Secret"), reads("hr", "secret")))
	require.True(t, r.Decisions[0].Allowed, r.Decisions[0].Reason)
	require.Greater(t, r.PolicyVersion, before, "recorded before the answer, and the answer says so")
	v, ok := e.srv.snapshot().policy.Table("pub", "v")
	require.True(t, ok)
	require.Equal(t, catalog.Table{Database: "pub", Name: "v", IsView: true,
		Columns:       []catalog.Column{{Name: "id", Type: "string"}, {Name: "ssn", Type: "string"}},
		Definer:       "dora",
		DefinerGroups: []string{"owners"},
		ViewReads:     []catalog.ViewRead{{Database: "hr", Table: "secret"}}}, v)
	require.Equal(t, []string{"t|TABLE", "v|VIEW"}, rowsOf(mustSQL(t, root, "SHOW TABLES IN pub"), 0))

	// A reader with SELECT on the view alone reads hr.secret through it as
	// dora: her mask, and her row filter with user() bound to her.
	mustSQL(t, root, "GRANT SELECT ON VIEW pub.v TO ROLE reader")
	r = authorize(t, alice, "s2", selectView("pub", "v"), under("pub.v", secret()))
	require.True(t, r.Decisions[0].Allowed)
	d := r.Decisions[1]
	require.True(t, d.Allowed, d.Reason)
	require.Contains(t, d.Reason, `read through view pub.v as its definer "dora"`)
	require.Equal(t, map[string]string{"id": "VISIBLE", "ssn": "MASKED", "owner": "VISIBLE"}, columnTreatments(d))
	require.Equal(t, "owner = 'dora'", d.RowFilter)
	// Only its reads: hr.other (dora may read it) is not one of them.
	r = authorize(t, alice, "s2", selectView("pub", "v"), under("pub.v", table("hr", "other", "id")))
	require.False(t, r.Decisions[1].Allowed)
	// Without the view in the request, hr.secret is alice's own business.
	require.False(t, authorize(t, alice, "s2", under("pub.v", secret())).Decisions[0].Allowed)

	// The audit log says who defined the view.
	require.NoError(t, e.srv.audit.Flush())
	found := false
	require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{}, func(r audit.Record) error {
		found = found || (r.StatementType == "RECORD VIEW" && r.User == "dora" && r.Reason == "definer dora; reads hr.secret")
		return nil
	}))
	require.True(t, found)

	// The definer loses her grant: readers are denied from the next request.
	mustSQL(t, root, "REVOKE SELECT ON TABLE hr.secret TRANSFORM pii.ssn WITH mask() WHERE owner = user() FROM ROLE owner")
	r = authorize(t, alice, "s2", selectView("pub", "v"), under("pub.v", secret()))
	require.True(t, r.Decisions[0].Allowed)
	require.False(t, r.Decisions[1].Allowed)
	require.Contains(t, r.Decisions[1].Reason, `user "alice" may not read view pub.v: its definer "dora" may no longer SELECT hr.secret`)

	// An administrator's DROP VIEW removes the record (and its grants).
	mustSQL(t, root, "DROP VIEW pub.v")
	_, ok = e.srv.snapshot().policy.Table("pub", "v")
	require.False(t, ok)
}

func TestCreateViewOfUnreadableObjectIsDeniedAndRecordsNothing(t *testing.T) {
	e, root := viewsEnv(t)
	dora, alice := e.client("dora", "owners"), e.client("alice", "analysts")
	before := e.srv.snapshot().policy.Version()
	r := authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "w", reads("hr", "secret"), reads("pub", "t")))
	d := r.Decisions[0]
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, `user "dora"`)
	require.Contains(t, d.Reason, "may not SELECT pub.t, which the definition of view pub.w reads")
	// No CREATE grant: denied too.
	r2 := authorize(t, alice, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "w", reads("pub", "t")))
	require.False(t, r2.Decisions[0].Allowed)
	require.Contains(t, r2.Decisions[0].Reason, "GRANT CREATE ON DATABASE pub")
	require.Equal(t, before, e.srv.snapshot().policy.Version())
	require.Equal(t, []string{"t|TABLE"}, rowsOf(mustSQL(t, root, "SHOW TABLES IN pub"), 0))
}

func TestRecreatedViewChangesItsDefiner(t *testing.T) {
	e, root := viewsEnv(t)
	mustSQL(t, root, `CREATE ROLE builder; GRANT ROLE builder TO GROUP builders;
		GRANT CREATE ON DATABASE pub TO ROLE builder; GRANT SELECT ON TABLE hr.other TO ROLE builder`)
	dora, carl, alice := e.client("dora", "owners"), e.client("carl", "builders"), e.client("alice", "analysts")
	require.True(t, authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", reads("hr", "secret"))).Decisions[0].Allowed)
	mustSQL(t, root, "GRANT SELECT ON VIEW pub.v TO ROLE reader")
	require.True(t, authorize(t, alice, "", selectView("pub", "v"), under("pub.v", secret())).Decisions[1].Allowed)

	// carl re-creates it (CREATE OR REPLACE) over hr.other.
	require.True(t, authorize(t, carl, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", reads("hr", "other"))).Decisions[0].Allowed)
	r := authorize(t, alice, "", selectView("pub", "v"), under("pub.v", secret()), under("pub.v", table("hr", "other", "id")))
	require.False(t, r.Decisions[1].Allowed, "hr.secret is no longer read by pub.v")
	require.True(t, r.Decisions[2].Allowed, r.Decisions[2].Reason)
	require.Contains(t, r.Decisions[2].Reason, `as its definer "carl"`)

	// ALTER needs ALTER on the view: dora has none, so nothing changes.
	r = authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_ALTER, "pub", "v", reads("hr", "secret")))
	require.False(t, r.Decisions[0].Allowed)
	v, _ := e.srv.snapshot().policy.Table("pub", "v")
	require.Equal(t, "carl", v.Definer)
	// With ALTER on it, she alters it and becomes its definer.
	mustSQL(t, root, "GRANT ALTER ON VIEW pub.v TO ROLE owner")
	require.True(t, authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_ALTER, "pub", "v", reads("hr", "secret"))).Decisions[0].Allowed)
	v, _ = e.srv.snapshot().policy.Table("pub", "v")
	require.Equal(t, "dora", v.Definer)
	require.Equal(t, []catalog.ViewRead{{Database: "hr", Table: "secret"}}, v.ViewReads)
}

// pub.outer (by carl) reads hr.inner (by dora) reads hr.secret; alice may
// read pub.outer only.
func TestNestedViewsThroughTheAPI(t *testing.T) {
	e, root := viewsEnv(t)
	mustSQL(t, root, `CREATE ROLE builder; GRANT ROLE builder TO GROUP builders; GRANT CREATE ON DATABASE pub TO ROLE builder`)
	dora, carl, alice := e.client("dora", "owners"), e.client("carl", "builders"), e.client("alice", "analysts")
	require.True(t, authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_CREATE, "hr", "inner", reads("hr", "secret"))).Decisions[0].Allowed)
	mustSQL(t, root, "GRANT SELECT ON VIEW hr.inner TO ROLE builder")
	require.True(t, authorize(t, carl, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "outer", reads("hr", "inner"))).Decisions[0].Allowed)
	mustSQL(t, root, "GRANT SELECT ON VIEW pub.outer TO ROLE reader")

	r := authorize(t, alice, "", under("hr.inner", secret()), under("pub.outer", selectView("hr", "inner")), selectView("pub", "outer"))
	for i, d := range r.Decisions {
		require.True(t, d.Allowed, "object %d: %s", i, d.Reason)
	}
	require.Contains(t, r.Decisions[1].Reason, `as its definer "carl"`)
	require.Contains(t, r.Decisions[0].Reason, `as its definer "dora"`)
	require.Equal(t, "owner = 'dora'", r.Decisions[0].RowFilter)
}

// A view-only grant: an administrator defines the view; the reader holds
// SELECT on the view and nothing beneath it.
func TestViewOnlyGrant(t *testing.T) {
	e, root := viewsEnv(t)
	alice := e.client("alice", "analysts")
	require.True(t, authorize(t, root, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "all_secrets", reads("hr", "secret"))).Decisions[0].Allowed)
	mustSQL(t, root, "GRANT SELECT ON VIEW pub.all_secrets TO ROLE reader")
	r := authorize(t, alice, "", selectView("pub", "all_secrets"), under("pub.all_secrets", secret()))
	require.True(t, r.Decisions[1].Allowed, r.Decisions[1].Reason)
	require.True(t, r.Decisions[1].FullAccess)
	require.False(t, authorize(t, alice, "", secret()).Decisions[0].Allowed)
}

func TestViewReadsOnlyOnViewDefinitions(t *testing.T) {
	e, _ := viewsEnv(t)
	dora := e.client("dora", "owners")
	for name, o := range map[string]*lakegatev1.AuthObject{
		"a SELECT":           defineView(lakegatev1.Action_ACTION_SELECT, "pub", "v", reads("hr", "secret")),
		"a table":            {Database: "pub", Table: "v", Action: lakegatev1.Action_ACTION_CREATE, ViewReads: []*lakegatev1.ViewRead{reads("hr", "secret")}},
		"a read with both":   defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", &lakegatev1.ViewRead{Database: "hr", Table: "secret", Uri: "s3://x"}),
		"a read of database": defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", &lakegatev1.ViewRead{Database: "hr"}),
	} {
		_, err := dora.Authorize(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeRequest{Objects: []*lakegatev1.AuthObject{o}}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), name)
	}
	_, ok := e.srv.snapshot().policy.Table("pub", "v")
	require.False(t, ok)

	// A trusted proxy asks about URIs only; view_reads make no view there.
	e = newEnv(t, func(c *Config) { c.TrustedProxies = []string{"svc-ensemble"} })
	proxy := e.client("svc-ensemble")
	_, err := proxy.AuthorizeOnBehalf(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeOnBehalfRequest{
		Principal: &lakegatev1.OnBehalfOf{User: "root", Groups: []string{"admin"}},
		Objects:   []*lakegatev1.AuthObject{{Uri: "s3://b/p", IsView: true, Action: lakegatev1.Action_ACTION_CREATE, ViewReads: []*lakegatev1.ViewRead{{Uri: "s3://b/q"}}}},
	}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
}

// A definition decided on one policy version is decided again, before it is
// recorded, on the newest: a CREATE grant revoked in between records nothing.
func TestViewDecidedAgainOnTheNewestPolicy(t *testing.T) {
	e, root := viewsEnv(t)
	stale := e.srv.snapshot()
	mustSQL(t, root, "REVOKE CREATE ON DATABASE pub FROM ROLE owner")
	p := &authn.Principal{User: "dora", Groups: []string{"owners"}}
	c := &caller{principal: p, snap: stale, subject: stale.policy.Subject(toPolicyPrincipal(p))}
	obj := policy.Object{Database: "pub", Table: "v", IsView: true, Action: catalog.PrivCreate,
		ViewReads: []catalog.ViewRead{{Database: "hr", Table: "secret"}}}
	decisions := stale.policy.Authorize(c.subject, []policy.Object{obj})
	require.True(t, decisions[0].Allowed, "allowed on the stale version")
	version, err := e.srv.recordDefinitions(context.Background(), c, []definition{{index: 0, obj: &obj}}, decisions)
	require.NoError(t, err)
	require.False(t, decisions[0].Allowed)
	require.Contains(t, decisions[0].Reason, "CREATE")
	require.Equal(t, e.srv.snapshot().policy.Version(), version)
	_, ok := e.srv.snapshot().policy.Table("pub", "v")
	require.False(t, ok)
}

// A definition never changes what an object is: a CREATE or ALTER VIEW over a
// name the catalog holds as a table is denied (it would make the table's
// record a view's), and so is a CREATE TABLE over a recorded view.
func TestDefinitionNeverChangesWhatAnObjectIs(t *testing.T) {
	e, root := viewsEnv(t)
	dora := e.client("dora", "owners")
	before := e.srv.snapshot().policy.Version()
	for _, act := range []lakegatev1.Action{lakegatev1.Action_ACTION_CREATE, lakegatev1.Action_ACTION_ALTER} {
		d := authorize(t, dora, "", defineView(act, "hr", "secret", reads("hr", "other"))).Decisions[0]
		require.False(t, d.Allowed)
		require.Contains(t, d.Reason, `user "dora"`)
		require.Contains(t, d.Reason, "holds hr.secret as a table")
	}
	require.Equal(t, before, e.srv.snapshot().policy.Version())
	tb, _ := e.srv.snapshot().policy.Table("hr", "secret")
	require.False(t, tb.IsView)

	require.True(t, authorize(t, dora, "", defineView(lakegatev1.Action_ACTION_CREATE, "pub", "v", reads("hr", "other"))).Decisions[0].Allowed)
	o := table("pub", "v", "id")
	o.Action = lakegatev1.Action_ACTION_CREATE
	d := authorize(t, root, "", o).Decisions[0]
	require.False(t, d.Allowed, "not even the admin turns a recorded view into a table")
	require.Contains(t, d.Reason, "holds pub.v as a view")
}

// A read of a known table with other columns is decided as sent, recorded
// nowhere, and reported once per table and version (metric and audit).
func TestSchemaDriftIsReportedNotRecorded(t *testing.T) {
	e, root := viewsEnv(t)
	before := e.srv.snapshot().policy.Version()
	for i := 0; i < 3; i++ {
		r := authorize(t, root, "", table("pub", "t", "id", "extra"))
		require.True(t, r.Decisions[0].Allowed)
		require.Equal(t, before, r.PolicyVersion)
	}
	require.Equal(t, 1.0, testutil.ToFloat64(e.srv.metrics.drift))
	tb, _ := e.srv.snapshot().policy.Table("pub", "t")
	require.Equal(t, []catalog.Column{{Name: "id", Type: "bigint"}}, tb.Columns)
	require.NoError(t, e.srv.audit.Flush())
	n := 0
	require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{}, func(r audit.Record) error {
		if r.StatementType == "SCHEMA DRIFT" {
			n++
			require.Contains(t, r.Reason, "extra string")
			require.Contains(t, r.Reason, "id bigint")
		}
		return nil
	}))
	require.Equal(t, 1, n)
	// Same columns: no drift.
	authorize(t, root, "", &lakegatev1.AuthObject{Database: "pub", Table: "t", Columns: []*lakegatev1.Column{{Name: "ID", Type: "BIGINT"}}})
	require.Equal(t, 1.0, testutil.ToFloat64(e.srv.metrics.drift))
}
