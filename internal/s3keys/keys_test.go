package s3keys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mkey(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeyBytes) }

func newKeys(t *testing.T, masters ...[]byte) *Keys {
	t.Helper()
	rev, err := OpenRevocations(t.TempDir(), MaxTTL, nil)
	require.NoError(t, err)
	k, err := New(masters, rev, 0)
	require.NoError(t, err)
	return k
}

func TestIssueLookupRoundTrip(t *testing.T) {
	k := newKeys(t, mkey(1))
	now := time.Now()
	c, err := k.Issue("alice@example.com", []string{"analysts", "eu"}, 30*time.Minute, now)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(c.AccessKeyID, Prefix))
	require.NotContains(t, c.AccessKeyID, "alice", "the key id is opaque")
	require.NotContains(t, c.AccessKeyID, "/")
	require.Len(t, c.SecretAccessKey, 40)

	id, secret, err := k.Lookup(c.AccessKeyID)
	require.NoError(t, err)
	require.Equal(t, c.SecretAccessKey, secret)
	require.Equal(t, "alice@example.com", id.User)
	require.Equal(t, []string{"analysts", "eu"}, id.Groups)
	require.Equal(t, c.Expiration.Unix(), id.ExpiresAt.Unix())
	require.NoError(t, k.Check(id, now))

	c2, err := k.Issue("alice@example.com", []string{"analysts", "eu"}, time.Hour, now)
	require.NoError(t, err)
	require.NotEqual(t, c.AccessKeyID, c2.AccessKeyID, "every key is new")
	require.NotEqual(t, c.SecretAccessKey, c2.SecretAccessKey)
}

func TestLifetimes(t *testing.T) {
	k := newKeys(t, mkey(1))
	now := time.Now()
	c, err := k.Issue("bob", nil, 0, now)
	require.NoError(t, err)
	require.Equal(t, now.Truncate(time.Second).Add(DefaultTTL), c.Expiration)
	c, err = k.Issue("bob", nil, 100*time.Hour, now)
	require.NoError(t, err)
	require.Equal(t, now.Truncate(time.Second).Add(MaxTTL), c.Expiration, "lifetimes are capped")
	id, _, err := k.Lookup(c.AccessKeyID)
	require.NoError(t, err)
	require.ErrorIs(t, k.Check(id, c.Expiration), ErrExpired)
	require.ErrorIs(t, k.Check(id, c.Expiration.Add(time.Hour)), ErrExpired)
}

// Attacks on the key id: forging, altering, another installation's key.
func TestForgedKeyIDs(t *testing.T) {
	k := newKeys(t, mkey(1))
	c, err := k.Issue("alice", []string{"analysts"}, time.Hour, time.Now())
	require.NoError(t, err)
	id := c.AccessKeyID
	for i := len(Prefix); i < len(id); i++ {
		for _, ch := range []byte{'A', '7'} {
			if id[i] == ch {
				continue
			}
			forged := id[:i] + string(ch) + id[i+1:]
			_, _, err := k.Lookup(forged)
			require.ErrorIs(t, err, ErrUnknown, "altered at %d", i)
		}
	}
	for _, bad := range []string{"", "LG", "AKIAIOSFODNN7EXAMPLE", "LG" + strings.Repeat("A", 100), id + "A", id[:len(id)-1], strings.ToLower(id)} {
		_, _, err := k.Lookup(bad)
		require.ErrorIs(t, err, ErrUnknown, bad)
	}
	other := newKeys(t, mkey(2))
	_, _, err = other.Lookup(id)
	require.ErrorIs(t, err, ErrUnknown, "a key of another master key")
}

func TestMasterKeyRotation(t *testing.T) {
	old := newKeys(t, mkey(1))
	c, err := old.Issue("alice", nil, time.Hour, time.Now())
	require.NoError(t, err)
	rotated := newKeys(t, mkey(2), mkey(1))
	_, secret, err := rotated.Lookup(c.AccessKeyID)
	require.NoError(t, err)
	require.Equal(t, c.SecretAccessKey, secret)
	c2, err := rotated.Issue("alice", nil, time.Hour, time.Now())
	require.NoError(t, err)
	_, _, err = old.Lookup(c2.AccessKeyID)
	require.ErrorIs(t, err, ErrUnknown, "new keys use the new master key")
}

func TestRevocationPersistsAndIsShared(t *testing.T) {
	dir := t.TempDir()
	rev, err := OpenRevocations(dir, MaxTTL, nil)
	require.NoError(t, err)
	k, err := New([][]byte{mkey(1)}, rev, 0)
	require.NoError(t, err)
	now := time.Now()
	a1, _ := k.Issue("alice", nil, time.Hour, now)
	a2, _ := k.Issue("alice", nil, time.Hour, now)
	b1, _ := k.Issue("bob", nil, time.Hour, now)
	ident := func(c Credentials) *Identity {
		id, _, err := k.Lookup(c.AccessKeyID)
		require.NoError(t, err)
		return id
	}
	require.NoError(t, rev.RevokeKey(a1.AccessKeyID, a1.Expiration, now))
	require.ErrorIs(t, k.Check(ident(a1), now), ErrRevoked)
	require.NoError(t, k.Check(ident(a2), now))

	// A second process sharing the directory sees it, and its own change
	// is seen by the first one.
	rev2, err := OpenRevocations(dir, MaxTTL, nil)
	require.NoError(t, err)
	k2, _ := New([][]byte{mkey(1)}, rev2, 0)
	require.ErrorIs(t, k2.Check(ident(a1), now), ErrRevoked)
	require.NoError(t, rev2.RevokeUser("bob", now.Add(time.Second)))
	require.Eventually(t, func() bool { return k.Check(ident(b1), time.Now()) != nil }, 3*time.Second, 50*time.Millisecond)
	b2, _ := k.Issue("bob", nil, time.Hour, now.Add(5*time.Second))
	require.NoError(t, k.Check(ident(b2), now), "keys issued after the cut-off work")

	raw, err := os.ReadFile(filepath.Join(dir, RevocationsFile))
	require.NoError(t, err)
	require.NotContains(t, string(raw), a1.SecretAccessKey)
	require.NotContains(t, string(raw), a1.AccessKeyID, "only a hash of the key id is stored")

	// Expired entries are pruned by the next write.
	require.NoError(t, rev.RevokeKey(a2.AccessKeyID, a2.Expiration, a1.Expiration.Add(time.Minute)))
	raw, _ = os.ReadFile(filepath.Join(dir, RevocationsFile))
	require.NotContains(t, string(raw), keyHash(a1.AccessKeyID))
}

func TestUnreadableRevocationsFailClosed(t *testing.T) {
	dir := t.TempDir()
	rev, err := OpenRevocations(dir, MaxTTL, nil)
	require.NoError(t, err)
	k, _ := New([][]byte{mkey(1)}, rev, 0)
	c, _ := k.Issue("alice", nil, time.Hour, time.Now())
	id, _, _ := k.Lookup(c.AccessKeyID)
	require.NoError(t, k.Check(id, time.Now()))
	require.NoError(t, os.WriteFile(filepath.Join(dir, RevocationsFile), []byte("{not json"), 0o600))
	time.Sleep(reloadEvery + 10*time.Millisecond)
	require.Error(t, k.Check(id, time.Now()))
	_, err = OpenRevocations(dir, MaxTTL, nil)
	require.Error(t, err, "a corrupt list stops the proxy from starting")
}

func TestMasterKeyFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "master.key")
	require.NoError(t, GenerateMasterKey(p))
	require.Error(t, GenerateMasterKey(p), "never overwrites")
	fi, _ := os.Stat(p)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	keys, err := LoadMasterKeys([]string{p}, "")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	keys, err = LoadMasterKeys([]string{p}, strings.Repeat("ab", 32))
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, bytes.Repeat([]byte{0xab}, 32), keys[0], "the environment's key signs")
	require.NoError(t, os.Chmod(p, 0o644))
	_, err = LoadMasterKeys([]string{p}, "")
	require.ErrorContains(t, err, "readable by other users")
	_, err = LoadMasterKeys(nil, "short")
	require.Error(t, err)
	_, err = New(nil, nil, 0)
	require.Error(t, err)
}
