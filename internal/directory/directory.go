// Package directory resolves a user's groups and attributes from the
// organisation's directory — LDAP or Active Directory, a static file, and
// (later) users and groups an identity provider pushes by SCIM — so that a
// token naming only a user (a shared cluster's signing key) still gets the
// roles granted to that user's groups.
//
// A Resolver asks every configured Source and takes the union, caches the
// answer per user for a TTL, and, while a source is down, keeps answering
// from an answer it already had for a bounded time; after that it fails:
// an error, never an empty group list in place of one. Each group carries
// the name of the source it came from, for whoami and the audit log.
package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Membership is one group of a user and the source that says so.
type Membership struct {
	Group  string // lower case, as groups compare in the policy
	Source string // "ldap", "file", "scim", "token"
}

// Entry is what the directory knows of one user.
type Entry struct {
	// Found reports whether any source knows the user.
	Found bool
	// Groups are sorted by group then source, without duplicates.
	Groups []Membership
	// Attributes are the user's attributes for user_attribute('…'); when
	// sources disagree, the first configured source wins.
	Attributes map[string]string
}

// GroupNames returns the distinct group names of e, sorted.
func (e Entry) GroupNames() []string {
	var out []string
	for _, m := range e.Groups {
		if len(out) == 0 || out[len(out)-1] != m.Group {
			out = append(out, m.Group)
		}
	}
	return out
}

// Source is one place groups come from.
type Source interface {
	// Name is the source's name in Memberships and errors ("ldap").
	Name() string
	// Lookup returns what the source knows of user, a name as
	// catalog.FoldName gives it (Found false when it does not know the user: not an error).
	// An error means the source could not answer.
	Lookup(ctx context.Context, user string) (Entry, error)
}

// Options configure a Resolver.
type Options struct {
	// TTL is how long an answer is used before the sources are asked again
	// (default DefaultTTL).
	TTL time.Duration
	// StaleFor is how long past its TTL an answer is still used while a
	// source cannot answer (default DefaultStaleFor; negative: never).
	StaleFor time.Duration
	// MaxUsers bounds the cache (default DefaultMaxUsers): the least
	// recently resolved users are forgotten first.
	MaxUsers int
	// Observe, if set, is told of every resolution: "hit", "stale",
	// "lookup" or "error", the source ("" for hits), and how long the
	// lookup took.
	Observe func(outcome, source string, took time.Duration)
	now     func() time.Time
}

// Defaults.
const (
	DefaultTTL      = 60 * time.Second
	DefaultStaleFor = 5 * time.Minute
	DefaultMaxUsers = 100_000
)

// ErrUnavailable is wrapped by the error of a resolution that could not be
// made.
var ErrUnavailable = errors.New("the directory cannot say which groups the user is in")

// Resolver resolves users through its sources, with a cache.
type Resolver struct {
	sources []Source
	opts    Options
	flight  singleflight.Group

	mu    sync.Mutex
	cache map[string]*cached
	gen   atomic.Uint64 // bumped by Invalidate: answers fetched before are not stored
}

type cached struct {
	entry   Entry
	fetched time.Time
	used    time.Time
}

// New returns a Resolver over sources (asked in this order; at least one).
func New(opts Options, sources ...Source) (*Resolver, error) {
	if len(sources) == 0 {
		return nil, errors.New("directory: no source")
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.StaleFor == 0 {
		opts.StaleFor = DefaultStaleFor
	}
	if opts.MaxUsers <= 0 {
		opts.MaxUsers = DefaultMaxUsers
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	return &Resolver{sources: sources, opts: opts, cache: map[string]*cached{}}, nil
}

// Sources names the sources, in order.
func (r *Resolver) Sources() []string {
	out := make([]string, len(r.sources))
	for i, s := range r.sources {
		out[i] = s.Name()
	}
	return out
}

// Resolve returns what the sources know of user (compared without regard
// to case), from the cache while it is fresh, and until when the caller may
// use it. It returns an error wrapping ErrUnavailable when a source cannot
// answer and no answer younger than TTL+StaleFor is at hand; while it
// answers from such a stale answer, it asks the sources again every few
// seconds.
func (r *Resolver) Resolve(ctx context.Context, user string) (e Entry, expires time.Time, err error) {
	key := catalog.FoldName(user)
	now := r.opts.now()
	r.mu.Lock()
	c := r.cache[key]
	if c != nil && now.Sub(c.fetched) < r.opts.TTL {
		c.used = now
		r.mu.Unlock()
		r.observe("hit", "", 0)
		return c.entry, c.fetched.Add(r.opts.TTL), nil
	}
	gen := r.gen.Load()
	r.mu.Unlock()

	// One lookup per user and generation at a time: a request after an
	// Invalidate never joins a lookup that began before it. The lookup
	// does not end with the first caller's context (each source bounds its
	// own time): a client that goes away does not fail the others.
	lctx := context.WithoutCancel(ctx)
	v, err, _ := r.flight.Do(fmt.Sprintf("%d\x00%s", gen, key), func() (any, error) { return r.lookup(lctx, key) })
	if err == nil {
		fresh := v.(Entry)
		r.store(key, fresh, now, gen)
		return fresh, now.Add(r.opts.TTL), nil
	}
	// A stale answer serves only if nothing was invalidated since it was
	// read: an invalidated one is known to be out of date.
	if c != nil && r.opts.StaleFor > 0 && now.Sub(c.fetched) < r.opts.TTL+r.opts.StaleFor && r.gen.Load() == gen {
		r.observe("stale", "", 0)
		// Ask again soon: a stale answer is good for one retry interval.
		return c.entry, now.Add(min(r.opts.TTL, 5*time.Second)), nil
	}
	return Entry{}, time.Time{}, fmt.Errorf("%w %q: %v", ErrUnavailable, user, err)
}

// lookup asks every source and merges the answers. Any source's failure
// fails the whole lookup: a partial group list would decide on a guess.
func (r *Resolver) lookup(ctx context.Context, user string) (Entry, error) {
	var out Entry
	for _, s := range r.sources {
		t0 := r.opts.now()
		e, err := s.Lookup(ctx, user)
		took := r.opts.now().Sub(t0)
		if err != nil {
			r.observe("error", s.Name(), took)
			return Entry{}, fmt.Errorf("%s: %w", s.Name(), err)
		}
		r.observe("lookup", s.Name(), took)
		if !e.Found {
			continue
		}
		out.Found = true
		for _, m := range e.Groups {
			out.Groups = append(out.Groups, Membership{Group: catalog.FoldName(m.Group), Source: s.Name()})
		}
		for k, v := range e.Attributes {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			if _, ok := out.Attributes[k]; !ok {
				out.Attributes[k] = v
			}
		}
	}
	slices.SortFunc(out.Groups, func(a, b Membership) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
	out.Groups = slices.Compact(out.Groups)
	return out, nil
}

func (r *Resolver) store(key string, e Entry, now time.Time, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen.Load() {
		return // invalidated while it was looked up: the answer may be older than the change
	}
	if len(r.cache) >= r.opts.MaxUsers {
		r.evict()
	}
	r.cache[key] = &cached{entry: e, fetched: now, used: now}
}

// evict forgets the least recently used tenth of the cache.
func (r *Resolver) evict() {
	type kv struct {
		k string
		t time.Time
	}
	all := make([]kv, 0, len(r.cache))
	for k, c := range r.cache {
		all = append(all, kv{k, c.used})
	}
	slices.SortFunc(all, func(a, b kv) int { return a.t.Compare(b.t) })
	for _, x := range all[:max(1, len(all)/10)] {
		delete(r.cache, x.k)
	}
}

// Invalidate forgets user's cached answer (every user's when user is ""),
// so that the next request asks the sources: after a change a source
// reports (SCIM, a reloaded file).
func (r *Resolver) Invalidate(user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen.Add(1)
	if user == "" {
		clear(r.cache)
		return
	}
	delete(r.cache, catalog.FoldName(user))
}

// Generation changes whenever Invalidate is called: a caller holding an
// answer compares it to drop the answer at once after a change.
func (r *Resolver) Generation() uint64 { return r.gen.Load() }

func (r *Resolver) observe(outcome, source string, took time.Duration) {
	if r.opts.Observe != nil {
		r.opts.Observe(outcome, source, took)
	}
}
