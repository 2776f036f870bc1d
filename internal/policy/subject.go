package policy

import (
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Subject is a principal resolved against one policy version: its roles and
// their grants. Build it once per session and policy version with
// Policy.Subject; it is immutable.
type Subject struct {
	Principal Principal
	// Roles the principal holds, sorted.
	Roles   []string
	IsAdmin bool
	version int64
	roleSet map[string]bool
	grants  []*roleGrants
}

// Version is the policy version the subject was resolved against.
func (s *Subject) Version() int64 { return s.version }

// HasRole reports whether the subject holds role.
func (s *Subject) HasRole(role string) bool { return s.roleSet[strings.ToLower(role)] }

// Subject resolves pr's roles: those granted to the user and to each of its
// groups. Members of the admin group hold ALL ON CATALOG, unless the
// principal is marked NoAdmin.
func (p *Policy) Subject(pr Principal) *Subject {
	s := &Subject{Principal: pr, version: p.version, roleSet: map[string]bool{}}
	add := func(roles []string) {
		for _, r := range roles {
			if !s.roleSet[r] {
				s.roleSet[r] = true
				s.Roles = append(s.Roles, r)
			}
		}
	}
	add(p.userRoles[catalog.FoldName(pr.User)])
	for _, g := range pr.Groups {
		g = catalog.FoldName(g)
		if g == p.adminGroup {
			if pr.NoAdmin {
				continue // neither the admin rights nor the admin group's roles
			}
			s.IsAdmin = true
		}
		add(p.groupRoles[g])
	}
	sort.Strings(s.Roles)
	for _, r := range s.Roles {
		if rg := p.byRole[r]; rg != nil {
			s.grants = append(s.grants, rg)
		}
	}
	return s
}
