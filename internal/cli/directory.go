package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lakegate/lakegate/internal/directory"
	"github.com/lakegate/lakegate/internal/planner"
)

// directoryFlags are serve's flags for the organisation's directory.
type directoryFlags struct {
	groupsFile   string
	ldap         directory.LDAPConfig
	passwordFile string
	attributes   []string
	ttl, stale   time.Duration
}

func (d *directoryFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.groupsFile, "groups-file", "", "YAML file of users' groups and attributes (small setups, tests), read again when it changes")
	f.StringVar(&d.ldap.URL, "ldap-url", "", "LDAP or Active Directory server for users' groups and attributes: ldaps://host[:port] or ldap://host[:port] with --ldap-start-tls")
	f.BoolVar(&d.ldap.StartTLS, "ldap-start-tls", false, "upgrade an ldap:// connection with StartTLS")
	f.StringVar(&d.ldap.CAFile, "ldap-ca-file", "", "PEM file of the CAs that sign the LDAP server's certificate (default: the system's)")
	f.StringVar(&d.ldap.BindDN, "ldap-bind-dn", "", "DN of the service account the planner binds as (empty: anonymous)")
	f.StringVar(&d.passwordFile, "ldap-bind-password-file", "", "file holding the service account's password (or the environment variable LAKEGATE_LDAP_BIND_PASSWORD)")
	f.StringVar(&d.ldap.UserBase, "ldap-user-base", "", "where users are searched, e.g. ou=people,dc=example,dc=com")
	f.StringVar(&d.ldap.UserFilter, "ldap-user-filter", "", "filter selecting one user, {user} standing for the name (default (&(objectClass=person)(uid={user})); Active Directory: (&(objectClass=user)(sAMAccountName={user})))")
	f.StringVar(&d.ldap.UserNameAttribute, "ldap-user-name-attribute", "", "attribute of the user entry that must hold the token's user name exactly, ASCII case aside (default: the one the user filter compares with {user})")
	f.StringVar(&d.ldap.GroupSearch, "ldap-group-search", directory.GroupsByMember, "how groups are found: member (groups listing the user: member, uniqueMember, memberUid), memberof (the user's memberOf), in-chain (Active Directory, nested groups on the server)")
	f.StringVar(&d.ldap.GroupBase, "ldap-group-base", "", "where groups are searched (member and in-chain)")
	f.StringVar(&d.ldap.GroupNameAttribute, "ldap-group-name-attribute", "cn", "attribute naming a group")
	f.IntVar(&d.ldap.NestedDepth, "ldap-nested-depth", 0, "levels of groups within groups followed (member and memberof; 0 to 10)")
	f.StringArrayVar(&d.attributes, "ldap-attribute", nil, "user attribute from the directory, KEY=LDAP_ATTRIBUTE (user_attribute('KEY')), e.g. region=l; repeatable")
	f.DurationVar(&d.ldap.Timeout, "ldap-timeout", 5*time.Second, "time one directory lookup may take")
	f.DurationVar(&d.ttl, "groups-cache-ttl", directory.DefaultTTL, "how long a user's groups from the directory are used before it is asked again")
	f.DurationVar(&d.stale, "groups-stale-for", directory.DefaultStaleFor, "how long past --groups-cache-ttl a user's last known groups are still used while the directory cannot answer; then requests fail (negative: never)")
}

// apply builds the directory sources into cfg, checking each once; a
// source that cannot be reached at start is logged, not fatal (requests
// then fail closed until it answers), a configuration that cannot work is.
func (d *directoryFlags) apply(ctx context.Context, cfg *planner.Config, log *slog.Logger) error {
	cfg.DirectoryOptions = directory.Options{TTL: d.ttl, StaleFor: d.stale}
	if d.groupsFile != "" {
		f, err := directory.NewFile(d.groupsFile)
		if err != nil {
			return err
		}
		cfg.DirectorySources = append(cfg.DirectorySources, f)
		log.Info("groups file loaded", "file", d.groupsFile)
	}
	if d.ldap.URL == "" {
		if d.ldap.UserBase != "" || d.ldap.BindDN != "" || d.passwordFile != "" || len(d.attributes) > 0 {
			return errors.New("--ldap-* flags were given without --ldap-url")
		}
		return nil
	}
	pw := os.Getenv("LAKEGATE_LDAP_BIND_PASSWORD")
	if d.passwordFile != "" {
		b, err := os.ReadFile(d.passwordFile)
		if err != nil {
			return fmt.Errorf("--ldap-bind-password-file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	d.ldap.BindPassword = pw
	for _, a := range d.attributes {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("--ldap-attribute %q: want KEY=LDAP_ATTRIBUTE", a)
		}
		if d.ldap.Attributes == nil {
			d.ldap.Attributes = map[string]string{}
		}
		d.ldap.Attributes[k] = v
	}
	src, err := directory.NewLDAP(d.ldap)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, d.ldap.Timeout)
	defer cancel()
	if err := src.Check(cctx); err != nil {
		log.Error("the LDAP directory does not answer; requests will be refused until it does", "err", err)
	} else {
		log.Info("LDAP directory connected", "url", d.ldap.URL, "group_search", d.ldap.GroupSearch)
	}
	cfg.DirectorySources = append(cfg.DirectorySources, src)
	return nil
}
