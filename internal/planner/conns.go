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
// client holds a connection for a bounded time.

const fdReserve = 64

type capListener struct {
	net.Listener
	s        *Server
	sem      chan struct{}
	lastWarn atomic.Int64
}

func (s *Server) limitConnections(ln net.Listener) net.Listener {
	n := s.cfg.MaxConnections
	if lim := descriptorLimit(); lim > 0 && lim-fdReserve < n {
		n = max(lim-fdReserve, 16)
		s.log.Warn("the descriptor limit is below --max-connections; fewer connections will be open at once",
			"max_connections", n, "descriptor_limit", lim)
	}
	return &capListener{Listener: ln, s: s, sem: make(chan struct{}, n)}
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
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &capConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
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
