package sqlite

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/crashtest"
	"github.com/lakegate/lakegate/internal/store"
)

// The crash test re-runs this test binary as a child that applies changes
// in a loop and prints each acknowledged version; the parent SIGKILLs it in
// the middle of the burst and checks that the reopened store has every
// acknowledged change.
const (
	crashDirEnv   = "LAKEGATE_STORE_CRASH_DIR"
	crashRoundEnv = "LAKEGATE_STORE_CRASH_ROUND"
)

// TestCrashChild is the child's body; it is skipped unless the parent set
// crashDirEnv.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestCrashSafety")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		crashtest.Fail("open: %v", err)
	}
	deadline := time.Now().Add(time.Minute) // never outlive a parent that died
	for i := 0; time.Now().Before(deadline); i++ {
		role := fmt.Sprintf("crash-%s-%06d", round, i)
		v, err := s.Apply(context.Background(), func(tx store.Tx) error {
			if err := tx.CreateRole(role); err != nil {
				return err
			}
			_, err := tx.AddGrant(catalog.Grant{Role: role, Privilege: catalog.PrivSelect,
				Object:  catalog.Object{Scope: catalog.ScopeTable, Database: "db", Table: role},
				Columns: []string{"a", "b"}, Filter: "x > " + strconv.Itoa(i)})
			return err
		})
		if err != nil {
			crashtest.Fail("apply: %v", err)
		}
		crashtest.Ack(role, v)
	}
	os.Exit(0)
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	acked := map[string]int64{} // role → version its Apply returned
	var maxAcked int64
	for round, killAfter := range []int{40, 150, 400} {
		for role, v := range crashtest.KillAfter(t, "TestCrashChild", []string{crashDirEnv + "=" + dir, crashRoundEnv + "=" + strconv.Itoa(round)}, killAfter) {
			acked[role] = v
			maxAcked = max(maxAcked, v)
		}

		// Reopen: quick_check runs in Open; check every acknowledged change.
		s, err := Open(context.Background(), dir, nil)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		var check string
		if err := s.writer.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		st, err := s.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]bool{}
		for _, r := range st.Roles {
			roles[r] = true
		}
		granted := map[string]bool{}
		for _, g := range st.Grants.All() {
			granted[g.Role] = true
		}
		for role, v := range acked {
			if !roles[role] || !granted[role] {
				t.Fatalf("round %d: change of acknowledged version %d (role %s) lost after SIGKILL", round, v, role)
			}
		}
		// Each Apply added one role and one grant; at most the one Apply in
		// flight when the child died may have committed unacknowledged.
		if st.Version < maxAcked || st.Version > maxAcked+1 {
			t.Fatalf("round %d: version %d after SIGKILL, last acknowledged %d", round, st.Version, maxAcked)
		}
		if int64(len(st.Roles)) != st.Version || int64(st.Grants.Len()) != st.Version {
			t.Fatalf("round %d: version %d with %d roles and %d grants", round, st.Version, len(st.Roles), st.Grants.Len())
		}
		maxAcked = st.Version
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
