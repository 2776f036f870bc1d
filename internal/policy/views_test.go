package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
)

// viewFixture: hr.secret (ssn tagged), hr.other, pub.t; dora (group owners)
// may read hr.secret with ssn masked and only her own rows, and hr.other;
// alice (analysts) may read pub.t and whatever views are granted to her.
func viewFixture() *fixture {
	f := newFixture()
	f.st.Databases = append(f.st.Databases, "hr", "pub")
	f.st.Tables = append(f.st.Tables,
		catalog.Table{Database: "hr", Name: "secret", Columns: cols("id", "ssn", "owner")},
		catalog.Table{Database: "hr", Name: "other", Columns: cols("id")},
		catalog.Table{Database: "pub", Name: "t", Columns: cols("id")},
	)
	f.st.ColumnAttrs = append(f.st.ColumnAttrs, catalog.ColumnAttribute{Database: "hr", Table: "secret", Column: "ssn", Attribute: "pii.ssn"})
	f.role("owner", "owners").role("reader", "analysts")
	f.grant(catalog.Grant{Role: "owner", Object: onTable("hr", "secret"), Filter: "owner = user()",
		Transforms: []catalog.Transform{{Attribute: "pii.ssn", Function: "mask"}}})
	f.grant(catalog.Grant{Role: "owner", Object: onTable("hr", "other")})
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "t")})
	return f
}

// view records db.name as a view defined by user (groups) reading reads.
func (f *fixture) view(db, name, user string, groups []string, reads ...catalog.ViewRead) *fixture {
	f.st.Tables = append(f.st.Tables, catalog.Table{Database: db, Name: name, IsView: true, Columns: cols("id"),
		Definer: user, DefinerGroups: groups, ViewReads: reads})
	return f
}

func read(db, t string) catalog.ViewRead { return catalog.ViewRead{Database: db, Table: t} }

var dora = Principal{User: "dora", Groups: []string{"owners"}}

func viewObj(db, name string) Object {
	return Object{Database: db, Table: name, IsView: true, Columns: cols("id"), Action: catalog.PrivSelect}
}

func secretUnder(view string) Object {
	return Object{Database: "hr", Table: "secret", Columns: cols("id", "ssn", "owner"), Action: catalog.PrivSelect, UnderView: view}
}

// The attack: a client claims a relation it may read is a view and that
// hr.secret is read under it. Nothing the planner did not record gives
// definer rights.
func TestForgedViewClaimsGiveNothing(t *testing.T) {
	f := viewFixture()
	f.st.Tables = append(f.st.Tables, catalog.Table{Database: "pub", Name: "unrecorded", IsView: true, Columns: cols("id")})
	f.view("pub", "v", "dora", []string{"owners"}, read("hr", "other"))
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "unrecorded")})
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "v")})
	p := f.compile(t)
	for name, view := range map[string]string{
		"a table claimed as a view":         "pub.t",
		"a view the planner did not record": "pub.unrecorded",
		"a view that does not read it":      "pub.v",
		"a view the planner has never seen": "pub.nothing",
	} {
		t.Run(name, func(t *testing.T) {
			db, tbl := "pub", view[len("pub."):]
			ds := p.Authorize(p.Subject(alice), []Object{viewObj(db, tbl), secretUnder(view)})
			if tbl != "nothing" {
				require.True(t, ds[0].Allowed, ds[0].Reason)
			}
			require.False(t, ds[1].Allowed, "hr.secret under %s: %s", view, ds[1].Reason)
			require.Contains(t, ds[1].Reason, `user "alice"`, "decided with the reader's own rights")
		})
	}
}

func TestRecordedViewReadsAsItsDefiner(t *testing.T) {
	f := viewFixture().view("pub", "v", "dora", []string{"owners"}, read("hr", "secret"))
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "v")})
	p := f.compile(t)
	ds := p.Authorize(p.Subject(alice), []Object{secretUnder("pub.v"), viewObj("pub", "v")})
	require.True(t, ds[1].Allowed)
	d := ds[0]
	require.True(t, d.Allowed, d.Reason)
	require.Contains(t, d.Reason, `read through view pub.v as its definer "dora"`)
	// The definer's mask and row filter apply, and user() is the definer.
	require.Equal(t, map[string]string{"id": "VISIBLE", "ssn": "MASKED:mask", "owner": "VISIBLE"}, actions(d))
	require.Equal(t, "owner = 'dora'", d.RowFilter)
	require.False(t, d.FullAccess)

	// Only the reads: hr.other, which dora may read, is not read by pub.v.
	other := Object{Database: "hr", Table: "other", Columns: cols("id"), Action: catalog.PrivSelect, UnderView: "pub.v"}
	require.False(t, p.Authorize(p.Subject(alice), []Object{viewObj("pub", "v"), other})[1].Allowed)
	// Only reads: an INSERT claimed under the view is the reader's own.
	ins := secretUnder("pub.v")
	ins.Action = catalog.PrivInsert
	require.False(t, p.Authorize(p.Subject(alice), []Object{viewObj("pub", "v"), ins})[1].Allowed)
	// The view must be in the request and allowed.
	require.False(t, p.Authorize(p.Subject(alice), []Object{secretUnder("pub.v")})[0].Allowed)
	bob := Principal{User: "bob"}
	ds = p.Authorize(p.Subject(bob), []Object{viewObj("pub", "v"), secretUnder("pub.v")})
	require.False(t, ds[0].Allowed)
	require.False(t, ds[1].Allowed)
	require.Contains(t, ds[1].Reason, `user "bob"`)
}

func TestDefinerWhoLostAccessDeniesReaders(t *testing.T) {
	f := viewFixture().view("pub", "v", "dora", []string{"owners"}, read("hr", "secret"))
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "v")})
	// dora's role is granted to her group no more.
	f.st.Memberships = filterMemberships(f.st.Memberships, "owner")
	p := f.compile(t)
	d := p.Authorize(p.Subject(alice), []Object{viewObj("pub", "v"), secretUnder("pub.v")})[1]
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, `view pub.v: its definer "dora" may no longer SELECT hr.secret`)
	require.NotContains(t, d.Reason, "owners", "the definer's groups are not shown to the reader")
}

func filterMemberships(ms []catalog.Membership, role string) []catalog.Membership {
	var out []catalog.Membership
	for _, m := range ms {
		if m.Role != role {
			out = append(out, m)
		}
	}
	return out
}

// A view-only grant: the reader holds SELECT on the view alone, the view was
// defined by an admin.
func TestViewOnlyGrantWithAdminDefiner(t *testing.T) {
	f := viewFixture().view("sales", "eu", "root", []string{"admin"}, read("sales", "customers"))
	f.grant(catalog.Grant{Role: "reader", Object: onTable("sales", "eu")})
	p := f.compile(t)
	ds := p.Authorize(p.Subject(alice), []Object{viewObj("sales", "eu"), {Database: "sales", Table: "customers",
		Columns: cols("id", "ssn"), Action: catalog.PrivSelect, UnderView: "sales.eu"}})
	require.True(t, ds[1].Allowed, ds[1].Reason)
	require.True(t, ds[1].FullAccess)
	require.Contains(t, ds[1].Reason, `as its definer "root"`)
	// The reader has no grant on the table itself.
	require.False(t, decide(t, p, alice, customers()).Allowed)
}

// Nested views: pub.outer (by carl) reads hr.inner (by dora) reads
// hr.secret. Each level is decided as the definer of the view right above
// it, in whatever order the request lists them.
func TestNestedViews(t *testing.T) {
	f := viewFixture()
	f.view("hr", "inner", "dora", []string{"owners"}, read("hr", "secret"))
	f.view("pub", "outer", "carl", []string{"curators"}, read("hr", "inner"))
	f.role("curator", "curators")
	f.grant(catalog.Grant{Role: "curator", Object: onTable("hr", "inner")})
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "outer")})
	p := f.compile(t)
	inner := viewObj("hr", "inner")
	inner.UnderView = "pub.outer"
	ds := p.Authorize(p.Subject(alice), []Object{secretUnder("hr.inner"), inner, viewObj("pub", "outer")})
	require.True(t, ds[2].Allowed)
	require.True(t, ds[1].Allowed, ds[1].Reason)
	require.Contains(t, ds[1].Reason, `as its definer "carl"`)
	require.True(t, ds[0].Allowed, ds[0].Reason)
	require.Contains(t, ds[0].Reason, `as its definer "dora"`)
	require.Equal(t, "owner = 'dora'", ds[0].RowFilter)

	// Claiming the outermost view for the table does not work: pub.outer
	// does not read hr.secret.
	ds = p.Authorize(p.Subject(alice), []Object{secretUnder("pub.outer"), inner, viewObj("pub", "outer")})
	require.False(t, ds[0].Allowed)
	// Without the outer view the inner one is the reader's own, and denied;
	// so is what is under it.
	ds = p.Authorize(p.Subject(alice), []Object{secretUnder("hr.inner"), viewObj("hr", "inner")})
	require.False(t, ds[1].Allowed)
	require.False(t, ds[0].Allowed)
}

// Claims that go round in a circle are decided without recursion running
// away: where the circle closes the view is decided with the reader's own
// rights, so the result is that of a plain chain starting there.
func TestCircularUnderViewClaims(t *testing.T) {
	f := viewFixture()
	f.view("pub", "a", "dora", []string{"owners"}, read("pub", "b"), read("hr", "secret"))
	f.view("pub", "b", "dora", []string{"owners"}, read("pub", "a"))
	f.grant(catalog.Grant{Role: "owner", Object: onTable("pub", "a")})
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "b")})
	p := f.compile(t)
	a, b := viewObj("pub", "a"), viewObj("pub", "b")
	a.UnderView, b.UnderView = "pub.b", "pub.a"
	ds := p.Authorize(p.Subject(alice), []Object{secretUnder("pub.a"), a, b})
	require.True(t, ds[2].Allowed, ds[2].Reason)
	require.Equal(t, "granted to role reader", ds[2].Reason, "pub.b closes the circle: the reader's own rights")
	require.Contains(t, ds[1].Reason, `as its definer "dora"`)
	require.Contains(t, ds[0].Reason, `as its definer "dora"`)

	// Without the reader's grant on pub.b nothing in the circle is allowed.
	all := f.st.Grants.All()
	f.st.Grants = f.st.Grants.Without(all[len(all)-1].Role, all[len(all)-1].ID)
	p = f.compile(t)
	ds = p.Authorize(p.Subject(alice), []Object{b, a, secretUnder("pub.a")})
	for i, d := range ds {
		require.False(t, d.Allowed, "object %d: %s", i, d.Reason)
	}
}

func TestURIReadByAView(t *testing.T) {
	f := viewFixture().view("pub", "files", "dora", []string{"owners"}, catalog.ViewRead{URI: "s3://lake/raw"})
	f.grant(catalog.Grant{Role: "owner", Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://lake/raw"}})
	f.grant(catalog.Grant{Role: "reader", Object: onTable("pub", "files")})
	p := f.compile(t)
	for uri, want := range map[string]bool{"s3a://lake/raw": true, "s3://lake/raw/part-0.parquet": true, "s3://lake/rawer": false, "s3://lake": false} {
		ds := p.Authorize(p.Subject(alice), []Object{viewObj("pub", "files"), {URI: uri, Action: catalog.PrivSelect, UnderView: "pub.files"}})
		require.Equal(t, want, ds[1].Allowed, "%s: %s", uri, ds[1].Reason)
	}
}

func TestViewDefinition(t *testing.T) {
	f := viewFixture()
	f.role("builder", "owners")
	f.grant(catalog.Grant{Role: "builder", Privilege: catalog.PrivCreate, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "pub"}})
	f.grant(catalog.Grant{Role: "builder", Privilege: catalog.PrivAlter, Object: onTable("pub", "old")})
	p := f.compile(t)
	create := func(name string, act catalog.Privilege, reads ...catalog.ViewRead) Object {
		return Object{Database: "pub", Table: name, IsView: true, Columns: cols("id"), Action: act, ViewReads: reads}
	}
	require.True(t, IsViewDefinition(&[]Object{create("v", catalog.PrivCreate)}[0]))
	require.False(t, IsViewDefinition(&Object{Database: "pub", Table: "v", Action: catalog.PrivCreate}), "not claimed as a view")
	require.False(t, IsViewDefinition(&Object{Database: "pub", Table: "v", IsView: true, Action: catalog.PrivSelect}))

	// CREATE of a view that does not exist yet, with a CREATE grant on its
	// database, reading what the creator may read (her row filter and mask
	// do not matter here: they apply when the view is read).
	d := decide(t, p, dora, create("new", catalog.PrivCreate, read("hr", "secret"), read("hr", "other")))
	require.True(t, d.Allowed, d.Reason)
	// A read the creator may not read denies the whole definition.
	d = decide(t, p, dora, create("new", catalog.PrivCreate, read("hr", "other"), read("pub", "t")))
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, `user "dora"`)
	require.Contains(t, d.Reason, "may not SELECT pub.t, which the definition of view pub.new reads")
	d = decide(t, p, dora, create("new", catalog.PrivCreate, catalog.ViewRead{URI: "s3://lake/raw"}))
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, "may not SELECT s3://lake/raw, which the definition of view pub.new reads")
	d = decide(t, p, dora, create("new", catalog.PrivCreate, catalog.ViewRead{Database: "hr"}))
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, "neither a table nor a URI")
	// No CREATE grant: denied, and the reason says where CREATE is granted.
	d = decide(t, p, alice, create("new", catalog.PrivCreate, read("pub", "t")))
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, "GRANT CREATE ON DATABASE pub")
	// ALTER needs ALTER on the view itself.
	require.True(t, decide(t, p, dora, create("old", catalog.PrivAlter, read("hr", "other"))).Allowed)
	require.False(t, decide(t, p, dora, create("new", catalog.PrivAlter, read("hr", "other"))).Allowed)
	// Admins may define anything.
	require.True(t, decide(t, p, Principal{User: "root", Groups: []string{"admin"}}, create("new", catalog.PrivCreate, read("hr", "secret"))).Allowed)
}
