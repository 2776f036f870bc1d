package fairshare

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// admitOrder fills one slot, queues work for the given keys in that order,
// then releases slot after slot and returns the order of admission.
func admitOrder(t *testing.T, g *Gate, keys []string) []string {
	t.Helper()
	hold, err := g.Enter(context.Background(), "holder")
	require.NoError(t, err)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	releases := make(chan func(), len(keys))
	for i, k := range keys {
		wg.Add(1)
		go func(k string) {
			defer wg.Done()
			rel, err := g.Enter(context.Background(), k)
			require.NoError(t, err)
			mu.Lock()
			order = append(order, k)
			mu.Unlock()
			releases <- rel
		}(k)
		// Enqueued in the test's order: wait for this one before the next.
		require.Eventually(t, func() bool { return g.Waiting() == i+1 }, time.Second, time.Millisecond)
	}
	hold()
	for range keys {
		(<-releases)()
	}
	wg.Wait()
	return order
}

// A flood from one key does not go before another key's single request: the
// keys take turns.
func TestKeysTakeTurns(t *testing.T) {
	g := New(1, 100)
	keys := []string{"flood", "flood", "flood", "flood", "polite", "flood"}
	order := admitOrder(t, g, keys)
	require.Equal(t, []string{"flood", "polite", "flood", "flood", "flood", "flood"}, order)
	require.Equal(t, 1, g.free, "every slot came back")
}

func TestBusyAndCancel(t *testing.T) {
	g := New(1, 2)
	hold, err := g.Enter(context.Background(), "a")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { _, err := g.Enter(ctx, "b"); errs <- err }()
	}
	require.Eventually(t, func() bool { return g.Waiting() == 2 }, time.Second, time.Millisecond)
	_, err = g.Enter(context.Background(), "b")
	require.ErrorIs(t, err, ErrBusy)
	cancel()
	for i := 0; i < 2; i++ {
		require.True(t, errors.Is(<-errs, context.Canceled))
	}
	require.Equal(t, 0, g.Waiting())
	hold()
	require.Equal(t, 1, g.free)
	// A waiter admitted at the moment it gives up hands the slot on.
	rel, err := g.Enter(context.Background(), "a")
	require.NoError(t, err)
	rel()
	require.Equal(t, 1, g.free)
}

// Under load every slot is given back exactly once.
func TestNoSlotLeaks(t *testing.T) {
	g := New(3, 1000)
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
			defer cancel()
			rel, err := g.Enter(ctx, string(rune('a'+i%5)))
			if err == nil {
				time.Sleep(100 * time.Microsecond)
				rel()
			}
		}(i)
	}
	wg.Wait()
	require.Equal(t, 3, g.free)
	require.Equal(t, 0, g.Waiting())
	require.Empty(t, g.ring)
}
