package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policysql"
)

// WhoAmIDatabase and WhoAmITable name the virtual table every authenticated
// user may read; it answers with the user the planner authenticated.
const (
	WhoAmIDatabase = "okera_sample"
	WhoAmITable    = "whoami"
)

// Options configure compilation.
type Options struct {
	// AdminGroup members hold ALL ON CATALOG. Default "admin".
	AdminGroup string
}

// Policy is the compiled, immutable index of one policy version. It is safe
// for concurrent use.
type Policy struct {
	version    int64
	adminGroup string
	roles      map[string]bool
	groupRoles map[string][]string
	userRoles  map[string][]string
	byRole     map[string]*roleGrants
	tables     map[tableKey]*tableInfo
	databases  map[string]bool
	// tablesByDB lists known tables per database, sorted, for listings.
	tablesByDB map[string][]*tableInfo
	// src are the rows this index was compiled from, for Recompile.
	src sources
}

// sources are the State's rows a Policy was compiled from (shared, never
// written), so Recompile can tell which parts of it still hold.
type sources struct {
	roles       []string
	memberships []catalog.Membership
	databases   []string
	tables      []catalog.Table
	colAttrs    []catalog.ColumnAttribute
}

type tableKey struct{ db, table string }

func (k tableKey) String() string { return k.db + "." + k.table }

type tableInfo struct {
	key    tableKey
	isView bool
	row    *catalog.Table
	// attrs maps a lower-case column name to its attributes.
	attrs map[string][]string
	// view is set for a view recorded with a definer: only such a view
	// reads with its definer's rights.
	view *viewDef
}

// viewDef is a recorded view's definer and the objects its definition
// reads.
type viewDef struct {
	definer Principal
	tables  map[tableKey]bool
	uris    []string // normalized
}

func compileView(t *catalog.Table) *viewDef {
	if !t.IsView || t.Definer == "" {
		return nil
	}
	v := &viewDef{
		definer: Principal{User: t.Definer, Groups: t.DefinerGroups},
		tables:  map[tableKey]bool{},
	}
	for _, r := range t.ViewReads {
		if r.URI != "" {
			if u, err := policysql.NormalizeURI(r.URI); err == nil {
				v.uris = append(v.uris, u)
			}
			continue
		}
		v.tables[tableKey{strings.ToLower(r.Database), strings.ToLower(r.Table)}] = true
	}
	return v
}

// reads reports whether o is among the objects the view's definition reads.
// A recorded URI covers the paths below it, as a URI grant does.
func (v *viewDef) reads(o *Object) bool {
	if o.URI != "" {
		u, err := policysql.NormalizeURI(o.URI)
		if err != nil {
			return false
		}
		for _, r := range v.uris {
			if policysql.URICovers(r, u) {
				return true
			}
		}
		return false
	}
	return o.Table != "" && v.tables[tableKey{strings.ToLower(o.Database), strings.ToLower(o.Table)}]
}

// roleGrants are one role's grants indexed by scope.
type roleGrants struct {
	rows    []catalog.Grant // compiled from these (shared with the State)
	catalog []*grant
	db      map[string][]*grant
	table   map[tableKey][]*grant
	uri     []*grant
}

// grant is a compiled catalog.Grant.
type grant struct {
	src        catalog.Grant
	columns    map[string]bool // nil: every column
	attrs      map[string]bool // nil: no HAVING clause
	attrsNot   bool
	transforms []catalog.Transform
	filter     []policysql.FilterPart // nil: every row
	// restricted: the grant limits columns, rows or values, so it cannot
	// stand for full access (writes and URIs need unrestricted grants).
	restricted bool
}

// Compile builds the index for one policy version. It fails only on rows
// that cannot have come from a valid statement (a corrupt store), so the
// caller can refuse to serve rather than guess.
func Compile(st *catalog.State, opts Options) (*Policy, error) { return Recompile(nil, st, opts) }

// Recompile builds the index for st as Compile does, reusing the work of
// prev (an index of an earlier version, or nil) for every part whose rows st
// shares with the state prev was compiled from (catalog.SameRows): a grant
// to one role recompiles that role's grants and the role index, not the
// other 100,000 grants; a table change rebuilds the table index but no
// grant. The result is the same as Compile(st, opts) — the differential
// test holds it to that.
func Recompile(prev *Policy, st *catalog.State, opts Options) (*Policy, error) {
	if opts.AdminGroup == "" {
		opts.AdminGroup = "admin"
	}
	p := &Policy{version: st.Version, adminGroup: catalog.FoldName(opts.AdminGroup), src: sources{
		roles: st.Roles, memberships: st.Memberships, databases: st.Databases, tables: st.Tables, colAttrs: st.ColumnAttrs,
	}}
	if prev != nil && prev.adminGroup != p.adminGroup {
		prev = nil
	}
	if prev != nil && catalog.SameRows(prev.src.roles, st.Roles) {
		p.roles = prev.roles
	} else {
		p.roles = make(map[string]bool, len(st.Roles))
		for _, r := range st.Roles {
			p.roles[r] = true
		}
	}
	if prev != nil && catalog.SameRows(prev.src.memberships, st.Memberships) {
		p.groupRoles, p.userRoles = prev.groupRoles, prev.userRoles
	} else if err := p.compileMemberships(st.Memberships); err != nil {
		return nil, err
	}
	if prev != nil && catalog.SameRows(prev.src.databases, st.Databases) {
		p.databases = prev.databases
	} else {
		p.databases = make(map[string]bool, len(st.Databases))
		for _, d := range st.Databases {
			p.databases[d] = true
		}
	}
	if prev != nil && catalog.SameRows(prev.src.tables, st.Tables) && catalog.SameRows(prev.src.colAttrs, st.ColumnAttrs) {
		p.tables, p.tablesByDB = prev.tables, prev.tablesByDB
	} else {
		p.compileTables(st.Tables, st.ColumnAttrs)
	}
	p.byRole = make(map[string]*roleGrants, len(st.Roles))
	filters := map[string][]policysql.FilterPart{} // many grants share a few filter texts: parse each once
	for role, rows := range st.Grants.ByRole() {
		if prev != nil {
			if rg := prev.byRole[role]; rg != nil && catalog.SameRows(rg.rows, rows) {
				p.byRole[role] = rg
				continue
			}
		}
		rg, err := compileRole(rows, filters)
		if err != nil {
			return nil, err
		}
		p.byRole[role] = rg
	}
	return p, nil
}

func (p *Policy) compileMemberships(ms []catalog.Membership) error {
	p.groupRoles, p.userRoles = map[string][]string{}, map[string][]string{}
	for _, m := range ms {
		m.Name = catalog.FoldName(m.Name) // principals' groups and users compare without regard to ASCII case
		switch m.Kind {
		case catalog.MemberGroup:
			p.groupRoles[m.Name] = append(p.groupRoles[m.Name], m.Role)
		case catalog.MemberUser:
			p.userRoles[m.Name] = append(p.userRoles[m.Name], m.Role)
		default:
			return fmt.Errorf("membership of role %q has unknown kind %q", m.Role, m.Kind)
		}
	}
	return nil
}

func (p *Policy) compileTables(tables []catalog.Table, colAttrs []catalog.ColumnAttribute) {
	p.tables = make(map[tableKey]*tableInfo, len(tables))
	p.tablesByDB = map[string][]*tableInfo{}
	for i := range tables {
		t := &tables[i]
		ti := &tableInfo{key: tableKey{t.Database, t.Name}, isView: t.IsView, row: t, view: compileView(t)}
		p.tables[ti.key] = ti
		p.tablesByDB[t.Database] = append(p.tablesByDB[t.Database], ti)
	}
	for _, ts := range p.tablesByDB {
		sort.Slice(ts, func(i, j int) bool { return ts[i].key.table < ts[j].key.table })
	}
	for _, a := range colAttrs {
		ti := p.tables[tableKey{a.Database, a.Table}]
		if ti == nil {
			continue // attribute on a table dropped meanwhile: nothing to tag
		}
		if ti.attrs == nil {
			ti.attrs = map[string][]string{}
		}
		col := strings.ToLower(a.Column)
		ti.attrs[col] = append(ti.attrs[col], a.Attribute)
	}
}

// compileRole indexes one role's grants by scope.
func compileRole(rows []catalog.Grant, filters map[string][]policysql.FilterPart) (*roleGrants, error) {
	rg := &roleGrants{rows: rows, db: map[string][]*grant{}, table: map[tableKey][]*grant{}}
	for i := range rows {
		g, err := compileGrant(rows[i], filters)
		if err != nil {
			return nil, err
		}
		o := g.src.Object
		switch o.Scope {
		case catalog.ScopeCatalog:
			rg.catalog = append(rg.catalog, g)
		case catalog.ScopeDatabase:
			rg.db[o.Database] = append(rg.db[o.Database], g)
		case catalog.ScopeTable:
			k := tableKey{o.Database, o.Table}
			rg.table[k] = append(rg.table[k], g)
		case catalog.ScopeURI:
			rg.uri = append(rg.uri, g)
		default:
			return nil, fmt.Errorf("grant %d has unknown scope %q", g.src.ID, o.Scope)
		}
	}
	return rg, nil
}

func compileGrant(src catalog.Grant, parsed map[string][]policysql.FilterPart) (*grant, error) {
	g := &grant{src: src, attrsNot: src.AttributesNot, transforms: src.Transforms}
	if len(src.Columns) > 0 {
		g.columns = make(map[string]bool, len(src.Columns))
		for _, c := range src.Columns {
			g.columns[strings.ToLower(c)] = true
		}
	}
	if len(src.Attributes) > 0 {
		g.attrs = make(map[string]bool, len(src.Attributes))
		for _, a := range src.Attributes {
			g.attrs[a] = true
		}
	}
	if src.Filter != "" {
		parts, ok := parsed[src.Filter]
		if !ok {
			var err error
			if parts, err = policysql.ParseFilter(src.Filter); err != nil {
				return nil, fmt.Errorf("grant %d has an invalid row filter: %w", src.ID, err)
			}
			parsed[src.Filter] = parts
		}
		g.filter = parts
	}
	g.restricted = g.columns != nil || g.attrs != nil || len(g.transforms) > 0 || g.filter != nil
	return g, nil
}

// Version is the policy version this index was compiled from.
func (p *Policy) Version() int64 { return p.version }

// HasRole reports whether role exists.
func (p *Policy) HasRole(role string) bool { return p.roles[role] }

// HasDatabase reports whether the planner knows database db.
func (p *Policy) HasDatabase(db string) bool { return p.databases[db] }

// HasTable reports whether the planner knows table or view db.t.
func (p *Policy) HasTable(db, table string) bool { return p.tables[tableKey{db, table}] != nil }

// Table returns the planner's record of table or view db.t.
func (p *Policy) Table(db, table string) (catalog.Table, bool) {
	if ti := p.tables[tableKey{db, table}]; ti != nil {
		return *ti.row, true
	}
	return catalog.Table{}, false
}
