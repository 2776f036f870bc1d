package ensemble

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/s3keys"
)

// fakePlanner answers AuthorizeOnBehalf from a rule (the planner itself is
// tested in internal/planner and end to end in tests/ensemble).
type fakePlanner struct {
	lakegatev1connect.PlannerServiceClient
	mu      sync.Mutex
	calls   int
	objects int
	version int64
	err     error
	allow   func(user string, uri string, a lakegatev1.Action) bool
}

func (f *fakePlanner) AuthorizeOnBehalf(_ context.Context, req *connect.Request[lakegatev1.AuthorizeOnBehalfRequest]) (*connect.Response[lakegatev1.AuthorizeOnBehalfResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	resp := &lakegatev1.AuthorizeOnBehalfResponse{PolicyVersion: f.version}
	for i, o := range req.Msg.Objects {
		f.objects++
		ok := f.allow(req.Msg.Principal.User, o.Uri, o.Action)
		resp.Decisions = append(resp.Decisions, &lakegatev1.ObjectDecision{Index: int32(i), Object: o.Uri, Allowed: ok, Reason: map[bool]string{true: "granted", false: "no grant"}[ok]})
	}
	return connect.NewResponse(resp), nil
}

func (f *fakePlanner) set(fn func(*fakePlanner)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func TestDecisionCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	granted := map[string]bool{"s3://lake/sales": true}
	fp := &fakePlanner{version: 1, allow: func(_ string, uri string, a lakegatev1.Action) bool {
		return a == lakegatev1.Action_ACTION_SELECT && granted[uri]
	}}
	d := newPlannerDecider(fp, 5*time.Second, 100, clock)
	alice := &s3keys.Identity{User: "alice", Groups: []string{"analysts"}}
	sel := []check{{"s3://lake/sales", []catalog.Privilege{catalog.PrivSelect}}}

	got, err := d.Decide(context.Background(), alice, "GetObject", sel)
	require.NoError(t, err)
	require.True(t, got[0].Allowed)
	require.False(t, got[0].Cached)
	got, _ = d.Decide(context.Background(), alice, "GetObject", sel)
	require.True(t, got[0].Allowed)
	require.True(t, got[0].Cached)
	require.Equal(t, 1, fp.calls)

	// another user, or the same user with other groups, is another entry
	_, _ = d.Decide(context.Background(), &s3keys.Identity{User: "alice", Groups: []string{"admin"}}, "GetObject", sel)
	require.Equal(t, 2, fp.calls)

	// the answer expires
	now = now.Add(6 * time.Second)
	granted["s3://lake/sales"] = false
	got, _ = d.Decide(context.Background(), alice, "GetObject", sel)
	require.False(t, got[0].Allowed)
	require.Equal(t, 3, fp.calls)

	// any answer carrying a newer policy version invalidates older entries
	granted["s3://lake/sales"] = true
	fp.set(func(f *fakePlanner) { f.version = 2 })
	_, _ = d.Decide(context.Background(), alice, "GetObject", []check{{"s3://lake/other", []catalog.Privilege{catalog.PrivSelect}}})
	got, _ = d.Decide(context.Background(), alice, "GetObject", sel)
	require.True(t, got[0].Allowed, "the denial of version 1 is not reused under version 2")
	require.False(t, got[0].Cached)

	// one planner call for a whole request; any-of privileges
	fp.set(func(f *fakePlanner) { f.calls, f.objects = 0, 0 })
	got, err = d.Decide(context.Background(), alice, "HeadBucket", []check{
		{"s3://lake/sales", []catalog.Privilege{catalog.PrivShow, catalog.PrivSelect}},
		{"s3://lake/x1", []catalog.Privilege{catalog.PrivSelect}},
		{"s3://lake/x2", []catalog.Privilege{catalog.PrivDrop}},
	})
	require.NoError(t, err)
	require.Equal(t, 1, fp.calls)
	require.True(t, got[0].Allowed)
	require.False(t, got[1].Allowed)
	require.False(t, got[2].Allowed)
	require.Equal(t, "no grant", got[1].Reason)
}

func TestDecideFailsClosed(t *testing.T) {
	fp := &fakePlanner{err: connect.NewError(connect.CodeUnavailable, errors.New("connection refused")), allow: func(string, string, lakegatev1.Action) bool { return true }}
	d := newPlannerDecider(fp, time.Minute, 100, time.Now)
	_, err := d.Decide(context.Background(), &s3keys.Identity{User: "alice"}, "GetObject", []check{{"s3://lake/x", []catalog.Privilege{catalog.PrivSelect}}})
	require.ErrorContains(t, err, "cannot be reached")
	fp.set(func(f *fakePlanner) {
		f.err = connect.NewError(connect.CodePermissionDenied, errors.New("not trusted"))
	})
	_, err = d.Decide(context.Background(), &s3keys.Identity{User: "alice"}, "GetObject", []check{{"s3://lake/x", []catalog.Privilege{catalog.PrivSelect}}})
	require.ErrorContains(t, err, "--trusted-proxy")
	require.True(t, strings.Contains(err.Error(), "not trusted"))
}

func TestDecisionCacheDisabled(t *testing.T) {
	fp := &fakePlanner{version: 1, allow: func(string, string, lakegatev1.Action) bool { return true }}
	d := newPlannerDecider(fp, 0, 100, time.Now)
	for i := 0; i < 3; i++ {
		_, err := d.Decide(context.Background(), &s3keys.Identity{User: "alice"}, "GetObject", []check{{"s3://lake/x", []catalog.Privilege{catalog.PrivSelect}}})
		require.NoError(t, err)
	}
	require.Equal(t, 3, fp.calls)
}
