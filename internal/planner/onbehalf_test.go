package planner

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
)

func onBehalf(c interface {
	AuthorizeOnBehalf(context.Context, *connect.Request[lakegatev1.AuthorizeOnBehalfRequest]) (*connect.Response[lakegatev1.AuthorizeOnBehalfResponse], error)
}, user string, groups []string, action lakegatev1.Action, uris ...string) (*lakegatev1.AuthorizeOnBehalfResponse, error) {
	m := &lakegatev1.AuthorizeOnBehalfRequest{Principal: &lakegatev1.OnBehalfOf{User: user, Groups: groups}, Client: "lakegate-ensemble", Action: action, Statement: "GetObject"}
	for _, u := range uris {
		m.Objects = append(m.Objects, &lakegatev1.AuthObject{Uri: u})
	}
	r, err := c.AuthorizeOnBehalf(context.Background(), connect.NewRequest(m))
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

func TestAuthorizeOnBehalf(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.TrustedProxies = []string{"svc-ensemble"}
		c.Auth.AcceptSelfSigned = true
	})
	admin := e.client("root", "admin")
	mustSQL(t, admin, `CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
		GRANT SELECT ON URI 's3://lake/sales' TO ROLE analyst`)
	proxy := e.client("svc-ensemble")

	r, err := onBehalf(proxy, "alice", []string{"Analysts"}, lakegatev1.Action_ACTION_SELECT,
		"s3://lake/sales/part-0.parquet", "s3://lake/salesx", "s3://lake/hr/x")
	require.NoError(t, err)
	require.True(t, r.Decisions[0].Allowed)
	require.False(t, r.Decisions[1].Allowed, "segment boundary")
	require.False(t, r.Decisions[2].Allowed)
	require.Positive(t, r.PolicyVersion)

	r, err = onBehalf(proxy, "bob", nil, lakegatev1.Action_ACTION_SELECT, "s3://lake/sales/part-0.parquet")
	require.NoError(t, err)
	require.False(t, r.Decisions[0].Allowed)
	r, err = onBehalf(proxy, "alice", []string{"analysts"}, lakegatev1.Action_ACTION_INSERT, "s3://lake/sales/new")
	require.NoError(t, err)
	require.False(t, r.Decisions[0].Allowed, "SELECT does not allow writes")

	t.Run("an ordinary user cannot impersonate", func(t *testing.T) {
		for _, c := range []interface {
			AuthorizeOnBehalf(context.Context, *connect.Request[lakegatev1.AuthorizeOnBehalfRequest]) (*connect.Response[lakegatev1.AuthorizeOnBehalfResponse], error)
		}{e.client("alice", "analysts"), e.client("mallory", "admin")} {
			_, err := onBehalf(c, "root", []string{"admin"}, lakegatev1.Action_ACTION_SELECT, "s3://lake/hr/x")
			require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
		}
	})
	t.Run("a self-signed token naming the proxy cannot impersonate", func(t *testing.T) {
		tok, err := authn.SignSelfSigned(authn.TokenSpec{User: "svc-ensemble", TTL: time.Hour}, time.Now())
		require.NoError(t, err)
		_, err = onBehalf(e.clientWithToken(tok), "root", []string{"admin"}, lakegatev1.Action_ACTION_SELECT, "s3://lake/hr/x")
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	})
	t.Run("the proxy may ask about URIs only", func(t *testing.T) {
		_, err := proxy.AuthorizeOnBehalf(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeOnBehalfRequest{
			Principal: &lakegatev1.OnBehalfOf{User: "alice"}, Objects: []*lakegatev1.AuthObject{{Database: "okera_sample", Table: "users"}}}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		_, err = onBehalf(proxy, "", nil, lakegatev1.Action_ACTION_SELECT, "s3://lake/x")
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		_, err = onBehalf(proxy, "al\x00ice", nil, lakegatev1.Action_ACTION_SELECT, "s3://lake/x")
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	})
	t.Run("audited as the user, via the proxy; refusals too", func(t *testing.T) {
		require.NoError(t, e.srv.audit.Flush())
		var recs []audit.Record
		require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{}, func(r audit.Record) error {
			recs = append(recs, r)
			return nil
		}))
		var allowed, refused bool
		for _, r := range recs {
			if r.User == "alice" && r.StatementType == "AUTHORIZE" && r.ClientApplication == "lakegate-ensemble via trusted proxy svc-ensemble" {
				allowed = true
			}
			if r.StatementType == "AUTHORIZE ON BEHALF" && r.User == "mallory" && r.Outcome == audit.OutcomeDenied {
				refused = true
			}
		}
		require.True(t, allowed)
		require.True(t, refused)
	})
}
