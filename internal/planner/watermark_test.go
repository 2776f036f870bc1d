package planner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
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

// Issue 13, the resurrected REVOKE: a flipped byte in the write-ahead log's
// last frame makes SQLite drop the last transaction silently (its checksum
// no longer matches), so the store comes back one version older — with the
// REVOKE undone and the user allowed again. The watermark refuses it.
func TestTamperedWALIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live, crashed := filepath.Join(dir, "live"), filepath.Join(dir, "crashed")
	newPlanner := func(data string, accept bool) (*Server, error) {
		st, err := sqlite.Open(ctx, data, nil)
		if err != nil {
			return nil, err
		}
		cfg := Config{Auth: authn.Config{AcceptSelfSigned: true}, Logger: slog.New(slog.DiscardHandler), AcceptPolicyRollback: accept}
		return New(ctx, cfg, st, data)
	}
	exec := func(s *Server, sql string) int64 {
		t.Helper()
		stmts, err := policysql.Parse(sql)
		require.NoError(t, err)
		c := &caller{principal: &authn.Principal{User: "root", Groups: []string{"admin"}}, requestID: "t"}
		c.snap = s.snapshot()
		c.subject = c.snap.policy.Subject(toPolicyPrincipal(c.principal))
		_, v, err := s.execute(ctx, c, stmts)
		require.NoError(t, err, sql)
		return v
	}
	allowed := func(s *Server) bool {
		p := s.snapshot().policy
		sub := p.Subject(policy.Principal{User: "alice"})
		return p.Authorize(sub, []policy.Object{{Database: "db_05", Table: "t", Action: catalog.PrivSelect}})[0].Allowed
	}

	s, err := newPlanner(live, false)
	require.NoError(t, err)
	exec(s, "CREATE ROLE r; GRANT ROLE r TO USER alice; CREATE DATABASE db_05; CREATE TABLE db_05.t (a int); GRANT SELECT ON DATABASE db_05 TO ROLE r")
	require.True(t, allowed(s))
	revoked := exec(s, "REVOKE SELECT ON DATABASE db_05 FROM ROLE r")
	require.False(t, allowed(s))
	// A copy of the data directory as a crash leaves it: the REVOKE is in
	// the write-ahead log, not yet checkpointed into the database file.
	for _, f := range []string{sqlite.FileName, sqlite.FileName + "-wal", filepath.Join("audit", watermarkFile)} {
		b, err := os.ReadFile(filepath.Join(live, f))
		require.NoError(t, err, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(crashed, f)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(crashed, f), b, 0o600))
	}
	s.close()

	// Flip one byte in the last frame (the REVOKE's commit).
	wal := filepath.Join(crashed, sqlite.FileName+"-wal")
	b, err := os.ReadFile(wal)
	require.NoError(t, err)
	require.Greater(t, len(b), 32+24+4096, "the REVOKE must still be in the write-ahead log")
	b[len(b)-100] ^= 0x01
	require.NoError(t, os.WriteFile(wal, b, 0o600))

	_, err = newPlanner(crashed, false)
	require.Error(t, err)
	require.Contains(t, err.Error(), fmt.Sprintf("last committed version %d", revoked))

	// What the refusal prevents: the store as SQLite now reads it has the
	// REVOKE undone, and alice would read db_05 again.
	s, err = newPlanner(crashed, true)
	require.NoError(t, err)
	defer s.close()
	require.Less(t, s.snapshot().policy.Version(), revoked)
	require.True(t, allowed(s), "the tampered log resurrects the grant: the watermark is what stops it")
}

// The watermark file: two slots overwritten in turn; a write torn by a
// crash spoils only the slot being written, so the version before survives;
// the one-line file of earlier releases still reads.
func TestWatermarkSlots(t *testing.T) {
	path := filepath.Join(t.TempDir(), watermarkFile)
	w, err := openWatermark(path, 5)
	require.NoError(t, err)
	defer w.f.Close()
	for _, v := range []int64{6, 7, 8} {
		require.NoError(t, w.mark(v))
		got, ok, err := readWatermark(path)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, v, got)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, b, 2*slotSize, "written in place: the size never changes")

	// Tear the slot holding 8 (the last written): 7 remains.
	last := 1 - w.next
	torn := append([]byte(nil), b...)
	copy(torn[last*slotSize+10:], "\x00\x00\x00")
	require.NoError(t, os.WriteFile(path, torn, 0o600))
	got, _, err := readWatermark(path)
	require.NoError(t, err)
	require.Equal(t, int64(7), got)
	// A flipped digit fails the checksum too.
	flipped := append([]byte(nil), b...)
	i := last*slotSize + len("lakegate policy-version ")
	flipped[i] = '9'
	require.NoError(t, os.WriteFile(path, flipped, 0o600))
	got, _, err = readWatermark(path)
	require.NoError(t, err)
	require.Equal(t, int64(7), got)

	// Both slots spoilt: damaged, and said so.
	require.NoError(t, os.WriteFile(path, make([]byte, 2*slotSize), 0o600))
	_, _, err = readWatermark(path)
	require.ErrorContains(t, err, "is damaged")

	// The earlier one-line format.
	require.NoError(t, os.WriteFile(path, []byte("42\n"), 0o600))
	got, ok, err := readWatermark(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(42), got)
}
