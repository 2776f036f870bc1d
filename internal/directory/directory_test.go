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
