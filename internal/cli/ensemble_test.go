package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEnsembleTokenFileIsReread(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(p, []byte("first\n"), 0o600))
	tok := fileToken(p)
	got, err := tok()
	require.NoError(t, err)
	require.Equal(t, "first", got)
	require.NoError(t, os.WriteFile(p, []byte("second"), 0o600))
	later := time.Now().Add(time.Second)
	require.NoError(t, os.Chtimes(p, later, later))
	got, err = tok()
	require.NoError(t, err)
	require.Equal(t, "second", got, "a rotated token is picked up")
	require.NoError(t, os.WriteFile(p, nil, 0o600))
	require.NoError(t, os.Chtimes(p, later.Add(time.Second), later.Add(time.Second)))
	_, err = tok()
	require.Error(t, err, "an empty token file is an error, not an empty token")
	require.NoError(t, os.Remove(p))
	_, err = tok()
	require.Error(t, err)
}

func TestEnsembleRefusesToStartWithoutKeysOrToken(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"ensemble", "--data-dir", t.TempDir()}, nil, "no master key"},
		{[]string{"ensemble", "--data-dir", t.TempDir()}, map[string]string{MasterKeyEnv: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}, "no service token"},
		{[]string{"ensemble", "credentials", "--ensemble", "http://127.0.0.1:1"}, nil, "no token"},
		{[]string{"ensemble", "revoke", "--token", "x"}, nil, "exactly one of"},
		{[]string{"ensemble", "keygen"}, nil, "--out FILE is required"},
	} {
		for _, k := range []string{"OKERA_TOKEN", "LAKEGATE_TOKEN", MasterKeyEnv, "LAKEGATE_MASTER_KEY_FILE", "LAKEGATE_TOKEN_FILE"} {
			t.Setenv(k, "")
		}
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb)
		root.SetArgs(tc.args)
		err := root.Execute()
		require.ErrorContains(t, err, tc.want, tc.args)
	}
}
