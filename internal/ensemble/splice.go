package ensemble

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// GetObject bodies from a plain-HTTP upstream (an S3-compatible store next
// to the proxy) are relayed socket to socket: the request goes out on a
// connection of the proxy's own pool, with net/http writing the request and
// parsing the response, and the body is handed to the client connection's
// ReadFrom as a LimitedReader over the upstream TCP connection, which Linux
// serves with splice(2): the bytes never enter the proxy's memory. Over TLS
// (AWS S3 itself) the bytes must be decrypted anyway, and requests take the
// http.Transport path.

// spliceMin is the body size from which a GET body is spliced; smaller ones
// are copied (a splice costs a pipe and more system calls).
const spliceMin = 256 << 10

const (
	rawIdleTimeout    = 90 * time.Second
	rawMaxIdlePerHost = 256
)

// rawConn is one upstream connection of the splice path.
type rawConn struct {
	tcp      *net.TCPConn
	br       *bufio.Reader
	bw       *bufio.Writer
	idleFrom time.Time
	reused   bool
}

// rawPool keeps idle upstream connections, keyed by host:port.
type rawPool struct {
	dialer net.Dialer
	dials  atomic.Int64 // connections opened, for tests
	mu     sync.Mutex
	idle   map[string][]*rawConn
}

func newRawPool() *rawPool {
	return &rawPool{dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, idle: map[string][]*rawConn{}}
}

func (p *rawPool) get(ctx context.Context, hostport string) (*rawConn, error) {
	now := time.Now()
	p.mu.Lock()
	for conns := p.idle[hostport]; len(conns) > 0; conns = p.idle[hostport] {
		c := conns[len(conns)-1]
		p.idle[hostport] = conns[:len(conns)-1]
		if now.Sub(c.idleFrom) < rawIdleTimeout {
			p.mu.Unlock()
			c.reused = true
			return c, nil
		}
		_ = c.tcp.Close()
	}
	p.mu.Unlock()
	p.dials.Add(1)
	nc, err := p.dialer.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, errors.New("the upstream connection is not TCP")
	}
	return &rawConn{tcp: tcp, br: bufio.NewReaderSize(tcp, 64<<10), bw: bufio.NewWriterSize(tcp, 4<<10)}, nil
}

// put gives back a connection whose last response was read to its end.
func (p *rawPool) put(hostport string, c *rawConn) {
	c.idleFrom = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[hostport]) >= rawMaxIdlePerHost {
		_ = c.tcp.Close()
		return
	}
	p.idle[hostport] = append(p.idle[hostport], c)
}

func (p *rawPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, conns := range p.idle {
		for _, c := range conns {
			_ = c.tcp.Close()
		}
		delete(p.idle, k)
	}
}

// spliceable tells whether a GetObject from r can take the splice path: a
// plain-HTTP upstream reached without an HTTP proxy, and an HTTP/1 client
// (whose connection is the one net/http splices into).
func (u *upstream) spliceable(r *http.Request, op string) bool {
	return u.raw != nil && op == "GetObject" && r.ProtoMajor == 1
}

// rawExchange is a GET in flight on the splice path.
type rawExchange struct {
	pool     *rawPool
	hostport string
	conn     *rawConn
	resp     *http.Response
	stop     func() bool
}

// getRaw sends a signed GET on a pooled connection and reads the response
// head. A reused connection the upstream closed meanwhile is replaced once
// (GET is idempotent, and nothing of the response was read).
func (u *upstream) getRaw(ctx context.Context, req *http.Request) (*rawExchange, error) {
	hostport := req.URL.Host
	if req.URL.Port() == "" {
		hostport = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	for attempt := 0; ; attempt++ {
		c, err := u.raw.get(ctx, hostport)
		if err != nil {
			return nil, err
		}
		// The context (the client's request) ends the exchange at any point.
		stop := context.AfterFunc(ctx, func() { _ = c.tcp.SetDeadline(time.Unix(1, 0)) })
		_ = c.tcp.SetReadDeadline(time.Now().Add(5 * time.Minute)) // as the transport's ResponseHeaderTimeout
		err = req.Write(c.bw)
		if err == nil {
			err = c.bw.Flush()
		}
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(c.br, req)
		}
		if err == nil {
			_ = c.tcp.SetReadDeadline(time.Time{})
			return &rawExchange{pool: u.raw, hostport: hostport, conn: c, resp: resp, stop: stop}, nil
		}
		stop()
		_ = c.tcp.Close()
		if !c.reused || attempt > 0 || ctx.Err() != nil {
			return nil, err
		}
	}
}

// relay sends the response to the client: headers as relay does, the body
// spliced when it is large enough and the client connection allows it.
// The upstream connection goes back to the pool only when the body was read
// to its end.
func (x *rawExchange) relay(w http.ResponseWriter, requestID string) (int64, error) {
	resp := x.resp
	reusable := false
	defer func() {
		x.stop()
		if reusable && !resp.Close && x.conn.tcp.SetDeadline(time.Time{}) == nil {
			x.pool.put(x.hostport, x.conn)
		} else {
			_ = x.conn.tcp.Close()
		}
	}()
	rf, canSplice := w.(io.ReaderFrom)
	cl := resp.ContentLength
	if !canSplice || cl < spliceMin || len(resp.TransferEncoding) > 0 ||
		(resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent) {
		n, err := relay(w, resp, requestID)
		if err == nil {
			// The body was read to its end (EOF): the connection is at the next response.
			reusable = resp.Body.Close() == nil
		}
		return n, err
	}
	writeHead(w, resp, requestID)
	// What the response head's read already buffered, then the rest socket to socket.
	n, err := io.CopyN(writerOnly{w}, x.conn.br, min(int64(x.conn.br.Buffered()), cl))
	if err == nil && n < cl {
		var m int64
		m, err = rf.ReadFrom(&io.LimitedReader{R: x.conn.tcp, N: cl - n})
		n += m
	}
	if err == nil && n < cl {
		err = io.ErrUnexpectedEOF
	}
	reusable = err == nil
	return n, err
}
