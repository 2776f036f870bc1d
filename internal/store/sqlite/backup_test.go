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
