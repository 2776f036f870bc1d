package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
)

// AuthorizeOnBehalf decides URI objects for another user, for a trusted
// proxy (the ensemble). The caller authenticates with its own token like
// any client; only principals named in Config.TrustedProxies, verified by a
// configured key (never a self-signed token), may use it. Everyone else is
// refused and the attempt is audited.
func (a *api) AuthorizeOnBehalf(ctx context.Context, req *connect.Request[lakegatev1.AuthorizeOnBehalfRequest]) (*connect.Response[lakegatev1.AuthorizeOnBehalfResponse], error) {
	s, m := a.s, req.Msg
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, "", m.Client, req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	if !s.isTrustedProxy(c.principal) {
		why := fmt.Sprintf("%s is not a trusted proxy: only the principals named by the planner's --trusted-proxy may authorize on behalf of other users", c.principal.User)
		if c.principal.SelfSigned {
			why = "a self-signed token can never act as a trusted proxy"
		}
		s.record(c, audit.Record{StatementType: "AUTHORIZE ON BEHALF", Statement: m.Statement, Outcome: audit.OutcomeDenied, Reason: why})
		s.log.Warn("refused an on-behalf authorization from a caller that is not a trusted proxy", "user", c.principal.User, "peer", c.peer)
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New(why))
	}
	target, err := onBehalfPrincipal(m.Principal, c.principal.User)
	if err != nil {
		s.record(c, audit.Record{StatementType: "AUTHORIZE ON BEHALF", Statement: m.Statement, Outcome: audit.OutcomeError, Reason: err.Error()})
		return nil, err
	}
	objs, err := s.objects(&lakegatev1.AuthorizeRequest{Action: m.Action, Objects: m.Objects})
	if err == nil {
		for i, o := range objs {
			if o.URI == "" {
				err = invalid("object %d: a trusted proxy may ask about storage URIs only", i)
				break
			}
		}
	}
	if err != nil {
		s.record(c, audit.Record{StatementType: "AUTHORIZE ON BEHALF", Statement: m.Statement, Outcome: audit.OutcomeError, Reason: err.Error()})
		return nil, err
	}
	id := s.identity(target)
	pol := c.snap.policy
	v, err := s.viewAt(ctx, id, pol)
	if err != nil {
		s.record(c, audit.Record{StatementType: "AUTHORIZE ON BEHALF", Statement: m.Statement, Outcome: audit.OutcomeError, Reason: err.Error()})
		return nil, err
	}
	decisions := pol.Authorize(v.subject, objs)

	resp := &lakegatev1.AuthorizeOnBehalfResponse{
		Decisions:     make([]*lakegatev1.ObjectDecision, len(decisions)),
		PolicyVersion: pol.Version(),
		RequestId:     c.requestID,
	}
	outcome, names, denials := audit.OutcomeAllowed, make([]string, len(decisions)), []string(nil)
	for i, d := range decisions {
		resp.Decisions[i] = toProtoDecision(i, d)
		names[i] = d.Object
		if d.Allowed {
			s.metrics.decisions.WithLabelValues("allowed").Inc()
		} else {
			s.metrics.decisions.WithLabelValues("denied").Inc()
			outcome = audit.OutcomeDenied
			denials = append(denials, d.Reason)
		}
	}
	// The record names the user decided for; the proxy shows in the client.
	as := *c
	as.principal = id.principal
	as.client = strings.TrimSpace(m.Client + " via trusted proxy " + c.principal.User)
	s.record(&as, audit.Record{StatementType: "AUTHORIZE", Statement: m.Statement, Objects: names,
		Outcome: outcome, Reason: strings.Join(denials, "; ")})
	return connect.NewResponse(resp), nil
}

func (s *Server) isTrustedProxy(p *authn.Principal) bool {
	return !p.SelfSigned && !p.ClusterKey && slices.Contains(s.cfg.TrustedProxies, p.User)
}

// onBehalfPrincipal validates the user and groups a proxy names, and
// normalises the groups as the token verifier does.
func onBehalfPrincipal(o *lakegatev1.OnBehalfOf, proxy string) (*authn.Principal, error) {
	if o == nil || strings.TrimSpace(o.User) == "" {
		return nil, invalid("name the user to authorize for (principal.user)")
	}
	if !validName(o.User) {
		return nil, invalid("principal.user must be at most 256 bytes of UTF-8 without control characters")
	}
	seen := map[string]bool{}
	groups := []string{}
	for _, g := range o.Groups {
		g = catalog.FoldName(strings.TrimSpace(g))
		if g == "" || seen[g] {
			continue
		}
		if !validName(g) {
			return nil, invalid("a group name must be at most 256 bytes of UTF-8 without control characters")
		}
		seen[g] = true
		groups = append(groups, g)
	}
	sort.Strings(groups)
	// The issuer keeps identities made for a proxy apart from token ones.
	return &authn.Principal{User: o.User, Groups: groups, Attributes: map[string]string{}, Issuer: "trusted-proxy:" + proxy}, nil
}

func validName(s string) bool {
	if len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
