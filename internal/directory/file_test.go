package directory

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGroupsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groups.yaml")
	write := func(text string, age time.Duration) {
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		mt := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(path, mt, mt))
	}
	write(`
users:
  Alice:
    groups: [Analysts]
    attributes: {region: eu}
  bob: {}
groups:
  eu_staff: [alice, carol]
`, time.Hour)
	f, err := NewFile(path)
	require.NoError(t, err)
	ctx := context.Background()
	e, err := f.Lookup(ctx, "ALICE")
	require.NoError(t, err)
	require.True(t, e.Found)
	require.ElementsMatch(t, []Membership{{Group: "analysts"}, {Group: "eu_staff"}}, e.Groups)
	require.Equal(t, map[string]string{"region": "eu"}, e.Attributes)
	e, err = f.Lookup(ctx, "bob")
	require.NoError(t, err)
	require.True(t, e.Found)
	require.Empty(t, e.Groups)
	e, err = f.Lookup(ctx, "carol")
	require.NoError(t, err)
	require.Equal(t, []Membership{{Group: "eu_staff"}}, e.Groups)
	e, err = f.Lookup(ctx, "dave")
	require.NoError(t, err)
	require.False(t, e.Found)

	// Changed on disk: read again.
	write("groups:\n  eu_staff: [carol]\n", 30*time.Minute)
	e, err = f.Lookup(ctx, "alice")
	require.NoError(t, err)
	require.False(t, e.Found, "alice was removed")

	// Broken: every lookup fails (not the old content, not nobody).
	write("groups: [unclosed\n", 20*time.Minute)
	_, err = f.Lookup(ctx, "carol")
	require.ErrorContains(t, err, "groups file")
	write("users:\n  carol:\n    grups: [x]\n", 10*time.Minute)
	_, err = f.Lookup(ctx, "carol")
	require.ErrorContains(t, err, "grups", "a misspelt key is an error, not ignored")

	// Fixed.
	write("groups:\n  eu_staff: [carol]\n", 0)
	e, err = f.Lookup(ctx, "carol")
	require.NoError(t, err)
	require.Equal(t, []Membership{{Group: "eu_staff"}}, e.Groups)

	// A rewrite that keeps the size and the time is seen (by content).
	write("groups:\n  eu_staff: [carol]\n", 0)
	same, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte("groups:\n  eu_staff: [dave_]\n"), 0o600))
	require.NoError(t, os.Chtimes(path, same.ModTime(), same.ModTime()))
	e, err = f.Lookup(ctx, "carol")
	require.NoError(t, err)
	require.False(t, e.Found)

	// One user twice (by case): which entry wins would be chance.
	write("users:\n  Alice: {attributes: {region: eu}}\n  alice: {attributes: {region: us}}\n", 0)
	_, err = f.Lookup(ctx, "alice")
	require.ErrorContains(t, err, "are the same user")

	_, err = NewFile(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
}
