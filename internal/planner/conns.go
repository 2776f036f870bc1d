package planner

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Bounded connections: at most a fixed number of client connections are
// open at once (Config.MaxConnections, and never more than the process's
// descriptor limit allows, less a reserve for the store, the audit log and
// the listener itself). Beyond it new connections wait in the kernel's
// listen backlog until one closes, instead of failing every accept with
// "too many open files" as slow clients pile up. Together with the read
// timeout (a request's headers and body must arrive within it) a slow
// client holds a connection for a bounded time. And one peer address may
// hold at most Config.MaxConnectionsPerPeer of them: more are closed at
// once, so a single host cannot take every connection and make everyone
// else wait.

const fdReserve = 64

type capListener struct {
	net.Listener
	s        *Server
	sem      chan struct{}
	lastWarn atomic.Int64

	perPeer     int // 0: no per-peer bound
	mu          sync.Mutex
	peers       map[string]int
	lastRefusal atomic.Int64
}

func (s *Server) limitConnections(ln net.Listener) net.Listener {
	n := s.cfg.MaxConnections
	if lim := descriptorLimit(); lim > 0 && lim-fdReserve < n {
		n = max(lim-fdReserve, 16)
		s.log.Warn("the descriptor limit is below --max-connections; fewer connections will be open at once",
			"max_connections", n, "descriptor_limit", lim)
	}
	return &capListener{Listener: ln, s: s, sem: make(chan struct{}, n), perPeer: s.cfg.MaxConnectionsPerPeer, peers: map[string]int{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		if now := time.Now().UnixNano(); now-l.lastWarn.Load() > int64(time.Minute) {
			l.lastWarn.Store(now)
			l.s.log.Warn("connection limit reached: new connections wait until one closes",
				"max_connections", cap(l.sem))
		}
		l.s.metrics.connWaits.Inc()
		l.sem <- struct{}{}
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		peer := peerHost(c.RemoteAddr().String())
		if !l.admit(peer) {
			_ = c.Close() // the slot stays ours for the next connection
			continue
		}
		return &capConn{Conn: c, release: sync.OnceFunc(func() {
			l.leave(peer)
			<-l.sem
		})}, nil
	}
}

// admit counts a connection of peer, or refuses it when peer holds its
// share already.
func (l *capListener) admit(peer string) bool {
	if l.perPeer <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers[peer] >= l.perPeer {
		l.s.metrics.connRefused.Inc()
		if now := time.Now().UnixNano(); now-l.lastRefusal.Load() > int64(time.Minute) {
			l.lastRefusal.Store(now)
			l.s.log.Warn("connection refused: its peer holds --max-connections-per-peer already (logged once a minute; see lakegate_connections_refused_total)",
				"peer", peer, "max_connections_per_peer", l.perPeer)
		}
		return false
	}
	l.peers[peer]++
	return true
}

func (l *capListener) leave(peer string) {
	if l.perPeer <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers[peer]--; l.peers[peer] <= 0 {
		delete(l.peers, peer)
	}
}

type capConn struct {
	net.Conn
	release func()
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
