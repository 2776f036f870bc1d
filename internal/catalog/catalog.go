package catalog

import (
	"slices"
	"sort"
	"strings"
)

// Privilege is an action a grant allows.
type Privilege string

// The privileges of the policy language. ALL implies every other one.
const (
	PrivAll    Privilege = "ALL"
	PrivSelect Privilege = "SELECT"
	PrivShow   Privilege = "SHOW"
	PrivInsert Privilege = "INSERT"
	PrivCreate Privilege = "CREATE"
	PrivAlter  Privilege = "ALTER"
	PrivDrop   Privilege = "DROP"
)

// Privileges lists every privilege in a stable order.
var Privileges = []Privilege{PrivAll, PrivSelect, PrivShow, PrivInsert, PrivCreate, PrivAlter, PrivDrop}

// ParsePrivilege returns the privilege named s (any case).
func ParsePrivilege(s string) (Privilege, bool) {
	p := Privilege(strings.ToUpper(s))
	for _, q := range Privileges {
		if p == q {
			return p, true
		}
	}
	return "", false
}

// Implies reports whether holding p is enough for an action that needs want.
func (p Privilege) Implies(want Privilege) bool { return p == PrivAll || p == want }

// Scope is the kind of object a grant is on.
type Scope string

// Grant scopes, from widest to narrowest. A TABLE scope also covers views:
// tables and views share one namespace.
const (
	ScopeCatalog  Scope = "CATALOG"
	ScopeDatabase Scope = "DATABASE"
	ScopeTable    Scope = "TABLE"
	ScopeURI      Scope = "URI"
)

// Object names what a grant is on.
type Object struct {
	Scope    Scope
	Database string // ScopeDatabase, ScopeTable
	Table    string // ScopeTable
	URI      string // ScopeURI, normalized with NormalizeURI
}

// String renders the object the way the policy language writes it.
func (o Object) String() string {
	switch o.Scope {
	case ScopeCatalog:
		return "CATALOG"
	case ScopeDatabase:
		return "DATABASE " + o.Database
	case ScopeTable:
		return "TABLE " + o.Database + "." + o.Table
	case ScopeURI:
		return "URI '" + o.URI + "'"
	}
	return string(o.Scope)
}

// Transform masks every column that carries Attribute with a builtin.
type Transform struct {
	Attribute string   // "ns.tag"
	Function  string   // builtin name, lower case, e.g. "mask_ccn"
	Args      []string // extra arguments as SQL literals ('x', 3); the column is always the first argument
}

// Grant is one GRANT statement as stored.
type Grant struct {
	ID        int64
	Role      string
	Privilege Privilege
	Object    Object
	// Columns restricts a TABLE grant to these columns; empty means all.
	Columns []string
	// Attributes, when set, restricts the grant to columns that carry at
	// least one of them (AttributesNot false: HAVING ATTRIBUTE IN) or none
	// of them (AttributesNot true: HAVING ATTRIBUTE NOT IN).
	Attributes    []string
	AttributesNot bool
	Transforms    []Transform
	// Filter is the row filter SQL text (the WHERE clause); empty admits every row.
	Filter string
}

// SameSpec reports whether g and o are the same grant apart from their IDs:
// what REVOKE matches and what makes a second identical GRANT a no-op.
func (g Grant) SameSpec(o Grant) bool {
	if g.Role != o.Role || g.Privilege != o.Privilege || g.Object != o.Object ||
		g.AttributesNot != o.AttributesNot || g.Filter != o.Filter ||
		!equalStrings(g.Columns, o.Columns) || !equalStrings(g.Attributes, o.Attributes) ||
		len(g.Transforms) != len(o.Transforms) {
		return false
	}
	for i := range g.Transforms {
		a, b := g.Transforms[i], o.Transforms[i]
		if a.Attribute != b.Attribute || a.Function != b.Function || !equalStrings(a.Args, b.Args) {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MemberKind says whether a role is granted to a group or to a user.
type MemberKind string

// Member kinds.
const (
	MemberGroup MemberKind = "GROUP"
	MemberUser  MemberKind = "USER"
)

// Membership grants Role to a group or a user.
type Membership struct {
	Role string
	Kind MemberKind
	Name string
}

// Column is a column of a table or view.
type Column struct {
	Name string
	Type string // engine type name as sent or declared, e.g. "string", "bigint"
}

// Table is a table or view the planner knows of.
type Table struct {
	Database string
	Name     string
	IsView   bool
	Location string // URI, may be empty
	Columns  []Column
	// Definer is the user whose authorized CREATE or ALTER VIEW through an
	// engine the planner recorded; empty for tables and for views the
	// planner did not record that way (those are read with the reader's own
	// rights). DefinerGroups are the definer's groups as authenticated then
	// (lower case, sorted); the definer's roles come from the policy of the
	// moment of reading.
	Definer       string
	DefinerGroups []string
	// ViewReads are the objects the view's definition reads directly
	// (normalized: lower-case names, normalized URIs; sorted, no
	// duplicates). Only these are read with the definer's rights.
	ViewReads []ViewRead
}

// ViewRead is one object a view's definition reads: Database and Table, or
// URI alone.
type ViewRead struct {
	Database string
	Table    string
	URI      string
}

// String is "db.table" or the URI.
func (r ViewRead) String() string {
	if r.URI != "" {
		return r.URI
	}
	return r.Database + "." + r.Table
}

// FullName is "db.table".
func (t Table) FullName() string { return t.Database + "." + t.Name }

// ColumnAttribute tags one column with one attribute.
type ColumnAttribute struct {
	Database  string
	Table     string
	Column    string
	Attribute string // "ns.tag"
}

// State is every row of the policy at one version.
//
// A State's slices (and the Grants set) are never written once the State is
// made: a change makes a new slice (slices.Clip before append, filter into a
// new slice, PutTable) and a new State holding it, sharing every other
// field. So a State can be read by any number of goroutines while a policy
// change builds the next one, and work derived from a field (the compiled
// index of a role, of the tables) can be reused while the field is the same
// rows (SameRows).
type State struct {
	Version     int64
	Roles       []string
	Memberships []Membership
	Grants      Grants
	Attributes  []string // "ns.tag"
	Databases   []string
	Tables      []Table
	ColumnAttrs []ColumnAttribute
}

// Clone returns a State to change: a copy of s's fields, sharing their rows
// (a change replaces a field, never writes into it). It costs the same for
// 10 grants as for 100,000.
func (s *State) Clone() *State {
	c := *s
	return &c
}

// PutTable replaces the table of t's name or adds t, in a new Tables slice.
func (s *State) PutTable(t Table) {
	for i, k := range s.Tables {
		if k.Database == t.Database && k.Name == t.Name {
			s.Tables = slices.Clone(s.Tables)
			s.Tables[i] = t
			return
		}
	}
	s.Tables = append(slices.Clip(s.Tables), t)
}

// FoldName is how user and group names compare everywhere: ASCII letters
// without regard to case, every other character as it is — so that no
// Unicode case folding (the Kelvin sign K lower-cases to k, and full-width
// letters are matched as ASCII by some directories) makes two different
// names one.
func FoldName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// SortStrings sorts and removes duplicates in place, returning the result.
func SortStrings(in []string) []string {
	if len(in) < 2 {
		return in
	}
	sort.Strings(in)
	out := in[:1]
	for _, s := range in[1:] {
		if s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}
