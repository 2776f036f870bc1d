package catalog

import (
	"cmp"
	"iter"
	"maps"
	"slices"
)

// Grants is an immutable set of grants, grouped by role. Every change
// returns a new set that shares the unchanged roles' grants with the old
// one: granting to one role copies that role's grants (about a hundred in a
// large store) and the role index, never the other 100,000. Compilers that
// keep per-role work can tell an unchanged role by its slice (SameRows), so
// a policy change recompiles what it touches.
//
// Within a role, grants keep the order they were added in: the store's IDs
// ascending, then grants added in the current batch (temporary negative IDs,
// in the order added) until Renumber gives them the store's IDs.
type Grants struct {
	byRole map[string][]Grant // never written once the set is made
	n      int
	// temp are the roles With gave grants with temporary IDs, for
	// Renumber (never written once the set is made).
	temp []string
}

// NewGrants groups gs by role, keeping their order. It copies gs.
func NewGrants(gs []Grant) Grants {
	s := Grants{byRole: map[string][]Grant{}, n: len(gs)}
	for _, g := range gs {
		s.byRole[g.Role] = append(s.byRole[g.Role], g)
		if g.ID < 0 && !slices.Contains(s.temp, g.Role) {
			s.temp = append(s.temp, g.Role)
		}
	}
	for r, rg := range s.byRole { // no spare capacity: an append must copy
		s.byRole[r] = slices.Clip(rg)
	}
	return s
}

// Len is the number of grants.
func (s Grants) Len() int { return s.n }

// Role returns role's grants in the set's order. The slice is shared: the
// caller must not change it.
func (s Grants) Role(role string) []Grant { return s.byRole[role] }

// ByRole yields each role that holds grants with its grants (shared, not to
// be changed), in no particular order.
func (s Grants) ByRole() iter.Seq2[string, []Grant] {
	return func(yield func(string, []Grant) bool) {
		for r, gs := range s.byRole {
			if !yield(r, gs) {
				return
			}
		}
	}
}

// All returns every grant in a new slice, in ID order (grants with
// temporary IDs last, in the order added).
func (s Grants) All() []Grant {
	out := make([]Grant, 0, s.n)
	for _, gs := range s.byRole {
		out = append(out, gs...)
	}
	slices.SortFunc(out, func(a, b Grant) int { return cmp.Compare(idOrder(a.ID), idOrder(b.ID)) })
	return out
}

// idOrder sorts store IDs (positive) ascending, then temporary IDs (-1, -2,
// …) in the order they were handed out.
func idOrder(id int64) uint64 {
	if id < 0 {
		return 1<<63 + uint64(-id)
	}
	return uint64(id)
}

// With returns the set with g added after g.Role's other grants.
func (s Grants) With(g Grant) Grants {
	out := s.withRoles()
	rg := s.byRole[g.Role]
	out.byRole[g.Role] = append(rg[:len(rg):len(rg)], g)
	out.n++
	if g.ID < 0 && !slices.Contains(s.temp, g.Role) {
		out.temp = append(slices.Clip(s.temp), g.Role)
	}
	return out
}

// Without returns the set without the grant of role with ID id (the set
// itself when there is none).
func (s Grants) Without(role string, id int64) Grants {
	rg := s.byRole[role]
	i := slices.IndexFunc(rg, func(g Grant) bool { return g.ID == id })
	if i < 0 {
		return s
	}
	out := s.withRoles()
	out.setRole(role, slices.Concat(rg[:i], rg[i+1:]))
	out.n--
	return out
}

// WithoutRole returns the set without role's grants.
func (s Grants) WithoutRole(role string) Grants {
	rg, ok := s.byRole[role]
	if !ok {
		return s
	}
	out := s.withRoles()
	delete(out.byRole, role)
	out.n -= len(rg)
	return out
}

// Split returns the set without the grants drop matches, and those grants
// (in the set's order within each role). Roles with nothing dropped keep
// their slices.
func (s Grants) Split(drop func(Grant) bool) (Grants, []Grant) {
	var dropped []Grant
	out := s
	copied := false
	for r, rg := range s.byRole {
		if !slices.ContainsFunc(rg, drop) {
			continue
		}
		if !copied {
			out, copied = s.withRoles(), true
		}
		var keep []Grant
		for _, g := range rg {
			if drop(g) {
				dropped = append(dropped, g)
			} else {
				keep = append(keep, g)
			}
		}
		out.setRole(r, keep)
		out.n -= len(rg) - len(keep)
	}
	return out, dropped
}

// Renumber returns the set with temporary IDs replaced by ids[temp] (the
// store's IDs, handed out in the order the grants were added, so each
// role's order is kept).
func (s Grants) Renumber(ids map[int64]int64) Grants {
	out := s
	copied := false
	for _, r := range s.temp { // not every role: a change touches a few
		rg := s.byRole[r]
		if !slices.ContainsFunc(rg, func(g Grant) bool { return g.ID < 0 }) {
			continue
		}
		if !copied {
			out, copied = s.withRoles(), true
		}
		rg = slices.Clone(rg)
		for i := range rg {
			if id, ok := ids[rg[i].ID]; ok && rg[i].ID < 0 {
				rg[i].ID = id
			}
		}
		out.byRole[r] = rg
	}
	out.temp = nil
	return out
}

// withRoles copies the role index (not the grants) for a change.
func (s Grants) withRoles() Grants {
	m := make(map[string][]Grant, len(s.byRole)+1)
	maps.Copy(m, s.byRole)
	return Grants{byRole: m, n: s.n, temp: s.temp}
}

func (s *Grants) setRole(role string, gs []Grant) {
	if len(gs) == 0 {
		delete(s.byRole, role)
		return
	}
	s.byRole[role] = slices.Clip(gs)
}

// SameRows reports whether a and b are the same rows: the same backing
// array and length. Because a State's slices are never written once made,
// the same rows hold the same values, so work derived from a can be reused
// for b.
func SameRows[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
