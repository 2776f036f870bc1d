package session

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// order lists a shard's ids from most to least recently used.
func (s *shard[V]) order() []string {
	var out []string
	for i := s.head; i != none; i = s.entries[i].next {
		out = append(out, s.entries[i].key)
	}
	return out
}

// check verifies a table's internal invariants.
func (t *Table[V]) check(tb testing.TB) {
	tb.Helper()
	total := 0
	for k := range t.shards {
		s := &t.shards[k]
		s.mu.Lock()
		total += s.max
		require.LessOrEqual(tb, len(s.m), s.max)
		require.LessOrEqual(tb, cap(s.entries), max(s.max, 0))
		seen := 0
		prev := uint32(none)
		for i := s.head; i != none; i = s.entries[i].next {
			e := &s.entries[i]
			require.Equal(tb, prev, e.prev)
			j, ok := s.m[e.key]
			require.True(tb, ok)
			require.Equal(tb, i, j)
			prev = i
			seen++
		}
		require.Equal(tb, prev, s.tail)
		require.Equal(tb, len(s.m), seen)
		free := 0
		for i := s.free; i != none; i = s.entries[i].next {
			free++
		}
		require.Equal(tb, len(s.entries), seen+free)
		s.mu.Unlock()
	}
	require.Equal(tb, t.capacity, total, "capacity is split exactly")
}

// sameShard returns n ids that fall into one shard of t.
func sameShard[V any](t *Table[V], n int) []string {
	var ids []string
	target := t.shard("anchor")
	for i := 0; len(ids) < n; i++ {
		id := fmt.Sprintf("id-%d", i)
		if t.shard(id) == target {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestShardCount(t *testing.T) {
	for _, c := range []struct{ capacity, shards int }{
		{0, 1}, {1, 1}, {15, 1}, {31, 1}, {32, 2}, {100, 4}, {1000, 32}, {1024, 64}, {DefaultCapacity, 64},
	} {
		tb := New[int](c.capacity)
		require.Len(t, tb.shards, c.shards, "capacity %d", c.capacity)
		require.Equal(t, c.capacity, tb.Cap())
		tb.check(t)
	}
}

func TestLRUOrderPerShard(t *testing.T) {
	tb := New[int](64 * 16) // 64 shards of 16
	require.Len(t, tb.shards, 64)
	ids := sameShard(tb, 20)
	s := tb.shard(ids[0])
	for i, id := range ids[:16] {
		tb.Put(id, i)
	}
	require.Equal(t, []string{ids[15], ids[14], ids[13]}, s.order()[:3])
	v, ok := tb.Get(ids[0]) // 0 becomes the most recent: 1 is the oldest now
	require.True(t, ok)
	require.Equal(t, 0, v)
	require.Equal(t, ids[0], s.order()[0])
	require.Equal(t, ids[1], s.order()[15])

	tb.Put(ids[16], 16)
	_, ok = tb.Get(ids[1])
	require.False(t, ok, "least recently used of the shard is evicted")
	_, ok = tb.Get(ids[0])
	require.True(t, ok, "touched by Get, survives")

	tb.Put(ids[2], 200) // replacing also refreshes
	tb.Put(ids[17], 17)
	_, ok = tb.Get(ids[3])
	require.False(t, ok)
	v, ok = tb.Get(ids[2])
	require.True(t, ok)
	require.Equal(t, 200, v)

	require.Equal(t, uint64(2), tb.Evictions())
	require.Equal(t, 16, tb.Len(), "other shards are untouched")
	tb.check(t)
}

func TestReplaceDoesNotGrow(t *testing.T) {
	tb := New[string](10)
	tb.Put("a", "1")
	tb.Put("a", "2")
	tb.Put("a", "3")
	require.Equal(t, 1, tb.Len())
	v, ok := tb.Get("a")
	require.True(t, ok)
	require.Equal(t, "3", v)
	require.Zero(t, tb.Evictions())
	tb.check(t)
}

func TestCapacityOne(t *testing.T) {
	tb := New[int](1)
	tb.Put("a", 1)
	tb.Put("b", 2)
	require.Equal(t, 1, tb.Len())
	_, ok := tb.Get("a")
	require.False(t, ok)
	v, ok := tb.Get("b")
	require.True(t, ok)
	require.Equal(t, 2, v)
	require.Equal(t, uint64(1), tb.Evictions())
	tb.Delete("b")
	require.Zero(t, tb.Len())
	tb.Put("c", 3)
	require.Equal(t, 1, tb.Len())
	require.Equal(t, uint64(1), tb.Evictions(), "the freed slot is reused, nothing evicted")
	tb.check(t)
}

func TestCapacityZero(t *testing.T) {
	tb := New[int](0)
	tb.Put("a", 1)
	_, ok := tb.Get("a")
	require.False(t, ok)
	require.Zero(t, tb.Len())
	tb.Delete("a")
	require.Panics(t, func() { New[int](-1) })
}

func TestCapacitySmallerThanShardCount(t *testing.T) {
	for _, capacity := range []int{2, 10, 40, 63, 100, 1000} {
		tb := New[int](capacity)
		require.LessOrEqual(t, len(tb.shards), capacity)
		for i := range 10 * capacity {
			tb.Put(fmt.Sprint(i), i)
			require.LessOrEqual(t, tb.Len(), capacity)
		}
		tb.check(t)
		require.Equal(t, capacity, tb.Len(), "capacity %d: every shard fills up", capacity)
		require.Equal(t, uint64(9*capacity), tb.Evictions())
	}
}

func TestCapacityNeverExceeded(t *testing.T) {
	const capacity = 5000
	tb := New[int](capacity)
	for i := range 50_000 {
		tb.Put(fmt.Sprintf("s%d", i), i)
		if i%997 == 0 {
			require.LessOrEqual(t, tb.Len(), capacity)
		}
	}
	require.Equal(t, capacity, tb.Len())
	tb.check(t)
}

func TestEviction(t *testing.T) {
	const n, capacity = 20_000, 100
	tb := New[int](capacity)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("session-%05d", i)
		tb.Put(ids[i], i)
	}
	require.LessOrEqual(t, tb.Len(), capacity)
	require.Equal(t, uint64(n-tb.Len()), tb.Evictions())
	hits := 0
	for i, id := range ids {
		v, ok := tb.Get(id)
		if ok {
			hits++
			require.Equal(t, i, v)
			require.GreaterOrEqual(t, i, n-10*capacity, "only recent ids survive")
		}
	}
	require.Equal(t, tb.Len(), hits, "every evicted id misses")
	_, ok := tb.Get(ids[n-1])
	require.True(t, ok, "the newest id is present")
	_, ok = tb.Get(ids[0])
	require.False(t, ok)
	tb.check(t)
}

func TestDelete(t *testing.T) {
	tb := New[int](100)
	for i := range 50 {
		tb.Put(fmt.Sprint(i), i)
	}
	for i := 0; i < 50; i += 2 {
		tb.Delete(fmt.Sprint(i))
	}
	tb.Delete("absent")
	require.Equal(t, 25, tb.Len())
	tb.check(t)
	for i := range 50 {
		_, ok := tb.Get(fmt.Sprint(i))
		require.Equal(t, i%2 == 1, ok, i)
	}
	for i := 100; i < 2000; i++ { // reuses the freed slots, then evicts
		tb.Put(fmt.Sprint(i), i)
	}
	require.Equal(t, 100, tb.Len())
	tb.check(t)
}

func TestPutCopiesID(t *testing.T) {
	tb := New[int](10)
	buf := []byte("request-buffer:session-1:rest")
	id := string(buf[15:24])
	tb.Put(id, 1)
	s := tb.shard(id)
	k := s.entries[s.m[id]].key
	require.Equal(t, "session-1", k)
	require.NotSame(t, unsafe.StringData(id), unsafe.StringData(k), "the table keeps its own copy")
}

func TestConcurrentAccess(t *testing.T) {
	const capacity, ids, workers, ops = 1000, 5000, 8, 20_000
	tb := New[string](capacity)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				id := fmt.Sprintf("s%d", r.IntN(ids))
				switch op := r.IntN(10); {
				case op < 6:
					if v, ok := tb.Get(id); ok && v != "v-"+id {
						t.Errorf("Get(%s) = %s", id, v)
						return
					}
				case op < 9:
					tb.Put(id, "v-"+id)
				default:
					tb.Delete(id)
				}
				if tb.Len() > capacity {
					t.Errorf("Len %d > capacity", tb.Len())
					return
				}
			}
		})
	}
	wg.Wait()
	tb.check(t)
	require.LessOrEqual(t, tb.Len(), capacity)
}

// sessionValue is what the planner stores per session.
type sessionValue struct {
	principal *principal
	tokenHash [32]byte
	expiry    int64
}

type principal struct {
	user   string
	groups []string
}

// uuidLike writes a 36-byte UUID-shaped id for n into buf.
func uuidLike(buf *[36]byte, n uint64) string {
	var raw [16]byte
	x := n*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	y := (n ^ 0xD1B54A32D192ED03) * 0xBF58476D1CE4E5B9
	for i := range 8 {
		raw[i] = byte(x >> (8 * i))
		raw[8+i] = byte(y >> (8 * i))
	}
	var h [32]byte
	hex.Encode(h[:], raw[:])
	copy(buf[0:8], h[0:8])
	buf[8] = '-'
	copy(buf[9:13], h[8:12])
	buf[13] = '-'
	copy(buf[14:18], h[12:16])
	buf[18] = '-'
	copy(buf[19:23], h[16:20])
	buf[23] = '-'
	copy(buf[24:36], h[20:32])
	return string(buf[:])
}

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func TestMemoryMillionSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million sessions")
	}
	const n = 1_000_000
	shared := &principal{user: "alice@example.com", groups: []string{"analysts", "eu"}}
	before := heapInuse()
	tb := New[sessionValue](DefaultCapacity)
	var buf [36]byte
	for i := range uint64(n) {
		v := sessionValue{principal: shared, expiry: int64(i)}
		v.tokenHash[0], v.tokenHash[31] = byte(i), byte(i>>8)
		tb.Put(uuidLike(&buf, i), v)
	}
	after := heapInuse()
	require.Equal(t, n, tb.Len())
	require.Zero(t, tb.Evictions())
	delta := after - before
	t.Logf("1,000,000 sessions: HeapInuse delta %.1f MiB (%.0f bytes/session)",
		float64(delta)/(1<<20), float64(delta)/n)
	v, ok := tb.Get(uuidLike(&buf, 123456))
	require.True(t, ok)
	require.Equal(t, int64(123456), v.expiry)
	runtime.KeepAlive(tb)
	require.LessOrEqual(t, delta, uint64(512<<20), "1M sessions must fit in 512 MiB")
}

func benchIDs(n int) []string {
	ids := make([]string, n)
	var buf [36]byte
	for i := range ids {
		ids[i] = uuidLike(&buf, uint64(i))
	}
	return ids
}

func BenchmarkGetParallel(b *testing.B) {
	const n = 1 << 19 // well below capacity: no shard overflows, every Get hits
	ids := benchIDs(n)
	tb := New[sessionValue](DefaultCapacity)
	p := &principal{user: "alice"}
	for i, id := range ids {
		tb.Put(id, sessionValue{principal: p, expiry: int64(i)})
	}
	var seq sync.Mutex
	seed := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seq.Lock()
		seed++
		r := rand.New(rand.NewPCG(seed, 2))
		seq.Unlock()
		for pb.Next() {
			if _, ok := tb.Get(ids[r.IntN(n)]); !ok {
				b.Error("miss")
				return
			}
		}
	})
}

// BenchmarkGetParallelHot is the common case: a few thousand active sessions
// queried again and again, all in cache.
func BenchmarkGetParallelHot(b *testing.B) {
	const n = 4096
	ids := benchIDs(n)
	tb := New[sessionValue](DefaultCapacity)
	for i, id := range ids {
		tb.Put(id, sessionValue{expiry: int64(i)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := tb.Get(ids[i%n]); !ok {
				b.Error("miss")
				return
			}
			i += 7
		}
	})
}

func BenchmarkPut(b *testing.B) {
	// Four times more ids than room: most Puts evict.
	const capacity = 1 << 16
	ids := benchIDs(4 * capacity)
	tb := New[sessionValue](capacity)
	p := &principal{user: "alice"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tb.Put(ids[i%len(ids)], sessionValue{principal: p, expiry: int64(i)})
	}
}

func BenchmarkPutParallel(b *testing.B) {
	const capacity = 1 << 16
	ids := benchIDs(4 * capacity)
	tb := New[sessionValue](capacity)
	p := &principal{user: "alice"}
	var seq sync.Mutex
	seed := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seq.Lock()
		seed++
		r := rand.New(rand.NewPCG(seed, 3))
		seq.Unlock()
		for pb.Next() {
			tb.Put(ids[r.IntN(len(ids))], sessionValue{principal: p})
		}
	})
}
