package planner

import (
	"context"
	"crypto"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/authn"
)

// clusterKeyPair writes a cluster signing key pair: the public key's file and the private key.
func clusterKeyPair(t *testing.T) (string, crypto.Signer) {
	dir := t.TempDir()
	_, pub, err := authn.GenerateKeyPair(filepath.Join(dir, "cluster"))
	require.NoError(t, err)
	key, err := authn.LoadPrivateKey(filepath.Join(dir, "cluster", authn.PrivateKeyFile))
	require.NoError(t, err)
	return pub, key
}

// The attack of issue 12: a stolen cluster signing key is not an admin key.
// A token it signs for root in the admin group gets no admin rights, no
// policy DDL, no acting for others (even named as the trusted proxy), and,
// by default, none of its claimed groups.
func TestStolenClusterKeyIsNotAnAdminKey(t *testing.T) {
	clusterPub, clusterKey := clusterKeyPair(t)
	e := newEnv(t, func(c *Config) {
		c.Auth.ClusterKeyFiles = []string{clusterPub}
		c.TrustedProxies = []string{"svc-ensemble"}
	})
	root := e.client("root", "admin")
	mustSQL(t, root, `CREATE DATABASE hr; CREATE TABLE hr.secret (id bigint, ssn string);
		CREATE ROLE eng; GRANT ROLE eng TO GROUP eng; GRANT SELECT ON TABLE hr.secret TO ROLE eng;
		CREATE ROLE analyst; GRANT ROLE analyst TO USER ann; GRANT SELECT ON DATABASE hr TO ROLE analyst`)
	forged := func(user string, groups ...string) lakegatev1connect.PlannerServiceClient {
		tok, err := authn.SignToken(clusterKey, authn.TokenSpec{User: user, Groups: groups, TTL: time.Hour}, time.Now())
		require.NoError(t, err)
		return e.clientWithToken(tok)
	}

	thief := forged("root", "admin", "eng")
	r := authorize(t, thief, "", table("hr", "secret", "id", "ssn"))
	require.False(t, r.Decisions[0].Allowed, "no admin rights and no claimed group")
	require.Contains(t, r.Decisions[0].Reason, `user "root" (groups: none`)
	_, err := sql(t, thief, "GRANT ROLE eng TO GROUP everyone")
	require.Error(t, err)
	_, err = forged("svc-ensemble").AuthorizeOnBehalf(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeOnBehalfRequest{
		Principal: &lakegatev1.OnBehalfOf{User: "root", Groups: []string{"admin"}},
		Objects:   []*lakegatev1.AuthObject{{Uri: "s3://b/p"}},
	}))
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

	// A user's own role grants still work: the key names users, the policy decides.
	require.True(t, authorize(t, forged("ann"), "", table("hr", "secret", "id", "ssn")).Decisions[0].Allowed)
	// The identity provider's key is trusted as before.
	require.True(t, authorize(t, root, "", table("hr", "secret", "id", "ssn")).Decisions[0].Allowed)
}

// With --cluster-key-groups the groups are taken, never the admin group's.
func TestClusterKeyGroupsNeverAdmin(t *testing.T) {
	clusterPub, clusterKey := clusterKeyPair(t)
	e := newEnv(t, func(c *Config) {
		c.Auth.ClusterKeyFiles = []string{clusterPub}
		c.Auth.ClusterKeyLimits.Groups = true
	})
	mustSQL(t, e.client("root", "admin"), `CREATE DATABASE hr; CREATE TABLE hr.secret (id bigint); CREATE TABLE hr.other (id bigint);
		CREATE ROLE eng; GRANT ROLE eng TO GROUP eng; GRANT SELECT ON TABLE hr.other TO ROLE eng`)
	// The identity provider's root, with the same name and groups, is served first: the planner
	// shares identities between principals alike, and must never share this one.
	idpRoot := e.client("root", "admin", "eng")
	require.True(t, authorize(t, idpRoot, "", table("hr", "secret", "id")).Decisions[0].Allowed)
	tok, err := authn.SignToken(clusterKey, authn.TokenSpec{User: "root", Groups: []string{"admin", "eng"}, TTL: time.Hour}, time.Now())
	require.NoError(t, err)
	c := e.clientWithToken(tok)
	r := authorize(t, c, "", table("hr", "other", "id"), table("hr", "secret", "id"))
	require.True(t, r.Decisions[0].Allowed, "the eng group is taken")
	require.False(t, r.Decisions[1].Allowed, "the admin group is not")
	_, err = sql(t, c, "CREATE ROLE x")
	require.Error(t, err)
	// Not even the group's name leaves the planner: WhoAmI (what the ensemble
	// issues S3 keys from, and later asks on behalf of) lists eng only.
	who, err := c.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.NoError(t, err)
	require.Equal(t, []string{"eng"}, who.Msg.Groups)
	require.False(t, who.Msg.IsAdmin)
}
