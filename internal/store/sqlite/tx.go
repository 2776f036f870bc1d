package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
)

// tx implements store.Tx on the writer connection. Every operation is one
// SQL statement, so an operation that fails (a constraint, a missing row)
// is undone by SQLite on its own and leaves the transaction usable.
type tx struct {
	ctx  context.Context
	tx   *sql.Tx
	s    *Store
	done bool
}

var _ store.Tx = (*tx)(nil)

// stmt returns query prepared on the writer and bound to this transaction,
// or false the first time a query is seen: it cannot be prepared on the
// writer's only connection while this transaction holds it, so it runs
// unprepared and is prepared before the next transaction begins
// (Store.prepareWriter). The caller holds s.mu (Apply).
func (t *tx) stmt(query string) (*sql.Stmt, bool) {
	if st, ok := t.s.written[query]; ok {
		return t.tx.StmtContext(t.ctx, st), true
	}
	if t.s.toPrepare == nil {
		t.s.toPrepare = map[string]bool{}
	}
	t.s.toPrepare[query] = true
	return nil, false
}

func (t *tx) execStmt(query string, args ...any) (sql.Result, error) {
	if st, ok := t.stmt(query); ok {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if st, ok := t.stmt(query); ok {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

func (t *tx) exec(op, query string, args ...any) (sql.Result, error) {
	if t.done {
		return nil, fmt.Errorf("%s: transaction already ended: %w", op, store.ErrClosed)
	}
	res, err := t.execStmt(query, args...)
	if err != nil {
		return nil, t.s.wrap(op, err)
	}
	return res, nil
}

// insert runs an INSERT; a duplicate key becomes store.ErrExists and a
// missing referenced row store.ErrNotFound, with missing naming it.
func (t *tx) insert(op string, missing func() string, query string, args ...any) (sql.Result, error) {
	if t.done {
		return nil, fmt.Errorf("%s: transaction already ended: %w", op, store.ErrClosed)
	}
	res, err := t.execStmt(query, args...)
	switch {
	case err == nil:
		return res, nil
	case isDuplicate(err):
		return nil, fmt.Errorf("%s: %w", op, store.ErrExists)
	case isConstraint(err, codeConstraintForeignKey) && missing != nil:
		return nil, fmt.Errorf("%s: %s: %w", op, missing(), store.ErrNotFound)
	case isConstraint(err, codeConstraintCheck) || isConstraint(err, codeConstraintNotNull):
		// The store.Check functions should have caught this first.
		return nil, fmt.Errorf("%s: %w: %v", op, store.ErrInvalid, err)
	}
	return nil, t.s.wrap(op, err)
}

// remove runs a DELETE; deleting nothing is store.ErrNotFound.
func (t *tx) remove(op, query string, args ...any) error {
	res, err := t.exec(op, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return nil
}

// exists reports whether query finds a row; it is used only to explain a
// foreign key failure, so an error counts as "missing".
func (t *tx) exists(query string, args ...any) bool {
	var one int
	return t.tx.QueryRowContext(t.ctx, query, args...).Scan(&one) == nil
}

func (t *tx) missingRole(role string) func() string {
	return func() string { return fmt.Sprintf("role %q", role) }
}

func (t *tx) CreateRole(name string) error {
	op := fmt.Sprintf("create role %q", name)
	if err := store.CheckName("role", name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err := t.insert(op, nil, `INSERT INTO roles (name) VALUES (?)`, name)
	return err
}

func (t *tx) DropRole(name string) error {
	return t.remove(fmt.Sprintf("drop role %q", name), `DELETE FROM roles WHERE name = ?`, name)
}

func (t *tx) AddMembership(m catalog.Membership) error {
	op := fmt.Sprintf("grant role %q to %s %q", m.Role, m.Kind, m.Name)
	if err := store.CheckMembership(m); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err := t.insert(op, t.missingRole(m.Role),
		`INSERT INTO memberships (role, kind, name) VALUES (?, ?, ?)`, m.Role, string(m.Kind), m.Name)
	return err
}

func (t *tx) RemoveMembership(m catalog.Membership) error {
	return t.remove(fmt.Sprintf("revoke role %q from %s %q", m.Role, m.Kind, m.Name),
		`DELETE FROM memberships WHERE role = ? AND kind = ? AND name = ?`, m.Role, string(m.Kind), m.Name)
}

func (t *tx) AddGrant(g catalog.Grant) (int64, error) {
	op := fmt.Sprintf("grant %s on %s to role %q", g.Privilege, g.Object, g.Role)
	if err := store.CheckGrant(g); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	columns, err := encodeStrings(g.Columns)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	attributes, err := encodeStrings(g.Attributes)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	transforms, err := encodeTransforms(g.Transforms)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	res, err := t.insert(op, t.missingRole(g.Role),
		`INSERT INTO grants (role, privilege, scope, database_name, table_name, uri, columns, attributes, attributes_not, transforms, filter)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.Role, string(g.Privilege), string(g.Object.Scope), g.Object.Database, g.Object.Table, g.Object.URI,
		columns, attributes, g.AttributesNot, transforms, g.Filter)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, t.s.wrap(op, err)
	}
	return id, nil
}

func (t *tx) RemoveGrant(id int64) error {
	return t.remove(fmt.Sprintf("remove grant %d", id), `DELETE FROM grants WHERE id = ?`, id)
}

func (t *tx) CreateAttribute(name string) error {
	op := fmt.Sprintf("create attribute %q", name)
	if err := store.CheckName("attribute", name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err := t.insert(op, nil, `INSERT INTO attributes (name) VALUES (?)`, name)
	return err
}

func (t *tx) DropAttribute(name string) error {
	return t.remove(fmt.Sprintf("drop attribute %q", name), `DELETE FROM attributes WHERE name = ?`, name)
}

func (t *tx) CreateDatabase(name string) error {
	op := fmt.Sprintf("create database %q", name)
	if err := store.CheckName("database", name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err := t.insert(op, nil, `INSERT INTO databases (name) VALUES (?)`, name)
	return err
}

func (t *tx) DropDatabase(name string) error {
	return t.remove(fmt.Sprintf("drop database %q", name), `DELETE FROM databases WHERE name = ?`, name)
}

func (t *tx) PutTable(tb catalog.Table) error {
	op := fmt.Sprintf("put table %q.%q", tb.Database, tb.Name)
	if err := store.CheckTable(tb); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	columns, err := encodeColumns(tb.Columns)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	groups, err := encodeStrings(tb.DefinerGroups)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	reads, err := encodeViewReads(tb.ViewReads)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// An upsert, not INSERT OR REPLACE: replacing would delete the row and
	// with it, through ON DELETE CASCADE, the table's column attributes.
	_, err = t.insert(op, func() string { return fmt.Sprintf("database %q", tb.Database) },
		`INSERT INTO tables (database_name, name, is_view, location, columns, definer, definer_groups, view_reads)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (database_name, name) DO UPDATE SET
		   is_view = excluded.is_view, location = excluded.location, columns = excluded.columns,
		   definer = excluded.definer, definer_groups = excluded.definer_groups, view_reads = excluded.view_reads`,
		tb.Database, tb.Name, tb.IsView, tb.Location, columns, tb.Definer, groups, reads)
	return err
}

func (t *tx) DropTable(database, name string) error {
	return t.remove(fmt.Sprintf("drop table %q.%q", database, name),
		`DELETE FROM tables WHERE database_name = ? AND name = ?`, database, name)
}

func (t *tx) AddColumnAttribute(a catalog.ColumnAttribute) error {
	op := fmt.Sprintf("add attribute %q to column %q.%q.%q", a.Attribute, a.Database, a.Table, a.Column)
	if err := store.CheckColumnAttribute(a); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	missing := func() string {
		if !t.exists(`SELECT 1 FROM tables WHERE database_name = ? AND name = ?`, a.Database, a.Table) {
			return fmt.Sprintf("table %q.%q", a.Database, a.Table)
		}
		return fmt.Sprintf("attribute %q", a.Attribute)
	}
	_, err := t.insert(op, missing,
		`INSERT INTO column_attributes (database_name, table_name, column_name, attribute) VALUES (?, ?, ?, ?)`,
		a.Database, a.Table, a.Column, a.Attribute)
	return err
}

func (t *tx) RemoveColumnAttribute(a catalog.ColumnAttribute) error {
	return t.remove(fmt.Sprintf("remove attribute %q from column %q.%q.%q", a.Attribute, a.Database, a.Table, a.Column),
		`DELETE FROM column_attributes WHERE database_name = ? AND table_name = ? AND column_name = ? AND attribute = ?`,
		a.Database, a.Table, a.Column, a.Attribute)
}
