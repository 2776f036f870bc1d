// Package gen makes the benchmark policy: a deterministic store of 100,000
// grants over 10,000 tables and 1,000 roles, 10,000 users in 20 groups each,
// a 100-column table with 20 masked columns and a row filter, and a
// 1,000-column table with 300 masked columns. Every benchmark of lakegate
// (in-process, over HTTP, against OPA, cold start, sessions) uses it, so their
// figures describe the same policy.
//
// The shape, chosen to look like a large Okera deployment:
//
//   - 100 databases of 100 tables (db_00 … db_99, db_80 being named sales); ordinary tables
//     have 12 columns (id, region, country, owner, c04 … c11), c05 carries one
//     of 20 tags.tNN attributes and c07 of 30% of tables carries pii.email.
//   - sales.customers: 100 columns, 20 of them (c010 … c029) carry one of
//     five pii.* attributes. sales.events_wide: 1,000 columns, 300 of them
//     (c0100 … c0399) carry one of ten attributes.
//   - 1,000 roles; 2,000 groups group_NNNN, group g holding role g mod 1000;
//     ten department groups dept_NN holding role_0000 … role_0002 (the sales
//     grants below); 500 users also hold a role granted to them directly.
//   - 10,000 users u00000@example.com …, each in one department group and 19
//     random groups; 70% carry a region attribute.
//   - 100,000 grants, roughly 100 per role: table grants (plain, column
//     lists, TRANSFORM of a tag), database grants (HAVING ATTRIBUTE IN / NOT
//     IN with TRANSFORM), ALL, INSERT and SHOW grants, URI grants and a few
//     catalog SHOW grants.
//   - Row filters: 20 of the databases (sales and db_81 … db_99) are "filtered":
//     every grant on them carries the same WHERE clause, chosen per database
//     from user_attribute('region'), user() and has_roles(…). So every
//     (user, table) pair is Okera's common case — all applicable grants share
//     one filter — and the engine never needs a CASE column; the OPA baseline
//     computes exactly that case.
//   - sales: role_0000 has SELECT ON DATABASE sales TRANSFORMing the ten
//     attributes, role_0001 SELECT ON DATABASE sales HAVING ATTRIBUTE NOT IN
//     (the ten), role_0002 a column list on sales.customers; all three with
//     the filter "region = user_attribute('region') OR has_roles('role_0003')".
//     Every user holds the three roles, so sales.customers shows 80 columns,
//     masks 20 and filters rows (unless the user holds role_0003).
package gen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// Config sizes the generated policy. Default() is the benchmark's.
type Config struct {
	Seed          uint64
	Grants        int // total, including the sales grants
	Roles         int
	Databases     int // each holds TablesPerDB tables
	TablesPerDB   int
	Users         int
	Groups        int // group_NNNN groups (besides the department groups)
	GroupsPerUser int // including the department group
	// FilteredDBs is how many databases (the last ones, sales first) carry a
	// row filter on every grant.
	FilteredDBs int
}

// Default is the benchmark policy: 100,000 grants, 1,000 roles, 10,000
// tables, 10,000 users in 20 groups each.
func Default() Config {
	return Config{
		Seed:          20261128,
		Grants:        100_000,
		Roles:         1_000,
		Databases:     100,
		TablesPerDB:   100,
		Users:         10_000,
		Groups:        2_000,
		GroupsPerUser: 20,
		FilteredDBs:   20,
	}
}

// Names of the benchmark tables.
const (
	SalesDB    = "sales"
	WideTable  = "customers"   // 100 columns, 20 masked, row filter
	HugeTable  = "events_wide" // 1,000 columns, 300 masked
	DeptGroups = 10
	// SalesFilter is the WHERE clause of every grant on database sales.
	SalesFilter = "region = user_attribute('region') OR has_roles('role_0003')"
)

// PIIAttributes tag the 20 masked columns of sales.customers (four each).
var PIIAttributes = []string{"pii.ssn", "pii.email", "pii.phone", "pii.ccn", "pii.address"}

// HugeAttributes tag the 300 masked columns of sales.events_wide (30 each);
// the first five are PIIAttributes.
var HugeAttributes = append(slices.Clone(PIIAttributes), "fin.salary", "fin.account", "hr.dob", "hr.gender", "geo.location")

var maskFor = map[string]string{
	"pii.ssn": "mask", "pii.email": "tokenize", "pii.phone": "mask", "pii.ccn": "mask_ccn", "pii.address": "null",
	"fin.salary": "zero", "fin.account": "sha2", "hr.dob": "phi_age", "hr.gender": "null", "geo.location": "hash",
}

// The row filters of the filtered databases other than sales.
var dbFilters = []string{
	"region = user_attribute('region')",
	"owner = user()",
	"has_roles('role_0042') OR country = 'US'",
}

// User is one generated principal, as its token would carry it.
type User struct {
	Name       string
	Groups     []string // sorted, lower case, as authn returns them
	Attributes map[string]string
}

// Principal is u as the policy engine takes it.
func (u User) Principal() policy.Principal {
	attrs := u.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return policy.Principal{User: u.Name, Groups: u.Groups, Attributes: attrs}
}

// Data is a generated policy.
type Data struct {
	Config Config
	State  *catalog.State
	Users  []User
	// reach lists, per role, the tables it holds a table-scope SELECT (or
	// ALL) grant on: the pool requests draw their tables from.
	reach  map[string][]catalog.Table
	tables map[string]*catalog.Table
	// userRoles: roles granted to users directly.
	userRoles  map[string][]string
	groupRoles map[string][]string
}

func roleName(i int) string  { return fmt.Sprintf("role_%04d", i) }
func groupName(i int) string { return fmt.Sprintf("group_%04d", i) }
func deptName(i int) string  { return fmt.Sprintf("dept_%02d", i) }
func userName(i int) string  { return fmt.Sprintf("u%05d@example.com", i) }
func tagName(i int) string   { return fmt.Sprintf("tags.t%02d", i) }
func tableName(i int) string { return fmt.Sprintf("t_%03d", i) }
func dbName(cfg Config, i int) string {
	if i == cfg.Databases-cfg.FilteredDBs {
		return SalesDB
	}
	return fmt.Sprintf("db_%02d", i)
}

// wideColumns returns the columns of a generated table of n columns:
// id, region, country, owner, then cNNN.
func wideColumns(n, width int) []catalog.Column {
	types := []string{"string", "bigint", "double", "timestamp", "string", "decimal(10,2)", "date", "string"}
	cols := []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "region", Type: "string"},
		{Name: "country", Type: "string"}, {Name: "owner", Type: "string"}}
	for i := 4; i < n; i++ {
		cols = append(cols, catalog.Column{Name: fmt.Sprintf("c%0*d", width, i), Type: types[i%len(types)]})
	}
	return cols
}

// Generate builds the policy for cfg. The same cfg always gives the same
// rows, IDs and users.
func Generate(cfg Config) *Data {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	st := &catalog.State{Version: 1}
	d := &Data{Config: cfg, State: st, reach: map[string][]catalog.Table{}, tables: map[string]*catalog.Table{},
		userRoles: map[string][]string{}, groupRoles: map[string][]string{}}

	// Roles and memberships.
	for i := range cfg.Roles {
		st.Roles = append(st.Roles, roleName(i))
	}
	addMember := func(role string, kind catalog.MemberKind, name string) {
		st.Memberships = append(st.Memberships, catalog.Membership{Role: role, Kind: kind, Name: name})
		if kind == catalog.MemberGroup {
			d.groupRoles[name] = append(d.groupRoles[name], role)
		} else {
			d.userRoles[name] = append(d.userRoles[name], role)
		}
	}
	for g := range cfg.Groups {
		addMember(roleName(g%cfg.Roles), catalog.MemberGroup, groupName(g))
	}
	for g := range DeptGroups {
		for r := range 3 {
			addMember(roleName(r), catalog.MemberGroup, deptName(g))
		}
	}

	// Users.
	regions := []string{"EU", "US", "APAC"}
	for i := range cfg.Users {
		u := User{Name: userName(i), Groups: []string{deptName(i % DeptGroups)}}
		seen := map[int]bool{}
		for len(u.Groups) < cfg.GroupsPerUser {
			g := rng.IntN(cfg.Groups)
			if !seen[g] {
				seen[g] = true
				u.Groups = append(u.Groups, groupName(g))
			}
		}
		sort.Strings(u.Groups)
		if rng.IntN(10) < 7 {
			u.Attributes = map[string]string{"region": regions[rng.IntN(len(regions))]}
		}
		d.Users = append(d.Users, u)
	}
	for i := 0; i < cfg.Users; i += max(1, cfg.Users/500) {
		addMember(roleName(rng.IntN(cfg.Roles)), catalog.MemberUser, userName(i))
	}

	// Attributes, databases, tables, column attributes.
	for i := range 20 {
		st.Attributes = append(st.Attributes, tagName(i))
	}
	st.Attributes = append(st.Attributes, HugeAttributes...)
	sort.Strings(st.Attributes)
	filterOf := map[string]string{}
	for di := range cfg.Databases {
		db := dbName(cfg, di)
		st.Databases = append(st.Databases, db)
		if k := di - (cfg.Databases - cfg.FilteredDBs); k == 0 {
			filterOf[db] = SalesFilter
		} else if k > 0 {
			filterOf[db] = dbFilters[k%len(dbFilters)]
		}
		for ti := range cfg.TablesPerDB {
			t := catalog.Table{Database: db, Name: tableName(ti), Location: fmt.Sprintf("s3://lake/%s/%s", db, tableName(ti))}
			switch {
			case db == SalesDB && ti == 0:
				t.Name, t.Columns = WideTable, wideColumns(100, 3)
				for c := 10; c < 30; c++ {
					st.ColumnAttrs = append(st.ColumnAttrs, catalog.ColumnAttribute{Database: db, Table: t.Name,
						Column: t.Columns[c].Name, Attribute: PIIAttributes[(c-10)%len(PIIAttributes)]})
				}
			case db == SalesDB && ti == 1:
				t.Name, t.Columns = HugeTable, wideColumns(1000, 4)
				for c := 100; c < 400; c++ {
					st.ColumnAttrs = append(st.ColumnAttrs, catalog.ColumnAttribute{Database: db, Table: t.Name,
						Column: t.Columns[c].Name, Attribute: HugeAttributes[(c-100)%len(HugeAttributes)]})
				}
			default:
				t.Columns = wideColumns(12, 2)
				st.ColumnAttrs = append(st.ColumnAttrs, catalog.ColumnAttribute{Database: db, Table: t.Name,
					Column: "c05", Attribute: tagName((di*cfg.TablesPerDB + ti) % 20)})
				if rng.IntN(10) < 3 {
					st.ColumnAttrs = append(st.ColumnAttrs, catalog.ColumnAttribute{Database: db, Table: t.Name,
						Column: "c07", Attribute: "pii.email"})
				}
			}
			st.Tables = append(st.Tables, t)
		}
	}
	for i := range st.Tables {
		d.tables[st.Tables[i].FullName()] = &st.Tables[i]
	}

	// Grants. The sales grants first (so they have the lowest IDs).
	var grants []catalog.Grant
	add := func(g catalog.Grant) {
		g.ID = int64(len(grants) + 1)
		if f, ok := filterOf[g.Object.Database]; ok && g.Object.Scope != catalog.ScopeCatalog && g.Object.Scope != catalog.ScopeURI {
			g.Filter = f
		}
		grants = append(grants, g)
		if g.Object.Scope == catalog.ScopeTable && g.Privilege.Implies(catalog.PrivSelect) {
			d.reach[g.Role] = append(d.reach[g.Role], *d.tables[g.Object.Database+"."+g.Object.Table])
		}
	}
	var transforms []catalog.Transform
	for _, a := range HugeAttributes {
		transforms = append(transforms, catalog.Transform{Attribute: a, Function: maskFor[a]})
	}
	add(catalog.Grant{Role: roleName(0), Privilege: catalog.PrivSelect,
		Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: SalesDB}, Transforms: transforms})
	add(catalog.Grant{Role: roleName(1), Privilege: catalog.PrivSelect,
		Object:     catalog.Object{Scope: catalog.ScopeDatabase, Database: SalesDB},
		Attributes: slices.Clone(HugeAttributes), AttributesNot: true})
	add(catalog.Grant{Role: roleName(2), Privilege: catalog.PrivSelect,
		Object:  catalog.Object{Scope: catalog.ScopeTable, Database: SalesDB, Table: WideTable},
		Columns: []string{"id", "region", "country", "owner", "c004", "c005", "c006", "c007", "c008", "c009"}})

	for len(grants) < cfg.Grants {
		role := roleName(rng.IntN(cfg.Roles))
		di := rng.IntN(cfg.Databases)
		db := dbName(cfg, di)
		ti := rng.IntN(cfg.TablesPerDB)
		if db == SalesDB && ti < 2 {
			ti = 2 + rng.IntN(cfg.TablesPerDB-2) // the benchmark tables keep their three grants
		}
		tbl := tableName(ti)
		onTable := catalog.Object{Scope: catalog.ScopeTable, Database: db, Table: tbl}
		onDB := catalog.Object{Scope: catalog.ScopeDatabase, Database: db}
		tag := tagName(rng.IntN(20))
		g := catalog.Grant{Role: role, Privilege: catalog.PrivSelect, Object: onTable}
		switch p := rng.IntN(100); {
		case p < 55: // plain table grant
		case p < 65:
			g.Columns = []string{"id", "region", "c04", "c05", "c06"}[:2+rng.IntN(4)]
		case p < 75:
			g.Transforms = []catalog.Transform{{Attribute: tag, Function: "mask"}, {Attribute: "pii.email", Function: "tokenize"}}
		case p < 78:
			g.Object = onDB
			g.Attributes, g.AttributesNot = []string{tag, "pii.email"}, true
		case p < 80:
			g.Object = onDB
			g.Attributes = []string{tag}
			g.Transforms = []catalog.Transform{{Attribute: tag, Function: "mask_ccn"}}
		case p < 85:
			g.Privilege = catalog.PrivAll
		case p < 92:
			g.Privilege = catalog.PrivInsert
		case p < 97:
			g.Privilege = catalog.PrivShow
		case p < 99:
			g.Privilege, g.Object = catalog.PrivAll, catalog.Object{Scope: catalog.ScopeURI, URI: fmt.Sprintf("s3://lake/%s/%s", db, tbl)}
		default:
			g.Privilege, g.Object = catalog.PrivShow, catalog.Object{Scope: catalog.ScopeCatalog}
		}
		if g.Object.Scope == catalog.ScopeDatabase && db == SalesDB {
			g.Object = onTable // the sales database grants are the three above
		}
		add(g)
	}
	st.Grants = catalog.NewGrants(grants)
	return d
}

// Roles returns the roles u holds (granted to the user and its groups), sorted.
func (d *Data) Roles(u User) []string {
	set := map[string]bool{}
	for _, r := range d.userRoles[u.Name] {
		set[r] = true
	}
	for _, g := range u.Groups {
		for _, r := range d.groupRoles[g] {
			set[r] = true
		}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Table returns the generated table db.t.
func (d *Data) Table(db, t string) catalog.Table { return *d.tables[db+"."+t] }

// Object is the request object reading every column of table db.t, as an
// engine sends it.
func (d *Data) Object(db, t string) policy.Object {
	tb := d.tables[db+"."+t]
	return policy.Object{Database: db, Table: t, Columns: tb.Columns, Action: catalog.PrivSelect}
}

// Request is the benchmark query of user u: sales.customers (100 columns)
// and three more tables u holds a grant on, all columns, SELECT. With
// withRandom a fifth, random table is added (often denied). The same
// (rng state, u) gives the same request.
func (d *Data) Request(rng *rand.Rand, u User, withRandom bool) []policy.Object {
	objs := []policy.Object{d.Object(SalesDB, WideTable)}
	var pool []catalog.Table
	for _, r := range d.Roles(u) {
		pool = append(pool, d.reach[r]...)
	}
	seen := map[string]bool{SalesDB + "." + WideTable: true}
	for tries := 0; len(objs) < 4 && tries < 100 && len(pool) > 0; tries++ {
		t := pool[rng.IntN(len(pool))]
		if !seen[t.FullName()] {
			seen[t.FullName()] = true
			objs = append(objs, d.Object(t.Database, t.Name))
		}
	}
	if withRandom {
		t := d.State.Tables[rng.IntN(len(d.State.Tables))]
		objs = append(objs, d.Object(t.Database, t.Name))
	}
	return objs
}

// Apply writes the policy into an empty store, in the order and batches a
// bulk import would use (grants 10,000 per transaction), so the store's
// grant IDs equal the generated ones. It returns the last version.
func (d *Data) Apply(ctx context.Context, s store.Store) (int64, error) {
	st := d.State
	v, err := s.Apply(ctx, func(tx store.Tx) error {
		for _, r := range st.Roles {
			if err := tx.CreateRole(r); err != nil {
				return err
			}
		}
		for _, m := range st.Memberships {
			if err := tx.AddMembership(m); err != nil {
				return err
			}
		}
		for _, a := range st.Attributes {
			if err := tx.CreateAttribute(a); err != nil {
				return err
			}
		}
		for _, db := range st.Databases {
			if err := tx.CreateDatabase(db); err != nil {
				return err
			}
		}
		for _, t := range st.Tables {
			if err := tx.PutTable(t); err != nil {
				return err
			}
		}
		for _, a := range st.ColumnAttrs {
			if err := tx.AddColumnAttribute(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	const batch = 10_000
	grants := st.Grants.All()
	for lo := 0; lo < len(grants); lo += batch {
		hi := min(lo+batch, len(grants))
		v, err = s.Apply(ctx, func(tx store.Tx) error {
			for _, g := range grants[lo:hi] {
				id, err := tx.AddGrant(g)
				if err != nil {
					return err
				}
				if id != g.ID {
					return fmt.Errorf("grant %d stored with id %d: apply into an empty store", g.ID, id)
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return v, nil
}
