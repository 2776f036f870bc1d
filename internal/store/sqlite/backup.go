package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lakegate/lakegate/internal/durable"
	"github.com/lakegate/lakegate/internal/store"
)

// Backup writes a consistent copy of the store in dir to out, while a
// planner may be serving from it (SQLite's VACUUM INTO reads one snapshot,
// as Load does), checks the copy (quick_check, a lakegate store) and makes
// it durable. out must not exist. It returns the copy's policy version.
func Backup(ctx context.Context, dir, out string) (int64, error) {
	src := &Store{path: filepath.Join(dir, FileName)}
	if _, err := os.Stat(src.path); err != nil {
		return 0, fmt.Errorf("backup: no store at %s: %w", src.path, err)
	}
	// VACUUM INTO needs a new or empty file: make it, private to the user.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("backup: %w (the backup file must not exist yet)", err)
	}
	_ = f.Close()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(out)
		}
	}()
	db, err := sql.Open("sqlite", src.dsn(false)) // VACUUM INTO reads the store and writes only out
	if err != nil {
		return 0, fmt.Errorf("backup: open %s: %w", src.path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		if isCorruption(err) {
			return 0, corrupt(src.path, fmt.Sprintf("the store cannot be read in full (%v)", err))
		}
		return 0, src.wrap("backup", err)
	}
	version, err := Verify(ctx, out)
	if err != nil {
		return 0, fmt.Errorf("backup: the copy does not verify: %w", err)
	}
	if err := durable.Sync(out); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	ok = true
	return version, nil
}

// Verify checks that path is a whole lakegate store (quick_check, the
// schema this binary knows or an older one) without changing it (opened
// read-only: a write-ahead log beside it is read, never checkpointed into
// it), and returns its policy version.
func Verify(ctx context.Context, path string) (int64, error) {
	v, err := verify(ctx, path)
	if ce := (*corruptError)(nil); errors.As(err, &ce) {
		return 0, fmt.Errorf("%w: %s is not a whole lakegate store: %s", store.ErrCorrupt, ce.path, ce.detail)
	}
	return v, err
}

func verify(ctx context.Context, path string) (int64, error) {
	s := &Store{path: path, readOnlyFile: true}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return 0, corrupt(path, "the file is empty (0 bytes)")
	}
	db, err := sql.Open("sqlite", s.dsn(true))
	if err != nil {
		return 0, fmt.Errorf("open store %s: %w", path, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, s.wrap("open", err)
	}
	defer conn.Close()
	if err := s.quickCheck(ctx, conn); err != nil {
		return 0, err
	}
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	current, err := s.inspect(ctx, conn, ms)
	if err != nil {
		return 0, err
	}
	if current == 0 {
		return 0, corrupt(path, "the file holds no lakegate store")
	}
	var version int64
	if err := conn.QueryRowContext(ctx, `SELECT policy_version FROM meta WHERE id = 1`).Scan(&version); err != nil {
		return 0, s.wrap("read policy version", err)
	}
	return version, nil
}

// Restore puts the store backed up in from in place as dir's store, with
// no planner running on dir: it verifies the backup, moves the current
// store files (lakegate.db and its -wal and -shm) aside under a
// ".replaced-TIME" suffix (kept, never deleted) and copies the backup in,
// durably. It returns the restored policy version and the name the old
// store was moved to ("" if there was none).
func Restore(ctx context.Context, dir, from string) (version int64, movedTo string, err error) {
	if version, err = Verify(ctx, from); err != nil {
		return 0, "", fmt.Errorf("restore: the backup does not verify: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, "", fmt.Errorf("restore: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Every file of the current store goes aside, the write-ahead log too
	// even without its database file: left beside the restored file, an old
	// log would be replayed into it.
	suffix := ".replaced-" + time.Now().UTC().Format("20060102T150405.000Z")
	for _, ext := range []string{"", "-wal", "-shm"} {
		if _, err := os.Lstat(path + ext); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(path+ext, path+suffix+ext); err != nil {
			return 0, movedTo, fmt.Errorf("restore: move the current store aside: %w", err)
		}
		movedTo = path + suffix
	}
	if err := copyFile(from, path); err != nil {
		return 0, movedTo, fmt.Errorf("restore: %w (the replaced store is at %s)", err, movedTo)
	}
	got, err := Verify(ctx, path)
	if err != nil {
		return 0, movedTo, fmt.Errorf("restore: the copy in place does not verify: %w (the replaced store is at %s)", err, movedTo)
	}
	if got != version {
		return 0, movedTo, fmt.Errorf("restore: the store in place is at version %d, not the backup's %d: another process wrote it; stop it and restore again", got, version)
	}
	return version, movedTo, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return durable.WriteFile(to, b, 0o600)
}
