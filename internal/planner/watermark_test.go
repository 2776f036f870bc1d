package planner

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

// Issue 13: a store that comes back older than the last policy this planner
// committed — restored from an old copy (the resurrected REVOKE), emptied,
// or deleted and recreated — is refused at start, naming both versions;
// --accept-policy-rollback starts it on purpose.
func TestStoreBehindTheWatermarkIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, pub, err := authn.GenerateKeyPair(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	data := filepath.Join(dir, "data")
	start := func(accept bool) (*Server, error) {
		st, err := sqlite.Open(ctx, data, nil)
		if err != nil {
			return nil, err
		}
		cfg := Config{Auth: authn.Config{PublicKeyFiles: []string{pub}}, Logger: slog.New(slog.DiscardHandler), AcceptPolicyRollback: accept}
		s, err := New(ctx, cfg, st, data)
		if err != nil {
			return nil, err // New closed the store
		}
		return s, nil
	}
	change := func(s *Server, role string) int64 {
		v, err := s.store.Apply(ctx, func(tx store.Tx) error { return tx.CreateRole(role) })
		require.NoError(t, err)
		st, err := s.store.Load(ctx)
		require.NoError(t, err)
		require.NoError(t, s.publish(st))
		return v
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o600))
	}

	s, err := start(false)
	require.NoError(t, err)
	change(s, "a")
	s.close() // checkpoints: the database file alone holds the store
	backup := filepath.Join(dir, "backup.db")
	copyFile(filepath.Join(data, sqlite.FileName), backup)

	s, err = start(false)
	require.NoError(t, err)
	last := change(s, "b") // say, the REVOKE the old copy does not hold
	s.close()

	// An old copy put back.
	copyFile(backup, filepath.Join(data, sqlite.FileName))
	_, err = start(false)
	require.Error(t, err)
	require.Contains(t, err.Error(), "last committed version")
	require.Contains(t, err.Error(), "--accept-policy-rollback")

	// The store deleted: a new one would start at the sample policy.
	for _, f := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm"} {
		_ = os.Remove(filepath.Join(data, f))
	}
	_, err = start(false)
	require.Error(t, err)
	require.Contains(t, err.Error(), "rolled back, truncated or replaced")

	// Truncated to 0 bytes: refused as damaged before any policy is read.
	require.NoError(t, os.WriteFile(filepath.Join(data, sqlite.FileName), nil, 0o600))
	_, err = start(false)
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.Contains(t, err.Error(), "empty (0 bytes)")

	// On purpose: the old copy, accepted once, and the watermark follows it.
	require.NoError(t, os.Remove(filepath.Join(data, sqlite.FileName)))
	copyFile(backup, filepath.Join(data, sqlite.FileName))
	s, err = start(true)
	require.NoError(t, err)
	require.Less(t, s.snapshot().policy.Version(), last)
	s.close()
	s, err = start(false)
	require.NoError(t, err)
	s.close()
}
