package ddl

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/builtins"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// --- roles ---

// createName adds a role, attribute or database unless it exists.
func (b *Batch) createName(kind string, names *[]string, name string, ifNotExists bool, op Op) (Result, error) {
	if slices.Contains(*names, name) {
		if ifNotExists {
			return done("%s %s already exists", kind, name), nil
		}
		return Result{}, refuse(AlreadyExists, "%s %s already exists", kind, name)
	}
	*names = append(slices.Clip(*names), name)
	b.change(Change{Op: op, Name: name})
	return done("%s %s created", kind, name), nil
}

func (b *Batch) dropRole(x policysql.DropRole) (Result, error) {
	if !b.admin() {
		return Result{}, notAdmin("drop roles")
	}
	if !slices.Contains(b.work.Roles, x.Name) {
		if x.IfExists {
			return done("role %s does not exist", x.Name), nil
		}
		return Result{}, refuse(NotFound, "role %s does not exist", x.Name)
	}
	w := b.mutable()
	w.Roles = remove(w.Roles, x.Name)
	w.Memberships = filter(w.Memberships, func(m catalog.Membership) bool { return m.Role != x.Name })
	n := len(w.Grants.Role(x.Name))
	w.Grants = w.Grants.WithoutRole(x.Name)
	b.change(Change{Op: DropRole, Name: x.Name}) // the store drops its memberships and grants with it
	return done("role %s dropped with its %d grants", x.Name, n), nil
}

func (b *Batch) grantRole(m catalog.Membership) (Result, error) {
	m.Name = catalog.FoldName(m.Name) // groups and users match without regard to ASCII case
	if !b.admin() {
		return Result{}, notAdmin("grant roles")
	}
	if !slices.Contains(b.work.Roles, m.Role) {
		return Result{}, refuse(NotFound, "role %s does not exist; CREATE ROLE %s first", m.Role, m.Role)
	}
	if containsMembership(b.work.Memberships, m) {
		return done("role %s is already granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name), nil
	}
	w := b.mutable()
	w.Memberships = append(slices.Clip(w.Memberships), m)
	b.change(Change{Op: AddMembership, Membership: m})
	return done("role %s granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name), nil
}

func (b *Batch) revokeRole(m catalog.Membership) (Result, error) {
	m.Name = catalog.FoldName(m.Name)
	if !b.admin() {
		return Result{}, notAdmin("revoke roles")
	}
	if !containsMembership(b.work.Memberships, m) {
		return Result{}, refuse(NotFound, "role %s is not granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name)
	}
	w := b.mutable()
	w.Memberships = filter(w.Memberships, func(x catalog.Membership) bool { return x != m })
	b.change(Change{Op: RemoveMembership, Membership: m})
	return done("role %s revoked from %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name), nil
}

func containsMembership(ms []catalog.Membership, m catalog.Membership) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// --- grants ---

// mayAdminister: admins, and holders of ALL on the object or above (decided
// on the policy the batch started from).
func (b *Batch) mayAdminister(o catalog.Object) error {
	if b.base.HoldsAll(b.subj, o) {
		return nil
	}
	return refuse(Denied,
		"only members of the admin group or holders of ALL on %s (or on something containing it) may grant or revoke on it", o)
}

func (b *Batch) grant(g catalog.Grant) (Result, error) {
	if err := b.mayAdminister(g.Object); err != nil {
		return Result{}, err
	}
	if err := b.validateGrant(g); err != nil {
		return Result{}, err
	}
	for _, x := range b.work.Grants.Role(g.Role) {
		if x.SameSpec(g) {
			return done("this grant already exists (id %d)", x.ID), nil
		}
	}
	b.nextTemp--
	g.ID = b.nextTemp
	w := b.mutable()
	w.Grants = w.Grants.With(g)
	b.change(Change{Op: AddGrant, Grant: g})
	return done("granted %s on %s to role %s", g.Privilege, g.Object, g.Role), nil
}

func (b *Batch) revoke(g catalog.Grant) (Result, error) {
	if err := b.mayAdminister(g.Object); err != nil {
		return Result{}, err
	}
	for _, x := range b.work.Grants.Role(g.Role) {
		if !x.SameSpec(g) {
			continue
		}
		w := b.mutable()
		w.Grants = w.Grants.Without(x.Role, x.ID)
		b.change(Change{Op: RemoveGrant, GrantID: x.ID})
		return done("revoked %s on %s from role %s", g.Privilege, g.Object, g.Role), nil
	}
	return Result{}, refuse(NotFound,
		"role %s holds no such grant on %s (REVOKE must repeat the grant exactly; SHOW GRANTS TO ROLE %s lists them)", g.Role, g.Object, g.Role)
}

func (b *Batch) validateGrant(g catalog.Grant) error {
	w := b.work
	if !slices.Contains(w.Roles, g.Role) {
		return refuse(NotFound, "role %s does not exist; CREATE ROLE %s first", g.Role, g.Role)
	}
	o := g.Object
	switch o.Scope {
	case catalog.ScopeDatabase:
		if !slices.Contains(w.Databases, o.Database) {
			return refuse(NotFound, "database %s does not exist", o.Database)
		}
	case catalog.ScopeTable:
		t, ok := findTable(w, o.Database, o.Table)
		if !ok {
			return refuse(NotFound,
				"table %s.%s does not exist in the planner's catalog; CREATE TABLE it in policy SQL (a CREATE TABLE run through an engine with lakegate records it too)",
				o.Database, o.Table)
		}
		for _, c := range g.Columns {
			if len(t.Columns) > 0 && !hasColumn(t, c) {
				return refuse(NotFound, "table %s has no column %s", t.FullName(), c)
			}
		}
	case catalog.ScopeURI:
		if len(g.Columns) > 0 || len(g.Attributes) > 0 || len(g.Transforms) > 0 || g.Filter != "" {
			return refuse(Invalid, "a URI grant cannot have columns, HAVING, TRANSFORM or WHERE")
		}
		switch g.Privilege {
		case catalog.PrivAll, catalog.PrivSelect, catalog.PrivInsert:
		default:
			return refuse(Invalid, "URI grants take SELECT, INSERT or ALL, not %s", g.Privilege)
		}
	}
	if len(g.Columns) > 0 && o.Scope != catalog.ScopeTable {
		return refuse(Invalid, "a column list needs a TABLE or VIEW object")
	}
	if (len(g.Columns) > 0 || len(g.Attributes) > 0 || len(g.Transforms) > 0 || g.Filter != "") &&
		g.Privilege != catalog.PrivSelect && g.Privilege != catalog.PrivAll {
		return refuse(Invalid, "columns, HAVING, TRANSFORM and WHERE restrict reads: use them with SELECT (or ALL)")
	}
	for _, a := range g.Attributes {
		if !slices.Contains(w.Attributes, a) {
			return refuse(NotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", a, a)
		}
	}
	for _, t := range g.Transforms {
		if !slices.Contains(w.Attributes, t.Attribute) {
			return refuse(NotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", t.Attribute, t.Attribute)
		}
		f, ok := builtins.Lookup(t.Function)
		if !ok {
			return refuse(Invalid, "unknown function %s in TRANSFORM; the builtins are %s", t.Function, strings.Join(builtins.Names(), ", "))
		}
		if len(t.Args) < f.MinArgs || len(t.Args) > f.MaxArgs {
			return refuse(Invalid, "%s takes %d to %d arguments after the column, not %d", f.Name, f.MinArgs, f.MaxArgs, len(t.Args))
		}
	}
	return nil
}

func findTable(st *catalog.State, db, name string) (catalog.Table, bool) {
	for _, t := range st.Tables {
		if t.Database == db && t.Name == name {
			return t, true
		}
	}
	return catalog.Table{}, false
}

func hasColumn(t catalog.Table, col string) bool {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, col) {
			return true
		}
	}
	return false
}

// --- attributes ---

func (b *Batch) dropAttribute(x policysql.DropAttribute) (Result, error) {
	if !b.admin() {
		return Result{}, notAdmin("drop attributes")
	}
	if !slices.Contains(b.work.Attributes, x.Name) {
		if x.IfExists {
			return done("attribute %s does not exist", x.Name), nil
		}
		return Result{}, refuse(NotFound, "attribute %s does not exist", x.Name)
	}
	for _, g := range b.work.Grants.All() {
		if slices.Contains(g.Attributes, x.Name) ||
			slices.ContainsFunc(g.Transforms, func(t catalog.Transform) bool { return t.Attribute == x.Name }) {
			return Result{}, refuse(Precondition,
				"attribute %s is used by a grant to role %s on %s; revoke such grants first (SHOW GRANTS TO ROLE %s)", x.Name, g.Role, g.Object, g.Role)
		}
	}
	w := b.mutable()
	w.Attributes = remove(w.Attributes, x.Name)
	w.ColumnAttrs = filter(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool { return a.Attribute != x.Name })
	b.change(Change{Op: DropAttribute, Name: x.Name}) // the store drops its column attributes with it
	return done("attribute %s dropped", x.Name), nil
}

func (b *Batch) alterColumnAttribute(x policysql.AlterColumnAttribute) (Result, error) {
	a := x.Attr
	if err := b.mayAdminister(catalog.Object{Scope: catalog.ScopeTable, Database: a.Database, Table: a.Table}); err != nil {
		return Result{}, err
	}
	t, ok := findTable(b.work, a.Database, a.Table)
	if !ok {
		return Result{}, refuse(NotFound, "table %s.%s does not exist", a.Database, a.Table)
	}
	if !hasColumn(t, a.Column) {
		return Result{}, refuse(NotFound, "table %s has no column %s", t.FullName(), a.Column)
	}
	if !slices.Contains(b.work.Attributes, a.Attribute) {
		return Result{}, refuse(NotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", a.Attribute, a.Attribute)
	}
	has := false
	for _, y := range b.work.ColumnAttrs {
		has = has || y == a
	}
	if x.Add {
		if has {
			return done("column %s.%s already has attribute %s", t.FullName(), a.Column, a.Attribute), nil
		}
		w := b.mutable()
		w.ColumnAttrs = append(slices.Clip(w.ColumnAttrs), a)
		b.change(Change{Op: AddColumnAttribute, ColumnAttr: a})
		return done("attribute %s added to column %s.%s", a.Attribute, t.FullName(), a.Column), nil
	}
	if !has {
		return Result{}, refuse(NotFound, "column %s.%s does not have attribute %s", t.FullName(), a.Column, a.Attribute)
	}
	w := b.mutable()
	w.ColumnAttrs = filter(w.ColumnAttrs, func(y catalog.ColumnAttribute) bool { return y != a })
	b.change(Change{Op: RemoveColumnAttribute, ColumnAttr: a})
	return done("attribute %s removed from column %s.%s", a.Attribute, t.FullName(), a.Column), nil
}

// --- databases and tables ---

// allowed asks the engine whether the caller may act on o (databases and
// tables), on the policy the batch started from.
func (b *Batch) allowed(o policy.Object) error {
	d := b.base.Authorize(b.subj, []policy.Object{o})[0]
	if d.Allowed {
		return nil
	}
	return refuse(Denied, "%s", d.Reason)
}

// The cascade rules. DROP DATABASE … CASCADE drops its tables, their column
// attributes and every grant on the database or its tables; DROP TABLE (or
// VIEW) drops its column attributes and grants; DROP ROLE its memberships
// and grants; DROP ATTRIBUTE its column attributes (and is refused while a
// grant uses it). Grants on objects that go away are dropped so that a new
// object of the same name does not inherit them.

func (b *Batch) dropDatabase(x policysql.DropDatabase) (Result, error) {
	if err := b.allowed(policy.Object{Database: x.Name, Action: catalog.PrivDrop}); err != nil {
		return Result{}, err
	}
	if !slices.Contains(b.work.Databases, x.Name) {
		if x.IfExists {
			return done("database %s does not exist", x.Name), nil
		}
		return Result{}, refuse(NotFound, "database %s does not exist", x.Name)
	}
	n := 0
	for _, t := range b.work.Tables {
		if t.Database == x.Name {
			n++
		}
	}
	if n > 0 && !x.Cascade {
		return Result{}, refuse(Precondition, "database %s holds %d tables; DROP DATABASE %s CASCADE drops them too", x.Name, n, x.Name)
	}
	w := b.mutable()
	w.Databases = remove(w.Databases, x.Name)
	w.Tables = filter(w.Tables, func(t catalog.Table) bool { return t.Database != x.Name })
	w.ColumnAttrs = filter(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool { return a.Database != x.Name })
	revoked := b.dropGrants(func(o catalog.Object) bool {
		return (o.Scope == catalog.ScopeDatabase || o.Scope == catalog.ScopeTable) && o.Database == x.Name
	})
	b.change(Change{Op: DropDatabase, Name: x.Name})
	return done("database %s dropped with %d tables and %d grants", x.Name, n, revoked), nil
}

func (b *Batch) dropGrants(on func(catalog.Object) bool) int {
	w := b.mutable()
	var dropped []catalog.Grant
	w.Grants, dropped = w.Grants.Split(func(g catalog.Grant) bool { return on(g.Object) })
	slices.SortFunc(dropped, func(a, b catalog.Grant) int { return cmp.Compare(a.ID, b.ID) }) // the store's order, whatever the roles'
	for _, g := range dropped {
		b.change(Change{Op: RemoveGrant, GrantID: g.ID})
	}
	return len(dropped)
}

func (b *Batch) createTable(x policysql.CreateTable) (Result, error) {
	t := x.Table
	if err := b.allowed(policy.Object{Database: t.Database, Action: catalog.PrivCreate}); err != nil {
		return Result{}, err
	}
	if !slices.Contains(b.work.Databases, t.Database) {
		return Result{}, refuse(NotFound, "database %s does not exist; CREATE DATABASE %s first", t.Database, t.Database)
	}
	if t.Database == policy.WhoAmIDatabase && t.Name == policy.WhoAmITable {
		return Result{}, refuse(Invalid, "%s.%s is built in", t.Database, t.Name)
	}
	if _, ok := findTable(b.work, t.Database, t.Name); ok {
		if x.IfNotExists {
			return done("table %s already exists", t.FullName()), nil
		}
		return Result{}, refuse(AlreadyExists, "table %s already exists", t.FullName())
	}
	b.mutable().PutTable(t)
	b.change(Change{Op: PutTable, TableRow: t})
	return done("table %s created", t.FullName()), nil
}

func (b *Batch) dropTable(x policysql.DropTable) (Result, error) {
	if x.Database == policy.WhoAmIDatabase && x.Name == policy.WhoAmITable {
		return Result{}, refuse(Invalid, "%s.%s is built in", x.Database, x.Name)
	}
	if err := b.allowed(policy.Object{Database: x.Database, Table: x.Name, Action: catalog.PrivDrop}); err != nil {
		return Result{}, err
	}
	if _, ok := findTable(b.work, x.Database, x.Name); !ok {
		if x.IfExists {
			return done("table %s.%s does not exist", x.Database, x.Name), nil
		}
		return Result{}, refuse(NotFound, "table %s.%s does not exist", x.Database, x.Name)
	}
	w := b.mutable()
	w.Tables = filter(w.Tables, func(t catalog.Table) bool { return t.Database != x.Database || t.Name != x.Name })
	w.ColumnAttrs = filter(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool {
		return a.Database != x.Database || a.Table != x.Name
	})
	revoked := b.dropGrants(func(o catalog.Object) bool {
		return o.Scope == catalog.ScopeTable && o.Database == x.Database && o.Table == x.Name
	})
	b.change(Change{Op: DropTable, Name: x.Database, Table: x.Name})
	return done("table %s.%s dropped with %d grants", x.Database, x.Name, revoked), nil
}

// --- SHOW ---

func rows(cols []string, data [][]string) Result { return Result{Columns: cols, Rows: data} }

func single(xs []string) [][]string {
	out := make([][]string, len(xs))
	for i, x := range xs {
		out[i] = []string{x}
	}
	return out
}

var grantColumns = []string{"role", "privilege", "object", "columns", "having", "transforms", "filter"}

func grantRow(g catalog.Grant) []string {
	having := ""
	if len(g.Attributes) > 0 {
		not := ""
		if g.AttributesNot {
			not = "NOT "
		}
		having = "ATTRIBUTE " + not + "IN (" + strings.Join(g.Attributes, ", ") + ")"
	}
	var tr []string
	for _, t := range g.Transforms {
		tr = append(tr, t.Attribute+" WITH "+t.Function+"("+strings.Join(t.Args, ", ")+")")
	}
	return []string{g.Role, string(g.Privilege), g.Object.String(), strings.Join(g.Columns, ", "), having, strings.Join(tr, "; "), g.Filter}
}

func (b *Batch) showGrantsOn(o catalog.Object) Result {
	all := b.base.HoldsAll(b.subj, o)
	var out [][]string
	for _, g := range sortedGrants(b.work.Grants.All()) {
		if g.Object == o && (all || b.subj.HasRole(g.Role)) {
			out = append(out, grantRow(g))
		}
	}
	return rows(grantColumns, out)
}

func (b *Batch) showGrantsToRole(role string) (Result, error) {
	if !slices.Contains(b.work.Roles, role) {
		return Result{}, refuse(NotFound, "role %s does not exist", role)
	}
	if !b.admin() && !b.subj.HasRole(role) {
		return Result{}, refuse(Denied, "only members of the admin group may list the grants of a role they do not hold")
	}
	var out [][]string
	for _, g := range sortedGrants(b.work.Grants.Role(role)) {
		if g.Role == role {
			out = append(out, grantRow(g))
		}
	}
	return rows(grantColumns, out), nil
}

func sortedGrants(gs []catalog.Grant) []catalog.Grant {
	out := append([]catalog.Grant(nil), gs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Object.String() < out[j].Object.String()
	})
	return out
}

func (b *Batch) showTables(db string) (Result, error) {
	pol, subj := b.visible()
	if !pol.HasDatabase(db) || !slices.Contains(pol.VisibleDatabases(subj), db) {
		return Result{}, refuse(NotFound, "database %s does not exist or you may not see it", db)
	}
	var out [][]string
	for _, t := range pol.VisibleTables(subj, db) {
		kind := "TABLE"
		if t.IsView {
			kind = "VIEW"
		}
		out = append(out, []string{t.Name, kind})
	}
	return rows([]string{"table_name", "type"}, out), nil
}

// --- small helpers ---

func remove(xs []string, x string) []string {
	return filter(xs, func(y string) bool { return y != x })
}

func filter[T any](xs []T, keep func(T) bool) []T {
	out := xs[:0:0]
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
