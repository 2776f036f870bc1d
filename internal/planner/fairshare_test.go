package planner

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
)

// One user's flood waits behind itself: with the planner's only slot taken,
// bob's queue is bounded (ResourceExhausted beyond it, naming him), and
// alice's single request is answered before bob's second one.
func TestAFloodWaitsBehindItself(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.FairSlots, c.MaxQueuedPerUser = 1, 2 })
	bob, alice := e.client("bob"), e.client("alice")
	// First requests: the planner verifies each token once and keys its
	// caller by user from then on.
	authorize(t, bob, "", table("okera_sample", "users", "uid"))
	authorize(t, alice, "", table("okera_sample", "users", "uid"))
	hold, err := e.srv.gate.Enter(context.Background(), "user:bob")
	require.NoError(t, err)

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	run := func(who string) {
		defer wg.Done()
		cl := bob
		if who == "alice" {
			cl = alice
		}
		authorize(t, cl, "", table("okera_sample", "users", "uid"))
		mu.Lock()
		order = append(order, who)
		mu.Unlock()
	}
	wg.Add(2)
	go run("bob")
	require.Eventually(t, func() bool { return e.srv.gate.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	go run("bob")
	require.Eventually(t, func() bool { return e.srv.gate.Waiting() == 2 }, 5*time.Second, time.Millisecond)
	_, err = bob.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err))
	require.Contains(t, err.Error(), "user bob already has 2 requests waiting")
	wg.Add(1)
	go run("alice")
	require.Eventually(t, func() bool { return e.srv.gate.Waiting() == 3 }, 5*time.Second, time.Millisecond)
	hold()
	wg.Wait()
	require.ElementsMatch(t, []string{"bob", "alice", "bob"}, order)
	// Served (one at a time: the audit's order) bob, alice, bob: alice did
	// not wait behind bob's whole flood. (Answers may cross on the way back.)
	require.NoError(t, e.srv.audit.Flush())
	var served []string
	require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{}, func(r audit.Record) error {
		if r.StatementType == "AUTHORIZE" {
			served = append(served, r.User)
		}
		return nil
	}))
	require.Equal(t, []string{"bob", "alice", "bob", "alice", "bob"}, served, "(the first two: the warm-up)")
	require.Equal(t, 0, e.srv.gate.Waiting())
}

// A token the planner has not verified is keyed by its peer: forged or fresh
// tokens cannot each claim a turn of their own.
func TestFairKeyTrustsOnlyVerifiedTokens(t *testing.T) {
	e := newEnv(t)
	bob := e.client("bob")
	authorize(t, bob, "", table("okera_sample", "users", "uid"))
	tok, err := authn.SignToken(e.key, authn.TokenSpec{User: "bob", TTL: 2 * time.Hour}, time.Now()) // another token than the client's
	require.NoError(t, err)
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.1.2.3:4567"
	r.Header.Set("Authorization", "Bearer "+tok) // signed, but never presented to the planner
	require.Equal(t, "peer:10.1.2.3", e.srv.fairKey(r))
	r.Header.Set("Authorization", "Bearer not.a.token")
	require.Equal(t, "peer:10.1.2.3", e.srv.fairKey(r))
	_, err = e.clientWithToken(tok).WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+tok)
	require.Equal(t, "user:bob", e.srv.fairKey(r))
}

// Issue 13: a body announced larger than the API accepts is refused with
// 413 before it is read.
func TestOversizeBodyIs413(t *testing.T) {
	e := newEnv(t)
	req, err := http.NewRequest("POST", e.base+"/lakegate.v1.PlannerService/Authorize", strings.NewReader(strings.Repeat(" ", MaxRequestBytes+1)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(b), "at most 4194304")
}

// A request that leaves the gate (a validated policy change, while it waits
// for the disk) gives its slot to the next caller at once, and its own
// answer later releases nothing twice.
func TestLeavingTheGateFreesTheSlot(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.FairSlots = 1 })
	left, proceed := make(chan struct{}), make(chan struct{})
	h := e.srv.fair(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			leaveGate(r.Context())
			close(left)
			<-proceed // the disk
			if err := rejoinGate(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	done := make(chan int)
	go func() { done <- get("/slow") }()
	<-left
	fast := make(chan int)
	go func() { fast <- get("/fast") }()
	select {
	case code := <-fast:
		require.Equal(t, http.StatusNoContent, code)
	case <-time.After(5 * time.Second):
		close(proceed)
		t.Fatal("the slot was not given back: the second request waits for the first one's disk")
	}
	// Back from the disk, the slow request waits its turn again.
	hold, err := e.srv.gate.Enter(context.Background(), "someone")
	require.NoError(t, err)
	close(proceed)
	select {
	case <-done:
		t.Fatal("the request went on without taking a slot again")
	case <-time.After(200 * time.Millisecond):
	}
	hold()
	require.Equal(t, http.StatusNoContent, <-done)
	for range 5 { // one slot still, not two (no double release) and not zero (no leak)
		require.Equal(t, http.StatusNoContent, get("/fast"))
	}
	hold, err = e.srv.gate.Enter(context.Background(), "x")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = e.srv.gate.Enter(ctx, "y")
	require.Error(t, err, "a second slot appeared: a turn was released twice")
	hold()
}
