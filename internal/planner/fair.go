package planner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/lakegate/lakegate/internal/fairshare"
)

// Bounded work per caller. Every API request, once its body has arrived,
// waits for one of the planner's slots (Config.FairSlots), and holds it until
// its answer is written, so the whole cost of a request — decoding its body,
// deciding, encoding the answer — is shared fairly between users
// (internal/fairshare): one user's flood waits behind itself.
//
// A request is keyed by the user its bearer token was verified for (a token
// the planner verified before is remembered by its hash, with its expiry). A
// token not verified yet — a new session, or garbage — is keyed by its
// peer's address: a flood of fresh or forged tokens waits behind itself too.
// The key decides turns only, never access: every request is authenticated
// by the handler as before.

type tokenUser struct {
	user    string
	expires int64 // UnixNano
}

func (s *Server) fairKey(r *http.Request) string {
	if tok, ok := bearerToken(r.Header); ok {
		hash := sha256.Sum256([]byte(tok))
		if u, hit := s.tokenUsers.Get(string(hash[:])); hit && time.Now().UnixNano() < u.expires {
			return "user:" + u.user
		}
	}
	return "peer:" + peerHost(r.RemoteAddr)
}

// describeKey names a fair-share key for messages.
func describeKey(key string) string {
	if u, ok := strings.CutPrefix(key, "user:"); ok {
		return "user " + u
	}
	return "the unauthenticated callers at " + strings.TrimPrefix(key, "peer:")
}

func peerHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// fair wraps the API handler with the fair-share gate.
func (s *Server) fair(next http.Handler) http.Handler {
	if s.gate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is read before the turn is taken: a slow body (an attacker
		// sending a byte every few seconds) must not hold a slot while it
		// trickles in. The server's read timeout bounds how long it may take.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			code := connect.CodeInvalidArgument
			if errors.As(err, &tooBig) {
				code = connect.CodeResourceExhausted
			}
			_ = connect.NewErrorWriter().Write(w, r, connect.NewError(code, fmt.Errorf("the request body could not be read: %w", err)))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := s.fairKey(r)
		t := &turn{s: s, key: key, peer: r.RemoteAddr}
		if err := t.enter(r.Context()); err != nil {
			_ = connect.NewErrorWriter().Write(w, r, err)
			return
		}
		defer t.leave()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), turnKey{}, t)))
	})
}

// turn is a request's fair-share slot: held from reading the request to
// writing the answer, except while it waits for the disk (leaveGate, then
// rejoinGate before it uses a CPU again).
type turn struct {
	s         *Server
	key, peer string
	mu        sync.Mutex
	release   func() // nil while out of the gate
}

// enter waits for a slot; the error is the API's (ResourceExhausted for a
// caller with too many requests waiting, Canceled).
func (t *turn) enter(ctx context.Context) error {
	release, err := t.s.gate.Enter(ctx, t.key)
	if err != nil {
		return t.s.gateError(t.key, t.peer, err)
	}
	t.mu.Lock()
	t.release = release
	t.mu.Unlock()
	return nil
}

func (t *turn) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.release != nil {
		t.release()
		t.release = nil
	}
}

func (s *Server) gateError(key, peer string, err error) error {
	if !errors.Is(err, fairshare.ErrBusy) {
		return connect.NewError(connect.CodeCanceled, fmt.Errorf("the request was cancelled while waiting for its turn: %w", err))
	}
	s.metrics.throttled.Inc()
	if now := time.Now().UnixNano(); now-s.throttleWarned.Load() > int64(time.Minute) { // a flood must not flood the log
		s.throttleWarned.Store(now)
		s.log.Warn("requests refused: too many waiting for one caller (logged once a minute; see lakegate_requests_throttled_total)",
			"caller", key, "peer", peer)
	}
	return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf(
		"%s already has %d requests waiting for the planner; wait for answers before sending more", describeKey(key), s.cfg.MaxQueuedPerUser))
}

type turnKey struct{}

// leaveGate gives the request's fair-share slot back while it waits for
// the disk rather than using a CPU; a request without a slot (no gate) is
// unaffected.
func leaveGate(ctx context.Context) {
	if t, ok := ctx.Value(turnKey{}).(*turn); ok {
		t.leave()
	}
}

// rejoinGate takes a slot again, waiting its turn like any request, after
// leaveGate, before the request uses a CPU again.
func rejoinGate(ctx context.Context) error {
	t, ok := ctx.Value(turnKey{}).(*turn)
	if !ok {
		return nil
	}
	t.mu.Lock()
	in := t.release != nil
	t.mu.Unlock()
	if in {
		return nil
	}
	return t.enter(ctx)
}
