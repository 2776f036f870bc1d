package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/directory"
	"github.com/lakegate/lakegate/internal/policy"
)

// sessionEntry caches one session's authentication. It is immutable; a new
// entry replaces it when the token changes.
type sessionEntry struct {
	tokenHash [32]byte
	expires   int64 // unix nanoseconds
	id        *identity
}

// identity is one distinct principal (user, groups, attributes, how it was
// verified), shared by all the sessions that present it, with its view —
// the principal with the directory's groups, and its subject — resolved
// against the newest policy version and directory answer seen. Sharing
// keeps a million sessions of a few thousand users small.
type identity struct {
	principal *authn.Principal // as verified; ExpiresAt is per token: see sessionEntry
	view      atomic.Pointer[view]
}

// view is an identity as decided on: the verified principal with the
// groups and attributes the directory adds, and its subject in one policy
// version. It is immutable.
type view struct {
	principal *authn.Principal
	subject   *policy.Subject
	// groups are the effective groups with their sources (the token's and
	// the directory's), for whoami.
	groups []directory.Membership
	// dirExpires and dirGen say until when the directory's answer holds
	// (zero without a directory).
	dirExpires time.Time
	dirGen     uint64
}

// viewAt returns id's view for pol, asking the directory again when its
// answer has expired or changed. A directory that cannot answer (past its
// stale window) is an error: no decision without the user's groups.
func (s *Server) viewAt(ctx context.Context, id *identity, pol *policy.Policy) (*view, error) {
	v := id.view.Load()
	if v != nil && v.subject.Version() == pol.Version() &&
		(s.dir == nil || (time.Now().Before(v.dirExpires) && v.dirGen == s.dir.Generation())) {
		return v, nil
	}
	nv := &view{principal: id.principal}
	if s.dir != nil {
		gen := s.dir.Generation()
		e, expires, err := s.dir.Resolve(ctx, id.principal.User)
		if err != nil {
			// The details (servers, DNs) are for the operator, not the client.
			s.log.Error("the directory cannot answer: refusing the request", "user", id.principal.User, "err", err)
			return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf(
				"the planner cannot tell which groups %s is in: the directory (%s) does not answer, so it decides nothing for them until it does (the planner's log says why)",
				id.principal.User, strings.Join(s.dir.Sources(), ", ")))
		}
		nv.principal, nv.groups = s.withDirectory(id.principal, e)
		nv.dirExpires, nv.dirGen = expires, gen
	} else {
		nv.groups = tokenGroups(id.principal)
	}
	nv.subject = pol.Subject(toPolicyPrincipal(nv.principal))
	id.view.Store(nv)
	return nv, nil
}

// withDirectory returns p with the directory's groups and attributes added
// (the token's own attributes win a disagreement) and the memberships with
// their sources. A cluster key's principal never gets the admin group, from
// the directory either.
func (s *Server) withDirectory(p *authn.Principal, e directory.Entry) (*authn.Principal, []directory.Membership) {
	out := *p
	ms := tokenGroups(p)
	for _, m := range e.Groups {
		if p.ClusterKey && strings.EqualFold(m.Group, s.cfg.AdminGroup) {
			continue
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b directory.Membership) int {
		return strings.Compare(a.Group+"\x00"+a.Source, b.Group+"\x00"+b.Source)
	})
	ms = slices.Compact(ms)
	out.Groups = nil
	for _, m := range ms {
		if len(out.Groups) == 0 || out.Groups[len(out.Groups)-1] != m.Group {
			out.Groups = append(out.Groups, m.Group)
		}
	}
	if len(e.Attributes) > 0 {
		out.Attributes = make(map[string]string, len(p.Attributes)+len(e.Attributes))
		for k, v := range e.Attributes {
			out.Attributes[k] = v
		}
		for k, v := range p.Attributes {
			out.Attributes[k] = v
		}
	}
	return &out, ms
}

// tokenGroups are p's groups as memberships from the token.
func tokenGroups(p *authn.Principal) []directory.Membership {
	ms := make([]directory.Membership, len(p.Groups))
	for i, g := range p.Groups {
		ms[i] = directory.Membership{Group: g, Source: "token"}
	}
	return ms
}

func identityKey(p *authn.Principal) string {
	var b strings.Builder
	b.WriteString(p.User)
	b.WriteByte(0)
	b.WriteString(p.Issuer)
	b.WriteByte(0)
	if p.SelfSigned {
		b.WriteByte('s')
	}
	if p.ClusterKey { // a cluster key's principal never shares the identity (and rights) of an IdP's
		b.WriteByte('c')
	}
	for _, g := range p.Groups {
		b.WriteByte(0)
		b.WriteString(g)
	}
	keys := make([]string, 0, len(p.Attributes))
	for k := range p.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(1)
		b.WriteString(k)
		b.WriteByte(2)
		b.WriteString(p.Attributes[k])
	}
	return b.String()
}

// caller is an authenticated request's principal resolved against the
// policy snapshot the request is served from.
type caller struct {
	principal *authn.Principal // with the directory's groups
	subject   *policy.Subject
	groups    []directory.Membership // principal's groups with their sources
	snap      *snapshot
	sessionID string
	client    string
	peer      string
	requestID string
	start     time.Time
}

func bearerToken(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate verifies the request's bearer token, through the session
// table when it can. The session key is the client's session id, or the
// token's hash when there is none; a cached entry is used only for the very
// same token, and only until it expires, so a borrowed session id gains
// nothing and an evicted session simply verifies again.
func (s *Server) authenticate(ctx context.Context, h http.Header, peer, sessionID, client, procedure string) (*caller, error) {
	c := &caller{sessionID: sessionID, client: client, peer: peer, requestID: requestID(ctx), start: time.Now(), snap: s.snapshot()}
	tok, ok := bearerToken(h)
	if !ok {
		return nil, s.authFailure(c, procedure, "missing_token",
			"no bearer token: send a JWT as 'Authorization: Bearer <token>' (for example from 'lakegate token' or OKERA_TOKEN)")
	}
	hash := sha256.Sum256([]byte(tok))
	key := sessionID
	if key == "" {
		key = "token:" + hex.EncodeToString(hash[:])
	} else {
		key = "session:" + key
	}
	now := time.Now()
	if e, hit := s.sessions.Get(key); hit && e.tokenHash == hash && now.UnixNano() < e.expires {
		v, err := s.viewAt(ctx, e.id, c.snap.policy)
		if err != nil {
			return nil, s.viewFailure(c, procedure, e.id.principal.User, err)
		}
		c.principal, c.subject, c.groups = v.principal, v.subject, v.groups
		return c, nil
	}
	p, err := s.verifier.Verify(tok, now)
	if err != nil {
		code, msg := "invalid_token", err.Error()
		var ae *authn.Error
		if errors.As(err, &ae) {
			code = ae.Code
		}
		return nil, s.authFailure(c, procedure, code, msg)
	}
	if p.ClusterKey {
		// Never the admin group, not even as a name: it would travel on (WhoAmI → the
		// ensemble's access keys → on-behalf decisions) to where the flag does not.
		p.Groups = slices.DeleteFunc(p.Groups, func(g string) bool { return strings.EqualFold(g, s.cfg.AdminGroup) })
	}
	id := s.identity(p)
	v, err := s.viewAt(ctx, id, c.snap.policy)
	if err != nil {
		return nil, s.viewFailure(c, procedure, p.User, err)
	}
	c.principal, c.subject, c.groups = v.principal, v.subject, v.groups
	s.sessions.Put(key, &sessionEntry{tokenHash: hash, expires: p.ExpiresAt.UnixNano(), id: id})
	s.tokenUsers.Put(string(hash[:]), tokenUser{user: p.User, expires: p.ExpiresAt.UnixNano()})
	return c, nil
}

// identity returns the shared identity for a verified principal.
func (s *Server) identity(p *authn.Principal) *identity {
	k := identityKey(p)
	if id, ok := s.identities.Get(k); ok {
		return id
	}
	shared := *p
	shared.ExpiresAt = time.Time{}
	id := &identity{principal: &shared}
	s.identities.Put(k, id)
	return id
}

func toPolicyPrincipal(p *authn.Principal) policy.Principal {
	return policy.Principal{User: p.User, Groups: p.Groups, Attributes: p.Attributes, NoAdmin: p.ClusterKey}
}

// viewFailure audits a request refused because the user's groups could
// not be resolved, and returns err.
func (s *Server) viewFailure(c *caller, procedure, user string, err error) error {
	s.audit.Write(audit.Record{
		RequestTime: c.start.UTC(), RequestID: c.requestID, User: user,
		ClientApplication: c.client, ClientNetworkAddress: c.peer, SessionID: c.sessionID,
		StatementType: "AUTHENTICATE", Statement: procedure, Outcome: audit.OutcomeError,
		Reason: connect.CodeOf(err).String() + ": " + err.Error(), AuthFailure: "directory_unavailable",
		LatencyUS: time.Since(c.start).Microseconds(),
	})
	return err
}

func (s *Server) authFailure(c *caller, procedure, code, msg string) error {
	s.metrics.authFails.WithLabelValues(code).Inc()
	s.audit.Write(audit.Record{
		RequestTime:          c.start.UTC(),
		RequestID:            c.requestID,
		ClientApplication:    c.client,
		ClientNetworkAddress: c.peer,
		SessionID:            c.sessionID,
		StatementType:        "AUTHENTICATE",
		Statement:            procedure,
		Outcome:              "denied",
		Reason:               msg,
		AuthFailure:          code,
		LatencyUS:            time.Since(c.start).Microseconds(),
	})
	s.log.Info("authentication failed", "code", code, "peer", c.peer, "procedure", procedure)
	return connect.NewError(connect.CodeUnauthenticated, errors.New("authentication failed: "+msg))
}

// record writes an audit record for an authenticated caller.
func (s *Server) record(c *caller, r audit.Record) {
	r.RequestTime = c.start.UTC()
	r.RequestID = c.requestID
	r.User = c.principal.User
	r.Groups = c.principal.Groups
	r.ClientApplication = c.client
	r.ClientNetworkAddress = c.peer
	r.SessionID = c.sessionID
	r.LatencyUS = time.Since(c.start).Microseconds()
	s.audit.Write(r)
}

// recordAhead writes the audit records of a policy change and waits until
// they are on disk, before the change commits: every committed change has
// its record (at least once). If the records cannot be written the change
// must not be made.
//
// It starts the commit of a validated change, which from here on mostly
// waits for the disk (the audit fsync, the store's commit, the watermark):
// the request gives its fair-share slot back first (leaveGate), so that
// Authorize calls are not held up by an admin's fsyncs. Changes are
// serialised by s.ddl, so at most one commits outside the gate; after it, an
// Authorize that recorded definitions takes its turn again (rejoinGate)
// before it builds its answer, and ExecuteSql, whose answer is already
// made, only sends it.
func (s *Server) recordAhead(ctx context.Context, c *caller, rs ...audit.Record) error {
	leaveGate(ctx)
	for _, r := range rs {
		s.record(c, r)
	}
	if err := s.audit.Flush(); err != nil {
		s.log.Error("policy change refused: its audit record cannot be written", "user", c.principal.User, "err", err)
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf(
			"the audit log cannot be written (%v), so the change was not made; the planner makes no change without its audit record", err))
	}
	return nil
}
