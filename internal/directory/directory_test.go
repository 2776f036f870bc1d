package directory

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// table is a Source answering from a map, that can be made to fail, and
// counts its lookups.
type table struct {
	name    string
	mu      sync.Mutex
	users   map[string]Entry
	down    error
	lookups atomic.Int64
}

func (t *table) Name() string { return t.name }

func (t *table) Lookup(_ context.Context, user string) (Entry, error) {
	t.lookups.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down != nil {
		return Entry{}, t.down
	}
	return t.users[user], nil
}

func (t *table) set(user string, e Entry, down error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == nil {
		t.users = map[string]Entry{}
	}
	if user != "" {
		t.users[user] = e
	}
	t.down = down
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) add(d time.Duration)       { c.t = c.t.Add(d) }
func groups(ms ...Membership) []Membership { return ms }

func TestUnionOfSourcesWithTheirNames(t *testing.T) {
	ldap, file := &table{name: "ldap"}, &table{name: "file"}
	ldap.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "Analysts"}, Membership{Group: "eu"}),
		Attributes: map[string]string{"region": "eu"}}, nil)
	file.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "analysts"}, Membership{Group: "admins_ro"}),
		Attributes: map[string]string{"region": "us", "team": "x"}}, nil)
	r, err := New(Options{}, ldap, file)
	require.NoError(t, err)
	e, _, err := r.Resolve(context.Background(), "ALICE")
	require.NoError(t, err)
	require.True(t, e.Found)
	require.Equal(t, []Membership{{"admins_ro", "file"}, {"analysts", "file"}, {"analysts", "ldap"}, {"eu", "ldap"}}, e.Groups)
	require.Equal(t, []string{"admins_ro", "analysts", "eu"}, e.GroupNames())
	require.Equal(t, map[string]string{"region": "eu", "team": "x"}, e.Attributes, "the first source wins a disagreement")

	e, _, err = r.Resolve(context.Background(), "bob")
	require.NoError(t, err)
	require.False(t, e.Found, "a user no source knows has no groups, and that is not an error")
	require.Empty(t, e.Groups)
}

func TestCacheStaleWindowAndFailClosed(t *testing.T) {
	ctx := context.Background()
	src := &table{name: "ldap"}
	src.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "analysts"})}, nil)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	var outcomes []string
	r, err := New(Options{TTL: time.Minute, StaleFor: 5 * time.Minute, now: c.now,
		Observe: func(o, _ string, _ time.Duration) { outcomes = append(outcomes, o) }}, src)
	require.NoError(t, err)

	_, exp, err := r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, c.t.Add(time.Minute), exp)
	c.add(30 * time.Second)
	_, _, err = r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, int64(1), src.lookups.Load(), "fresh: from the cache")

	// The directory goes down: the last answer serves for TTL+StaleFor…
	down := errors.New("connection refused")
	src.set("", Entry{}, down)
	c.add(2 * time.Minute)
	e, exp, err := r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, []string{"analysts"}, e.GroupNames())
	require.Equal(t, c.t.Add(5*time.Second), exp, "a stale answer is good for a retry interval only")
	// …then fails closed, naming the user and the source.
	c.add(4 * time.Minute)
	_, _, err = r.Resolve(ctx, "alice")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, `"alice"`)
	require.ErrorContains(t, err, "ldap: connection refused")
	// A user never resolved fails at once.
	_, _, err = r.Resolve(ctx, "carol")
	require.ErrorIs(t, err, ErrUnavailable)

	// Recovery.
	src.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "eu"})}, nil)
	e, _, err = r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, []string{"eu"}, e.GroupNames())
	require.Equal(t, []string{"lookup", "hit", "error", "stale", "error", "error", "lookup"}, outcomes)
}

func TestNoStaleAnswersWhenTurnedOff(t *testing.T) {
	src := &table{name: "ldap"}
	src.set("alice", Entry{Found: true}, nil)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r, err := New(Options{TTL: time.Minute, StaleFor: -1, now: c.now}, src)
	require.NoError(t, err)
	_, _, err = r.Resolve(context.Background(), "alice")
	require.NoError(t, err)
	src.set("", Entry{}, errors.New("down"))
	c.add(61 * time.Second)
	_, _, err = r.Resolve(context.Background(), "alice")
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestInvalidate(t *testing.T) {
	src := &table{name: "scim"}
	src.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "analysts"})}, nil)
	r, err := New(Options{TTL: time.Hour}, src)
	require.NoError(t, err)
	g0 := r.Generation()
	_, _, err = r.Resolve(context.Background(), "alice")
	require.NoError(t, err)
	src.set("alice", Entry{Found: true}, nil) // removed from the group
	r.Invalidate("Alice")
	require.NotEqual(t, g0, r.Generation())
	e, _, err := r.Resolve(context.Background(), "alice")
	require.NoError(t, err)
	require.Empty(t, e.Groups, "a change takes effect at once")
	require.Equal(t, int64(2), src.lookups.Load())
}

func TestCacheIsBounded(t *testing.T) {
	src := &table{name: "ldap"}
	r, err := New(Options{MaxUsers: 100}, src)
	require.NoError(t, err)
	for i := range 1000 {
		_, _, err := r.Resolve(context.Background(), string(rune('a'+i%26))+time.Duration(i).String())
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(r.cache), 100)
}

// blocking is a Source whose lookups wait for release, answering with the
// groups at the moment they end.
type blocking struct {
	mu      sync.Mutex
	groups  []string
	started chan struct{}
	release chan struct{}
	once    sync.Once
	n       atomic.Int64
}

func (b *blocking) Name() string { return "ldap" }

func (b *blocking) Lookup(ctx context.Context, _ string) (Entry, error) {
	b.n.Add(1)
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := Entry{Found: true}
	for _, g := range b.groups {
		e.Groups = append(e.Groups, Membership{Group: g})
	}
	return e, nil
}

// A request after Invalidate never takes the answer of a lookup that began
// before it (which may predate the change), nor is that answer cached.
func TestInvalidateIsNotUndoneByALookupInFlight(t *testing.T) {
	src := &blocking{groups: []string{"finance_admins"}, started: make(chan struct{}), release: make(chan struct{})}
	r, err := New(Options{TTL: time.Hour}, src)
	require.NoError(t, err)
	ctx := context.Background()
	first := make(chan Entry)
	go func() { e, _, _ := r.Resolve(ctx, "alice"); first <- e }()
	<-src.started
	src.mu.Lock()
	src.groups = nil // removed in the directory…
	src.mu.Unlock()
	r.Invalidate("alice") // …which says so
	second := make(chan Entry)
	go func() { e, _, _ := r.Resolve(ctx, "alice"); second <- e }()
	require.Eventually(t, func() bool { return src.n.Load() == 2 }, 5*time.Second, time.Millisecond, "the second request has a lookup of its own")
	close(src.release)
	<-first
	require.Empty(t, (<-second).Groups)
	e, _, err := r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, e.Groups, "the older answer was not cached")
}

// A client that goes away does not fail the other requests waiting on the
// same lookup.
func TestACancelledCallerDoesNotFailTheOthers(t *testing.T) {
	src := &blocking{groups: []string{"analysts"}, started: make(chan struct{}), release: make(chan struct{})}
	r, err := New(Options{}, src)
	require.NoError(t, err)
	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error)
	go func() { _, _, err := r.Resolve(ctxA, "alice"); errA <- err }()
	<-src.started
	b := make(chan error)
	go func() { _, _, err := r.Resolve(context.Background(), "ALICE"); b <- err }()
	cancelA()
	time.Sleep(50 * time.Millisecond)
	close(src.release)
	require.NoError(t, <-b)
	<-errA
}

// An answer invalidated while its source was failing is not served stale.
func TestInvalidatedAnswersAreNotServedStale(t *testing.T) {
	src := &table{name: "scim"}
	src.set("alice", Entry{Found: true, Groups: groups(Membership{Group: "analysts"})}, nil)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r, err := New(Options{TTL: time.Minute, StaleFor: time.Hour, now: c.now}, src)
	require.NoError(t, err)
	_, _, err = r.Resolve(context.Background(), "alice")
	require.NoError(t, err)
	c.add(2 * time.Minute)
	src.set("", Entry{}, errors.New("down"))
	e, _, err := r.Resolve(context.Background(), "alice")
	require.NoError(t, err, "stale within the window")
	require.Equal(t, []string{"analysts"}, e.GroupNames())
	r.Invalidate("alice")
	_, _, err = r.Resolve(context.Background(), "alice")
	require.ErrorIs(t, err, ErrUnavailable, "after Invalidate the old answer is known to be out of date")

	// Invalidated while a lookup that then fails is under way: not served either.
	slow := &failing{blocking: blocking{groups: []string{"analysts"}, started: make(chan struct{}), release: make(chan struct{})}}
	r, err = New(Options{TTL: time.Minute, StaleFor: time.Hour, now: c.now}, slow)
	require.NoError(t, err)
	close(slow.release)
	_, _, err = r.Resolve(context.Background(), "alice")
	require.NoError(t, err)
	c.add(2 * time.Minute)
	slow.fail.Store(true)
	slow.release, slow.started, slow.once = make(chan struct{}), make(chan struct{}), sync.Once{}
	got := make(chan error)
	go func() { _, _, err := r.Resolve(context.Background(), "alice"); got <- err }()
	<-slow.started
	r.Invalidate("alice")
	close(slow.release)
	require.ErrorIs(t, <-got, ErrUnavailable)
}

// failing is a blocking source that fails once fail is set.
type failing struct {
	blocking
	fail atomic.Bool
}

func (f *failing) Lookup(ctx context.Context, user string) (Entry, error) {
	e, err := f.blocking.Lookup(ctx, user)
	if err == nil && f.fail.Load() {
		return Entry{}, errors.New("down")
	}
	return e, err
}
