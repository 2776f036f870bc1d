package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir())
	})
}

// rawDB opens the store file directly, for tests that tamper with it.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	s := openTest(t, dir)
	defer s.Close()
	for _, p := range []string{dir, filepath.Join(dir, FileName)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", p, perm)
		}
	}
	if s.Path() != filepath.Join(dir, FileName) {
		t.Errorf("Path() = %s", s.Path())
	}
	var mode string
	if err := s.writer.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	for _, db := range []*sql.DB{s.writer, s.reader} {
		var sync, fk int
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
		}
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	var lastID int64
	_, err := s.Apply(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateRole("r"); err != nil {
			return err
		}
		if err := tx.CreateDatabase("d"); err != nil {
			return err
		}
		if err := tx.CreateAttribute("pii.x"); err != nil {
			return err
		}
		if err := tx.AddMembership(catalog.Membership{Role: "r", Kind: catalog.MemberGroup, Name: "g"}); err != nil {
			return err
		}
		if err := tx.PutTable(catalog.Table{Database: "d", Name: "t", Location: "s3://b/t",
			Columns: []catalog.Column{{Name: "c", Type: "string"}}}); err != nil {
			return err
		}
		if err := tx.AddColumnAttribute(catalog.ColumnAttribute{Database: "d", Table: "t", Column: "c", Attribute: "pii.x"}); err != nil {
			return err
		}
		for range 3 {
			id, err := tx.AddGrant(catalog.Grant{Role: "r", Privilege: catalog.PrivSelect,
				Object: catalog.Object{Scope: catalog.ScopeTable, Database: "d", Table: "t"}, Columns: []string{"c"},
				Transforms: []catalog.Transform{{Attribute: "pii.x", Function: "mask", Args: []string{"'x'"}}}, Filter: "true"})
			if err != nil {
				return err
			}
			lastID = id
		}
		return tx.RemoveGrant(lastID) // the highest ID is gone before the restart
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(dir, FileName+suffix)); err == nil {
			t.Errorf("%s%s still exists after Close", FileName, suffix)
		}
	}

	s = openTest(t, dir)
	defer s.Close()
	after, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across reopen:\nbefore %+v\nafter  %+v", before, after)
	}
	v, err := s.Apply(context.Background(), func(tx store.Tx) error {
		id, err := tx.AddGrant(catalog.Grant{Role: "r", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}})
		if err == nil && id <= lastID {
			t.Errorf("after reopen AddGrant returned ID %d, want above %d (IDs are never reused)", id, lastID)
		}
		return err
	})
	if err != nil || v != before.Version+1 {
		t.Fatalf("Apply after reopen: version %d, %v; want %d", v, err, before.Version+1)
	}
}

func TestMigrationsRecorded(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	s = openTest(t, dir) // a second Open applies nothing
	s.Close()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("SchemaVersion() = %d with %d migrations", SchemaVersion(), len(ms))
	}
	rows, err := rawDB(t, dir).Query(`SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		if i >= len(ms) || v != ms[i].version || name != ms[i].name {
			t.Fatalf("schema_migrations row %d = (%d, %q), want %+v", i, v, name, ms[min(i, len(ms)-1)])
		}
		i++
	}
	if i != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", i, len(ms))
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	future := SchemaVersion() + 3
	db := rawDB(t, dir)
	for v := SchemaVersion() + 1; v <= future; v++ {
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 'x')`, v); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	_, err := Open(context.Background(), dir, nil)
	var sv *store.SchemaVersionError
	if !errors.As(err, &sv) {
		t.Fatalf("Open of a newer schema: got %v, want *store.SchemaVersionError", err)
	}
	if sv.Found != future || sv.Known != SchemaVersion() || sv.Store != filepath.Join(dir, FileName) || sv.Binary == "" {
		t.Errorf("SchemaVersionError = %+v", sv)
	}
	msg := err.Error()
	for _, want := range []string{filepath.Join(dir, FileName), "schema version " + strconv.Itoa(future), "up to " + strconv.Itoa(SchemaVersion())} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("error: %v", err)
}

func TestRefusesChangedMigrationHistory(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	db := rawDB(t, dir)
	if _, err := db.Exec(`UPDATE schema_migrations SET name = '0001_other' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), dir, nil)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "0001_other") {
		t.Fatalf("Open with a different migration 1: got %v, want ErrCorrupt naming it", err)
	}
}

func TestRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db := rawDB(t, dir)
	if _, err := db.Exec(`CREATE TABLE customers (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), dir, nil)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "not a lakegate policy store") {
		t.Fatalf("Open of another application's database: got %v", err)
	}
	t.Logf("error: %v", err)
	var tables string
	if err := rawDB(t, dir).QueryRow(`SELECT group_concat(name) FROM sqlite_schema`).Scan(&tables); err != nil || tables != "customers" {
		t.Errorf("after the refused Open the database has %q (%v), want only customers", tables, err)
	}
	var mode string
	if err := rawDB(t, dir).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("after the refused Open the journal mode is %q (%v), want it unchanged (delete)", mode, err)
	}
}

func TestRefusesGarbageFile(t *testing.T) {
	for name, content := range map[string][]byte{
		"text":    []byte(strings.Repeat("this is not a database\n", 500)),
		"short":   []byte("garbage"),
		"zeroes":  make([]byte, 8192),
		"almost":  append([]byte("SQLite format 3\x00"), make([]byte, 4096)...),
		"header+": append([]byte("SQLite format 3\x00\x10\x00\x01\x01\x00\x40\x20\x20"), []byte(strings.Repeat("x", 5000))...),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), dir, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open of a garbage file succeeded")
			}
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("got %v, want store.ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "backup") {
				t.Errorf("error %q should name %s and say what to do", err, path)
			}
			got, _ := os.ReadFile(path)
			if string(got) != string(content) {
				t.Error("Open changed the garbage file")
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestRefusesDamagedStore(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	_, err := s.Apply(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateRole("r"); err != nil {
			return err
		}
		for range 2000 {
			if _, err := tx.AddGrant(catalog.Grant{Role: "r", Privilege: catalog.PrivSelect,
				Object: catalog.Object{Scope: catalog.ScopeTable, Database: "db", Table: strings.Repeat("t", 50)},
				Filter: strings.Repeat("x = 1 AND ", 10)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Overwrite the middle of the file (b-tree pages of grants) with garbage.
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if fi.Size() < 64*1024 {
		t.Fatalf("store file only %d bytes", fi.Size())
	}
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 4096))
	if _, err := f.WriteAt(junk, fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	_, err = Open(context.Background(), dir, nil)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a damaged store: got %v, want store.ErrCorrupt naming %s", err, path)
	}
	t.Logf("error: %v", err)
}

func TestOpenNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), file, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open on a file: %v", err)
	}
}

// TestOddTextRoundTrip stores text that needs escaping in JSON (control
// characters, quotes, backslashes, non-ASCII) in every grant field that
// Load reads through json_array or a JSON list column.
func TestOddTextRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	odd := []string{"\x01\x02\x1f\x7f", "a\"b\\c/d", "tab\tnl\ncr\r", "😀ünï\u2028", "\u00a0", "<&>"}
	var want []catalog.Grant
	v, err := s.Apply(context.Background(), func(tx store.Tx) error {
		for i, o := range odd {
			role := "role " + o
			if err := tx.CreateRole(role); err != nil {
				return err
			}
			g := catalog.Grant{Role: role, Privilege: catalog.PrivSelect,
				Object:  catalog.Object{Scope: catalog.ScopeTable, Database: "db " + o, Table: "t " + o},
				Columns: []string{o, "c" + o}, Attributes: []string{"ns." + o}, AttributesNot: i%2 == 0,
				Transforms: []catalog.Transform{{Attribute: "ns." + o, Function: "f" + o, Args: []string{o}}},
				Filter:     "x = '" + o + "'"}
			if i == 0 {
				g.Object = catalog.Object{Scope: catalog.ScopeURI, URI: "s3://b/" + o}
			}
			id, err := tx.AddGrant(g)
			if err != nil {
				return err
			}
			g.ID = id
			want = append(want, g)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != v || !reflect.DeepEqual(st.Grants.All(), want) {
		t.Fatalf("grants differ:\n got %#v\nwant %#v", st.Grants.All(), want)
	}
}

// TestLoadQueriesNeedNoSort checks that every Load query reads its rows in
// index order: a temporary B-tree would make Load sort on every start.
func TestLoadQueriesNeedNoSort(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for _, q := range []string{qRoles, qMemberships, qGrants, qAttributes, qDatabases, qTables, qColumnAttrs} {
		rows, err := s.reader.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\nsorts: %s", q, p)
		}
	}
}

// TestUpgradeFromSchema1 opens a store that an older binary wrote at schema
// version 1 (no view definers): its tables and views load unchanged and
// without a definer, and a recorded view can then be stored.
func TestUpgradeFromSchema1(t *testing.T) {
	dir := t.TempDir()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dir)
	for _, q := range []string{createMigrationsTable, ms[0].sql,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '` + ms[0].name + `', 'then')`,
		`INSERT INTO databases (name) VALUES ('sales')`,
		`INSERT INTO tables (database_name, name, is_view, columns) VALUES ('sales', 'v', 1, '[{"name":"id","type":"int"}]')`,
		`UPDATE meta SET policy_version = 5`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s := openTest(t, dir)
	defer s.Close()
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Table{{Database: "sales", Name: "v", IsView: true, Columns: []catalog.Column{{Name: "id", Type: "int"}}}}
	if st.Version != 5 || !reflect.DeepEqual(st.Tables, want) {
		t.Fatalf("after upgrade: version %d, tables %+v; want 5, %+v", st.Version, st.Tables, want)
	}
	rec := want[0]
	rec.Definer, rec.DefinerGroups = "alice", []string{"analysts"}
	rec.ViewReads = []catalog.ViewRead{{Database: "sales", Table: "orders"}}
	if _, err := s.Apply(context.Background(), func(tx store.Tx) error { return tx.PutTable(rec) }); err != nil {
		t.Fatal(err)
	}
	if st, err = s.Load(context.Background()); err != nil || !reflect.DeepEqual(st.Tables, []catalog.Table{rec}) {
		t.Fatalf("recorded view after upgrade: %+v, %v", st.Tables, err)
	}
}

// Issue 13: an existing store file truncated to nothing is damaged, never
// a new store.
func TestTruncatedStoreIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, nil)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "empty (0 bytes)") {
		t.Fatalf("Open of a 0-byte store: %v", err)
	}
}
