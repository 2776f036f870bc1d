package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
)

// RunConformance runs the conformance suite as subtests of t. open must
// return a fresh, empty store each time it is called; the suite closes every
// store it opens (Close may be called twice: the contract makes the second
// call a no-op).
func RunConformance(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"VersionIncrementsByOne", testVersionIncrements},
		{"FailedApplyChangesNothing", testFailedApply},
		{"PanickingApplyChangesNothing", testPanickingApply},
		{"FailedOperationKeepsTxUsable", testFailedOpKeepsTx},
		{"Duplicates", testDuplicates},
		{"Missing", testMissing},
		{"MissingReferences", testMissingReferences},
		{"Invalid", testInvalid},
		{"DropRoleCascades", testDropRoleCascades},
		{"DropDatabaseCascades", testDropDatabaseCascades},
		{"DropTableCascades", testDropTableCascades},
		{"DropAttributeCascades", testDropAttributeCascades},
		{"PutTableReplaces", testPutTableReplaces},
		{"GrantIDsNeverReused", testGrantIDs},
		{"ConcurrentApply", testConcurrentApply},
		{"LoadOrder", testLoadOrder},
		{"TxAfterApply", testTxAfterApply},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

var errBoom = errors.New("storetest: fn failed on purpose")

func apply(t *testing.T, s store.Store, fn func(store.Tx) error) int64 {
	t.Helper()
	v, err := s.Apply(context.Background(), fn)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return v
}

func load(t *testing.T, s store.Store) *catalog.State {
	t.Helper()
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return st
}

// ok fails the test if err is not nil; it is for Tx calls inside fn.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// normalized is a State with its grants as one list in ID order and empty
// lists as nil, for comparison.
type normalized struct {
	catalog.State
	grants []catalog.Grant
}

// normalize turns empty lists into nil, since a backend may return either.
// It copies what it changes: a State's rows are shared.
func normalize(st *catalog.State) normalized {
	c := normalized{State: *st.Clone(), grants: st.Grants.All()}
	c.Grants = catalog.Grants{}
	nilIfEmpty := func(ss []string) []string {
		if len(ss) == 0 {
			return nil
		}
		return ss
	}
	c.Roles, c.Attributes, c.Databases = nilIfEmpty(c.Roles), nilIfEmpty(c.Attributes), nilIfEmpty(c.Databases)
	if len(c.Memberships) == 0 {
		c.Memberships = nil
	}
	if len(c.grants) == 0 {
		c.grants = nil
	}
	for i := range c.grants {
		g := &c.grants[i]
		g.Columns, g.Attributes = nilIfEmpty(g.Columns), nilIfEmpty(g.Attributes)
		if len(g.Transforms) == 0 {
			g.Transforms = nil
		}
		g.Transforms = slices.Clone(g.Transforms)
		for j := range g.Transforms {
			g.Transforms[j].Args = nilIfEmpty(g.Transforms[j].Args)
		}
	}
	if len(c.Tables) == 0 {
		c.Tables = nil
	}
	c.Tables = slices.Clone(c.Tables)
	for i := range c.Tables {
		tb := &c.Tables[i]
		if len(tb.Columns) == 0 {
			tb.Columns = nil
		}
		tb.DefinerGroups = nilIfEmpty(tb.DefinerGroups)
		if len(tb.ViewReads) == 0 {
			tb.ViewReads = nil
		}
	}
	if len(c.ColumnAttrs) == 0 {
		c.ColumnAttrs = nil
	}
	return c
}

// diff describes how got differs from want, section by section; "" if equal.
func diff(got, want *catalog.State) string {
	g, w := normalize(got), normalize(want)
	var out []string
	if g.Version != w.Version {
		out = append(out, fmt.Sprintf("Version: got %d, want %d", g.Version, w.Version))
	}
	section := func(name string, gv, wv any) {
		if !reflect.DeepEqual(gv, wv) {
			out = append(out, fmt.Sprintf("%s:\n  got  %+v\n  want %+v", name, gv, wv))
		}
	}
	section("Roles", g.Roles, w.Roles)
	section("Memberships", g.Memberships, w.Memberships)
	if len(g.grants) != len(w.grants) {
		section("Grants", g.grants, w.grants)
	} else {
		for i := range g.grants {
			section(fmt.Sprintf("Grants[%d]", i), g.grants[i], w.grants[i])
		}
	}
	section("Attributes", g.Attributes, w.Attributes)
	section("Databases", g.Databases, w.Databases)
	section("Tables", g.Tables, w.Tables)
	section("ColumnAttrs", g.ColumnAttrs, w.ColumnAttrs)
	return strings.Join(out, "\n")
}

func same(t *testing.T, what string, got, want *catalog.State) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Fatalf("%s: state differs:\n%s", what, d)
	}
}

// fixtureGrants uses every field of a grant, every privilege and every
// scope, and strings that need escaping in any text format.
func fixtureGrants() []catalog.Grant {
	return []catalog.Grant{
		{Role: "analyst", Privilege: catalog.PrivSelect,
			Object:  catalog.Object{Scope: catalog.ScopeTable, Database: "sales", Table: "orders"},
			Columns: []string{"id", "amount", `wëird "col"\name`},
			Filter:  `region = 'EU' AND user() = 'a\b' AND note <> "<&>"`},
		{Role: "analyst", Privilege: catalog.PrivSelect,
			Object:        catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"},
			Attributes:    []string{"pii.ssn", "pii.email"},
			AttributesNot: true},
		{Role: "analyst", Privilege: catalog.PrivSelect,
			Object:     catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"},
			Attributes: []string{"pii.ccn", "pii.email"},
			Transforms: []catalog.Transform{
				{Attribute: "pii.ccn", Function: "mask_ccn"},
				{Attribute: "pii.email", Function: "mask", Args: []string{"'*'", "3", `'it''s \ "q"'`}},
			},
			Filter: "has_roles('admin') OR user_attribute('region') = region"},
		{Role: "etl", Privilege: catalog.PrivAll,
			Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://bucket/raw/päth with space/"}},
		{Role: "admin", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}},
		{Role: "etl", Privilege: catalog.PrivInsert,
			Object: catalog.Object{Scope: catalog.ScopeTable, Database: "sales", Table: "orders_v"}},
		{Role: "etl", Privilege: catalog.PrivCreate, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "staging"}},
		{Role: "etl", Privilege: catalog.PrivAlter, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "staging"}},
		{Role: "etl", Privilege: catalog.PrivDrop, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "staging"}},
		{Role: "analyst", Privilege: catalog.PrivShow, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "hr"},
			Columns: []string{"\u2028line\tsep"}},
	}
}

// populate writes a fixture that uses every row type and every field, and
// returns the state Load must then return (grant IDs filled in; Version is
// left for the caller).
func populate(t *testing.T, tx store.Tx) *catalog.State {
	t.Helper()
	want := &catalog.State{
		Roles: []string{"admin", "analyst", "etl", "ünïcode role"},
		Memberships: []catalog.Membership{
			{Role: "admin", Kind: catalog.MemberGroup, Name: "admins"},
			{Role: "analyst", Kind: catalog.MemberGroup, Name: "analysts"},
			{Role: "analyst", Kind: catalog.MemberGroup, Name: "data science"},
			{Role: "analyst", Kind: catalog.MemberUser, Name: "alice@example.com"},
			{Role: "etl", Kind: catalog.MemberUser, Name: "svc-etl"},
		},
		Attributes: []string{"pii.ccn", "pii.email", "pii.ssn"},
		Databases:  []string{"hr", "sales", "staging"},
		Tables: []catalog.Table{
			{Database: "hr", Name: "people"},
			{Database: "sales", Name: "orders", Location: "s3://bucket/warehouse/sales/orders",
				Columns: []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)"},
					{Name: "ccn", Type: "string"}, {Name: `wëird "col"\name`, Type: "map<string,array<int>>"}}},
			{Database: "sales", Name: "orders_v", IsView: true,
				Columns: []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "email", Type: "string"}},
				Definer: `älice "the" \definer`, DefinerGroups: []string{"analysts", "data science"},
				ViewReads: []catalog.ViewRead{{Database: "hr", Table: "people"}, {Database: "sales", Table: "orders"},
					{URI: "s3://bucket/raw/päth with space/x"}}},
		},
		ColumnAttrs: []catalog.ColumnAttribute{
			{Database: "sales", Table: "orders", Column: "ccn", Attribute: "pii.ccn"},
			{Database: "sales", Table: "orders", Column: "ccn", Attribute: "pii.ssn"},
			{Database: "sales", Table: "orders_v", Column: "email", Attribute: "pii.email"},
		},
	}
	// Insert in an order different from the expected (sorted) one.
	for _, i := range []int{2, 0, 3, 1} {
		ok(t, tx.CreateRole(want.Roles[i]))
	}
	for _, i := range []int{4, 2, 0, 3, 1} {
		ok(t, tx.AddMembership(want.Memberships[i]))
	}
	for _, i := range []int{2, 1, 0} {
		ok(t, tx.CreateAttribute(want.Attributes[i]))
	}
	for _, i := range []int{1, 2, 0} {
		ok(t, tx.CreateDatabase(want.Databases[i]))
	}
	for _, i := range []int{2, 1, 0} {
		ok(t, tx.PutTable(want.Tables[i]))
	}
	for _, i := range []int{2, 1, 0} {
		ok(t, tx.AddColumnAttribute(want.ColumnAttrs[i]))
	}
	var last int64
	for _, g := range fixtureGrants() {
		g.ID = 999999 // ignored
		id, err := tx.AddGrant(g)
		ok(t, err)
		if id <= last {
			t.Fatalf("AddGrant returned ID %d after %d: IDs must increase", id, last)
		}
		last = id
		g.ID = id
		want.Grants = want.Grants.With(g)
	}
	return want
}

func testEmpty(t *testing.T, s store.Store) {
	st := load(t, s)
	same(t, "fresh store", st, &catalog.State{})
}

func testRoundTrip(t *testing.T, s store.Store) {
	var want *catalog.State
	v := apply(t, s, func(tx store.Tx) error { want = populate(t, tx); return nil })
	want.Version = v
	got := load(t, s)
	same(t, "after populate", got, want)

	// The result is the caller's: changing it changes nothing stored.
	got.Roles[0] = "changed"
	got.Grants.All()[0].Columns[0] = "changed"
	got.Tables[1].Columns[0].Name = "changed"
	got.Tables[2].DefinerGroups[0] = "changed"
	got.Tables[2].ViewReads[0].Table = "changed"
	same(t, "second load", load(t, s), want)
}

func testVersionIncrements(t *testing.T, s store.Store) {
	v0 := load(t, s).Version
	if v0 != 0 {
		t.Fatalf("fresh store has version %d, want 0", v0)
	}
	steps := []func(store.Tx) error{
		func(store.Tx) error { return nil }, // an Apply that changes nothing still makes a version
		func(tx store.Tx) error { return tx.CreateRole("r") },
		func(tx store.Tx) error {
			if err := tx.CreateRole("r2"); err != nil {
				return err
			}
			if err := tx.CreateDatabase("d"); err != nil {
				return err
			}
			_, err := tx.AddGrant(catalog.Grant{Role: "r2", Privilege: catalog.PrivSelect,
				Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"}})
			return err
		},
	}
	for i, fn := range steps {
		v := apply(t, s, fn)
		if want := v0 + int64(i) + 1; v != want {
			t.Fatalf("Apply %d returned version %d, want %d", i, v, want)
		}
		if got := load(t, s).Version; got != v {
			t.Fatalf("Load after Apply %d: version %d, want %d", i, got, v)
		}
	}
}

// changeEverything touches every table; used by the tests that check a
// failed Apply leaves no trace.
func changeEverything(tx store.Tx) error {
	steps := []func() error{
		func() error { return tx.CreateRole("new role") },
		func() error { return tx.DropRole("etl") },
		func() error {
			return tx.AddMembership(catalog.Membership{Role: "admin", Kind: catalog.MemberUser, Name: "mallory"})
		},
		func() error {
			return tx.RemoveMembership(catalog.Membership{Role: "analyst", Kind: catalog.MemberGroup, Name: "analysts"})
		},
		func() error {
			_, err := tx.AddGrant(catalog.Grant{Role: "analyst", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}})
			return err
		},
		func() error { return tx.CreateAttribute("new.tag") },
		func() error { return tx.DropAttribute("pii.ssn") },
		func() error { return tx.CreateDatabase("new_db") },
		func() error { return tx.DropDatabase("hr") },
		func() error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "orders", Location: "s3://elsewhere"})
		},
		func() error { return tx.DropTable("sales", "orders_v") },
		func() error {
			return tx.RemoveColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "orders", Column: "ccn", Attribute: "pii.ccn"})
		},
		func() error {
			return tx.AddColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "orders", Column: "id", Attribute: "new.tag"})
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

func populated(t *testing.T, s store.Store) *catalog.State {
	t.Helper()
	var want *catalog.State
	want2 := apply(t, s, func(tx store.Tx) error { want = populate(t, tx); return nil })
	want.Version = want2
	return want
}

func testFailedApply(t *testing.T, s store.Store) {
	want := populated(t, s)

	// fn makes every kind of change, removes a grant, then fails.
	v, err := s.Apply(context.Background(), func(tx store.Tx) error {
		if err := changeEverything(tx); err != nil {
			return err
		}
		if err := tx.RemoveGrant(want.Grants.All()[0].ID); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Apply returned %v, want fn's error %v", err, errBoom)
	}
	if v != 0 {
		t.Errorf("failed Apply returned version %d, want 0", v)
	}
	same(t, "after failed Apply", load(t, s), want)

	// A store error returned by fn also undoes the steps before it.
	_, err = s.Apply(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateRole("first"); err != nil {
			return err
		}
		return tx.CreateRole("analyst") // exists
	})
	wantErr(t, "Apply with duplicate role", err, store.ErrExists)
	same(t, "after Apply that failed on ErrExists", load(t, s), want)

	// The store still works and the version moves on by one.
	if v := apply(t, s, func(tx store.Tx) error { return tx.CreateRole("later") }); v != want.Version+1 {
		t.Errorf("Apply after failures returned version %d, want %d", v, want.Version+1)
	}
}

func testPanickingApply(t *testing.T, s store.Store) {
	want := populated(t, s)
	func() {
		defer func() {
			if r := recover(); r != errBoom {
				t.Fatalf("recovered %v, want the panic value %v", r, errBoom)
			}
		}()
		_, _ = s.Apply(context.Background(), func(tx store.Tx) error {
			_ = changeEverything(tx)
			panic(errBoom)
		})
	}()
	same(t, "after panicking Apply", load(t, s), want)
	// The store is not wedged by the panic.
	if v := apply(t, s, func(tx store.Tx) error { return tx.CreateRole("later") }); v != want.Version+1 {
		t.Errorf("Apply after panic returned version %d, want %d", v, want.Version+1)
	}
}

func testFailedOpKeepsTx(t *testing.T, s store.Store) {
	v := apply(t, s, func(tx store.Tx) error {
		ok(t, tx.CreateRole("a"))
		wantErr(t, "second CreateRole", tx.CreateRole("a"), store.ErrExists)
		wantErr(t, "DropRole missing", tx.DropRole("missing"), store.ErrNotFound)
		_, err := tx.AddGrant(catalog.Grant{Role: "missing", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}})
		wantErr(t, "AddGrant for missing role", err, store.ErrNotFound)
		ok(t, tx.CreateRole("b"))
		return nil // the failures above are "handled"
	})
	want := &catalog.State{Version: v, Roles: []string{"a", "b"}}
	same(t, "after Apply with handled failures", load(t, s), want)
}

func testDuplicates(t *testing.T, s store.Store) {
	want := populated(t, s)
	cases := []struct {
		what string
		fn   func(store.Tx) error
	}{
		{"CreateRole", func(tx store.Tx) error { return tx.CreateRole("analyst") }},
		{"AddMembership", func(tx store.Tx) error { return tx.AddMembership(want.Memberships[0]) }},
		{"CreateAttribute", func(tx store.Tx) error { return tx.CreateAttribute("pii.ccn") }},
		{"CreateDatabase", func(tx store.Tx) error { return tx.CreateDatabase("sales") }},
		{"AddColumnAttribute", func(tx store.Tx) error { return tx.AddColumnAttribute(want.ColumnAttrs[0]) }},
	}
	for _, c := range cases {
		_, err := s.Apply(context.Background(), c.fn)
		wantErr(t, c.what+" twice", err, store.ErrExists)
	}
	same(t, "after duplicates", load(t, s), want)
}

func testMissing(t *testing.T, s store.Store) {
	want := populated(t, s)
	var maxID int64
	for _, g := range want.Grants.All() {
		maxID = max(maxID, g.ID)
	}
	cases := []struct {
		what string
		fn   func(store.Tx) error
	}{
		{"DropRole", func(tx store.Tx) error { return tx.DropRole("nobody") }},
		{"DropRole (other case)", func(tx store.Tx) error { return tx.DropRole("ANALYST") }},
		{"RemoveMembership (role)", func(tx store.Tx) error {
			return tx.RemoveMembership(catalog.Membership{Role: "nobody", Kind: catalog.MemberGroup, Name: "analysts"})
		}},
		{"RemoveMembership (kind)", func(tx store.Tx) error {
			return tx.RemoveMembership(catalog.Membership{Role: "analyst", Kind: catalog.MemberUser, Name: "analysts"})
		}},
		{"RemoveGrant", func(tx store.Tx) error { return tx.RemoveGrant(maxID + 1) }},
		{"RemoveGrant 0", func(tx store.Tx) error { return tx.RemoveGrant(0) }},
		{"DropAttribute", func(tx store.Tx) error { return tx.DropAttribute("pii.nothing") }},
		{"DropDatabase", func(tx store.Tx) error { return tx.DropDatabase("nodb") }},
		{"DropTable", func(tx store.Tx) error { return tx.DropTable("sales", "notable") }},
		{"DropTable (database)", func(tx store.Tx) error { return tx.DropTable("hr", "orders") }},
		{"RemoveColumnAttribute", func(tx store.Tx) error {
			return tx.RemoveColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "orders", Column: "id", Attribute: "pii.ccn"})
		}},
	}
	for _, c := range cases {
		_, err := s.Apply(context.Background(), c.fn)
		wantErr(t, c.what+" of a missing row", err, store.ErrNotFound)
	}
	same(t, "after missing", load(t, s), want)
}

func testMissingReferences(t *testing.T, s store.Store) {
	want := populated(t, s)
	cases := []struct {
		what string
		fn   func(store.Tx) error
	}{
		{"AddMembership to a missing role", func(tx store.Tx) error {
			return tx.AddMembership(catalog.Membership{Role: "nobody", Kind: catalog.MemberGroup, Name: "g"})
		}},
		{"AddGrant to a missing role", func(tx store.Tx) error {
			_, err := tx.AddGrant(catalog.Grant{Role: "nobody", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeCatalog}})
			return err
		}},
		{"PutTable in a missing database", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "nodb", Name: "t"})
		}},
		{"AddColumnAttribute on a missing table", func(tx store.Tx) error {
			return tx.AddColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "nope", Column: "c", Attribute: "pii.ccn"})
		}},
		{"AddColumnAttribute with a missing attribute", func(tx store.Tx) error {
			return tx.AddColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "orders", Column: "id", Attribute: "pii.nothing"})
		}},
	}
	for _, c := range cases {
		_, err := s.Apply(context.Background(), c.fn)
		wantErr(t, c.what, err, store.ErrNotFound)
	}
	same(t, "after missing references", load(t, s), want)
}

func testInvalid(t *testing.T, s store.Store) {
	want := populated(t, s)
	grant := func(mod func(*catalog.Grant)) func(store.Tx) error {
		return func(tx store.Tx) error {
			g := catalog.Grant{Role: "analyst", Privilege: catalog.PrivSelect,
				Object: catalog.Object{Scope: catalog.ScopeTable, Database: "sales", Table: "orders"}}
			mod(&g)
			_, err := tx.AddGrant(g)
			return err
		}
	}
	cases := []struct {
		what string
		fn   func(store.Tx) error
	}{
		{"CreateRole empty", func(tx store.Tx) error { return tx.CreateRole("") }},
		{"CreateAttribute empty", func(tx store.Tx) error { return tx.CreateAttribute("") }},
		{"CreateDatabase empty", func(tx store.Tx) error { return tx.CreateDatabase("") }},
		{"AddMembership bad kind", func(tx store.Tx) error {
			return tx.AddMembership(catalog.Membership{Role: "analyst", Kind: "TEAM", Name: "x"})
		}},
		{"AddMembership empty name", func(tx store.Tx) error {
			return tx.AddMembership(catalog.Membership{Role: "analyst", Kind: catalog.MemberUser})
		}},
		{"AddGrant bad privilege", grant(func(g *catalog.Grant) { g.Privilege = "select" })},
		{"AddGrant bad scope", grant(func(g *catalog.Grant) { g.Object.Scope = "COLUMN" })},
		{"AddGrant TABLE without table", grant(func(g *catalog.Grant) { g.Object.Table = "" })},
		{"AddGrant CATALOG with database", grant(func(g *catalog.Grant) { g.Object.Scope = catalog.ScopeCatalog })},
		{"AddGrant URI without URI", grant(func(g *catalog.Grant) { g.Object = catalog.Object{Scope: catalog.ScopeURI} })},
		{"AddGrant transform without function", grant(func(g *catalog.Grant) {
			g.Transforms = []catalog.Transform{{Attribute: "pii.ccn"}}
		})},
		{"PutTable empty name", func(tx store.Tx) error { return tx.PutTable(catalog.Table{Database: "sales"}) }},
		{"PutTable empty column", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", Columns: []catalog.Column{{Type: "int"}}})
		}},
		{"CreateRole invalid UTF-8", func(tx store.Tx) error { return tx.CreateRole("bad\xff") }},
		{"CreateDatabase NUL", func(tx store.Tx) error { return tx.CreateDatabase("a\x00b") }},
		{"AddGrant filter with NUL", grant(func(g *catalog.Grant) { g.Filter = "x = '\x00'" })},
		{"AddGrant column invalid UTF-8", grant(func(g *catalog.Grant) { g.Columns = []string{"\xc3"} })},
		{"AddGrant transform argument invalid UTF-8", grant(func(g *catalog.Grant) {
			g.Transforms = []catalog.Transform{{Attribute: "pii.ccn", Function: "mask", Args: []string{"'\xff'"}}}
		})},
		{"PutTable location invalid UTF-8", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", Location: "s3://\xfe"})
		}},
		{"PutTable definer on a table", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", Definer: "alice"})
		}},
		{"PutTable view reads without definer", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", IsView: true,
				ViewReads: []catalog.ViewRead{{Database: "hr", Table: "people"}}})
		}},
		{"PutTable view read with table and URI", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", IsView: true, Definer: "alice",
				ViewReads: []catalog.ViewRead{{Database: "hr", Table: "people", URI: "s3://b/p"}}})
		}},
		{"PutTable view read without table", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", IsView: true, Definer: "alice",
				ViewReads: []catalog.ViewRead{{Database: "hr"}}})
		}},
		{"PutTable empty definer group", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", IsView: true, Definer: "alice", DefinerGroups: []string{""}})
		}},
		{"PutTable definer invalid UTF-8", func(tx store.Tx) error {
			return tx.PutTable(catalog.Table{Database: "sales", Name: "t", IsView: true, Definer: "\xff"})
		}},
		{"AddColumnAttribute empty column", func(tx store.Tx) error {
			return tx.AddColumnAttribute(catalog.ColumnAttribute{Database: "sales", Table: "orders", Attribute: "pii.ccn"})
		}},
	}
	for _, c := range cases {
		_, err := s.Apply(context.Background(), c.fn)
		wantErr(t, c.what, err, store.ErrInvalid)
	}
	same(t, "after invalid rows", load(t, s), want)
}

// filtered returns a copy of want with Version v and the rows for which
// drop* reports true removed.
type filter struct {
	role       func(string) bool
	membership func(catalog.Membership) bool
	grant      func(catalog.Grant) bool
	attribute  func(string) bool
	database   func(string) bool
	table      func(catalog.Table) bool
	colAttr    func(catalog.ColumnAttribute) bool
}

func (f filter) apply(want *catalog.State, v int64) *catalog.State {
	c := want.Clone()
	c.Version = v
	del := func(drop func(string) bool, ss []string) []string {
		if drop == nil {
			return ss
		}
		return slices.DeleteFunc(ss, drop)
	}
	c.Roles, c.Attributes, c.Databases = del(f.role, c.Roles), del(f.attribute, c.Attributes), del(f.database, c.Databases)
	if f.membership != nil {
		c.Memberships = slices.DeleteFunc(c.Memberships, f.membership)
	}
	if f.grant != nil {
		c.Grants, _ = c.Grants.Split(f.grant)
	}
	if f.table != nil {
		c.Tables = slices.DeleteFunc(c.Tables, f.table)
	}
	if f.colAttr != nil {
		c.ColumnAttrs = slices.DeleteFunc(c.ColumnAttrs, f.colAttr)
	}
	return c
}

func testDropRoleCascades(t *testing.T, s store.Store) {
	want := populated(t, s)
	v := apply(t, s, func(tx store.Tx) error { return tx.DropRole("analyst") })
	same(t, "after DropRole", load(t, s), filter{
		role:       func(r string) bool { return r == "analyst" },
		membership: func(m catalog.Membership) bool { return m.Role == "analyst" },
		grant:      func(g catalog.Grant) bool { return g.Role == "analyst" },
	}.apply(want, v))
	// The role can be created again, empty.
	v = apply(t, s, func(tx store.Tx) error { return tx.CreateRole("analyst") })
	st := load(t, s)
	for _, m := range st.Memberships {
		if m.Role == "analyst" {
			t.Errorf("recreated role has old membership %+v", m)
		}
	}
	for _, g := range st.Grants.All() {
		if g.Role == "analyst" {
			t.Errorf("recreated role has old grant %+v", g)
		}
	}
	if st.Version != v {
		t.Errorf("version %d, want %d", st.Version, v)
	}
}

func testDropDatabaseCascades(t *testing.T, s store.Store) {
	want := populated(t, s)
	v := apply(t, s, func(tx store.Tx) error { return tx.DropDatabase("sales") })
	// Grants name objects rather than refer to rows: they stay.
	same(t, "after DropDatabase", load(t, s), filter{
		database: func(d string) bool { return d == "sales" },
		table:    func(tb catalog.Table) bool { return tb.Database == "sales" },
		colAttr:  func(a catalog.ColumnAttribute) bool { return a.Database == "sales" },
	}.apply(want, v))
	// Recreating the database and table does not bring tags back.
	apply(t, s, func(tx store.Tx) error {
		ok(t, tx.CreateDatabase("sales"))
		return tx.PutTable(catalog.Table{Database: "sales", Name: "orders"})
	})
	if n := len(load(t, s).ColumnAttrs); n != 0 {
		t.Errorf("recreated table has %d column attributes, want 0", n)
	}
}

func testDropTableCascades(t *testing.T, s store.Store) {
	want := populated(t, s)
	v := apply(t, s, func(tx store.Tx) error { return tx.DropTable("sales", "orders") })
	same(t, "after DropTable", load(t, s), filter{
		table:   func(tb catalog.Table) bool { return tb.Database == "sales" && tb.Name == "orders" },
		colAttr: func(a catalog.ColumnAttribute) bool { return a.Database == "sales" && a.Table == "orders" },
	}.apply(want, v))
}

func testDropAttributeCascades(t *testing.T, s store.Store) {
	want := populated(t, s)
	v := apply(t, s, func(tx store.Tx) error { return tx.DropAttribute("pii.ccn") })
	same(t, "after DropAttribute", load(t, s), filter{
		attribute: func(a string) bool { return a == "pii.ccn" },
		colAttr:   func(a catalog.ColumnAttribute) bool { return a.Attribute == "pii.ccn" },
	}.apply(want, v))
}

func testPutTableReplaces(t *testing.T, s store.Store) {
	want := populated(t, s)
	repl := catalog.Table{Database: "sales", Name: "orders", IsView: true, Location: "s3://new/place",
		Columns: []catalog.Column{{Name: "id", Type: "int"}, {Name: "added", Type: "string"}}}
	v := apply(t, s, func(tx store.Tx) error { return tx.PutTable(repl) })
	want = want.Clone()
	want.Version = v
	for i := range want.Tables {
		if want.Tables[i].FullName() == repl.FullName() {
			want.Tables[i] = repl
		}
	}
	// The column attributes stay, even those on a column no longer listed.
	same(t, "after PutTable", load(t, s), want)

	// A view re-recorded by another definer: definer, groups and reads
	// are all replaced.
	repl.Definer, repl.DefinerGroups = "bob", []string{"etl"}
	repl.ViewReads = []catalog.ViewRead{{URI: "s3://bucket/raw/"}}
	v = apply(t, s, func(tx store.Tx) error { return tx.PutTable(repl) })
	want.Version = v
	for i := range want.Tables {
		if want.Tables[i].FullName() == repl.FullName() {
			want.Tables[i] = repl
		}
	}
	same(t, "after PutTable of a recorded view", load(t, s), want)

	// Replacing with no columns clears them, and a table has no definer.
	repl.Columns, repl.IsView, repl.Location = nil, false, ""
	repl.Definer, repl.DefinerGroups, repl.ViewReads = "", nil, nil
	v = apply(t, s, func(tx store.Tx) error { return tx.PutTable(repl) })
	want.Version = v
	for i := range want.Tables {
		if want.Tables[i].FullName() == repl.FullName() {
			want.Tables[i] = repl
		}
	}
	same(t, "after PutTable without columns", load(t, s), want)
}

func testGrantIDs(t *testing.T, s store.Store) {
	g := catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeCatalog}}
	seen := map[int64]bool{}
	var last int64
	add := func(tx store.Tx) int64 {
		id, err := tx.AddGrant(g)
		ok(t, err)
		if id <= 0 || id <= last || seen[id] {
			t.Fatalf("AddGrant returned ID %d (last %d, seen before: %v): want a new ID above every earlier one", id, last, seen[id])
		}
		seen[id], last = true, id
		return id
	}
	var ids []int64
	apply(t, s, func(tx store.Tx) error {
		ok(t, tx.CreateRole("r"))
		for range 3 {
			ids = append(ids, add(tx))
		}
		return nil
	})
	// Remove the newest grant; the next ID must still be new.
	apply(t, s, func(tx store.Tx) error { return tx.RemoveGrant(ids[2]) })
	apply(t, s, func(tx store.Tx) error { add(tx); return nil })
	// Remove every grant, then in one Apply remove and add.
	all := load(t, s).Grants.All()
	apply(t, s, func(tx store.Tx) error {
		for _, g := range all {
			ok(t, tx.RemoveGrant(g.ID))
		}
		return nil
	})
	apply(t, s, func(tx store.Tx) error { add(tx); return nil })
	apply(t, s, func(tx store.Tx) error {
		ok(t, tx.RemoveGrant(last))
		add(tx)
		return nil
	})
	// Dropping the role (and so its grants) does not reset IDs either.
	apply(t, s, func(tx store.Tx) error {
		ok(t, tx.DropRole("r"))
		ok(t, tx.CreateRole("r"))
		add(tx)
		return nil
	})
	st := load(t, s)
	if gs := st.Grants.All(); len(gs) != 1 || gs[0].ID != last {
		t.Fatalf("grants %+v, want one grant with ID %d", gs, last)
	}
	// A removed ID stays removed.
	_, err := s.Apply(context.Background(), func(tx store.Tx) error { return tx.RemoveGrant(ids[0]) })
	wantErr(t, "RemoveGrant of an old ID", err, store.ErrNotFound)
}

func testConcurrentApply(t *testing.T, s store.Store) {
	const writers, perWriter = 8, 20
	v0 := load(t, s).Version
	versions := make(chan int64, writers*perWriter)
	errs := make(chan error, writers*perWriter+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				v, err := s.Apply(context.Background(), func(tx store.Tx) error {
					if err := tx.CreateRole(fmt.Sprintf("w%d-%02d", w, i)); err != nil {
						return err
					}
					_, err := tx.AddGrant(catalog.Grant{Role: fmt.Sprintf("w%d-%02d", w, i), Privilege: catalog.PrivSelect,
						Object: catalog.Object{Scope: catalog.ScopeCatalog}})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				versions <- v
			}
		})
	}
	// Readers meanwhile see consistent snapshots: each version adds exactly
	// one role and one grant, so the counts must match the version.
	done := make(chan struct{})
	var rg sync.WaitGroup
	rg.Go(func() {
		last := v0
		for {
			select {
			case <-done:
				return
			default:
			}
			st, err := s.Load(context.Background())
			if err != nil {
				errs <- err
				return
			}
			n := st.Version - v0
			if st.Version < last || int64(len(st.Roles)) != n || int64(st.Grants.Len()) != n {
				errs <- fmt.Errorf("Load saw version %d (previous %d) with %d roles and %d grants: not one snapshot",
					st.Version, last, len(st.Roles), st.Grants.Len())
				return
			}
			last = st.Version
		}
	})
	wg.Wait()
	close(done)
	rg.Wait()
	close(versions)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var got []int64
	for v := range versions {
		got = append(got, v)
	}
	slices.Sort(got)
	if len(got) != writers*perWriter {
		t.Fatalf("%d Apply calls succeeded, want %d", len(got), writers*perWriter)
	}
	for i, v := range got {
		if want := v0 + int64(i) + 1; v != want {
			t.Fatalf("versions returned by concurrent Apply calls are not consecutive: sorted[%d] = %d, want %d (all: %v)", i, v, want, got)
		}
	}
	st := load(t, s)
	if st.Version != v0+writers*perWriter || len(st.Roles) != writers*perWriter || st.Grants.Len() != writers*perWriter {
		t.Fatalf("after concurrent Apply: version %d, %d roles, %d grants; want %d, %d, %d",
			st.Version, len(st.Roles), st.Grants.Len(), v0+writers*perWriter, writers*perWriter, writers*perWriter)
	}
}

func testLoadOrder(t *testing.T, s store.Store) {
	// Byte order: upper case before lower case, ASCII before UTF-8.
	names := []string{"b", "B", "a", "ä", "A", "_x", "a.b", "a_b", "aa", "Z9", "a b"}
	apply(t, s, func(tx store.Tx) error {
		for _, n := range names {
			ok(t, tx.CreateRole(n))
			ok(t, tx.CreateAttribute("ns."+n))
			ok(t, tx.CreateDatabase(n))
		}
		for _, n := range names {
			for _, r := range []string{names[3], names[0]} {
				ok(t, tx.AddMembership(catalog.Membership{Role: r, Kind: catalog.MemberUser, Name: n}))
				ok(t, tx.AddMembership(catalog.Membership{Role: r, Kind: catalog.MemberGroup, Name: n}))
			}
			for _, d := range []string{names[1], names[4]} {
				ok(t, tx.PutTable(catalog.Table{Database: d, Name: n, Columns: []catalog.Column{{Name: "c", Type: "int"}}}))
			}
		}
		for _, n := range names {
			for _, c := range []string{"z", "c", "C"} {
				ok(t, tx.AddColumnAttribute(catalog.ColumnAttribute{Database: names[4], Table: n, Column: c, Attribute: "ns." + names[2]}))
				ok(t, tx.AddColumnAttribute(catalog.ColumnAttribute{Database: names[1], Table: n, Column: c, Attribute: "ns." + n}))
			}
		}
		for i, n := range names {
			_, err := tx.AddGrant(catalog.Grant{Role: n, Privilege: catalog.Privileges[i%len(catalog.Privileges)],
				Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: names[len(names)-1-i]}})
			ok(t, err)
		}
		return nil
	})
	st := load(t, s)
	if !sort.StringsAreSorted(st.Roles) || !sort.StringsAreSorted(st.Attributes) || !sort.StringsAreSorted(st.Databases) {
		t.Errorf("names not in byte order:\n roles %q\n attributes %q\n databases %q", st.Roles, st.Attributes, st.Databases)
	}
	if !slices.IsSortedFunc(st.Memberships, func(a, b catalog.Membership) int {
		return cmpStrings(a.Role, b.Role, string(a.Kind), string(b.Kind), a.Name, b.Name)
	}) {
		t.Errorf("memberships not ordered by (role, kind, name): %+v", st.Memberships)
	}
	for role, gs := range st.Grants.ByRole() {
		if !slices.IsSortedFunc(gs, func(a, b catalog.Grant) int { return int(a.ID - b.ID) }) {
			t.Errorf("grants of role %s not ordered by ID: %+v", role, gs)
		}
	}
	if !slices.IsSortedFunc(st.Tables, func(a, b catalog.Table) int {
		return cmpStrings(a.Database, b.Database, a.Name, b.Name)
	}) {
		t.Errorf("tables not ordered by (database, name): %+v", st.Tables)
	}
	if !slices.IsSortedFunc(st.ColumnAttrs, func(a, b catalog.ColumnAttribute) int {
		return cmpStrings(a.Database, b.Database, a.Table, b.Table, a.Column, b.Column, a.Attribute, b.Attribute)
	}) {
		t.Errorf("column attributes not ordered by (database, table, column, attribute): %+v", st.ColumnAttrs)
	}
	n := len(names)
	if len(st.Roles) != n || len(st.Memberships) != 4*n || st.Grants.Len() != n || len(st.Tables) != 2*n || len(st.ColumnAttrs) != 6*n {
		t.Errorf("row counts: %d roles, %d memberships, %d grants, %d tables, %d column attributes",
			len(st.Roles), len(st.Memberships), st.Grants.Len(), len(st.Tables), len(st.ColumnAttrs))
	}
	same(t, "second Load", load(t, s), st)
}

// cmpStrings compares pairs (a0, b0), (a1, b1), … lexicographically.
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

func testTxAfterApply(t *testing.T, s store.Store) {
	var kept store.Tx
	v := apply(t, s, func(tx store.Tx) error { kept = tx; return tx.CreateRole("a") })
	if err := kept.CreateRole("b"); err == nil {
		t.Error("CreateRole on a Tx whose Apply has returned succeeded, want an error")
	}
	if _, err := kept.AddGrant(catalog.Grant{Role: "a", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}}); err == nil {
		t.Error("AddGrant on a Tx whose Apply has returned succeeded, want an error")
	}
	same(t, "after using a stale Tx", load(t, s), &catalog.State{Version: v, Roles: []string{"a"}})
}

func testCanceledContext(t *testing.T, s store.Store) {
	want := populated(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole("x") }); err == nil {
		t.Error("Apply with a canceled context succeeded")
	}
	if _, err := s.Load(ctx); err == nil {
		t.Error("Load with a canceled context succeeded")
	}
	// Canceled while fn runs.
	ctx, cancel = context.WithCancel(context.Background())
	_, err := s.Apply(ctx, func(tx store.Tx) error {
		if err := tx.CreateRole("x"); err != nil {
			return err
		}
		cancel()
		return tx.CreateRole("y")
	})
	if err == nil {
		t.Error("Apply whose context was canceled during fn succeeded")
	}
	same(t, "after canceled Apply calls", load(t, s), want)
}

func testClose(t *testing.T, s store.Store) {
	apply(t, s, func(tx store.Tx) error { return tx.CreateRole("a") })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Apply(context.Background(), func(tx store.Tx) error { return tx.CreateRole("b") })
	wantErr(t, "Apply after Close", err, store.ErrClosed)
	_, err = s.Load(context.Background())
	wantErr(t, "Load after Close", err, store.ErrClosed)
}
