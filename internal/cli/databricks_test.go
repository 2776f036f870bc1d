package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func TestDatabricksClusterCommands(t *testing.T) {
	t.Setenv("OKERA_PLANNER", "planner.internal:12050") // --planner falls back to it
	for _, sub := range []string{"cluster-config", "cluster-policy"} {
		out, errOut, err := runCLI(t, "databricks", sub, "--auth", "self-signed", "--init-script", "dbfs:/lakegate/lakegate-init.sh")
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &doc), "stdout is the JSON only")
		require.Contains(t, out, "planner.internal:12050")
		require.Contains(t, errOut, "WARNING: self-signed: FOR PROOFS OF CONCEPT ONLY")
	}
	_, _, err := runCLI(t, "databricks", "cluster-config", "--auth", "okera-token", "--init-script", "dbfs:/l/lakegate-init.sh",
		"--secret-key", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	require.ErrorContains(t, err, "looks like a token or a key")
}

func TestDatabricksInitScriptCommand(t *testing.T) {
	out, errOut, err := runCLI(t, "databricks", "init-script", "--init-hms-schema", "--libs-from", "s3://b/lg")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "#!/bin/sh\n"))
	require.Contains(t, out, "LG_INIT_HMS_SCHEMA='true'")
	require.Contains(t, errOut, "then remove these two settings")
	f := filepath.Join(t.TempDir(), "init.sh")
	_, _, err = runCLI(t, "databricks", "init-script", "--out", f)
	require.NoError(t, err)
	st, err := os.Stat(f)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	_, _, err = runCLI(t, "databricks", "init-script", "--jars-dir", t.TempDir())
	require.ErrorContains(t, err, "jars missing")
}

func TestDatabricksUploadLibsDryRun(t *testing.T) {
	jars := t.TempDir()
	for _, v := range []string{"3.5_2.12", "3.5_2.13", "4.0_2.13"} {
		require.NoError(t, os.WriteFile(filepath.Join(jars, "lakegate-spark-"+v+".jar"), []byte(v), 0o644))
	}
	stage := filepath.Join(t.TempDir(), "stage")
	t.Setenv("PATH", t.TempDir()) // no databricks CLI: a dry run must not need one
	out, _, err := runCLI(t, "databricks", "upload-libs", "--to", "dbfs:/lakegate", "--jars-dir", jars, "--stage", stage, "--dry-run")
	require.NoError(t, err)
	require.Contains(t, out, "$ databricks fs cp --overwrite "+filepath.Join(stage, "lakegate-init.sh")+" dbfs:/lakegate/lakegate-init.sh\n")
	require.Contains(t, out, "init script: dbfs:/lakegate/lakegate-init.sh\n")
	require.Contains(t, out, "dry run: nothing was uploaded")
	require.FileExists(t, filepath.Join(stage, "lakegate-init.sh"))

	_, _, err = runCLI(t, "databricks", "upload-libs", "--to", "dbfs:/lakegate", "--jars-dir", jars)
	require.ErrorContains(t, err, "databricks not found on PATH")
}

func TestDatabricksClusterOkeraFS(t *testing.T) {
	s3 := []string{"--auth", "signing-key", "--planner", "p:12050", "--init-script", "s3://b/lg/lakegate-init.sh",
		"--region", "us-east-1", "--instance-profile", "arn:aws:iam::123456789012:instance-profile/lg"}
	for _, sub := range []string{"cluster-config", "cluster-policy"} {
		out, errOut, err := runCLI(t, append([]string{"databricks", sub, "--okera-fs", "--ensemble", "https://ens.example.com:5010/"}, s3...)...)
		require.NoError(t, err)
		require.Contains(t, out, `"https://ens.example.com:5010"`)
		require.Contains(t, errOut, "WARNING: okera-fs with an instance profile: the instance profile must not grant access to the governed data")
		// refusals
		_, _, err = runCLI(t, append([]string{"databricks", sub, "--okera-fs"}, s3...)...)
		require.ErrorContains(t, err, "--okera-fs needs --ensemble")
		_, _, err = runCLI(t, append([]string{"databricks", sub, "--ensemble", "https://ens.example.com:5010"}, s3...)...)
		require.ErrorContains(t, err, "--ensemble is for --okera-fs only")
		_, _, err = runCLI(t, append([]string{"databricks", sub, "--okera-fs", "--ensemble", "http://u:pw@ens:5010"}, s3...)...)
		require.ErrorContains(t, err, "--ensemble")
	}
	// LAKEGATE_ENSEMBLE, set for 'lakegate ensemble credentials', changes nothing without --okera-fs ...
	t.Setenv("LAKEGATE_ENSEMBLE", "http://127.0.0.1:5010")
	out, _, err := runCLI(t, append([]string{"databricks", "cluster-config"}, s3...)...)
	require.NoError(t, err)
	require.NotContains(t, out, "LAKEGATE_ENSEMBLE")
	require.Contains(t, out, `"OKERA_ENABLE_OKERA_FS": "false"`)
	// ... and is the fallback of --ensemble with it.
	out, _, err = runCLI(t, append([]string{"databricks", "cluster-config", "--okera-fs"}, s3...)...)
	require.NoError(t, err)
	require.Contains(t, out, `"LAKEGATE_ENSEMBLE": "http://127.0.0.1:5010"`)
}
