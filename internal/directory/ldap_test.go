package directory

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/directory/slapdtest"
)

// The LDAP source against a real OpenLDAP server (scripts/slapd.sh,
// testdata/ldap/directory.ldif).

func peopleConfig(s *slapdtest.Server) LDAPConfig {
	return LDAPConfig{
		URL: s.Env["LDAPS_URL"], CAFile: s.Env["LDAP_CA"],
		BindDN: s.Env["LDAP_BIND_DN"], BindPassword: s.Env["LDAP_BIND_PASSWORD"],
		UserBase: "ou=people,dc=example,dc=com", GroupBase: "ou=groups,dc=example,dc=com",
		Attributes: map[string]string{"region": "l", "department": "departmentNumber"},
	}
}

func lookup(t *testing.T, src Source, user string) Entry {
	t.Helper()
	e, err := src.Lookup(context.Background(), user)
	require.NoError(t, err, user)
	return e
}

func names(e Entry) []string {
	var out []string
	for _, m := range e.Groups {
		out = append(out, m.Group)
	}
	return out
}

func TestLDAPGroupsByMember(t *testing.T) {
	s := slapdtest.Start(t)
	cfg := peopleConfig(s)
	direct, err := NewLDAP(cfg)
	require.NoError(t, err)
	defer direct.Close()

	alice := lookup(t, direct, "alice")
	require.True(t, alice.Found)
	require.ElementsMatch(t, []string{"analysts", "eu_staff", "loop_a"}, names(alice))
	require.Equal(t, map[string]string{"region": "eu", "department": "42"}, alice.Attributes)
	require.ElementsMatch(t, []string{"all_staff", "auditors"}, names(lookup(t, direct, "bob")), "member and uniqueMember")
	require.ElementsMatch(t, []string{"posixdevs"}, names(lookup(t, direct, "dave")), "posixGroup memberUid")
	require.ElementsMatch(t, []string{"posixdevs"}, names(lookup(t, direct, "DAVE")),
		"memberUid compares case-exactly: searched as the directory spells the name")
	require.False(t, lookup(t, direct, "nobody").Found)
	require.False(t, lookup(t, direct, "alice)(uid=*").Found, "the user name is escaped in the filter")
	require.False(t, lookup(t, direct, "*").Found)
	for _, lookalike := range []string{"alice ", " alice", "ａｌｉｃｅ"} {
		require.False(t, lookup(t, direct, lookalike).Found,
			"%q: the directory's matching rule finds alice, but the entry's uid is not this name", lookalike)
	}
	require.True(t, lookup(t, direct, "ALICE").Found, "ASCII case aside")

	cfg.NestedDepth = 3
	nested, err := NewLDAP(cfg)
	require.NoError(t, err)
	defer nested.Close()
	require.ElementsMatch(t, []string{"analysts", "eu_staff", "loop_a", "all_staff", "loop_b", "company"}, names(lookup(t, nested, "alice")),
		"groups within groups, two levels up, and a cycle followed once")
	cfg.NestedDepth = 1
	one, err := NewLDAP(cfg)
	require.NoError(t, err)
	defer one.Close()
	require.ElementsMatch(t, []string{"analysts", "eu_staff", "loop_a", "all_staff", "loop_b"}, names(lookup(t, one, "alice")),
		"the depth bound holds")
}

// Active Directory's layout: users found by their mail (a
// userPrincipalName), groups read through memberOf, nested; here over
// StartTLS.
func TestLDAPMemberOfADStyle(t *testing.T) {
	s := slapdtest.Start(t)
	src, err := NewLDAP(LDAPConfig{
		URL: s.Env["LDAP_URL"], StartTLS: true, CAFile: s.Env["LDAP_CA"],
		BindDN: s.Env["LDAP_BIND_DN"], BindPassword: s.Env["LDAP_BIND_PASSWORD"],
		UserBase: "ou=corp,dc=example,dc=com", UserFilter: "(&(objectClass=inetOrgPerson)(mail={user}))",
		GroupSearch: GroupsByMemberOf, NestedDepth: 2, Attributes: map[string]string{"region": "l"},
	})
	require.NoError(t, err)
	defer src.Close()
	erin := lookup(t, src, "erin@corp.example.com")
	require.True(t, erin.Found)
	require.ElementsMatch(t, []string{"Data Readers", "Everyone"}, names(erin))
	require.Equal(t, "apac", erin.Attributes["region"])
}

func TestLDAPConfigurationErrors(t *testing.T) {
	for name, cfg := range map[string]LDAPConfig{
		"password in clear text": {URL: "ldap://127.0.0.1:1", BindDN: "cn=x", BindPassword: "secret", UserBase: "o=x", GroupBase: "o=x"},
		"not an LDAP URL":        {URL: "http://127.0.0.1", UserBase: "o=x", GroupBase: "o=x"},
		"StartTLS on ldaps":      {URL: "ldaps://127.0.0.1", StartTLS: true, UserBase: "o=x", GroupBase: "o=x"},
		"no user base":           {URL: "ldaps://127.0.0.1", GroupBase: "o=x"},
		"no group base":          {URL: "ldaps://127.0.0.1", UserBase: "o=x"},
		"filter without {user}":  {URL: "ldaps://127.0.0.1", UserBase: "o=x", GroupBase: "o=x", UserFilter: "(uid=alice)"},
		"bad filter":             {URL: "ldaps://127.0.0.1", UserBase: "o=x", GroupBase: "o=x", UserFilter: "(uid={user}"},
		"unknown group search":   {URL: "ldaps://127.0.0.1", UserBase: "o=x", GroupBase: "o=x", GroupSearch: "magic"},
		"depth out of range":     {URL: "ldaps://127.0.0.1", UserBase: "o=x", GroupBase: "o=x", NestedDepth: 11},
		"credentials in the URL": {URL: "ldaps://svc:hunter2@127.0.0.1", UserBase: "o=x", GroupBase: "o=x"},
		"no name attribute":      {URL: "ldaps://127.0.0.1", UserBase: "o=x", GroupBase: "o=x", UserFilter: "(|(uid={user})(mail={user}))"},
	} {
		_, err := NewLDAP(cfg)
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "hunter2", "a password never shows in an error")
	}
}

// A wrong password, an unverifiable certificate, an anonymous bind the ACLs
// give nothing to: each is an error or finds nobody — never groups.
func TestLDAPFailuresAreErrors(t *testing.T) {
	s := slapdtest.Start(t)
	ctx := context.Background()

	cfg := peopleConfig(s)
	cfg.BindPassword = "wrong"
	src, err := NewLDAP(cfg)
	require.NoError(t, err)
	_, err = src.Lookup(ctx, "alice")
	require.ErrorContains(t, err, "invalid credentials")
	require.NotContains(t, err.Error(), "wrong", "the password is never in an error")
	require.Error(t, src.Check(ctx))

	cfg = peopleConfig(s)
	cfg.CAFile = "" // the system's CAs do not sign the test server
	src, err = NewLDAP(cfg)
	require.NoError(t, err)
	_, err = src.Lookup(ctx, "alice")
	require.ErrorContains(t, err, "certificate")

	cfg = peopleConfig(s)
	cfg.BindDN, cfg.BindPassword = "", ""
	src, err = NewLDAP(cfg)
	require.NoError(t, err)
	_, err = src.Lookup(ctx, "alice")
	require.ErrorContains(t, err, "may not read it", "anonymous reads nothing here: an error, not a user without groups")
}

// Through the Resolver: the directory stops answering, the last answer
// serves for the stale window, then every lookup fails closed; the server
// comes back and a change made in it shows.
func TestLDAPOutageAndRecovery(t *testing.T) {
	s := slapdtest.Start(t)
	src, err := NewLDAP(peopleConfig(s))
	require.NoError(t, err)
	defer src.Close()
	c := &clock{t: time.Now()}
	r, err := New(Options{TTL: time.Minute, StaleFor: 5 * time.Minute, now: c.now}, src)
	require.NoError(t, err)
	ctx := context.Background()
	e, _, err := r.Resolve(ctx, "alice")
	require.NoError(t, err)
	require.Contains(t, e.GroupNames(), "analysts")

	s.Stop(t)
	c.add(2 * time.Minute)
	e, _, err = r.Resolve(ctx, "alice")
	require.NoError(t, err, "stale, within the window")
	require.Contains(t, e.GroupNames(), "analysts")
	c.add(5 * time.Minute)
	_, _, err = r.Resolve(ctx, "alice")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "ldap")

	s.Restart(t)
	s.Modify(t, "dn: cn=eu_staff,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,dc=example,dc=com\n")
	require.Eventually(t, func() bool {
		e, _, err = r.Resolve(ctx, "alice")
		return err == nil
	}, 10*time.Second, 100*time.Millisecond)
	require.NotContains(t, e.GroupNames(), "eu_staff", "removed in the directory")
	require.Contains(t, e.GroupNames(), "analysts")
}

// A search the server answers in part with a referral is an error, not a
// user without (some of) their groups: the planner follows no referrals.
func TestLDAPReferralsAreErrors(t *testing.T) {
	s := slapdtest.Start(t)
	src, err := NewLDAP(peopleConfig(s))
	require.NoError(t, err)
	defer src.Close()
	before := lookup(t, src, "alice")
	require.True(t, before.Found)
	s.Modify(t, `dn: uid=mallory,ou=people,dc=example,dc=com
changetype: add
objectClass: referral
objectClass: extensibleObject
uid: mallory
ref: ldap://other.example.com/uid=mallory,ou=people,dc=example,dc=com

dn: cn=elsewhere,ou=groups,dc=example,dc=com
changetype: add
objectClass: referral
objectClass: extensibleObject
cn: elsewhere
ref: ldap://other.example.com/ou=groups,dc=example,dc=com
`)
	for _, user := range []string{"mallory", "alice"} {
		_, err := src.Lookup(context.Background(), user)
		require.ErrorContains(t, err, "does not follow referrals", user)
	}
}
