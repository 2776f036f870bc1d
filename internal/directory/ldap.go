package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Group search modes of LDAPConfig.GroupSearch.
const (
	// GroupsByMember searches GroupBase for groups that list the user:
	// member or uniqueMember (the user's DN) or memberUid (posixGroup, the
	// user's name).
	GroupsByMember = "member"
	// GroupsByMemberOf reads the user's memberOf attribute (Active
	// Directory, OpenLDAP's memberof overlay).
	GroupsByMemberOf = "memberof"
	// GroupsInChain asks Active Directory for every group the user is in,
	// directly or through nested groups, in one search
	// (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941).
	GroupsInChain = "in-chain"
)

// LDAPConfig configures an LDAP or Active Directory source.
type LDAPConfig struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection with StartTLS before binding.
	StartTLS bool
	// CAFile is a PEM file of the CAs that sign the server's certificate
	// (default: the system's).
	CAFile string
	// BindDN and BindPassword are the service account's; an empty BindDN
	// binds anonymously. The password is never logged.
	BindDN, BindPassword string
	// UserBase is where users are searched; UserFilter selects one user,
	// with {user} standing for the user name (escaped). Default
	// "(&(objectClass=person)(uid={user}))"; for Active Directory
	// "(&(objectClass=user)(sAMAccountName={user}))".
	UserBase, UserFilter string
	// UserNameAttribute is the attribute holding the user name (default:
	// the one UserFilter compares with {user}). The entry found must carry
	// the token's user name in it exactly, ASCII case aside: a directory's
	// own matching rules (which ignore spaces, or fold full-width letters)
	// never give one user another's entry.
	UserNameAttribute string
	// GroupSearch is GroupsByMember (default), GroupsByMemberOf or
	// GroupsInChain. GroupBase is where groups are searched (required for
	// member and in-chain).
	GroupSearch, GroupBase string
	// GroupNameAttribute names a group (default "cn").
	GroupNameAttribute string
	// NestedDepth is how many levels of groups within groups are followed
	// for member and memberof (default 0: none; at most 10). In-chain
	// follows every level on the server.
	NestedDepth int
	// Attributes maps user attributes (user_attribute('key')) to LDAP
	// attributes of the user entry: {"region": "l"}.
	Attributes map[string]string
	// Timeout bounds each lookup, connection included (default 5 s).
	Timeout time.Duration
}

// LDAP is a Source backed by an LDAP server or Active Directory.
type LDAP struct {
	cfg    LDAPConfig
	tls    *tls.Config
	mu     sync.Mutex
	idle   []*ldap.Conn // bound connections ready for reuse
	closed bool
}

const maxIdleLDAP = 4

// NewLDAP checks cfg and returns the source. It does not connect: the first
// lookup does (and Check does, for a start-up test).
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("ldap url: want ldap://host[:port] or ldaps://host[:port], with no user, password, path or query (the bind DN and password have flags of their own)")
	}
	if u.Scheme == "ldaps" && cfg.StartTLS {
		return nil, errors.New("ldap: StartTLS is for ldap:// URLs; ldaps:// is TLS already")
	}
	if cfg.UserBase == "" {
		return nil, errors.New("ldap: the user search base is required")
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(&(objectClass=person)(uid={user}))"
	}
	if !strings.Contains(cfg.UserFilter, "{user}") {
		return nil, fmt.Errorf("ldap: the user filter %q has no {user}", cfg.UserFilter)
	}
	if cfg.UserNameAttribute == "" {
		m := nameInFilter.FindStringSubmatch(cfg.UserFilter)
		if m == nil || strings.Count(cfg.UserFilter, "{user}") != 1 {
			return nil, fmt.Errorf("ldap: cannot tell which attribute of the user filter %q holds the user name: set the user name attribute", cfg.UserFilter)
		}
		cfg.UserNameAttribute = m[1]
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.UserFilter, "{user}", "x")); err != nil {
		return nil, fmt.Errorf("ldap: the user filter %q: %w", cfg.UserFilter, err)
	}
	switch cfg.GroupSearch {
	case "":
		cfg.GroupSearch = GroupsByMember
	case GroupsByMember, GroupsByMemberOf, GroupsInChain:
	default:
		return nil, fmt.Errorf("ldap: group search %q: want %s, %s or %s", cfg.GroupSearch, GroupsByMember, GroupsByMemberOf, GroupsInChain)
	}
	if cfg.GroupBase == "" && cfg.GroupSearch != GroupsByMemberOf {
		return nil, fmt.Errorf("ldap: the group search base is required for group search %q", cfg.GroupSearch)
	}
	if cfg.GroupNameAttribute == "" {
		cfg.GroupNameAttribute = "cn"
	}
	if cfg.NestedDepth < 0 || cfg.NestedDepth > 10 {
		return nil, fmt.Errorf("ldap: nested group depth %d: want 0 to 10", cfg.NestedDepth)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	l := &LDAP{cfg: cfg}
	if u.Scheme == "ldaps" || cfg.StartTLS {
		host := u.Hostname()
		l.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ldap: CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ldap: CA file %s holds no PEM certificate", cfg.CAFile)
			}
			l.tls.RootCAs = pool
		}
	} else if cfg.BindPassword != "" {
		return nil, fmt.Errorf("ldap: %s would send the bind password in clear text: use ldaps:// or StartTLS", cfg.URL)
	}
	return l, nil
}

// Name is "ldap".
func (l *LDAP) Name() string { return "ldap" }

// Check connects and binds once: a start-up test of the configuration.
func (l *LDAP) Check(ctx context.Context) error {
	c, err := l.conn(ctx)
	if err != nil {
		return err
	}
	l.put(c)
	return nil
}

// Close closes the idle connections.
func (l *LDAP) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, c := range l.idle {
		_ = c.Close()
	}
	l.idle = nil
}

// Lookup finds the user, its groups and attributes.
func (l *LDAP) Lookup(ctx context.Context, user string) (Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	c, err := l.conn(ctx)
	if err != nil {
		return Entry{}, err
	}
	// Abandon the connection if the lookup outlives its context.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	e, err := l.lookup(c, user)
	if !stop() || err != nil {
		_ = c.Close()
		if ctx.Err() != nil {
			return Entry{}, fmt.Errorf("%s: no answer within %s", l.cfg.URL, l.cfg.Timeout)
		}
		return Entry{}, err
	}
	l.put(c)
	return e, nil
}

func (l *LDAP) lookup(c *ldap.Conn, user string) (Entry, error) {
	attrs := []string{"dn", l.cfg.UserNameAttribute}
	if l.cfg.GroupSearch == GroupsByMemberOf {
		attrs = append(attrs, "memberOf")
	}
	for _, a := range l.cfg.Attributes {
		attrs = append(attrs, a)
	}
	filter := strings.ReplaceAll(l.cfg.UserFilter, "{user}", ldap.EscapeFilter(user))
	res, err := c.Search(ldap.NewSearchRequest(l.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(l.cfg.Timeout.Seconds()), false, filter, attrs, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return Entry{}, fmt.Errorf("%s: the user search base %q does not exist, or the bind account %q may not read it", l.cfg.URL, l.cfg.UserBase, l.cfg.BindDN)
	}
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return Entry{}, fmt.Errorf("%s: search user %q: %w", l.cfg.URL, user, err)
	}
	if res != nil && len(res.Referrals) > 0 {
		return Entry{}, referred(l.cfg.URL, res.Referrals)
	}
	switch {
	case res == nil || len(res.Entries) == 0:
		return Entry{}, nil
	case len(res.Entries) > 1 || ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		// Two entries for one name: deciding on either would be a guess.
		return Entry{}, fmt.Errorf("%s: the user filter %q finds more than one entry for %q; make it select one", l.cfg.URL, l.cfg.UserFilter, user)
	}
	u := res.Entries[0]
	names := u.GetAttributeValues(l.cfg.UserNameAttribute)
	i := slices.IndexFunc(names, func(v string) bool { return catalog.FoldName(v) == catalog.FoldName(user) })
	if i < 0 {
		return Entry{}, nil // the directory's matching found a lookalike, not this user
	}
	user = names[i] // as the directory spells it: memberUid compares case-exactly
	e := Entry{Found: true}
	for key, attr := range l.cfg.Attributes {
		if v := u.GetAttributeValue(attr); v != "" {
			if e.Attributes == nil {
				e.Attributes = map[string]string{}
			}
			e.Attributes[key] = v
		}
	}
	groups, err := l.groups(c, user, u)
	if err != nil {
		return Entry{}, err
	}
	for _, n := range groups {
		e.Groups = append(e.Groups, Membership{Group: n})
	}
	return e, nil
}

// groups returns the names of the user's groups.
func (l *LDAP) groups(c *ldap.Conn, user string, u *ldap.Entry) ([]string, error) {
	switch l.cfg.GroupSearch {
	case GroupsInChain:
		return l.searchGroupNames(c, fmt.Sprintf("(member:1.2.840.113556.1.4.1941:=%s)", ldap.EscapeFilter(u.DN)))
	case GroupsByMemberOf:
		seen := map[string]bool{}
		var names []string
		level := u.GetAttributeValues("memberOf")
		for depth := 0; len(level) > 0 && depth <= l.cfg.NestedDepth; depth++ {
			var next []string
			for _, dn := range level {
				key := strings.ToLower(dn)
				if seen[key] {
					continue // a cycle, or a group reached twice
				}
				seen[key] = true
				g, err := l.readGroup(c, dn)
				if err != nil {
					return nil, err
				}
				if g == nil {
					continue // memberOf names a group we may not read or that is gone
				}
				if n := g.GetAttributeValue(l.cfg.GroupNameAttribute); n != "" {
					names = append(names, n)
				}
				next = append(next, g.GetAttributeValues("memberOf")...)
			}
			level = next
		}
		return names, nil
	default: // GroupsByMember
		filter := fmt.Sprintf("(|(member=%[1]s)(uniqueMember=%[1]s)(memberUid=%[2]s))", ldap.EscapeFilter(u.DN), ldap.EscapeFilter(user))
		seen := map[string]bool{}
		var names []string
		for depth := 0; depth <= l.cfg.NestedDepth; depth++ {
			res, err := l.searchGroups(c, filter)
			if err != nil {
				return nil, err
			}
			var dns []string
			for _, g := range res {
				key := strings.ToLower(g.DN)
				if seen[key] {
					continue
				}
				seen[key] = true
				dns = append(dns, g.DN)
				if n := g.GetAttributeValue(l.cfg.GroupNameAttribute); n != "" {
					names = append(names, n)
				}
			}
			if len(dns) == 0 {
				break
			}
			var or strings.Builder // the groups that list these groups: the next level up
			for _, dn := range dns {
				fmt.Fprintf(&or, "(member=%[1]s)(uniqueMember=%[1]s)", ldap.EscapeFilter(dn))
			}
			filter = "(|" + or.String() + ")"
		}
		return names, nil
	}
}

func (l *LDAP) searchGroups(c *ldap.Conn, filter string) ([]*ldap.Entry, error) {
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(l.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(l.cfg.Timeout.Seconds()), false, filter, []string{l.cfg.GroupNameAttribute}, nil), 500)
	if err != nil {
		return nil, fmt.Errorf("%s: search groups: %w", l.cfg.URL, err)
	}
	if len(res.Referrals) > 0 {
		return nil, referred(l.cfg.URL, res.Referrals)
	}
	return res.Entries, nil
}

// referred is the error for a search answered in part elsewhere: the
// planner does not follow referrals, and a partial group list would be a
// guess.
func referred(url string, to []string) error {
	return fmt.Errorf("%s referred the search to %s; lakegate does not follow referrals: point --ldap-url at a server holding all users and groups (Active Directory: a global catalog, port 3269)", url, strings.Join(to, ", "))
}

// nameInFilter finds the attribute a user filter compares with {user}.
var nameInFilter = regexp.MustCompile(`\(([A-Za-z][A-Za-z0-9-]*)=\{user\}\)`)

func (l *LDAP) searchGroupNames(c *ldap.Conn, filter string) ([]string, error) {
	res, err := l.searchGroups(c, filter)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range res {
		if n := g.GetAttributeValue(l.cfg.GroupNameAttribute); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// readGroup reads one group entry by DN (nil if it does not exist).
func (l *LDAP) readGroup(c *ldap.Conn, dn string) (*ldap.Entry, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, int(l.cfg.Timeout.Seconds()), false, "(objectClass=*)", []string{l.cfg.GroupNameAttribute, "memberOf"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read group %q: %w", l.cfg.URL, dn, err)
	}
	if len(res.Entries) == 0 {
		return nil, nil
	}
	return res.Entries[0], nil
}

// conn returns an idle bound connection, or dials and binds a new one.
func (l *LDAP) conn(ctx context.Context) (*ldap.Conn, error) {
	l.mu.Lock()
	if n := len(l.idle); n > 0 {
		c := l.idle[n-1]
		l.idle = l.idle[:n-1]
		l.mu.Unlock()
		if !c.IsClosing() {
			return c, nil
		}
		_ = c.Close()
	} else {
		l.mu.Unlock()
	}
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if l.tls != nil {
		opts = append(opts, ldap.DialWithTLSConfig(l.tls))
	}
	c, err := ldap.DialURL(l.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: connect: %w", l.cfg.URL, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		c.SetTimeout(time.Until(deadline))
	}
	if l.cfg.StartTLS {
		if err := c.StartTLS(l.tls); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%s: StartTLS: %w", l.cfg.URL, err)
		}
	}
	if l.cfg.BindDN == "" {
		err = c.UnauthenticatedBind("")
	} else {
		err = c.Bind(l.cfg.BindDN, l.cfg.BindPassword)
	}
	if err != nil {
		_ = c.Close()
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, fmt.Errorf("%s: bind as %q: invalid credentials (check the bind DN and password)", l.cfg.URL, l.cfg.BindDN)
		}
		return nil, fmt.Errorf("%s: bind as %q: %w", l.cfg.URL, l.cfg.BindDN, err)
	}
	c.SetTimeout(l.cfg.Timeout)
	return c, nil
}

func (l *LDAP) put(c *ldap.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.idle) >= maxIdleLDAP || c.IsClosing() {
		_ = c.Close()
		return
	}
	l.idle = append(l.idle, c)
}
