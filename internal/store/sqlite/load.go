package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
)

// loadStmts are Load's queries, prepared once at Open: one per table, each
// in the order Load promises (the primary key's order, so SQLite reads the
// rows off the index without sorting).
type loadStmts struct {
	version, grantCount                                              *sql.Stmt
	roles, memberships, grants, attributes, databases, tables, colAt *sql.Stmt
}

const (
	qVersion     = `SELECT policy_version FROM meta WHERE id = 1`
	qGrantCount  = `SELECT count(*) FROM grants`
	qRoles       = `SELECT name FROM roles ORDER BY name`
	qMemberships = `SELECT role, kind, name FROM memberships ORDER BY role, kind, name`
	// The scalar columns of a grant come back as one JSON array per row:
	// one string (and one allocation) for the driver to hand over instead
	// of nine, which is most of Load's cost at 100,000 grants. The lists
	// are JSON already and usually NULL.
	qGrants = `SELECT json_array(id, attributes_not, role, privilege, scope, database_name, table_name, uri, filter),
	                  columns, attributes, transforms
	           FROM grants ORDER BY id`
	qAttributes = `SELECT name FROM attributes ORDER BY name`
	qDatabases  = `SELECT name FROM databases ORDER BY name`
	qTables     = `SELECT database_name, name, is_view, location, columns, definer, definer_groups, view_reads
	                FROM tables ORDER BY database_name, name`
	qColumnAttrs = `SELECT database_name, table_name, column_name, attribute FROM column_attributes
	                ORDER BY database_name, table_name, column_name, attribute`
)

func (l *loadStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&l.version, qVersion}, {&l.grantCount, qGrantCount}, {&l.roles, qRoles}, {&l.memberships, qMemberships},
		{&l.grants, qGrants}, {&l.attributes, qAttributes}, {&l.databases, qDatabases}, {&l.tables, qTables},
		{&l.colAt, qColumnAttrs},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

func (l *loadStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{l.version, l.grantCount, l.roles, l.memberships, l.grants, l.attributes, l.databases, l.tables, l.colAt} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Load reads every row in one read transaction, so the rows and the version
// are one consistent snapshot even while Apply commits.
func (s *Store) Load(ctx context.Context) (st *catalog.State, err error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("store %s: %w", s.path, store.ErrClosed)
	}
	rtx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.wrap("load: begin", err)
	}
	defer func() { _ = rtx.Rollback() }() // read-only: nothing to commit
	l := &s.load
	st = &catalog.State{}
	if err := rtx.StmtContext(ctx, l.version).QueryRowContext(ctx).Scan(&st.Version); err != nil {
		return nil, s.wrap("load policy version", err)
	}
	if st.Roles, err = loadNames(ctx, rtx.StmtContext(ctx, l.roles)); err != nil {
		return nil, s.wrap("load roles", err)
	}
	if st.Memberships, err = loadMemberships(ctx, rtx.StmtContext(ctx, l.memberships)); err != nil {
		return nil, s.wrap("load memberships", err)
	}
	var n int
	if err := rtx.StmtContext(ctx, l.grantCount).QueryRowContext(ctx).Scan(&n); err != nil {
		return nil, s.wrap("count grants", err)
	}
	grants, err := loadGrants(ctx, rtx.StmtContext(ctx, l.grants), n)
	if err != nil {
		return nil, s.wrap("load grants", err)
	}
	st.Grants = catalog.NewGrants(grants)
	if st.Attributes, err = loadNames(ctx, rtx.StmtContext(ctx, l.attributes)); err != nil {
		return nil, s.wrap("load attributes", err)
	}
	if st.Databases, err = loadNames(ctx, rtx.StmtContext(ctx, l.databases)); err != nil {
		return nil, s.wrap("load databases", err)
	}
	if st.Tables, err = loadTables(ctx, rtx.StmtContext(ctx, l.tables)); err != nil {
		return nil, s.wrap("load tables", err)
	}
	if st.ColumnAttrs, err = loadColumnAttrs(ctx, rtx.StmtContext(ctx, l.colAt)); err != nil {
		return nil, s.wrap("load column attributes", err)
	}
	return st, nil
}

func loadNames(ctx context.Context, q *sql.Stmt) ([]string, error) {
	rows, err := q.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func loadMemberships(ctx context.Context, q *sql.Stmt) ([]catalog.Membership, error) {
	rows, err := q.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Membership
	var kind string
	for rows.Next() {
		var m catalog.Membership
		if err := rows.Scan(&m.Role, &kind, &m.Name); err != nil {
			return nil, err
		}
		m.Kind = memberKind(kind)
		out = append(out, m)
	}
	return out, rows.Err()
}

func loadGrants(ctx context.Context, q *sql.Stmt, n int) ([]catalog.Grant, error) {
	rows, err := q.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]catalog.Grant, 0, n)
	var (
		row                             string
		columns, attributes, transforms sql.NullString
	)
	for rows.Next() {
		if err := rows.Scan(&row, &columns, &attributes, &transforms); err != nil {
			return nil, err
		}
		out = append(out, catalog.Grant{})
		g := &out[len(out)-1]
		if err := decodeGrantRow(row, g); err != nil {
			return nil, err
		}
		if g.Columns, err = decodeStrings(columns.String); err != nil {
			return nil, fmt.Errorf("grant %d: %w", g.ID, err)
		}
		if g.Attributes, err = decodeStrings(attributes.String); err != nil {
			return nil, fmt.Errorf("grant %d: %w", g.ID, err)
		}
		if g.Transforms, err = decodeTransforms(transforms.String); err != nil {
			return nil, fmt.Errorf("grant %d: %w", g.ID, err)
		}
	}
	return out, rows.Err()
}

// decodeGrantRow reads the json_array of qGrants into g. Its strings are
// substrings of row unless they needed escaping.
func decodeGrantRow(row string, g *catalog.Grant) error {
	p := parser{s: row, raw: true}
	p.lit("[")
	g.ID = p.int()
	p.lit(",")
	g.AttributesNot = p.int() != 0
	p.lit(",")
	g.Role = p.str()
	p.lit(",")
	g.Privilege = privilegeOf(p.str())
	p.lit(",")
	g.Object.Scope = scopeOf(p.str())
	p.lit(",")
	g.Object.Database = p.str()
	p.lit(",")
	g.Object.Table = p.str()
	p.lit(",")
	g.Object.URI = p.str()
	p.lit(",")
	g.Filter = p.str()
	p.lit("]")
	if !p.end() {
		return fmt.Errorf("malformed grant row %q at byte %d", row, p.i)
	}
	return nil
}

func loadTables(ctx context.Context, q *sql.Stmt) ([]catalog.Table, error) {
	rows, err := q.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Table
	var columns, groups, reads sql.NullString
	for rows.Next() {
		var t catalog.Table
		if err := rows.Scan(&t.Database, &t.Name, &t.IsView, &t.Location, &columns, &t.Definer, &groups, &reads); err != nil {
			return nil, err
		}
		if t.Columns, err = decodeColumns(columns.String); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.FullName(), err)
		}
		if t.DefinerGroups, err = decodeStrings(groups.String); err != nil {
			return nil, fmt.Errorf("table %s: definer groups: %w", t.FullName(), err)
		}
		if t.ViewReads, err = decodeViewReads(reads.String); err != nil {
			return nil, fmt.Errorf("table %s: view reads: %w", t.FullName(), err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func loadColumnAttrs(ctx context.Context, q *sql.Stmt) ([]catalog.ColumnAttribute, error) {
	rows, err := q.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.ColumnAttribute
	for rows.Next() {
		var a catalog.ColumnAttribute
		if err := rows.Scan(&a.Database, &a.Table, &a.Column, &a.Attribute); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// privilegeOf, scopeOf and memberKind return the package constant for a
// stored value, so 100,000 grants share a handful of strings rather than
// keeping one copy each; unknown values are kept as they are.
func privilegeOf(s string) catalog.Privilege {
	for _, p := range catalog.Privileges {
		if string(p) == s {
			return p
		}
	}
	return catalog.Privilege(s)
}

func scopeOf(s string) catalog.Scope {
	switch catalog.Scope(s) {
	case catalog.ScopeCatalog:
		return catalog.ScopeCatalog
	case catalog.ScopeDatabase:
		return catalog.ScopeDatabase
	case catalog.ScopeTable:
		return catalog.ScopeTable
	case catalog.ScopeURI:
		return catalog.ScopeURI
	}
	return catalog.Scope(s)
}

func memberKind(s string) catalog.MemberKind {
	switch catalog.MemberKind(s) {
	case catalog.MemberGroup:
		return catalog.MemberGroup
	case catalog.MemberUser:
		return catalog.MemberUser
	}
	return catalog.MemberKind(s)
}
