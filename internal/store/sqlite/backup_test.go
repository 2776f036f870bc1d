package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/store"
)

// A backup taken while changes commit is one consistent version; restoring
// it puts that version back and keeps the replaced store aside.
func TestBackupWhileWritingAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	role := func(i int) func(store.Tx) error {
		return func(tx store.Tx) error { return tx.CreateRole(fmt.Sprintf("r%04d", i)) }
	}
	for i := range 50 {
		_, err := s.Apply(ctx, role(i))
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // keep committing while the backup runs
		defer wg.Done()
		for i := 50; i < 250; i++ {
			_, err := s.Apply(ctx, role(i))
			require.NoError(t, err)
		}
	}()
	out := filepath.Join(t.TempDir(), "backup.db")
	v, err := Backup(ctx, dir, out)
	require.NoError(t, err)
	wg.Wait()
	fi, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "a backup holds the policy: private to the user")

	_, err = Backup(ctx, dir, out)
	require.ErrorContains(t, err, "must not exist", "a backup never overwrites a file")
	got, err := Verify(ctx, out)
	require.NoError(t, err)
	require.Equal(t, v, got)
	require.NoError(t, s.Close())

	v2, movedTo, err := Restore(ctx, dir, out)
	require.NoError(t, err)
	require.Equal(t, v, v2)
	require.FileExists(t, movedTo)
	old, err := Verify(ctx, movedTo)
	require.NoError(t, err)
	require.Equal(t, int64(250), old, "the replaced store is kept whole")

	s = openTest(t, dir)
	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, v, st.Version)
	require.Len(t, st.Roles, int(v), "one role per version: the backup is the state of exactly its version")
}

// A damaged backup is refused before anything is moved.
func TestRestoreRefusesADamagedBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	_, err := s.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole("r") })
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "backup.db")
	_, err = Backup(ctx, dir, out)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	copy(b[len(b)/2:], []byte("garbage garbage garbage garbage garbage garbage"))
	for i := 4096; i < len(b); i += 4096 { // every page after the first
		b[i+1] ^= 0xff
	}
	require.NoError(t, os.WriteFile(out, b, 0o600))
	_, _, err = Restore(ctx, dir, out)
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.ErrorContains(t, err, "is not a whole lakegate store")
	_, err = os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err, "the store in place is untouched")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "replaced", "nothing was moved aside")
	}
}

// A write-ahead log left in the data directory without its database file
// (an interrupted restore, or an operator who moved only lakegate.db) is
// moved aside too: beside the restored file it would be replayed into it,
// bringing back the policy the restore was to undo.
func TestRestoreMovesAStrayWALAside(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	b := openTest(t, src)
	for i := range 5 {
		_, err := b.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole(fmt.Sprintf("b%d", i)) })
		require.NoError(t, err)
	}
	require.NoError(t, b.Close())
	backup := filepath.Join(t.TempDir(), "b.db")
	v, err := Backup(ctx, src, backup)
	require.NoError(t, err)

	live := t.TempDir()
	s := openTest(t, live)
	for i := range 40 {
		_, err := s.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole(fmt.Sprintf("a%d", i)) })
		require.NoError(t, err)
	}
	crashed := t.TempDir() // only the -wal and -shm of a live store
	for _, ext := range []string{"-wal", "-shm"} {
		data, err := os.ReadFile(filepath.Join(live, FileName) + ext)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(crashed, FileName)+ext, data, 0o600))
	}
	require.NoError(t, s.Close())

	got, movedTo, err := Restore(ctx, crashed, backup)
	require.NoError(t, err)
	require.Equal(t, v, got)
	require.FileExists(t, movedTo+"-wal", "the stray log is kept aside")
	s = openTest(t, crashed)
	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, v, st.Version, "the restored store is the backup, nothing replayed into it")
	require.Len(t, st.Roles, 5)
}

// Verify reads a store with its write-ahead log but never writes it: the
// log stays (a live store being verified, or a copy of one).
func TestVerifyChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	for i := range 20 {
		_, err := s.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole(fmt.Sprintf("r%d", i)) })
		require.NoError(t, err)
	}
	copyDir := t.TempDir()
	for _, ext := range []string{"", "-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, FileName) + ext)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(copyDir, FileName)+ext, data, 0o600))
	}
	require.NoError(t, s.Close())
	path := filepath.Join(copyDir, FileName)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	v, err := Verify(ctx, path)
	require.NoError(t, err)
	require.Equal(t, int64(20), v, "the log is read")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "the database file is not written")
	require.FileExists(t, path+"-wal")
}
