package planner

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/directory"
	"github.com/lakegate/lakegate/internal/directory/slapdtest"
	"github.com/lakegate/lakegate/internal/policy"
)

// Issue 14: a token naming only a user (as a shared cluster's signing key
// mints) gets the roles of the user's groups in the directory — a real
// OpenLDAP — and, while the directory cannot answer past its stale window,
// nothing at all.
func TestGroupsFromLDAP(t *testing.T) {
	ldap := slapdtest.Start(t)
	src, err := directory.NewLDAP(directory.LDAPConfig{
		URL: ldap.Env["LDAPS_URL"], CAFile: ldap.Env["LDAP_CA"],
		BindDN: ldap.Env["LDAP_BIND_DN"], BindPassword: ldap.Env["LDAP_BIND_PASSWORD"],
		UserBase: "ou=people,dc=example,dc=com", GroupBase: "ou=groups,dc=example,dc=com", NestedDepth: 2,
		Attributes: map[string]string{"region": "l"},
	})
	require.NoError(t, err)
	e := newEnv(t, func(c *Config) {
		c.DirectorySources = []directory.Source{src}
		c.DirectoryOptions = directory.Options{TTL: 200 * time.Millisecond, StaleFor: -1}
	})
	admin := e.client("root", "admin")
	_, err = sql(t, admin, `CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
		CREATE ROLE staff; GRANT ROLE staff TO GROUP company;
		GRANT SELECT ON TABLE okera_sample.users TO ROLE analyst`)
	require.NoError(t, err)

	alice := e.client("alice") // no groups in the token
	who, err := alice.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.NoError(t, err)
	require.Subset(t, who.Msg.Groups, []string{"analysts", "eu_staff", "all_staff", "company"}, "direct and nested groups")
	require.Equal(t, []string{"analyst", "staff"}, who.Msg.Roles)
	var fromLDAP []string
	for _, g := range who.Msg.GroupSources {
		require.Equal(t, "ldap", g.Source, g.Group)
		fromLDAP = append(fromLDAP, g.Group)
	}
	require.Equal(t, who.Msg.Groups, fromLDAP, "whoami names each group's source")
	who, err = e.client("bob", "contractors").WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.NoError(t, err)
	require.Contains(t, who.Msg.GroupSources, &lakegatev1.GroupMembership{Group: "contractors", Source: "token"})
	require.Contains(t, who.Msg.GroupSources, &lakegatev1.GroupMembership{Group: "auditors", Source: "ldap"})
	d := authorize(t, alice, "", table("okera_sample", "users", "uid"))
	require.True(t, d.Decisions[0].Allowed, d.Decisions[0].Reason)
	d = authorize(t, e.client("bob"), "", table("okera_sample", "users", "uid"))
	require.False(t, d.Decisions[0].Allowed, "bob is not in analysts")

	// The audit record names the groups the decision used.
	require.NoError(t, e.srv.audit.Flush())
	var groups []string
	require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{User: "alice"}, func(r audit.Record) error {
		if r.StatementType == "AUTHORIZE" {
			groups = r.Groups
		}
		return nil
	}))
	require.Contains(t, groups, "analysts")

	// Removed from the group in the directory: denied within the TTL.
	ldap.Modify(t, "dn: cn=analysts,ou=groups,dc=example,dc=com\nchangetype: modify\nreplace: member\nmember: uid=carol,ou=people,dc=example,dc=com\n")
	require.Eventually(t, func() bool {
		d := authorize(t, alice, "", table("okera_sample", "users", "uid"))
		return !d.Decisions[0].Allowed
	}, 10*time.Second, 50*time.Millisecond)

	// The directory goes away: with no stale window, requests fail at once
	// (Unavailable, naming the cause) rather than decide without groups.
	ldap.Stop(t)
	require.Eventually(t, func() bool {
		_, err := alice.Authorize(context.Background(), connect.NewRequest(&lakegatev1.AuthorizeRequest{
			Objects: []*lakegatev1.AuthObject{table("okera_sample", "users", "uid")}}))
		return connect.CodeOf(err) == connect.CodeUnavailable
	}, 10*time.Second, 50*time.Millisecond)
	_, err = alice.WhoAmI(context.Background(), connect.NewRequest(&lakegatev1.WhoAmIRequest{}))
	require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
	require.ErrorContains(t, err, "cannot tell which groups alice is in")
	require.NotContains(t, err.Error(), "127.0.0.1", "the directory's address stays in the planner's log")
	require.NoError(t, e.srv.audit.Flush())
	refused := 0
	require.NoError(t, audit.Read(e.srv.audit.Dir(), audit.Query{User: "alice"}, func(r audit.Record) error {
		if r.AuthFailure == "directory_unavailable" {
			refused++
		}
		return nil
	}))
	require.NotZero(t, refused, "each refusal is audited")
}

// A cluster signing key's user never becomes an admin, through the
// directory either.
func TestDirectoryNeverMakesAClusterKeyAdmin(t *testing.T) {
	s := &Server{cfg: Config{AdminGroup: "admin"}}
	p := &authn.Principal{User: "mallory", ClusterKey: true}
	got, ms := s.withDirectory(p, directory.Entry{Found: true, Groups: []directory.Membership{{Group: "admin", Source: "ldap"}, {Group: "analysts", Source: "ldap"}}})
	require.Equal(t, []string{"analysts"}, got.Groups)
	require.Equal(t, []directory.Membership{{Group: "analysts", Source: "ldap"}}, ms)
}

// BenchmarkDirectory is the planner's cost per request — authentication
// (session cache or token verification), the user's view, and the decision
// of one object — with and without groups from a real slapd, side by side:
// "none" has no directory (groups from the token); "cached" a directory
// whose answer is cached (the steady state: one lookup per user per TTL);
// "new-session" a new session each request (token verified) with the
// directory's answer cached; "ldap-lookup" a new session and an LDAP
// round trip each request (the first request of a user). See
// bench/RESULTS.md.
func BenchmarkDirectory(b *testing.B) {
	ldap := slapdtest.Start(b)
	for _, mode := range []string{"none", "cached", "new-session", "ldap-lookup"} {
		b.Run(mode, func(b *testing.B) {
			var sources []directory.Source
			if mode != "none" {
				src, err := directory.NewLDAP(directory.LDAPConfig{
					URL: ldap.Env["LDAPS_URL"], CAFile: ldap.Env["LDAP_CA"],
					BindDN: ldap.Env["LDAP_BIND_DN"], BindPassword: ldap.Env["LDAP_BIND_PASSWORD"],
					UserBase: "ou=people,dc=example,dc=com", GroupBase: "ou=groups,dc=example,dc=com", NestedDepth: 2,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer src.Close()
				sources = []directory.Source{src}
			}
			e := newEnv(b, func(c *Config) {
				c.DirectorySources = sources
				c.DirectoryOptions = directory.Options{TTL: time.Hour}
			})
			if _, err := sql(b, e.client("root", "admin"), `CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
				GRANT SELECT ON TABLE okera_sample.users TO ROLE analyst`); err != nil {
				b.Fatal(err)
			}
			groups := []string(nil)
			if mode == "none" {
				groups = []string{"all_staff", "analysts", "company", "eu_staff", "loop_a", "loop_b"} // what the directory would say
			}
			tok, err := authn.SignToken(e.key, authn.TokenSpec{User: "alice", Groups: groups, TTL: time.Hour}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			h := http.Header{"Authorization": {"Bearer " + tok}}
			obj := []policy.Object{{Database: "okera_sample", Table: "users", Columns: []catalog.Column{{Name: "uid", Type: "int"}}, Action: catalog.PrivSelect}}
			ctx := context.Background()
			i := 0
			for b.Loop() {
				sid := "bench-session"
				if mode == "new-session" || mode == "ldap-lookup" {
					sid = fmt.Sprintf("bench-%d", i)
				}
				if mode == "ldap-lookup" {
					e.srv.dir.Invalidate("alice")
				}
				i++
				c, err := e.srv.authenticate(ctx, h, "127.0.0.1:1", sid, "bench", "Authorize")
				if err != nil {
					b.Fatal(err)
				}
				if d := c.snap.policy.Authorize(c.subject, obj); !d[0].Allowed {
					b.Fatalf("denied: %s", d[0].Reason)
				}
			}
		})
	}
}
