// Package fairshare admits work into a fixed number of slots and shares them
// fairly between keys (the planner keys by user). While slots are free, work
// enters at once. When they are all taken, waiting work is admitted key by
// key in turn (round-robin), one piece per key per turn, so a key that sends
// a flood of concurrent requests gets no more slots than a key that sends
// one at a time: it waits behind itself, not in front of others. Each key may
// have a bounded number of pieces waiting; more is refused at once.
package fairshare

import (
	"context"
	"errors"
	"sync"
)

// ErrBusy is returned when a key already has its maximum of waiting work.
var ErrBusy = errors.New("too many requests waiting")

// Gate is safe for concurrent use.
type Gate struct {
	mu       sync.Mutex
	free     int
	maxQueue int
	queues   map[string][]*waiter
	ring     []string // keys with waiters, in turn order
	next     int      // index in ring of the key served next
}

type waiter struct {
	ch      chan struct{} // closed when admitted
	granted bool
}

// New returns a gate of slots slots (at least 1) allowing maxQueue waiting
// pieces of work per key (at least 1).
func New(slots, maxQueue int) *Gate {
	return &Gate{free: max(slots, 1), maxQueue: max(maxQueue, 1), queues: map[string][]*waiter{}}
}

// Enter waits for a slot for key. It returns the function that gives the
// slot back (call it exactly once), ErrBusy, or ctx's error.
func (g *Gate) Enter(ctx context.Context, key string) (func(), error) {
	g.mu.Lock()
	if g.free > 0 && len(g.ring) == 0 {
		g.free--
		g.mu.Unlock()
		return g.release, nil
	}
	q := g.queues[key]
	if len(q) >= g.maxQueue {
		g.mu.Unlock()
		return nil, ErrBusy
	}
	w := &waiter{ch: make(chan struct{})}
	if len(q) == 0 {
		g.ring = append(g.ring, key)
	}
	g.queues[key] = append(q, w)
	g.mu.Unlock()

	select {
	case <-w.ch:
		return g.release, nil
	case <-ctx.Done():
		g.mu.Lock()
		if w.granted { // admitted meanwhile: hand the slot on
			g.mu.Unlock()
			g.release()
		} else {
			g.remove(key, w)
			g.mu.Unlock()
		}
		return nil, ctx.Err()
	}
}

// release gives a slot back: to the next key in turn if any waits.
func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.ring) == 0 {
		g.free++
		return
	}
	if g.next >= len(g.ring) {
		g.next = 0
	}
	key := g.ring[g.next]
	q := g.queues[key]
	w := q[0]
	if len(q) == 1 {
		delete(g.queues, key)
		g.ring = append(g.ring[:g.next], g.ring[g.next+1:]...) // the key after it is now at g.next
	} else {
		g.queues[key] = q[1:]
		g.next++
	}
	w.granted = true
	close(w.ch)
}

// remove takes a waiter that gave up out of its queue (g.mu held).
func (g *Gate) remove(key string, w *waiter) {
	q := g.queues[key]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		g.queues[key] = q
		return
	}
	delete(g.queues, key)
	for i, k := range g.ring {
		if k == key {
			g.ring = append(g.ring[:i], g.ring[i+1:]...)
			if i < g.next {
				g.next--
			}
			break
		}
	}
}

// Waiting returns how many pieces of work wait, for metrics.
func (g *Gate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, q := range g.queues {
		n += len(q)
	}
	return n
}
