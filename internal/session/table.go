package session

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"
)

// DefaultCapacity is the default of --max-sessions.
const DefaultCapacity = 1 << 20

const (
	maxShards   = 64
	minPerShard = 16 // small tables use fewer shards so each LRU stays useful
	none        = math.MaxUint32
)

// Table is a bounded, sharded LRU map from session id to V. It is safe for
// concurrent use. The zero value is not usable; call New.
type Table[V any] struct {
	seed     maphash.Seed
	mask     uint64
	capacity int
	shards   []shard[V]
}

type shard[V any] struct {
	mu        sync.Mutex
	m         map[string]uint32 // id -> index in entries
	entries   []entry[V]        // grows up to max, then slots are reused
	head      uint32            // most recently used, or none
	tail      uint32            // least recently used, or none
	free      uint32            // first free slot (after Delete), linked by next
	max       int
	evictions uint64
	_         [128]byte // keep neighbouring shards' locks off this cache line
}

type entry[V any] struct {
	key        string
	val        V
	prev, next uint32
}

// New returns a table that holds at most capacity sessions. A capacity of 0
// gives a table that stores nothing (every Get misses). New panics if
// capacity is negative.
func New[V any](capacity int) *Table[V] {
	if capacity < 0 {
		panic("session: negative capacity")
	}
	n := maxShards
	for n > 1 && capacity/n < minPerShard {
		n /= 2
	}
	t := &Table[V]{
		seed:     maphash.MakeSeed(),
		mask:     uint64(n - 1),
		capacity: capacity,
		shards:   make([]shard[V], n),
	}
	for i := range t.shards {
		s := &t.shards[i]
		s.max = capacity / n
		if i < capacity%n {
			s.max++
		}
		if s.max > none-1 {
			s.max = none - 1 // indexes are 32-bit; no real table gets near this
		}
		s.m = make(map[string]uint32)
		s.head, s.tail, s.free = none, none, none
	}
	return t
}

func (t *Table[V]) shard(id string) *shard[V] {
	return &t.shards[maphash.String(t.seed, id)&t.mask]
}

// Get returns the value stored for id and marks it as the most recently used
// of its shard.
func (t *Table[V]) Get(id string) (V, bool) {
	s := t.shard(id)
	s.mu.Lock()
	i, ok := s.m[id]
	if !ok {
		s.mu.Unlock()
		var zero V
		return zero, false
	}
	if s.head != i {
		s.unlink(i)
		s.pushFront(i)
	}
	v := s.entries[i].val
	s.mu.Unlock()
	return v, true
}

// Put stores v for id, replacing any previous value, and marks it as the most
// recently used of its shard. When the shard is full its least recently used
// session is evicted.
func (t *Table[V]) Put(id string, v V) {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.m[id]; ok {
		s.entries[i].val = v
		if s.head != i {
			s.unlink(i)
			s.pushFront(i)
		}
		return
	}
	if s.max == 0 {
		return
	}
	var i uint32
	switch {
	case len(s.m) >= s.max:
		i = s.tail
		s.unlink(i)
		delete(s.m, s.entries[i].key)
		s.evictions++
	case s.free != none:
		i = s.free
		s.free = s.entries[i].next
	default:
		if len(s.entries) == cap(s.entries) {
			s.grow()
		}
		i = uint32(len(s.entries))
		s.entries = s.entries[:i+1]
	}
	e := &s.entries[i]
	// Copy the id: it is often a slice of a larger request buffer that the
	// table must not keep alive.
	e.key = strings.Clone(id)
	e.val = v
	s.m[e.key] = i
	s.pushFront(i)
}

// Delete removes id from the table, if present.
func (t *Table[V]) Delete(id string) {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.m[id]
	if !ok {
		return
	}
	delete(s.m, id)
	s.unlink(i)
	s.entries[i] = entry[V]{next: s.free, prev: none} // drop references for the GC
	s.free = i
}

// Len returns the number of sessions in the table.
func (t *Table[V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Cap returns the capacity the table was created with.
func (t *Table[V]) Cap() int { return t.capacity }

// Evictions returns how many sessions were evicted to make room since the
// table was created (Delete and replacement do not count).
func (t *Table[V]) Evictions() uint64 {
	var n uint64
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.evictions
		s.mu.Unlock()
	}
	return n
}

// grow enlarges entries, doubling but never past the shard's capacity, so a
// full table holds no slack.
func (s *shard[V]) grow() {
	n := 2 * cap(s.entries)
	if n < 8 {
		n = 8
	}
	if n > s.max {
		n = s.max
	}
	grown := make([]entry[V], len(s.entries), n)
	copy(grown, s.entries)
	s.entries = grown
}

func (s *shard[V]) unlink(i uint32) {
	e := &s.entries[i]
	if e.prev != none {
		s.entries[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next != none {
		s.entries[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (s *shard[V]) pushFront(i uint32) {
	e := &s.entries[i]
	e.prev, e.next = none, s.head
	if s.head != none {
		s.entries[s.head].prev = i
	} else {
		s.tail = i
	}
	s.head = i
}
