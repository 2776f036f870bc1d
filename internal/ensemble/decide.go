package ensemble

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/s3keys"
	"github.com/lakegate/lakegate/internal/session"
)

// Decision answers one check.
type Decision struct {
	URI     string
	Allowed bool
	Reason  string
	// Cached: answered from the decision cache, not by the planner.
	Cached bool
}

// Decider answers a request's checks for a user. An error means no decision
// could be made: the request is refused.
type Decider interface {
	Decide(ctx context.Context, who *s3keys.Identity, statement string, checks []check) ([]Decision, error)
}

var actionOf = map[catalog.Privilege]lakegatev1.Action{
	catalog.PrivSelect: lakegatev1.Action_ACTION_SELECT,
	catalog.PrivInsert: lakegatev1.Action_ACTION_INSERT,
	catalog.PrivDrop:   lakegatev1.Action_ACTION_DROP,
	catalog.PrivShow:   lakegatev1.Action_ACTION_SHOW,
	catalog.PrivAll:    lakegatev1.Action_ACTION_ALL,
	catalog.PrivCreate: lakegatev1.Action_ACTION_CREATE,
	catalog.PrivAlter:  lakegatev1.Action_ACTION_ALTER,
}

// cachedDecision is one (user, groups, privilege, URI) answer.
type cachedDecision struct {
	allowed bool
	reason  string
	version int64
	expires int64 // unix nanoseconds
}

// plannerDecider asks the planner's AuthorizeOnBehalf, through a cache of
// recent answers. An answer is used only while it is younger than ttl and no
// newer policy version has been seen in any planner answer since.
type plannerDecider struct {
	client  lakegatev1connect.PlannerServiceClient
	cache   *session.Table[*cachedDecision]
	ttl     time.Duration
	version atomic.Int64 // newest policy version seen
	now     func() time.Time
	calls   atomic.Int64
}

func newPlannerDecider(client lakegatev1connect.PlannerServiceClient, ttl time.Duration, size int, now func() time.Time) *plannerDecider {
	if ttl < 0 {
		ttl = 0
	}
	if ttl == 0 {
		size = 0
	}
	return &plannerDecider{client: client, cache: session.New[*cachedDecision](size), ttl: ttl, now: now}
}

func cacheKey(who *s3keys.Identity, p catalog.Privilege, uri string) string {
	var b strings.Builder
	b.WriteString(who.User)
	for _, g := range who.Groups {
		b.WriteByte(0)
		b.WriteString(g)
	}
	b.WriteByte(1)
	b.WriteString(string(p))
	b.WriteByte(1)
	b.WriteString(uri)
	return b.String()
}

func (d *plannerDecider) Decide(ctx context.Context, who *s3keys.Identity, statement string, checks []check) ([]Decision, error) {
	type slot struct{ check, alt int }
	now := d.now().UnixNano()
	latest := d.version.Load()
	answers := make([][]*cachedDecision, len(checks))
	var missing []slot
	var objs []*lakegatev1.AuthObject
	for i, c := range checks {
		answers[i] = make([]*cachedDecision, len(c.privs))
		for j, p := range c.privs {
			if e, ok := d.cache.Get(cacheKey(who, p, c.uri)); ok && now < e.expires && e.version >= latest {
				answers[i][j] = e
				continue
			}
			act, ok := actionOf[p]
			if !ok {
				return nil, fmt.Errorf("no planner action for privilege %s", p)
			}
			missing = append(missing, slot{i, j})
			objs = append(objs, &lakegatev1.AuthObject{Uri: c.uri, Action: act})
		}
	}
	fresh := make([]bool, len(checks))
	if len(objs) > 0 {
		d.calls.Add(1)
		resp, err := d.client.AuthorizeOnBehalf(ctx, connect.NewRequest(&lakegatev1.AuthorizeOnBehalfRequest{
			Principal: &lakegatev1.OnBehalfOf{User: who.User, Groups: who.Groups},
			Client:    "lakegate-ensemble",
			Objects:   objs,
			Statement: statement,
		}))
		if err != nil {
			return nil, plannerError(err)
		}
		m := resp.Msg
		if len(m.Decisions) != len(objs) {
			return nil, fmt.Errorf("the planner answered %d decisions for %d objects", len(m.Decisions), len(objs))
		}
		for v := d.version.Load(); m.PolicyVersion > v && !d.version.CompareAndSwap(v, m.PolicyVersion); v = d.version.Load() {
		}
		exp := d.now().Add(d.ttl).UnixNano()
		for k, s := range missing {
			pd := m.Decisions[k]
			e := &cachedDecision{allowed: pd.Allowed, reason: pd.Reason, version: m.PolicyVersion, expires: exp}
			answers[s.check][s.alt] = e
			fresh[s.check] = true
			if d.ttl > 0 {
				d.cache.Put(cacheKey(who, checks[s.check].privs[s.alt], checks[s.check].uri), e)
			}
		}
	}
	out := make([]Decision, len(checks))
	for i, c := range checks {
		out[i] = Decision{URI: c.uri, Cached: !fresh[i]}
		for _, e := range answers[i] {
			if e.allowed {
				out[i].Allowed, out[i].Reason = true, e.reason
				break
			}
			if out[i].Reason == "" {
				out[i].Reason = e.reason
			}
		}
	}
	return out, nil
}

// plannerError says why the planner gave no decision.
func plannerError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodePermissionDenied:
			return fmt.Errorf("the planner does not trust this proxy (start the planner with --trusted-proxy naming the ensemble's service user): %s", ce.Message())
		case connect.CodeUnauthenticated:
			return fmt.Errorf("the planner refused the ensemble's service token (--token / --token-file): %s", ce.Message())
		case connect.CodeUnavailable:
			return fmt.Errorf("the planner cannot be reached: %s", ce.Message())
		}
		return fmt.Errorf("the planner failed: %s: %s", ce.Code(), ce.Message())
	}
	return fmt.Errorf("the planner failed: %w", err)
}
