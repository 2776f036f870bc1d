package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/planner"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

func TestEnvNames(t *testing.T) {
	require.Equal(t, []string{"LAKEGATE_DATA_DIR"}, EnvNames("data-dir"))
	require.Equal(t, []string{"LAKEGATE_INSECURE_ACCEPT_SELF_SIGNED"}, EnvNames("insecure-accept-self-signed"))
	require.Equal(t, []string{"OKERA_PLANNER", "LAKEGATE_PLANNER"}, EnvNames("planner"))
	require.Equal(t, []string{"OKERA_TOKEN", "LAKEGATE_TOKEN"}, EnvNames("token"))
}

func TestApplyEnv(t *testing.T) {
	var (
		dir     string
		keys    []string
		n       int
		planner string
	)
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().StringVar(&dir, "data-dir", "default", "")
	cmd.Flags().StringArrayVar(&keys, "jwt-public-key", nil, "")
	cmd.Flags().IntVar(&n, "max-sessions", 1, "")
	cmd.Flags().StringVar(&planner, "planner", "", "")
	t.Setenv("LAKEGATE_DATA_DIR", "/from/env")
	t.Setenv("LAKEGATE_JWT_PUBLIC_KEY", "a.pem, b.pem")
	t.Setenv("LAKEGATE_MAX_SESSIONS", "42")
	t.Setenv("OKERA_PLANNER", "okera:1")
	t.Setenv("LAKEGATE_PLANNER", "lakegate:2")
	require.NoError(t, cmd.Flags().Parse([]string{"--data-dir", "/from/flag"}))
	require.NoError(t, applyEnv(cmd))
	require.Equal(t, "/from/flag", dir, "a flag on the command line wins")
	require.Equal(t, []string{"a.pem", "b.pem"}, keys)
	require.Equal(t, 42, n)
	require.Equal(t, "okera:1", planner, "the Okera name comes first")

	t.Setenv("LAKEGATE_MAX_SESSIONS", "many")
	cmd2 := &cobra.Command{Use: "y"}
	cmd2.Flags().IntVar(&n, "max-sessions", 1, "")
	err := applyEnv(cmd2)
	require.ErrorContains(t, err, "LAKEGATE_MAX_SESSIONS")
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	got, err := parseSince("90m", now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-90*time.Minute), got)
	got, err = parseSince("2026-11-28T10:00:00Z", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), got)
	_, err = parseSince("yesterday", now)
	require.Error(t, err)
}

func TestExitCodes(t *testing.T) {
	require.Equal(t, 0, ExitCode(nil))
	require.Equal(t, 1, ExitCode(&ExitError{Code: 1, Err: errors.New("denied")}))
	require.Equal(t, 2, ExitCode(errors.New("boom")))
}

func TestClientCommandsNeedAToken(t *testing.T) {
	for _, args := range [][]string{{"whoami"}, {"sql", "SHOW ROLES"}, {"authorize", "--table", "a.b"}} {
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb)
		root.SetArgs(args)
		t.Setenv("OKERA_TOKEN", "")
		err := root.Execute()
		require.ErrorContains(t, err, "no token", args)
	}
}

func TestTokenNeedsUserAndKey(t *testing.T) {
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetArgs([]string{"token", "--user", "alice"})
	require.ErrorContains(t, root.Execute(), "--key")
	root = NewRoot(&out, &errb)
	root.SetArgs([]string{"token", "--key", "k.pem"})
	require.ErrorContains(t, root.Execute(), "--user")
}

// authorize asks; it never defines a view (which the planner would record).
func TestAuthorizeDoesNotDefineViews(t *testing.T) {
	for _, act := range []string{"CREATE", "alter"} {
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb)
		root.SetArgs([]string{"authorize", "--table", "a.v", "--view", "--action", act})
		t.Setenv("OKERA_TOKEN", "x")
		require.ErrorContains(t, root.Execute(), "leave out --view")
	}
}

// lakegate store: a backup of a live data directory restores only with the
// planner stopped, and then moves the policy watermark to the backup's
// version so that the planner starts on it.
func TestStoreBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	st, err := sqlite.Open(context.Background(), data, nil)
	require.NoError(t, err)
	_, err = st.Apply(context.Background(), func(tx store.Tx) error { return tx.CreateRole("r") })
	require.NoError(t, err)
	require.NoError(t, st.Close())
	run := func(args ...string) (string, error) {
		cmd := newStore()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--data-dir", data))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	backup := filepath.Join(dir, "backup.db")
	out, err := run("backup", "--out", backup)
	require.NoError(t, err)
	require.Contains(t, out, "backed up policy version 1")

	unlock, err := audit.Lock(planner.AuditDir(data)) // as a running planner holds it
	require.NoError(t, err)
	_, err = run("restore", "--from", backup)
	require.ErrorContains(t, err, "a planner is running")
	unlock()

	require.NoError(t, os.WriteFile(filepath.Join(planner.AuditDir(data), "policy-version"), []byte("7\n"), 0o600))
	out, err = run("restore", "--from", backup)
	require.NoError(t, err)
	require.Contains(t, out, "restored policy version 1")
	require.Contains(t, out, "the 6 changes after version 1 are undone")
	mark, err := os.ReadFile(filepath.Join(planner.AuditDir(data), "policy-version"))
	require.NoError(t, err)
	require.Contains(t, string(mark), "lakegate policy-version 1 ")
	require.NotContains(t, string(mark), "policy-version 7")
}
