package planner

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
)

// Issue 13: connections beyond --max-connections wait instead of failing
// the whole server; the one waiting is served once another closes.
func TestConnectionCap(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConnections = 2 })
	host := e.base[len("http://"):]
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", host)
		require.NoError(t, err)
		held = append(held, c)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.client("bob").WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
		done <- err
	}()
	require.Eventually(t, func() bool { return testutil.ToFloat64(e.srv.metrics.connWaits) >= 1 }, 10*time.Second, 10*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("answered past the cap: %v", err)
	default:
	}
	require.NoError(t, held[0].Close())
	require.NoError(t, <-done)
	require.NoError(t, held[1].Close())
}

// Issue 13: a body that trickles in does not hold one of the planner's
// slots while it does: with one slot, another user is answered meanwhile.
func TestSlowBodyHoldsNoSlot(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.FairSlots, c.ReadTimeout = 1, 20*time.Second })
	host := e.base[len("http://"):]
	slow, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer slow.Close()
	_, err = fmt.Fprintf(slow, "POST /lakegate.v1.PlannerService/WhoAmI HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // well under the read timeout
	defer cancel()
	_, err = e.client("alice").WhoAmI(ctx, connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.NoError(t, err, "alice waited behind a body that never came")
}

// One peer address holds at most --max-connections-per-peer connections:
// more are closed at once (not queued), so a single host cannot take every
// connection and make everyone else wait.
func TestConnectionsPerPeer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConnectionsPerPeer = 2 })
	host := e.base[len("http://"):]
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", host)
		require.NoError(t, err)
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", host)
	require.NoError(t, err)
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = extra.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the third connection is closed at once, not left waiting")
	require.Equal(t, 1.0, testutil.ToFloat64(e.srv.metrics.connRefused))
	for _, c := range held {
		require.NoError(t, c.Close())
	}
	require.Eventually(t, func() bool {
		_, err := e.client("bob").WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "the peer's connections are counted down when they close")
}
