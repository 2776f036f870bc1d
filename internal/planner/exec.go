package planner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/builtins"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/store"
)

// stmtError is a statement refused for a reason the user can fix.
type stmtError struct {
	code connect.Code
	msg  string
}

func (e *stmtError) Error() string { return e.msg }

func refuse(code connect.Code, format string, args ...any) error {
	return &stmtError{code: code, msg: fmt.Sprintf(format, args...)}
}

func notAdmin(what string) error {
	return refuse(connect.CodePermissionDenied, "only members of the admin group may %s", what)
}

// batch executes one ExecuteSql request. Statements are validated in order
// against a working copy of the policy, so later statements see earlier
// ones; all changes are then written in one store transaction. Any refusal
// changes nothing.
type batch struct {
	s    *Server
	c    *caller
	work *catalog.State
	ops  []func(store.Tx) error
	// ids maps the temporary (negative) IDs of grants added in this batch
	// to the IDs the store assigns.
	ids      map[int64]int64
	nextTemp int64
	dirty    bool
	pol      *policy.Policy
	subj     *policy.Subject
}

func (s *Server) execute(ctx context.Context, c *caller, stmts []policysql.Parsed) ([]*lakegatev1.StatementResult, int64, error) {
	mutates := false
	for _, p := range stmts {
		mutates = mutates || !p.Stmt.IsQuery()
	}
	if mutates {
		s.ddl.Lock()
		defer s.ddl.Unlock()
		// Validate against the newest version, which may be newer than the
		// one the caller was authenticated against.
		if snap := s.snapshot(); snap != c.snap {
			c.snap = snap
			c.subject = snap.policy.Subject(toPolicyPrincipal(c.principal))
		}
	}
	b := &batch{s: s, c: c, work: c.snap.state, ids: map[int64]int64{}, pol: c.snap.policy, subj: c.subject}
	if mutates {
		b.work = c.snap.state.Clone()
	}
	results := make([]*lakegatev1.StatementResult, 0, len(stmts))
	for i, p := range stmts {
		r, err := b.run(p.Stmt)
		if err != nil {
			s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: outcomeOf(err), Reason: err.Error()})
			return nil, 0, wrapStmtError(err, i, len(stmts), p)
		}
		r.StatementType = p.Stmt.Kind()
		results = append(results, r)
	}
	version := c.snap.policy.Version()
	if len(b.ops) > 0 {
		v, err := s.store.Apply(ctx, func(tx store.Tx) error {
			for _, op := range b.ops {
				if err := op(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.log.Error("policy change failed in the store", "err", err)
			for _, p := range stmts {
				s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: "error", Reason: "store: " + err.Error()})
			}
			return nil, 0, connect.NewError(connect.CodeInternal, fmt.Errorf("the store refused the change (%v); nothing was changed", err))
		}
		for i := range b.work.Grants {
			if id := b.work.Grants[i].ID; id < 0 {
				b.work.Grants[i].ID = b.ids[id]
			}
		}
		b.work.Version = v
		if err := s.publish(b.work); err != nil {
			// The store holds the change but it cannot be served: stop
			// serving rather than decide on an older policy.
			s.ready.Store(false)
			return nil, 0, connect.NewError(connect.CodeInternal, err)
		}
		version = v
		s.log.Info("policy changed", "user", c.principal.User, "statements", len(stmts), "version", v)
	}
	for _, p := range stmts {
		s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: "ok"})
	}
	return results, version, nil
}

func outcomeOf(err error) string {
	var se *stmtError
	if errors.As(err, &se) && se.code == connect.CodePermissionDenied {
		return "denied"
	}
	return "error"
}

func wrapStmtError(err error, i, n int, p policysql.Parsed) error {
	code := connect.CodeInternal
	var se *stmtError
	if errors.As(err, &se) {
		code = se.code
	}
	where := fmt.Sprintf("line %d", p.Pos.Line)
	if n > 1 {
		where = fmt.Sprintf("statement %d of %d (line %d)", i+1, n, p.Pos.Line)
	}
	return connect.NewError(code, fmt.Errorf("%s: %s: %v; nothing was changed", where, p.Stmt.Kind(), err))
}

// policy returns the compiled policy of the working copy, for SHOW
// statements that follow changes in the same batch.
func (b *batch) policy() (*policy.Policy, *policy.Subject) {
	if b.dirty {
		pol, err := policy.Compile(b.work, policy.Options{AdminGroup: b.s.cfg.AdminGroup})
		if err == nil {
			b.pol, b.subj = pol, pol.Subject(toPolicyPrincipal(b.c.principal))
		}
		b.dirty = false
	}
	return b.pol, b.subj
}

func (b *batch) change(op func(store.Tx) error) {
	b.ops = append(b.ops, op)
	b.dirty = true
}

func done(format string, args ...any) *lakegatev1.StatementResult {
	return &lakegatev1.StatementResult{Message: fmt.Sprintf(format, args...)}
}

func (b *batch) admin() bool { return b.c.subject.IsAdmin }

func (b *batch) run(st policysql.Statement) (*lakegatev1.StatementResult, error) {
	switch x := st.(type) {
	case policysql.CreateRole:
		return b.createRole(x)
	case policysql.DropRole:
		return b.dropRole(x)
	case policysql.GrantRole:
		return b.grantRole(x.Member)
	case policysql.RevokeRole:
		return b.revokeRole(x.Member)
	case policysql.GrantPrivilege:
		return b.grant(x.Grant)
	case policysql.RevokePrivilege:
		return b.revoke(x.Grant)
	case policysql.CreateAttribute:
		return b.createAttribute(x)
	case policysql.DropAttribute:
		return b.dropAttribute(x)
	case policysql.AlterColumnAttribute:
		return b.alterColumnAttribute(x)
	case policysql.CreateDatabase:
		return b.createDatabase(x)
	case policysql.DropDatabase:
		return b.dropDatabase(x)
	case policysql.CreateTable:
		return b.createTable(x)
	case policysql.DropTable:
		return b.dropTable(x)
	case policysql.ShowRoles:
		return b.showRoles()
	case policysql.ShowCurrentRoles:
		return rows([]string{"role_name"}, single(b.c.subject.Roles)), nil
	case policysql.ShowGrantsOn:
		return b.showGrantsOn(x.Object)
	case policysql.ShowGrantsToRole:
		return b.showGrantsToRole(x.Role)
	case policysql.ShowDatabases:
		pol, subj := b.policy()
		return rows([]string{"database_name"}, single(pol.VisibleDatabases(subj))), nil
	case policysql.ShowTables:
		return b.showTables(x.Database)
	case policysql.ShowAttributes:
		attrs := append([]string(nil), b.work.Attributes...)
		sort.Strings(attrs)
		return rows([]string{"attribute"}, single(attrs)), nil
	}
	return nil, refuse(connect.CodeUnimplemented, "statement %T is not supported", st)
}

// --- roles ---

func (b *batch) createRole(x policysql.CreateRole) (*lakegatev1.StatementResult, error) {
	if !b.admin() {
		return nil, notAdmin("create roles")
	}
	return b.createName("role", &b.work.Roles, x.Name, x.IfNotExists, store.Tx.CreateRole)
}

// createName adds a role, attribute or database unless it exists.
func (b *batch) createName(kind string, names *[]string, name string, ifNotExists bool, op func(store.Tx, string) error) (*lakegatev1.StatementResult, error) {
	if containsString(*names, name) {
		if ifNotExists {
			return done("%s %s already exists", kind, name), nil
		}
		return nil, refuse(connect.CodeAlreadyExists, "%s %s already exists", kind, name)
	}
	*names = append(*names, name)
	b.change(func(tx store.Tx) error { return op(tx, name) })
	return done("%s %s created", kind, name), nil
}

func (b *batch) dropRole(x policysql.DropRole) (*lakegatev1.StatementResult, error) {
	if !b.admin() {
		return nil, notAdmin("drop roles")
	}
	if !containsString(b.work.Roles, x.Name) {
		if x.IfExists {
			return done("role %s does not exist", x.Name), nil
		}
		return nil, refuse(connect.CodeNotFound, "role %s does not exist", x.Name)
	}
	w := b.work
	w.Roles = removeString(w.Roles, x.Name)
	w.Memberships = filterSlice(w.Memberships, func(m catalog.Membership) bool { return m.Role != x.Name })
	n := len(w.Grants)
	w.Grants = filterSlice(w.Grants, func(g catalog.Grant) bool { return g.Role != x.Name })
	name := x.Name
	b.change(func(tx store.Tx) error { return tx.DropRole(name) })
	return done("role %s dropped with its %d grants", x.Name, n-len(w.Grants)), nil
}

func (b *batch) grantRole(m catalog.Membership) (*lakegatev1.StatementResult, error) {
	m.Name = strings.ToLower(m.Name) // groups and users match case-insensitively
	if !b.admin() {
		return nil, notAdmin("grant roles")
	}
	if !containsString(b.work.Roles, m.Role) {
		return nil, refuse(connect.CodeNotFound, "role %s does not exist; CREATE ROLE %s first", m.Role, m.Role)
	}
	if containsMembership(b.work.Memberships, m) {
		return done("role %s is already granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name), nil
	}
	b.work.Memberships = append(b.work.Memberships, m)
	b.change(func(tx store.Tx) error { return tx.AddMembership(m) })
	return done("role %s granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name), nil
}

func (b *batch) revokeRole(m catalog.Membership) (*lakegatev1.StatementResult, error) {
	m.Name = strings.ToLower(m.Name)
	if !b.admin() {
		return nil, notAdmin("revoke roles")
	}
	if !containsMembership(b.work.Memberships, m) {
		return nil, refuse(connect.CodeNotFound, "role %s is not granted to %s %s", m.Role, strings.ToLower(string(m.Kind)), m.Name)
	}
	b.work.Memberships = filterSlice(b.work.Memberships, func(x catalog.Membership) bool { return x != m })
	b.change(func(tx store.Tx) error { return tx.RemoveMembership(m) })
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

// mayAdminister: admins, and holders of ALL on the object or above.
func (b *batch) mayAdminister(o catalog.Object) error {
	if b.c.snap.policy.HoldsAll(b.c.subject, o) {
		return nil
	}
	return refuse(connect.CodePermissionDenied,
		"only members of the admin group or holders of ALL on %s (or on something containing it) may grant or revoke on it", o)
}

func (b *batch) grant(g catalog.Grant) (*lakegatev1.StatementResult, error) {
	if err := b.mayAdminister(g.Object); err != nil {
		return nil, err
	}
	if err := b.validateGrant(g); err != nil {
		return nil, err
	}
	for _, x := range b.work.Grants {
		if x.SameSpec(g) {
			return done("this grant already exists (id %d)", x.ID), nil
		}
	}
	b.nextTemp--
	g.ID = b.nextTemp
	b.work.Grants = append(b.work.Grants, g)
	temp := g.ID
	b.change(func(tx store.Tx) error {
		g.ID = 0
		id, err := tx.AddGrant(g)
		b.ids[temp] = id
		return err
	})
	return done("granted %s on %s to role %s", g.Privilege, g.Object, g.Role), nil
}

func (b *batch) revoke(g catalog.Grant) (*lakegatev1.StatementResult, error) {
	if err := b.mayAdminister(g.Object); err != nil {
		return nil, err
	}
	for i, x := range b.work.Grants {
		if !x.SameSpec(g) {
			continue
		}
		b.work.Grants = append(b.work.Grants[:i:i], b.work.Grants[i+1:]...)
		id := x.ID
		b.change(func(tx store.Tx) error {
			if id < 0 {
				id = b.ids[id]
			}
			return tx.RemoveGrant(id)
		})
		return done("revoked %s on %s from role %s", g.Privilege, g.Object, g.Role), nil
	}
	return nil, refuse(connect.CodeNotFound,
		"role %s holds no such grant on %s (REVOKE must repeat the grant exactly; SHOW GRANTS TO ROLE %s lists them)", g.Role, g.Object, g.Role)
}

func (b *batch) validateGrant(g catalog.Grant) error {
	w := b.work
	if !containsString(w.Roles, g.Role) {
		return refuse(connect.CodeNotFound, "role %s does not exist; CREATE ROLE %s first", g.Role, g.Role)
	}
	o := g.Object
	switch o.Scope {
	case catalog.ScopeDatabase:
		if !containsString(w.Databases, o.Database) {
			return refuse(connect.CodeNotFound, "database %s does not exist", o.Database)
		}
	case catalog.ScopeTable:
		t, ok := findTable(w, o.Database, o.Table)
		if !ok {
			return refuse(connect.CodeNotFound,
				"table %s.%s does not exist in the planner's catalog; CREATE TABLE it in policy SQL (a CREATE TABLE run through an engine with lakegate records it too)",
				o.Database, o.Table)
		}
		for _, c := range g.Columns {
			if len(t.Columns) > 0 && !hasColumn(t, c) {
				return refuse(connect.CodeNotFound, "table %s has no column %s", t.FullName(), c)
			}
		}
	case catalog.ScopeURI:
		if len(g.Columns) > 0 || len(g.Attributes) > 0 || len(g.Transforms) > 0 || g.Filter != "" {
			return refuse(connect.CodeInvalidArgument, "a URI grant cannot have columns, HAVING, TRANSFORM or WHERE")
		}
		switch g.Privilege {
		case catalog.PrivAll, catalog.PrivSelect, catalog.PrivInsert:
		default:
			return refuse(connect.CodeInvalidArgument, "URI grants take SELECT, INSERT or ALL, not %s", g.Privilege)
		}
	}
	if len(g.Columns) > 0 && o.Scope != catalog.ScopeTable {
		return refuse(connect.CodeInvalidArgument, "a column list needs a TABLE or VIEW object")
	}
	if (len(g.Columns) > 0 || len(g.Attributes) > 0 || len(g.Transforms) > 0 || g.Filter != "") &&
		g.Privilege != catalog.PrivSelect && g.Privilege != catalog.PrivAll {
		return refuse(connect.CodeInvalidArgument, "columns, HAVING, TRANSFORM and WHERE restrict reads: use them with SELECT (or ALL)")
	}
	for _, a := range g.Attributes {
		if !containsString(w.Attributes, a) {
			return refuse(connect.CodeNotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", a, a)
		}
	}
	for _, t := range g.Transforms {
		if !containsString(w.Attributes, t.Attribute) {
			return refuse(connect.CodeNotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", t.Attribute, t.Attribute)
		}
		f, ok := builtins.Lookup(t.Function)
		if !ok {
			return refuse(connect.CodeInvalidArgument, "unknown function %s in TRANSFORM; the builtins are %s", t.Function, strings.Join(builtins.Names(), ", "))
		}
		if len(t.Args) < f.MinArgs || len(t.Args) > f.MaxArgs {
			return refuse(connect.CodeInvalidArgument, "%s takes %d to %d arguments after the column, not %d", f.Name, f.MinArgs, f.MaxArgs, len(t.Args))
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

func (b *batch) createAttribute(x policysql.CreateAttribute) (*lakegatev1.StatementResult, error) {
	if !b.admin() {
		return nil, notAdmin("create attributes")
	}
	return b.createName("attribute", &b.work.Attributes, x.Name, x.IfNotExists, store.Tx.CreateAttribute)
}

func (b *batch) dropAttribute(x policysql.DropAttribute) (*lakegatev1.StatementResult, error) {
	if !b.admin() {
		return nil, notAdmin("drop attributes")
	}
	w := b.work
	if !containsString(w.Attributes, x.Name) {
		if x.IfExists {
			return done("attribute %s does not exist", x.Name), nil
		}
		return nil, refuse(connect.CodeNotFound, "attribute %s does not exist", x.Name)
	}
	for _, g := range w.Grants {
		used := containsString(g.Attributes, x.Name)
		for _, t := range g.Transforms {
			used = used || t.Attribute == x.Name
		}
		if used {
			return nil, refuse(connect.CodeFailedPrecondition,
				"attribute %s is used by a grant to role %s on %s; revoke such grants first (SHOW GRANTS TO ROLE %s)", x.Name, g.Role, g.Object, g.Role)
		}
	}
	w.Attributes = removeString(w.Attributes, x.Name)
	w.ColumnAttrs = filterSlice(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool { return a.Attribute != x.Name })
	name := x.Name
	b.change(func(tx store.Tx) error { return tx.DropAttribute(name) })
	return done("attribute %s dropped", x.Name), nil
}

func (b *batch) alterColumnAttribute(x policysql.AlterColumnAttribute) (*lakegatev1.StatementResult, error) {
	a := x.Attr
	obj := catalog.Object{Scope: catalog.ScopeTable, Database: a.Database, Table: a.Table}
	if err := b.mayAdminister(obj); err != nil {
		return nil, err
	}
	w := b.work
	t, ok := findTable(w, a.Database, a.Table)
	if !ok {
		return nil, refuse(connect.CodeNotFound, "table %s.%s does not exist", a.Database, a.Table)
	}
	if !hasColumn(t, a.Column) {
		return nil, refuse(connect.CodeNotFound, "table %s has no column %s", t.FullName(), a.Column)
	}
	if !containsString(w.Attributes, a.Attribute) {
		return nil, refuse(connect.CodeNotFound, "attribute %s does not exist; CREATE ATTRIBUTE %s first", a.Attribute, a.Attribute)
	}
	has := false
	for _, y := range w.ColumnAttrs {
		has = has || y == a
	}
	if x.Add {
		if has {
			return done("column %s.%s already has attribute %s", t.FullName(), a.Column, a.Attribute), nil
		}
		w.ColumnAttrs = append(w.ColumnAttrs, a)
		b.change(func(tx store.Tx) error { return tx.AddColumnAttribute(a) })
		return done("attribute %s added to column %s.%s", a.Attribute, t.FullName(), a.Column), nil
	}
	if !has {
		return nil, refuse(connect.CodeNotFound, "column %s.%s does not have attribute %s", t.FullName(), a.Column, a.Attribute)
	}
	w.ColumnAttrs = filterSlice(w.ColumnAttrs, func(y catalog.ColumnAttribute) bool { return y != a })
	b.change(func(tx store.Tx) error { return tx.RemoveColumnAttribute(a) })
	return done("attribute %s removed from column %s.%s", a.Attribute, t.FullName(), a.Column), nil
}

// --- databases and tables ---

// allowed asks the engine whether the caller may act on o (databases and
// tables for DDL), using the policy the batch started from.
func (b *batch) allowed(o policy.Object) error {
	d := b.c.snap.policy.Authorize(b.c.subject, []policy.Object{o})[0]
	if d.Allowed {
		return nil
	}
	return refuse(connect.CodePermissionDenied, "%s", d.Reason)
}

func (b *batch) createDatabase(x policysql.CreateDatabase) (*lakegatev1.StatementResult, error) {
	if err := b.allowed(policy.Object{Database: x.Name, Action: catalog.PrivCreate}); err != nil {
		return nil, err
	}
	return b.createName("database", &b.work.Databases, x.Name, x.IfNotExists, store.Tx.CreateDatabase)
}

func (b *batch) dropDatabase(x policysql.DropDatabase) (*lakegatev1.StatementResult, error) {
	if err := b.allowed(policy.Object{Database: x.Name, Action: catalog.PrivDrop}); err != nil {
		return nil, err
	}
	w := b.work
	if !containsString(w.Databases, x.Name) {
		if x.IfExists {
			return done("database %s does not exist", x.Name), nil
		}
		return nil, refuse(connect.CodeNotFound, "database %s does not exist", x.Name)
	}
	n := 0
	for _, t := range w.Tables {
		if t.Database == x.Name {
			n++
		}
	}
	if n > 0 && !x.Cascade {
		return nil, refuse(connect.CodeFailedPrecondition, "database %s holds %d tables; DROP DATABASE %s CASCADE drops them too", x.Name, n, x.Name)
	}
	w.Databases = removeString(w.Databases, x.Name)
	w.Tables = filterSlice(w.Tables, func(t catalog.Table) bool { return t.Database != x.Name })
	w.ColumnAttrs = filterSlice(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool { return a.Database != x.Name })
	revoked := b.dropGrants(func(o catalog.Object) bool {
		return (o.Scope == catalog.ScopeDatabase || o.Scope == catalog.ScopeTable) && o.Database == x.Name
	})
	name := x.Name
	b.change(func(tx store.Tx) error { return tx.DropDatabase(name) })
	return done("database %s dropped with %d tables and %d grants", x.Name, n, revoked), nil
}

// dropGrants removes the grants on objects that are going away, so that a
// new object of the same name does not inherit them.
func (b *batch) dropGrants(on func(catalog.Object) bool) int {
	var keep []catalog.Grant
	n := 0
	for _, g := range b.work.Grants {
		if !on(g.Object) {
			keep = append(keep, g)
			continue
		}
		n++
		id := g.ID
		b.change(func(tx store.Tx) error {
			if id < 0 {
				id = b.ids[id]
			}
			return tx.RemoveGrant(id)
		})
	}
	b.work.Grants = keep
	return n
}

func (b *batch) createTable(x policysql.CreateTable) (*lakegatev1.StatementResult, error) {
	t := x.Table
	if err := b.allowed(policy.Object{Database: t.Database, Action: catalog.PrivCreate}); err != nil {
		return nil, err
	}
	w := b.work
	if !containsString(w.Databases, t.Database) {
		return nil, refuse(connect.CodeNotFound, "database %s does not exist; CREATE DATABASE %s first", t.Database, t.Database)
	}
	if t.Database == policy.WhoAmIDatabase && t.Name == policy.WhoAmITable {
		return nil, refuse(connect.CodeInvalidArgument, "%s.%s is built in", t.Database, t.Name)
	}
	if _, ok := findTable(w, t.Database, t.Name); ok {
		if x.IfNotExists {
			return done("table %s already exists", t.FullName()), nil
		}
		return nil, refuse(connect.CodeAlreadyExists, "table %s already exists", t.FullName())
	}
	w.Tables = append(w.Tables, t)
	b.change(func(tx store.Tx) error { return tx.PutTable(t) })
	return done("table %s created", t.FullName()), nil
}

func (b *batch) dropTable(x policysql.DropTable) (*lakegatev1.StatementResult, error) {
	if x.Database == policy.WhoAmIDatabase && x.Name == policy.WhoAmITable {
		return nil, refuse(connect.CodeInvalidArgument, "%s.%s is built in", x.Database, x.Name)
	}
	if err := b.allowed(policy.Object{Database: x.Database, Table: x.Name, Action: catalog.PrivDrop}); err != nil {
		return nil, err
	}
	w := b.work
	if _, ok := findTable(w, x.Database, x.Name); !ok {
		if x.IfExists {
			return done("table %s.%s does not exist", x.Database, x.Name), nil
		}
		return nil, refuse(connect.CodeNotFound, "table %s.%s does not exist", x.Database, x.Name)
	}
	w.Tables = filterSlice(w.Tables, func(t catalog.Table) bool { return t.Database != x.Database || t.Name != x.Name })
	w.ColumnAttrs = filterSlice(w.ColumnAttrs, func(a catalog.ColumnAttribute) bool {
		return a.Database != x.Database || a.Table != x.Name
	})
	revoked := b.dropGrants(func(o catalog.Object) bool {
		return o.Scope == catalog.ScopeTable && o.Database == x.Database && o.Table == x.Name
	})
	db, name := x.Database, x.Name
	b.change(func(tx store.Tx) error { return tx.DropTable(db, name) })
	return done("table %s.%s dropped with %d grants", x.Database, x.Name, revoked), nil
}

// --- SHOW ---

func rows(cols []string, data [][]string) *lakegatev1.StatementResult {
	r := &lakegatev1.StatementResult{Columns: cols, Rows: make([]*lakegatev1.Row, len(data))}
	for i, d := range data {
		r.Rows[i] = &lakegatev1.Row{Values: d}
	}
	return r
}

func single(xs []string) [][]string {
	out := make([][]string, len(xs))
	for i, x := range xs {
		out[i] = []string{x}
	}
	return out
}

func (b *batch) showRoles() (*lakegatev1.StatementResult, error) {
	if !b.admin() {
		return rows([]string{"role_name"}, single(b.c.subject.Roles)), nil
	}
	roles := append([]string(nil), b.work.Roles...)
	sort.Strings(roles)
	return rows([]string{"role_name"}, single(roles)), nil
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

func (b *batch) showGrantsOn(o catalog.Object) (*lakegatev1.StatementResult, error) {
	all := b.c.snap.policy.HoldsAll(b.c.subject, o)
	var out [][]string
	for _, g := range sortedGrants(b.work.Grants) {
		if g.Object == o && (all || b.c.subject.HasRole(g.Role)) {
			out = append(out, grantRow(g))
		}
	}
	return rows(grantColumns, out), nil
}

func (b *batch) showGrantsToRole(role string) (*lakegatev1.StatementResult, error) {
	if !containsString(b.work.Roles, role) {
		return nil, refuse(connect.CodeNotFound, "role %s does not exist", role)
	}
	if !b.admin() && !b.c.subject.HasRole(role) {
		return nil, refuse(connect.CodePermissionDenied, "only members of the admin group may list the grants of a role they do not hold")
	}
	var out [][]string
	for _, g := range sortedGrants(b.work.Grants) {
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

func (b *batch) showTables(db string) (*lakegatev1.StatementResult, error) {
	pol, subj := b.policy()
	if !pol.HasDatabase(db) || !containsString(pol.VisibleDatabases(subj), db) {
		return nil, refuse(connect.CodeNotFound, "database %s does not exist or you may not see it", db)
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

func removeString(xs []string, x string) []string {
	return filterSlice(xs, func(y string) bool { return y != x })
}

func filterSlice[T any](xs []T, keep func(T) bool) []T {
	out := xs[:0:0]
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
