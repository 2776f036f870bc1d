package planner_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashDuringDDL kills the planner with SIGKILL in the middle of a burst
// of policy statements, restarts it, and checks that every statement it
// acknowledged is there and that the store opens clean.
func TestCrashDuringDDL(t *testing.T) {
	k, data := keys(t), t.TempDir()
	p := startPlanner(t, k, data)
	root := p.token("root", "admin")

	var (
		mu    sync.Mutex
		acked []int
		next  atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1))
				stmt := fmt.Sprintf("CREATE ROLE crash_%d; GRANT SELECT ON TABLE okera_sample.users WHERE uid = 'u%d' TO ROLE crash_%d", i, i, i)
				code, _, err := p.tryPost(root, "ExecuteSql", map[string]any{"sql": stmt})
				if err != nil {
					return // the planner is gone
				}
				if code == 200 {
					mu.Lock()
					acked = append(acked, i)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.kill() // mid-burst: writers still have requests in flight
	stop.Store(true)
	wg.Wait()
	require.GreaterOrEqual(t, len(acked), 20, "the burst acknowledged too little to prove anything")

	p.start()
	roles := p.mustSQL(root, "SHOW ROLES")
	for _, i := range acked {
		require.Contains(t, roles, fmt.Sprintf("crash_%d\n", i))
		grants := p.mustSQL(root, fmt.Sprintf("SHOW GRANTS TO ROLE crash_%d", i))
		require.Contains(t, grants, fmt.Sprintf("uid = 'u%d'", i))
	}
	// Every role that exists has its grant: the two statements of a call
	// land together or not at all.
	for _, line := range strings.Split(roles, "\n") {
		if r := strings.TrimSpace(line); strings.HasPrefix(r, "crash_") {
			require.Contains(t, p.mustSQL(root, "SHOW GRANTS TO ROLE "+r), "okera_sample.users", r)
		}
	}
	t.Logf("%d acknowledged batches survived SIGKILL", len(acked))
}
