package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
)

// fixture builds a policy from a few rows.
type fixture struct{ st catalog.State }

func newFixture() *fixture {
	f := &fixture{}
	f.st.Version = 7
	f.st.Databases = []string{"sales", "okera_sample"}
	f.st.Attributes = []string{"pii.ssn", "pii.email", "pii.credit_card"}
	f.st.Tables = []catalog.Table{
		{Database: "sales", Name: "customers", Columns: cols("id", "name", "ssn", "email", "region")},
		{Database: "sales", Name: "orders", Columns: cols("id", "amount")},
		{Database: "sales", Name: "eu_customers", IsView: true, Columns: cols("id", "name")},
		{Database: "okera_sample", Name: "whoami", Columns: cols("user")},
	}
	f.st.ColumnAttrs = []catalog.ColumnAttribute{
		{Database: "sales", Table: "customers", Column: "ssn", Attribute: "pii.ssn"},
		{Database: "sales", Table: "customers", Column: "email", Attribute: "pii.email"},
	}
	return f
}

func cols(names ...string) []catalog.Column {
	out := make([]catalog.Column, len(names))
	for i, n := range names {
		out[i] = catalog.Column{Name: n, Type: "string"}
	}
	return out
}

func (f *fixture) role(name string, groups ...string) *fixture {
	f.st.Roles = append(f.st.Roles, name)
	for _, g := range groups {
		f.st.Memberships = append(f.st.Memberships, catalog.Membership{Role: name, Kind: catalog.MemberGroup, Name: g})
	}
	return f
}

func (f *fixture) grant(g catalog.Grant) *fixture {
	g.ID = int64(f.st.Grants.Len() + 1)
	if g.Privilege == "" {
		g.Privilege = catalog.PrivSelect
	}
	f.st.Grants = f.st.Grants.With(g)
	return f
}

func onTable(db, t string) catalog.Object {
	return catalog.Object{Scope: catalog.ScopeTable, Database: db, Table: t}
}

func (f *fixture) compile(t *testing.T) *Policy {
	t.Helper()
	p, err := Compile(&f.st, Options{})
	require.NoError(t, err)
	return p
}

func customers(columns ...string) Object {
	if len(columns) == 0 {
		columns = []string{"id", "name", "ssn", "email", "region"}
	}
	return Object{Database: "sales", Table: "customers", Columns: cols(columns...), Action: catalog.PrivSelect}
}

func decide(t *testing.T, p *Policy, pr Principal, o Object) Decision {
	t.Helper()
	return p.Authorize(p.Subject(pr), []Object{o})[0]
}

func actions(d Decision) map[string]string {
	out := map[string]string{}
	for _, c := range d.Columns {
		s := c.Action.String()
		if c.Mask != nil {
			s += ":" + c.Mask.Function
		}
		out[c.Name] = s
	}
	return out
}

var alice = Principal{User: "alice", Groups: []string{"analysts"}}

func TestAdminAndNoGrant(t *testing.T) {
	p := newFixture().compile(t)
	d := decide(t, p, Principal{User: "root", Groups: []string{"admin"}}, customers())
	require.True(t, d.Allowed)
	require.True(t, d.FullAccess)
	require.Len(t, d.Columns, 5)

	d = decide(t, p, Principal{User: "bob"}, customers())
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, `user "bob"`)
	require.Contains(t, d.Reason, "SELECT")
	require.Contains(t, d.Reason, "sales.customers")
	require.Empty(t, d.Columns)
}

func TestScopesCoverTables(t *testing.T) {
	for name, obj := range map[string]catalog.Object{
		"catalog":  {Scope: catalog.ScopeCatalog},
		"database": {Scope: catalog.ScopeDatabase, Database: "sales"},
		"table":    onTable("sales", "customers"),
	} {
		t.Run(name, func(t *testing.T) {
			p := newFixture().role("analyst", "analysts").grant(catalog.Grant{Role: "analyst", Object: obj}).compile(t)
			d := decide(t, p, alice, customers())
			require.True(t, d.Allowed, d.Reason)
			require.True(t, d.FullAccess)
			require.Empty(t, d.RowFilter)
		})
	}
	// A table grant does not reach another table.
	p := newFixture().role("analyst", "analysts").grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "orders")}).compile(t)
	require.False(t, decide(t, p, alice, customers()).Allowed)
	// Nor does a grant to another group.
	p = newFixture().role("analyst", "others").grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers")}).compile(t)
	require.False(t, decide(t, p, alice, customers()).Allowed)
}

func TestColumnGrant(t *testing.T) {
	p := newFixture().role("analyst", "analysts").
		grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"), Columns: []string{"id", "name"}}).compile(t)
	d := decide(t, p, alice, customers("ID", "name", "ssn"))
	require.True(t, d.Allowed)
	require.False(t, d.FullAccess)
	require.Equal(t, map[string]string{"ID": "VISIBLE", "name": "VISIBLE", "ssn": "REMOVED"}, actions(d))
	// Asking only for columns the grant does not cover is a denial.
	d = decide(t, p, alice, customers("ssn"))
	require.False(t, d.Allowed)
}

func TestAttributes(t *testing.T) {
	f := newFixture().role("analyst", "analysts")
	p := f.grant(catalog.Grant{Role: "analyst", Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"},
		Attributes: []string{"pii.ssn", "pii.email"}, AttributesNot: true}).compile(t)
	require.Equal(t, map[string]string{"id": "VISIBLE", "name": "VISIBLE", "ssn": "REMOVED", "email": "REMOVED", "region": "VISIBLE"},
		actions(decide(t, p, alice, customers())))

	f = newFixture().role("analyst", "analysts")
	p = f.grant(catalog.Grant{Role: "analyst", Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"},
		Attributes: []string{"pii.ssn"}}).compile(t)
	require.Equal(t, map[string]string{"id": "REMOVED", "name": "REMOVED", "ssn": "VISIBLE", "email": "REMOVED", "region": "REMOVED"},
		actions(decide(t, p, alice, customers())))
	// HAVING ATTRIBUTE IN on a table with no such column grants nothing.
	require.False(t, decide(t, p, alice, Object{Database: "sales", Table: "orders", Columns: cols("id", "amount")}).Allowed)
}

func TestTransform(t *testing.T) {
	p := newFixture().role("analyst", "analysts").grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"),
		Transforms: []catalog.Transform{{Attribute: "pii.ssn", Function: "mask_ccn"}, {Attribute: "pii.email", Function: "tokenize", Args: []string{"'k'"}}}}).compile(t)
	d := decide(t, p, alice, customers())
	require.True(t, d.Allowed)
	require.False(t, d.FullAccess)
	require.Equal(t, map[string]string{"id": "VISIBLE", "name": "VISIBLE", "ssn": "MASKED:mask_ccn", "email": "MASKED:tokenize", "region": "VISIBLE"}, actions(d))
	require.Equal(t, []string{"'k'"}, d.Columns[3].Mask.Args)
}

func TestRowFilterBinding(t *testing.T) {
	f := newFixture().role("analyst", "analysts").role("eu", "analysts").role("other")
	f.grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"),
		Filter: "name = user() AND has_roles('eu') AND NOT has_roles('other') AND region = user_attribute('region') AND has_access('sales.orders') AND NOT has_access('sales.eu_customers') AND user_attribute('nope') IS NULL"})
	f.grant(catalog.Grant{Role: "eu", Object: onTable("sales", "orders")})
	p := f.compile(t)
	pr := Principal{User: "alice", Groups: []string{"analysts"}, Attributes: map[string]string{"region": "EU"}}
	d := decide(t, p, pr, customers())
	require.True(t, d.Allowed)
	require.False(t, d.FullAccess)
	require.Equal(t, "name = 'alice' AND TRUE AND NOT FALSE AND region = 'EU' AND TRUE AND NOT FALSE AND NULL IS NULL", d.RowFilter)
}

func TestFilterInjectionIsImpossible(t *testing.T) {
	p := newFixture().role("analyst", "analysts").grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"),
		Filter: "name = user()"}).compile(t)
	for _, user := range []string{"x' OR '1'='1", `a\`, "a'--", "é"} {
		d := decide(t, p, Principal{User: user, Groups: []string{"analysts"}}, customers())
		require.True(t, d.Allowed)
		require.True(t, strings.HasPrefix(d.RowFilter, "name = CAST(X'"), d.RowFilter)
		require.NotContains(t, strings.TrimPrefix(d.RowFilter, "name = "), "'1'")
	}
}

func TestConstantFilters(t *testing.T) {
	f := newFixture().role("analyst", "analysts").role("boss")
	f.grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"), Filter: "has_roles('boss')"})
	p := f.compile(t)
	require.False(t, decide(t, p, alice, customers()).Allowed, "a filter that is FALSE for the user admits nothing")

	f = newFixture().role("analyst", "analysts")
	f.grant(catalog.Grant{Role: "analyst", Object: onTable("sales", "customers"), Filter: "(has_roles('analyst'))"})
	d := decide(t, f.compile(t), alice, customers())
	require.True(t, d.FullAccess, "a filter that is TRUE for the user is no filter")
}

func TestMostPermissiveSameFilter(t *testing.T) {
	f := newFixture().role("a", "analysts").role("b", "analysts")
	f.grant(catalog.Grant{Role: "a", Object: onTable("sales", "customers"), Columns: []string{"id", "ssn"},
		Transforms: []catalog.Transform{{Attribute: "pii.ssn", Function: "mask"}}, Filter: "region = 'EU'"})
	f.grant(catalog.Grant{Role: "b", Object: onTable("sales", "customers"), Columns: []string{"ssn", "name"}, Filter: "region = 'EU'"})
	d := decide(t, f.compile(t), alice, customers())
	require.Equal(t, "region = 'EU'", d.RowFilter)
	require.Equal(t, map[string]string{"id": "VISIBLE", "name": "VISIBLE", "ssn": "VISIBLE", "email": "REMOVED", "region": "REMOVED"}, actions(d))
}

// The row-by-row rule (docs/architecture.md): all rows with ssn masked plus EU rows unmasked shows raw
// ssn only in EU rows.
func TestRowByRowCombination(t *testing.T) {
	f := newFixture().role("all", "analysts").role("eu", "analysts")
	f.grant(catalog.Grant{Role: "all", Object: onTable("sales", "customers"), Transforms: []catalog.Transform{{Attribute: "pii.ssn", Function: "mask"}}})
	f.grant(catalog.Grant{Role: "eu", Object: onTable("sales", "customers"), Filter: "region = 'EU'"})
	d := decide(t, f.compile(t), alice, customers())
	require.True(t, d.Allowed)
	require.Empty(t, d.RowFilter, "the unfiltered grant admits every row")
	require.False(t, d.FullAccess)
	ssn := d.Columns[2]
	require.Equal(t, Conditional, ssn.Action)
	require.Equal(t, []ColumnCase{
		{Condition: "region = 'EU'", Action: Visible},
		{Condition: "TRUE", Action: Masked, Mask: &Mask{Function: "mask"}},
	}, ssn.Cases)
	require.Equal(t, Visible, d.Columns[0].Action)
}

func TestDifferentFiltersDifferentColumns(t *testing.T) {
	f := newFixture().role("eu", "analysts").role("us", "analysts")
	f.grant(catalog.Grant{Role: "eu", Object: onTable("sales", "customers"), Columns: []string{"id", "ssn"}, Filter: "region = 'EU'"})
	f.grant(catalog.Grant{Role: "us", Object: onTable("sales", "customers"), Columns: []string{"id", "name"}, Filter: "region = 'US'"})
	d := decide(t, f.compile(t), alice, customers())
	require.Equal(t, "(region = 'EU') OR (region = 'US')", d.RowFilter)
	require.Equal(t, Visible, d.Columns[0].Action, "id is visible in every admitted row")
	require.Equal(t, []ColumnCase{{Condition: "region = 'US'", Action: Visible}}, d.Columns[1].Cases)
	require.Equal(t, []ColumnCase{{Condition: "region = 'EU'", Action: Visible}}, d.Columns[2].Cases)
	require.Equal(t, Removed, d.Columns[3].Action)
}

func TestURIGrants(t *testing.T) {
	f := newFixture().role("etl", "analysts")
	f.grant(catalog.Grant{Role: "etl", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://bucket/data"}})
	f.grant(catalog.Grant{Role: "etl", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://bucket/scratch"}})
	p := f.compile(t)
	for uri, want := range map[string]bool{
		"s3://bucket/data":             true,
		"s3://bucket/data/x.parquet":   true,
		"s3a://bucket/data/part/y":     true,
		"s3://bucket/database":         false,
		"s3://bucket/dat":              false,
		"s3://bucket/data/../secret":   false,
		"s3://bucket/data%2F..%2Fsecr": false,
		"s3://other/data":              false,
		"s3://bucket/scratch/tmp":      true,
	} {
		d := decide(t, p, alice, Object{URI: uri, Action: catalog.PrivSelect})
		require.Equal(t, want, d.Allowed, "%s: %s", uri, d.Reason)
	}
	require.False(t, decide(t, p, alice, Object{URI: "s3://bucket/data/x", Action: catalog.PrivInsert}).Allowed)
	require.True(t, decide(t, p, alice, Object{URI: "s3://bucket/scratch/x", Action: catalog.PrivInsert}).Allowed)
}

func TestWritesNeedUnrestrictedGrants(t *testing.T) {
	f := newFixture().role("w", "analysts")
	f.grant(catalog.Grant{Role: "w", Privilege: catalog.PrivInsert, Object: onTable("sales", "orders")})
	f.grant(catalog.Grant{Role: "w", Privilege: catalog.PrivAll, Object: onTable("sales", "customers"), Filter: "region = 'EU'"})
	p := f.compile(t)
	orders := Object{Database: "sales", Table: "orders", Columns: cols("id"), Action: catalog.PrivInsert}
	require.True(t, decide(t, p, alice, orders).Allowed)
	orders.Action = catalog.PrivDrop
	require.False(t, decide(t, p, alice, orders).Allowed)
	c := customers()
	c.Action = catalog.PrivInsert
	d := decide(t, p, alice, c)
	require.False(t, d.Allowed, "a filtered ALL grant must not allow writes")
	require.Contains(t, d.Reason, "unrestricted")
	c.Action = catalog.PrivSelect
	require.Equal(t, "region = 'EU'", decide(t, p, alice, c).RowFilter, "ALL implies SELECT")
}

func TestDatabaseObjects(t *testing.T) {
	f := newFixture().role("dev", "analysts")
	f.grant(catalog.Grant{Role: "dev", Privilege: catalog.PrivCreate, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"}})
	p := f.compile(t)
	require.True(t, decide(t, p, alice, Object{Database: "sales", Action: catalog.PrivCreate}).Allowed)
	require.False(t, decide(t, p, alice, Object{Database: "hr", Action: catalog.PrivCreate}).Allowed)
	require.False(t, decide(t, p, alice, Object{Database: "sales", Action: catalog.PrivDrop}).Allowed)
}

func TestWhoAmIAndUnknownTables(t *testing.T) {
	p := newFixture().compile(t)
	d := decide(t, p, Principal{User: "bob"}, Object{Database: "OKERA_SAMPLE", Table: "WhoAmI", Columns: cols("user")})
	require.True(t, d.Allowed)
	require.True(t, d.WhoAmI)
	d = decide(t, p, Principal{User: "bob"}, Object{Database: "sales", Table: "ghost", Columns: cols("a")})
	require.False(t, d.Allowed)
	require.Contains(t, d.Reason, "has not seen this table")
	// A database grant covers tables the planner has never seen.
	p = newFixture().role("a", "analysts").grant(catalog.Grant{Role: "a", Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"}}).compile(t)
	require.True(t, decide(t, p, alice, Object{Database: "sales", Table: "ghost", Columns: cols("a")}).Allowed)
}

func TestUserRolesAndListings(t *testing.T) {
	f := newFixture()
	f.st.Roles = append(f.st.Roles, "solo")
	f.st.Memberships = append(f.st.Memberships, catalog.Membership{Role: "solo", Kind: catalog.MemberUser, Name: "carol"})
	f.grant(catalog.Grant{Role: "solo", Object: onTable("sales", "eu_customers")})
	p := f.compile(t)
	s := p.Subject(Principal{User: "Carol"})
	require.Equal(t, []string{"solo"}, s.Roles)
	require.Equal(t, []string{"okera_sample", "sales"}, p.VisibleDatabases(s))
	require.Equal(t, []TableRef{{Name: "eu_customers", IsView: true}}, p.VisibleTables(s, "sales"))
	require.Equal(t, []TableRef{{Name: "whoami"}}, p.VisibleTables(s, "okera_sample"))
	bob := p.Subject(Principal{User: "bob"})
	require.Equal(t, []string{"okera_sample"}, p.VisibleDatabases(bob))
	require.Empty(t, p.VisibleTables(bob, "sales"))
	require.True(t, decide(t, p, Principal{User: "carol"}, Object{Database: "sales", Table: "eu_customers", Action: catalog.PrivShow}).Allowed)
}

// Names compare by ASCII case only: a user or group spelt with a letter
// that Unicode folds onto an ASCII one (the Kelvin sign, full-width
// letters) is someone else, and gets nothing of theirs.
func TestNamesFoldByASCIICaseOnly(t *testing.T) {
	f := newFixture().role("k", "kafka")
	f.st.Roles = append(f.st.Roles, "solo")
	f.st.Memberships = append(f.st.Memberships, catalog.Membership{Role: "solo", Kind: catalog.MemberUser, Name: "kate"})
	p := f.compile(t)
	require.Equal(t, []string{"solo"}, p.Subject(Principal{User: "KATE"}).Roles)
	require.Empty(t, p.Subject(Principal{User: "\u212Aate"}).Roles, "the Kelvin sign is not a K")
	require.Empty(t, p.Subject(Principal{User: "ｋａｔｅ"}).Roles)
	require.Equal(t, []string{"k"}, p.Subject(Principal{User: "x", Groups: []string{"KAFKA"}}).Roles)
	require.Empty(t, p.Subject(Principal{User: "x", Groups: []string{"\u212Aafka"}}).Roles)
	require.False(t, p.Subject(Principal{User: "x", Groups: []string{"ａｄｍｉｎ"}}).IsAdmin)
}

func TestHoldsAll(t *testing.T) {
	f := newFixture().role("owner", "analysts")
	f.grant(catalog.Grant{Role: "owner", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"}})
	f.grant(catalog.Grant{Role: "owner", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://b/p"}})
	p := f.compile(t)
	s := p.Subject(alice)
	require.True(t, p.HoldsAll(s, onTable("sales", "customers")))
	require.True(t, p.HoldsAll(s, catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"}))
	require.False(t, p.HoldsAll(s, catalog.Object{Scope: catalog.ScopeDatabase, Database: "hr"}))
	require.False(t, p.HoldsAll(s, catalog.Object{Scope: catalog.ScopeCatalog}))
	require.True(t, p.HoldsAll(s, catalog.Object{Scope: catalog.ScopeURI, URI: "s3://b/p/q"}))
	require.False(t, p.HoldsAll(s, catalog.Object{Scope: catalog.ScopeURI, URI: "s3://b/pq"}))
}
