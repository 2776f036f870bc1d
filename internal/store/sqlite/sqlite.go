package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/lakegate/lakegate/internal/store"
)

// FileName is the name of the database file inside the data directory.
// SQLite keeps FileName-wal and FileName-shm next to it while it is open.
const FileName = "lakegate.db"

// busyTimeout is how long a connection waits for a lock another process
// holds (for example a second lakegate process on the same data directory)
// before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// readers is the size of the reader connection pool used by Load.
const readers = 4

// Store is the SQLite policy store. It is safe for concurrent use.
type Store struct {
	path string
	// readOnlyFile opens the file read-only (Verify).
	readOnlyFile bool
	log          *slog.Logger

	mu     sync.Mutex // serialises Apply and Close
	writer *sql.DB    // exactly one connection; only Apply writes
	// written are the writer's prepared statements by query text, and
	// toPrepare the queries to prepare before the next transaction (both
	// under mu): SQLite's SQL parser was most of the CPU of a one-grant
	// change.
	written   map[string]*sql.Stmt
	toPrepare map[string]bool
	reader    *sql.DB // query_only connections for Load
	load      loadStmts
	closed    atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens the store in dir/lakegate.db, creating dir (mode 0700) and the
// database as needed, and migrates its schema to the newest version this
// binary knows. It refuses, with an error naming the file and what to do:
//
//   - a file that is not an SQLite database, or that PRAGMA quick_check finds
//     damaged (errors.Is(err, store.ErrCorrupt));
//   - an SQLite database that is not a lakegate store (store.ErrCorrupt);
//   - a store whose schema is newer than this binary's (*store.SchemaVersionError).
//
// logger may be nil.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	start := time.Now()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store directory %s: %w", dir, err)
	}
	if err := prepareDir(dir, logger); err != nil {
		return nil, err
	}
	s := &Store{path: filepath.Join(dir, FileName), log: logger}
	// A new store is made only where there is no file. An existing file
	// with no bytes (and no write-ahead log to replay) is a truncated
	// store, not a new one: starting it afresh would drop every grant.
	if fi, err := os.Stat(s.path); err == nil && fi.Size() == 0 {
		if wi, werr := os.Stat(s.path + "-wal"); werr != nil || wi.Size() == 0 {
			return nil, corrupt(s.path, "the file is empty (0 bytes) — truncated, not new")
		}
	}
	// Create the file ourselves so that it (and the -wal and -shm files,
	// which SQLite creates with the database's mode) is private to the user.
	f, err := os.OpenFile(s.path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.path, err)
	}
	_ = f.Close()

	ok := false
	defer func() {
		if !ok {
			s.closeDBs()
		}
	}()
	if s.writer, err = sql.Open("sqlite", s.dsn(false)); err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.path, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)

	conn, err := s.writer.Conn(ctx)
	if err != nil {
		if isCorruption(err) {
			return nil, corrupt(s.path, fmt.Sprintf("not an SQLite database, or damaged (%v)", err))
		}
		return nil, s.wrap("open", err)
	}
	schema, applied, err := s.initialize(ctx, conn)
	_ = conn.Close()
	if err != nil {
		return nil, err
	}

	if s.reader, err = sql.Open("sqlite", s.dsn(true)); err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.path, err)
	}
	s.reader.SetMaxOpenConns(readers)
	s.reader.SetMaxIdleConns(readers)
	if err := s.load.prepare(ctx, s.reader); err != nil {
		return nil, s.wrap("prepare queries", err)
	}
	var version int64
	if err := s.reader.QueryRowContext(ctx, `SELECT policy_version FROM meta WHERE id = 1`).Scan(&version); err != nil {
		return nil, s.wrap("read policy version", err)
	}
	ok = true
	logger.Info("policy store opened", "file", s.path, "schema_version", schema, "migrations_applied", applied,
		"policy_version", version, "took", time.Since(start))
	return s, nil
}

// prepareDir creates dir with mode 0700 if it is missing, and warns when an
// existing dir can be read by other users.
func prepareDir(dir string, logger *slog.Logger) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create store directory %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("store directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("store directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("policy store directory is accessible to other users; consider chmod 700",
			"dir", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// dsn returns the connection string for the database file. Every connection
// gets foreign keys, synchronous=FULL (a committed Apply survives the
// process being killed) and a busy timeout; the writer begins its
// transactions with BEGIN IMMEDIATE, readers are query_only.
func (s *Store) dsn(readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		if s.readOnlyFile {
			q.Set("mode", "ro") // the file itself is not written, not even by a checkpoint at close
		}
	} else {
		q.Set("_txlock", "immediate")
		// After a bulk import, shrink the WAL back once it is checkpointed.
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(s.path), OmitHost: true}
	return u.String() + "?" + q.Encode()
}

// initialize checks the file, switches it to WAL and migrates the schema.
// Nothing is written to a file that fails a check.
func (s *Store) initialize(ctx context.Context, conn *sql.Conn) (schema, applied int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	if err := s.quickCheck(ctx, conn); err != nil {
		return 0, 0, err
	}
	current, err := s.inspect(ctx, conn, ms)
	if err != nil {
		return 0, 0, err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return 0, 0, s.wrap("enable WAL", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return 0, 0, fmt.Errorf("store %s: cannot enable WAL journal mode (got %q); is the directory on a file system that supports it?", s.path, mode)
	}
	if applied, err = s.migrate(ctx, conn, ms, current); err != nil {
		return 0, 0, err
	}
	return len(ms), applied, nil
}

// quickCheck runs PRAGMA quick_check and turns anything but "ok", or a
// file that is not a database at all, into store.ErrCorrupt.
func (s *Store) quickCheck(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `PRAGMA quick_check(20)`)
	if err != nil {
		if isCorruption(err) {
			return corrupt(s.path, fmt.Sprintf("not an SQLite database, or damaged (%v)", err))
		}
		return s.wrap("quick_check", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return s.wrap("quick_check", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Close(); err != nil {
		if isCorruption(err) {
			return corrupt(s.path, fmt.Sprintf("not an SQLite database, or damaged (%v)", err))
		}
		return s.wrap("quick_check", err)
	}
	if len(problems) > 0 {
		return corrupt(s.path, "PRAGMA quick_check found damage: "+strings.Join(problems, "; "))
	}
	return nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close waits for a running Apply, then closes the database. Calling Close
// again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	// Let SQLite refresh its query planner statistics if it wants to
	// (cheap, and recommended before closing a long-lived connection).
	_, _ = s.writer.Exec(`PRAGMA optimize`)
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	errs = append(errs, s.load.close())
	for _, st := range s.written {
		errs = append(errs, st.Close())
	}
	s.written = nil
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		// Closing the last connection checkpoints the WAL into the database
		// file and removes the -wal and -shm files.
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// prepareWriter prepares the queries earlier transactions ran unprepared.
// A query that fails to prepare simply keeps running unprepared.
func (s *Store) prepareWriter(ctx context.Context) {
	for q := range s.toPrepare {
		if st, err := s.writer.PrepareContext(ctx, q); err == nil {
			if s.written == nil {
				s.written = map[string]*sql.Stmt{}
			}
			s.written[q] = st
		}
		delete(s.toPrepare, q)
	}
}

// Apply runs fn in one write transaction; see store.Store.
func (s *Store) Apply(ctx context.Context, fn func(store.Tx) error) (version int64, err error) {
	if fn == nil {
		return 0, errors.New("store: Apply with nil fn")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return 0, fmt.Errorf("store %s: %w", s.path, store.ErrClosed)
	}
	s.prepareWriter(ctx)
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap("begin", err)
	}
	t := &tx{ctx: ctx, tx: sqlTx, s: s}
	committed := false
	defer func() {
		// Also runs when fn panics, so the connection and s.mu are freed.
		t.done = true
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return 0, err
	}
	if err := t.queryRow(`UPDATE meta SET policy_version = policy_version + 1 WHERE id = 1 RETURNING policy_version`).Scan(&version); err != nil {
		return 0, s.wrap("bump policy version", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, s.wrap("commit", err)
	}
	committed = true
	return version, nil
}
