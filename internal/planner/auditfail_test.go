//go:build linux

package planner

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
)

// Issue 13: when the audit log cannot be written (here its file is
// /dev/full: every write fails with "no space left on device"), the planner
// fails fast and visibly — every request refused with Unavailable naming the
// cause, /readyz not ready, the metric at 1 — and makes no policy change.
func TestAuditDiskFullFailsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.Symlink("/dev/full", filepath.Join(dir, "audit.jsonl")))
	e := newEnv(t, func(c *Config) { c.AuditDir = dir })
	root := e.client("root", "admin")
	// The first request's record is what fails; from then on the planner refuses.
	_, _ = root.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.Eventually(t, func() bool { return e.srv.audit.Failing() != nil }, 10*time.Second, 10*time.Millisecond)

	_, err := root.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
	require.Contains(t, err.Error(), "audit log cannot be written")
	require.Contains(t, err.Error(), "no space left on device")
	_, err = sql(t, root, "CREATE ROLE never")
	require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
	require.NotContains(t, e.srv.snapshot().state.Roles, "never")

	resp, err := http.Get(e.base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, 1.0, testutil.ToFloat64(e.srv.metrics.auditFail))
}
