package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step: migrations/NNNN_name.sql, applied in its own
// transaction and recorded in schema_migrations.
type migration struct {
	version int
	name    string // file name without the .sql suffix, e.g. "0001_init"
	sql     string
}

// migrations returns the embedded migrations in order. Their versions must
// be 1, 2, 3, … without gaps: a new migration is a new file with the next
// number, and a released file is never edited.
func migrations() ([]migration, error) {
	paths, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, p := range paths {
		base := strings.TrimSuffix(filepath.Base(p), ".sql")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_description.sql", p)
		}
		b, err := migrationFiles.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions must be 1, 2, 3, … without gaps)", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the newest schema version this binary knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`

// inspect reads the schema version of the database on conn without
// changing anything. It refuses a database written by a newer binary, a
// schema history that does not match this binary's migrations, and a
// database that is not a lakegate store.
func (s *Store) inspect(ctx context.Context, conn *sql.Conn, ms []migration) (current int, err error) {
	var hasTable bool
	var others []string
	rows, err := conn.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return 0, s.wrap("read schema", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, s.wrap("read schema", err)
		}
		if n == "schema_migrations" {
			hasTable = true
		} else {
			others = append(others, n)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, s.wrap("read schema", err)
	}
	if !hasTable && len(others) > 0 {
		return 0, fmt.Errorf("%w: %s is an SQLite database but not a lakegate policy store (it has tables %s and no schema_migrations): "+
			"point --data-dir at a directory of its own", store.ErrCorrupt, s.path, strings.Join(others, ", "))
	}
	if !hasTable {
		return 0, nil
	}
	return s.checkApplied(ctx, conn, ms)
}

// migrate applies the migrations after version current, each in its own
// transaction, and returns how many it applied.
func (s *Store) migrate(ctx context.Context, conn *sql.Conn, ms []migration, current int) (applied int, err error) {
	for _, m := range ms[current:] {
		ok, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied++
			s.log.Info("store schema migrated", "file", s.path, "migration", m.name, "version", m.version)
		}
	}
	return applied, nil
}

// checkApplied reads schema_migrations, checks it against the known
// migrations and returns the version the database is at.
func (s *Store) checkApplied(ctx context.Context, conn *sql.Conn, ms []migration) (int, error) {
	type row struct {
		version int
		name    string
	}
	var recorded []row
	rows, err := conn.QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return 0, s.wrap("read schema_migrations", err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.version, &r.name); err != nil {
			rows.Close()
			return 0, s.wrap("read schema_migrations", err)
		}
		recorded = append(recorded, r)
	}
	if err := rows.Close(); err != nil {
		return 0, s.wrap("read schema_migrations", err)
	}
	if n := len(recorded); n > 0 && recorded[n-1].version > len(ms) {
		return 0, &store.SchemaVersionError{Store: s.path, Found: recorded[n-1].version, Known: len(ms), Binary: binaryName()}
	}
	current := 0
	for _, r := range recorded {
		if r.version != current+1 {
			return 0, fmt.Errorf("%w: %s: schema_migrations has version %d after %d; the schema history is damaged: restore the store from a backup",
				store.ErrCorrupt, s.path, r.version, current)
		}
		if want := ms[r.version-1].name; r.name != want {
			return 0, fmt.Errorf("%w: %s: schema version %d was applied as %q, but this binary's version %d is %q: "+
				"the store was written by a different build of lakegate; restore it from a backup or run the build that wrote it",
				store.ErrCorrupt, s.path, r.version, r.name, r.version, want)
		}
		current = r.version
	}
	return current, nil
}

// applyMigration runs m in its own transaction unless a concurrent opener
// applied it first; it reports whether it ran m.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (ran bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return false, s.wrap("begin migration "+m.name, err)
	}
	defer func() {
		if !ran {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return false, s.wrap("create schema_migrations", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, s.wrap("read schema_migrations", err)
	}
	if current >= m.version {
		return false, nil
	}
	if current != m.version-1 {
		return false, fmt.Errorf("store %s: migration %s needs schema version %d, found %d", s.path, m.name, m.version-1, current)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, s.wrap("migration "+m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return false, s.wrap("record migration "+m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, s.wrap("commit migration "+m.name, err)
	}
	return true, nil
}

// binaryName names the running program and, when the build recorded it,
// its module version, for SchemaVersionError.
func binaryName() string {
	name := "lakegate"
	if exe, err := os.Executable(); err == nil {
		name = exe
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		name += " " + bi.Main.Path + "@" + bi.Main.Version
	}
	return name
}
