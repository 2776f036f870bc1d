package planner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/crashtest"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

// The planner's crash test (issue 13): a child process runs a planner that
// makes policy changes one after another and prints each acknowledged one;
// the parent SIGKILLs it mid-stream, then starts a planner on the same
// directory and checks that every acknowledged change is in the policy
// *and* has its audit record — the audit-before-commit promise — and that
// the watermark accepts the store as it came back.
const (
	plannerCrashDirEnv   = "LAKEGATE_PLANNER_CRASH_DIR"
	plannerCrashRoundEnv = "LAKEGATE_PLANNER_CRASH_ROUND"
)

func crashPlanner(ctx context.Context, dir string) (*Server, error) {
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		return nil, err
	}
	return New(ctx, Config{Auth: authn.Config{AcceptSelfSigned: true}, Logger: slog.New(slog.DiscardHandler)}, st, dir)
}

// TestPlannerCrashChild is the child's body; skipped unless the parent set
// plannerCrashDirEnv.
func TestPlannerCrashChild(t *testing.T) {
	dir := os.Getenv(plannerCrashDirEnv)
	if dir == "" {
		t.Skip("child process of TestPlannerCrashKeepsChangesAndTheirRecords")
	}
	ctx := context.Background()
	s, err := crashPlanner(ctx, dir)
	if err != nil {
		crashtest.Fail("start: %v", err)
	}
	c := &caller{principal: &authn.Principal{User: "root", Groups: []string{"admin"}}}
	deadline := time.Now().Add(time.Minute) // never outlive a parent that died
	for i := 0; time.Now().Before(deadline); i++ {
		role := fmt.Sprintf("crash_%s_%06d", os.Getenv(plannerCrashRoundEnv), i)
		stmts, err := policysql.Parse("CREATE ROLE " + role + "; GRANT ROLE " + role + " TO GROUP g")
		if err != nil {
			crashtest.Fail("parse: %v", err)
		}
		c.requestID = "req-" + role
		c.snap = s.snapshot()
		c.subject = c.snap.policy.Subject(toPolicyPrincipal(c.principal))
		_, v, err := s.execute(ctx, c, stmts)
		if err != nil {
			crashtest.Fail("execute: %v", err)
		}
		crashtest.Ack(role, v)
	}
	os.Exit(0)
}

func TestPlannerCrashKeepsChangesAndTheirRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	acked := map[string]int64{}
	for round, killAfter := range []int{30, 120} {
		for role, v := range crashtest.KillAfter(t, "TestPlannerCrashChild",
			[]string{plannerCrashDirEnv + "=" + dir, plannerCrashRoundEnv + "=" + strconv.Itoa(round)}, killAfter) {
			acked[role] = v
		}

		// The planner starts again on what the kill left (the watermark
		// check included) and holds every acknowledged change…
		s, err := crashPlanner(ctx, dir)
		if err != nil {
			t.Fatalf("round %d: restart after SIGKILL: %v", round, err)
		}
		pol := s.snapshot().policy
		for role, v := range acked {
			if !pol.HasRole(role) {
				t.Fatalf("round %d: acknowledged change (version %d, role %s) lost", round, v, role)
			}
		}
		// …and the audit record of each, written before it committed.
		recorded := map[string]bool{}
		require := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		require(audit.Read(s.audit.Dir(), audit.Query{}, func(r audit.Record) error {
			if r.Outcome == audit.OutcomeOK && strings.HasPrefix(r.Statement, "CREATE ROLE crash_") {
				recorded[strings.TrimPrefix(r.Statement, "CREATE ROLE ")] = true
			}
			return nil
		}))
		for role, v := range acked {
			if !recorded[role] {
				t.Fatalf("round %d: acknowledged change (version %d, role %s) has no audit record", round, v, role)
			}
		}
		s.close()
	}
}
