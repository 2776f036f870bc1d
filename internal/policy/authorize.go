package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policysql"
)

// Authorize returns one decision per object, in order. It never fails: what
// cannot be decided is denied with a reason.
//
// Objects read under a view depend on that view's decision, and a view may
// itself be read under another view, so decisions are made on demand, each
// once; a cycle of under_view claims (which no engine sends) leaves the view
// that closes it out, so its objects fall back to the subject's own rights.
func (p *Policy) Authorize(s *Subject, objs []Object) []Decision {
	out := make([]Decision, len(objs))
	for i := range objs {
		if objs[i].UnderView != "" {
			// Some decisions depend on others: decide on demand.
			b := &batch{p: p, s: s, objs: objs, out: out, state: make([]uint8, len(objs))}
			for j := range objs {
				b.decision(j)
			}
			return out
		}
	}
	for i := range objs {
		out[i] = p.decideOne(s, &objs[i])
	}
	return out
}

// decideOne decides an object that does not depend on another: a view or
// table definition, or any other object with the subject's own rights.
func (p *Policy) decideOne(s *Subject, o *Object) Decision {
	switch {
	case IsViewDefinition(o):
		return p.decideViewDefinition(s, o)
	case IsTableDefinition(o):
		return p.decideTableDefinition(s, o)
	}
	return p.decide(s, o)
}

// batch is one Authorize call.
type batch struct {
	p     *Policy
	s     *Subject
	objs  []Object
	out   []Decision
	state []uint8 // undecided, deciding, decided
	// definers are the subjects of the views' definers met in this call.
	definers map[*viewDef]*Subject
}

const (
	undecided uint8 = iota
	deciding
	decided
)

// decision returns objs[i]'s decision, or nil while it is being decided
// (a cycle).
func (b *batch) decision(i int) *Decision {
	switch b.state[i] {
	case decided:
		return &b.out[i]
	case deciding:
		return nil
	}
	b.state[i] = deciding
	o := &b.objs[i]
	if o.UnderView != "" && !IsViewDefinition(o) {
		b.out[i] = b.decideUnderView(i)
	} else {
		b.out[i] = b.p.decideOne(b.s, o)
	}
	b.state[i] = decided
	return &b.out[i]
}

// decideUnderView decides an object read by the definition of a view. The
// view's definer's rights apply, as the policy stands now, only to what the
// planner recorded the view as reading, only for SELECT, and only when the
// view itself is in the request and allowed. Anything else is decided with
// the subject's own rights: a client's claim that something is a view, or
// is read by one, is worth nothing on its own.
func (b *batch) decideUnderView(i int) Decision {
	p, o := b.p, &b.objs[i]
	view := strings.ToLower(o.UnderView)
	db, name, _ := strings.Cut(view, ".")
	ti := p.tables[tableKey{db, name}]
	if ti == nil || ti.view == nil || action(o) != catalog.PrivSelect || !ti.view.reads(o) || !b.viewAllowed(i, view) {
		return p.decide(b.s, o)
	}
	def := ti.view.definer
	d := p.decide(b.definer(ti.view), o)
	if !d.Allowed {
		// The definer's own reason would show their groups and roles to
		// the reader: say only what the reader can act on.
		return Decision{Object: d.Object, Reason: fmt.Sprintf(
			"user %q may not read view %s: its definer %q may no longer SELECT %s, which the view reads; ask the view's owner or an administrator "+
				"to restore the definer's access, or to re-create the view as someone who may read %s",
			b.s.Principal.User, view, def.User, d.Object, d.Object)}
	}
	d.Reason = fmt.Sprintf("read through view %s as its definer %q: %s", view, def.User, d.Reason)
	return d
}

// viewAllowed reports whether the request holds view (other than object i)
// as a relation read with SELECT, and that relation is allowed.
func (b *batch) viewAllowed(i int, view string) bool {
	for j := range b.objs {
		v := &b.objs[j]
		if j == i || v.URI != "" || v.Table == "" || action(v) != catalog.PrivSelect ||
			strings.ToLower(v.Database)+"."+strings.ToLower(v.Table) != view {
			continue
		}
		if d := b.decision(j); d != nil && d.Allowed {
			return true
		}
	}
	return false
}

// definer returns the subject of v's definer: the recorded user and groups,
// with roles (and admin membership) as the policy grants them now.
func (b *batch) definer(v *viewDef) *Subject {
	if s := b.definers[v]; s != nil {
		return s
	}
	if b.definers == nil {
		b.definers = map[*viewDef]*Subject{}
	}
	s := b.p.Subject(v.definer)
	b.definers[v] = s
	return s
}

// decideViewDefinition decides a CREATE or ALTER of a view: the privilege on
// the view as for any table-level object, and SELECT, for the same subject,
// on every object the definition reads. A view may only ever read what its
// definer may read.
// kindClash denies a definition of o as a view (or a table) when the
// planner's catalog holds that name as the other kind: a definition never
// turns a table's record into a view's, or back.
func (p *Policy) kindClash(s *Subject, o *Object, asView bool) (Decision, bool) {
	ti := p.tables[tableKey{strings.ToLower(o.Database), strings.ToLower(o.Table)}]
	if ti == nil || ti.isView == asView {
		return Decision{}, false
	}
	is, want := "a table", "view"
	if ti.isView {
		is, want = "a view", "table"
	}
	name := displayName(o)
	return Decision{Object: name, Reason: fmt.Sprintf(
		"%s may not %s %s %s: the planner's catalog holds %s as %s, and a definition cannot change what an object is. "+
			"Ask an administrator to drop %s in the planner first if it was replaced",
		describe(s), action(o), want, name, name, is, name)}, true
}

// IsTableDefinition reports whether o creates a table: a table-level object,
// not claimed as a view, with Action CREATE and the new table's columns.
// The planner records an allowed definition of a table it does not know.
func IsTableDefinition(o *Object) bool {
	return !o.IsView && o.URI == "" && o.Database != "" && o.Table != "" && o.Action == catalog.PrivCreate && len(o.Columns) > 0
}

func (p *Policy) decideTableDefinition(s *Subject, o *Object) Decision {
	if d, clash := p.kindClash(s, o, false); clash {
		return d
	}
	return p.decide(s, o)
}

func (p *Policy) decideViewDefinition(s *Subject, o *Object) Decision {
	if d, clash := p.kindClash(s, o, true); clash {
		return d
	}
	d := p.decide(s, o)
	if !d.Allowed || len(o.ViewReads) == 0 {
		return d
	}
	view := displayName(o)
	for _, r := range o.ViewReads {
		ro := Object{Database: r.Database, Table: r.Table, URI: r.URI, Action: catalog.PrivSelect}
		isURI, isTable := ro.URI != "" && ro.Database == "" && ro.Table == "", ro.URI == "" && ro.Database != "" && ro.Table != ""
		if !isURI && !isTable {
			return Decision{Object: view, Reason: fmt.Sprintf(
				"the definition of view %s names a read that is neither a table nor a URI (%+v)", view, r)}
		}
		rd := p.decide(s, &ro)
		if rd.Allowed {
			continue
		}
		prefix := fmt.Sprintf("%s may not %s %s", describe(s), catalog.PrivSelect, rd.Object)
		rest, ok := strings.CutPrefix(rd.Reason, prefix)
		if !ok {
			rest = ": " + rd.Reason
		}
		return Decision{Object: view, Reason: fmt.Sprintf("%s, which the definition of view %s reads, so the view may not be %s%s",
			prefix, view, pastTense(action(o)), rest)}
	}
	d.Reason += fmt.Sprintf("; the creator may read all %d objects the definition reads", len(o.ViewReads))
	return d
}

func pastTense(act catalog.Privilege) string {
	if act == catalog.PrivAlter {
		return "altered"
	}
	return "created"
}

func action(o *Object) catalog.Privilege {
	if o.Action == "" {
		return catalog.PrivSelect
	}
	return o.Action
}

func displayName(o *Object) string {
	switch {
	case o.URI != "":
		return o.URI
	case o.Table == "":
		return strings.ToLower(o.Database)
	}
	return strings.ToLower(o.Database) + "." + strings.ToLower(o.Table)
}

func fullAccess(o *Object) Decision {
	d := Decision{Object: displayName(o), Allowed: true, FullAccess: true}
	if action(o) == catalog.PrivSelect && o.URI == "" && o.Table != "" {
		d.Columns = make([]ColumnDecision, len(o.Columns))
		for i, c := range o.Columns {
			d.Columns[i] = ColumnDecision{Name: c.Name, Action: Visible}
		}
	}
	return d
}

func (p *Policy) decide(s *Subject, o *Object) Decision {
	switch {
	case o.URI != "":
		return p.decideURI(s, o)
	case o.Database == "":
		return Decision{Object: displayName(o), Reason: "the request names neither a table, a database nor a URI"}
	case o.Table == "":
		return p.decideDatabase(s, o)
	}
	k := tableKey{strings.ToLower(o.Database), strings.ToLower(o.Table)}
	act := action(o)
	if k.db == WhoAmIDatabase && k.table == WhoAmITable && act == catalog.PrivSelect {
		d := fullAccess(o)
		d.WhoAmI = true
		d.Reason = "every authenticated user may read " + k.String()
		return d
	}
	if s.IsAdmin {
		d := fullAccess(o)
		d.Reason = "member of the admin group " + p.adminGroup
		return d
	}
	var grants []*grant
	for _, rg := range s.grants {
		grants = appendImplying(grants, rg.catalog, act)
		grants = appendImplying(grants, rg.db[k.db], act)
		grants = appendImplying(grants, rg.table[k], act)
	}
	switch act {
	case catalog.PrivSelect:
		return p.decideSelect(s, o, k, grants)
	case catalog.PrivShow:
		if p.canSeeTable(s, k) {
			d := fullAccess(o)
			d.Reason = "a grant on " + k.String() + ", its database or the catalog"
			return d
		}
	default:
		for _, g := range grants {
			if !g.restricted {
				d := fullAccess(o)
				d.Reason = "granted to role " + g.src.Role
				return d
			}
		}
	}
	return p.deny(s, o, act, k, grants)
}

func appendImplying(dst, src []*grant, act catalog.Privilege) []*grant {
	for _, g := range src {
		if g.src.Privilege.Implies(act) {
			dst = append(dst, g)
		}
	}
	return dst
}

func (p *Policy) deny(s *Subject, o *Object, act catalog.Privilege, k tableKey, grants []*grant) Decision {
	var why string
	switch {
	case len(grants) > 0 && act != catalog.PrivSelect:
		why = fmt.Sprintf("the %s grants that reach you are limited to some columns, rows or masked values, and %s needs an unrestricted grant", act, act)
	case len(grants) > 0:
		why = "the SELECT grants that reach you admit none of its columns or rows"
	default:
		why = fmt.Sprintf("no %s grant on the table, its database or the catalog reaches your roles", act)
	}
	if p.tables[k] == nil && act != catalog.PrivCreate {
		why += " (the planner has not seen this table before)"
	}
	on := "TABLE " + k.String()
	if act == catalog.PrivCreate {
		on = "DATABASE " + k.db // what creates a table or view that does not exist yet
	}
	return Decision{
		Object: displayName(o),
		Reason: fmt.Sprintf("%s may not %s %s: %s. Ask an administrator to GRANT %s ON %s TO ROLE <role> and grant that role to one of your groups",
			describe(s), act, k, why, act, on),
	}
}

func describe(s *Subject) string {
	groups := "none"
	if len(s.Principal.Groups) > 0 {
		groups = strings.Join(s.Principal.Groups, ", ")
	}
	roles := "none"
	if len(s.Roles) > 0 {
		roles = strings.Join(s.Roles, ", ")
	}
	return fmt.Sprintf("user %q (groups: %s; roles: %s)", s.Principal.User, groups, roles)
}

// treatment is how one grant shows one column.
type treatment struct {
	kind ColumnAction // 0: absent; Visible; Masked
	mask *catalog.Transform
}

// applied is a grant that reaches the subject for one object, with its row
// filter bound for the subject.
type applied struct {
	g      *grant
	filter string // bound; "" admits every row
	treat  []treatment
}

func (p *Policy) decideSelect(s *Subject, o *Object, k tableKey, grants []*grant) Decision {
	if len(grants) == 0 {
		return p.deny(s, o, catalog.PrivSelect, k, nil)
	}
	ti := p.tables[k]
	lower := make([]string, len(o.Columns))
	for i, c := range o.Columns {
		lower[i] = strings.ToLower(c.Name)
	}
	sort.Slice(grants, func(i, j int) bool { return grants[i].src.ID < grants[j].src.ID })
	var apps []applied
	for i, g := range grants {
		if i > 0 && g == grants[i-1] {
			continue
		}
		filter, admits := p.bindFilter(s, g.filter)
		if !admits {
			continue
		}
		a := applied{g: g, filter: filter, treat: make([]treatment, len(o.Columns))}
		any := len(o.Columns) == 0
		for ci, col := range lower {
			a.treat[ci] = g.treatmentOf(col, ti)
			any = any || a.treat[ci].kind != 0
		}
		if any {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return p.deny(s, o, catalog.PrivSelect, k, grants)
	}

	// Rows: visible when any applied grant admits them.
	allRows := false
	var filters []string
	seen := map[string]bool{}
	for _, a := range apps {
		if a.filter == "" {
			allRows = true
		} else if !seen[a.filter] {
			seen[a.filter] = true
			filters = append(filters, a.filter)
		}
	}
	d := Decision{Object: k.String(), Allowed: true, FullAccess: allRows}
	if !allRows {
		d.RowFilter = orFilters(filters)
	}

	// Columns: per column, tiers from most to least permissive.
	d.Columns = make([]ColumnDecision, len(o.Columns))
	for ci, c := range o.Columns {
		cd := columnDecision(apps, ci, allRows, len(filters))
		cd.Name = c.Name
		if cd.Action != Visible {
			d.FullAccess = false
		}
		d.Columns[ci] = cd
	}
	d.Reason = reasonFor(apps)
	return d
}

func (g *grant) treatmentOf(col string, ti *tableInfo) treatment {
	if g.columns != nil && !g.columns[col] {
		return treatment{}
	}
	var attrs []string
	if ti != nil {
		attrs = ti.attrs[col]
	}
	if g.attrs != nil {
		has := false
		for _, a := range attrs {
			if g.attrs[a] {
				has = true
				break
			}
		}
		if has == g.attrsNot {
			return treatment{}
		}
	}
	for i := range g.transforms {
		for _, a := range attrs {
			if a == g.transforms[i].Attribute {
				return treatment{kind: Masked, mask: &g.transforms[i]}
			}
		}
	}
	return treatment{kind: Visible}
}

// tier is one distinct treatment of a column and the grants giving it.
type tier struct {
	t        treatment
	filters  []string
	allRows  bool
	distinct map[string]bool
}

// columnDecision renders one column's treatment across the applied grants
// (sorted by grant ID): unmasked first, then masks, where between two
// different masks the lower grant ID wins.
func columnDecision(apps []applied, ci int, allRows bool, nFilters int) ColumnDecision {
	if (allRows && nFilters == 0) || (!allRows && nFilters == 1) {
		// Every applied grant admits the same rows (the common case): the
		// most permissive treatment wins outright.
		var masked *treatment
		for i := range apps {
			switch t := &apps[i].treat[ci]; t.kind {
			case Visible:
				return ColumnDecision{Action: Visible}
			case Masked:
				if masked == nil {
					masked = t
				}
			}
		}
		if masked == nil {
			return ColumnDecision{Action: Removed}
		}
		return simple(*masked)
	}
	var tiers []*tier
	add := func(a applied, merge bool) {
		var x *tier
		if merge && len(tiers) > 0 && sameTreatment(tiers[len(tiers)-1].t, a.treat[ci]) {
			x = tiers[len(tiers)-1]
		} else {
			x = &tier{t: a.treat[ci], distinct: map[string]bool{}}
			tiers = append(tiers, x)
		}
		if a.filter == "" {
			x.allRows = true
		} else if !x.distinct[a.filter] {
			x.distinct[a.filter] = true
			x.filters = append(x.filters, a.filter)
		}
	}
	visible := false
	for _, a := range apps {
		if a.treat[ci].kind == Visible {
			add(a, visible)
			visible = true
		}
	}
	for _, a := range apps {
		if a.treat[ci].kind == Masked {
			add(a, true)
		}
	}
	if len(tiers) == 0 {
		return ColumnDecision{Action: Removed}
	}
	var cases []ColumnCase
	for _, x := range tiers {
		// A tier covers every visible row when one of its grants admits all
		// rows, or when its filters are all the filters there are.
		covers := x.allRows || (!allRows && len(x.filters) == nFilters)
		if covers && len(cases) == 0 {
			return simple(x.t)
		}
		cond := "TRUE"
		if !covers {
			cond = orFilters(x.filters)
		}
		c := simple(x.t)
		cases = append(cases, ColumnCase{Condition: cond, Action: c.Action, Mask: c.Mask})
		if covers {
			break
		}
	}
	return ColumnDecision{Action: Conditional, Cases: cases}
}

func simple(t treatment) ColumnDecision {
	if t.kind == Masked {
		return ColumnDecision{Action: Masked, Mask: &Mask{Function: t.mask.Function, Args: t.mask.Args}}
	}
	return ColumnDecision{Action: Visible}
}

func sameTreatment(a, b treatment) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind != Masked {
		return true
	}
	if a.mask.Function != b.mask.Function || len(a.mask.Args) != len(b.mask.Args) {
		return false
	}
	for i := range a.mask.Args {
		if a.mask.Args[i] != b.mask.Args[i] {
			return false
		}
	}
	return true
}

func orFilters(fs []string) string {
	if len(fs) == 1 {
		return fs[0]
	}
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		b.WriteString(f)
		b.WriteString(")")
	}
	return b.String()
}

func reasonFor(apps []applied) string {
	var roles []string
	seen := map[string]bool{}
	for _, a := range apps {
		if !seen[a.g.src.Role] {
			seen[a.g.src.Role] = true
			roles = append(roles, a.g.src.Role)
		}
	}
	sort.Strings(roles)
	return "granted to role " + strings.Join(roles, ", ")
}

// bindFilter renders a grant's row filter for s. admits is false when the
// filter is the constant FALSE once bound; an empty result admits every row.
func (p *Policy) bindFilter(s *Subject, parts []policysql.FilterPart) (sql string, admits bool) {
	if parts == nil {
		return "", true
	}
	var b strings.Builder
	// Bound values are kept apart from neighbouring words and numbers, so
	// that "1" followed by a bound value can never lex as one token.
	bound := false
	value := func(v string) {
		if n := b.Len(); n > 0 && isWordByte(b.String()[n-1]) {
			b.WriteByte(' ')
		}
		b.WriteString(v)
		bound = true
	}
	for _, part := range parts {
		switch part.Call {
		case "":
			if bound && part.SQL != "" && isWordByte(part.SQL[0]) {
				b.WriteByte(' ')
			}
			b.WriteString(part.SQL)
			bound = false
			continue
		case "user":
			value(policysql.QuoteString(s.Principal.User))
		case "has_roles":
			value(sqlBool(s.hasAnyRole(part.Args)))
		case "has_access":
			db, t, _ := strings.Cut(part.Args[0], ".")
			value(sqlBool(p.hasSelect(s, tableKey{db, t})))
		case "user_attribute":
			if v, ok := s.Principal.Attributes[part.Args[0]]; ok {
				value(policysql.QuoteString(v))
			} else {
				value("NULL")
			}
		default:
			// An unknown helper cannot be bound: admit nothing (fail closed).
			return "", false
		}
	}
	sql = strings.TrimSpace(b.String())
	if v, known := constantValue(sql); known {
		return "", v
	}
	if strings.EqualFold(strings.Trim(sql, "() "), "NULL") {
		return "", false
	}
	return sql, true
}

func sqlBool(v bool) string {
	if v {
		return "TRUE"
	}
	return "FALSE"
}

func (s *Subject) hasAnyRole(roles []string) bool {
	for _, r := range roles {
		if s.roleSet[r] {
			return true
		}
	}
	return false
}

// hasSelect reports whether any SELECT grant reaches s on k (for has_access).
func (p *Policy) hasSelect(s *Subject, k tableKey) bool {
	if s.IsAdmin || (k.db == WhoAmIDatabase && k.table == WhoAmITable) {
		return true
	}
	for _, rg := range s.grants {
		for _, gs := range [][]*grant{rg.catalog, rg.db[k.db], rg.table[k]} {
			for _, g := range gs {
				if g.src.Privilege.Implies(catalog.PrivSelect) {
					return true
				}
			}
		}
	}
	return false
}

func (p *Policy) decideURI(s *Subject, o *Object) Decision {
	act := action(o)
	uri, err := policysql.NormalizeURI(o.URI)
	if err != nil {
		return Decision{Object: o.URI, Reason: fmt.Sprintf("%s may not %s %s: %v", describe(s), act, o.URI, err)}
	}
	ok := Decision{Object: uri, Allowed: true, FullAccess: true}
	if s.IsAdmin {
		ok.Reason = "member of the admin group " + p.adminGroup
		return ok
	}
	for _, rg := range s.grants {
		for _, g := range rg.uri {
			if g.src.Privilege.Implies(act) && policysql.URICovers(g.src.Object.URI, uri) {
				ok.Reason = fmt.Sprintf("granted to role %s on URI '%s'", g.src.Role, g.src.Object.URI)
				return ok
			}
		}
		for _, g := range rg.catalog {
			if g.src.Privilege.Implies(act) && !g.restricted {
				ok.Reason = "granted to role " + g.src.Role + " on the catalog"
				return ok
			}
		}
	}
	return Decision{Object: uri, Reason: fmt.Sprintf(
		"%s may not %s %s: no URI grant covers this path. Ask an administrator to GRANT %s ON URI '<a prefix of %s>' TO ROLE <role>",
		describe(s), act, uri, act, uri)}
}

func (p *Policy) decideDatabase(s *Subject, o *Object) Decision {
	db := strings.ToLower(o.Database)
	act := o.Action
	if act == "" {
		act = catalog.PrivShow
	}
	ok := Decision{Object: db, Allowed: true, FullAccess: true}
	if s.IsAdmin {
		ok.Reason = "member of the admin group " + p.adminGroup
		return ok
	}
	if act == catalog.PrivShow {
		if p.canSeeDatabase(s, db) {
			ok.Reason = "a grant on " + db + ", one of its tables or the catalog"
			return ok
		}
	} else {
		for _, rg := range s.grants {
			for _, gs := range [][]*grant{rg.catalog, rg.db[db]} {
				for _, g := range gs {
					if g.src.Privilege.Implies(act) && !g.restricted {
						ok.Reason = "granted to role " + g.src.Role
						return ok
					}
				}
			}
		}
	}
	return Decision{Object: db, Reason: fmt.Sprintf(
		"%s may not %s database %s: no unrestricted %s grant on the database or the catalog reaches your roles. Ask an administrator to GRANT %s ON DATABASE %s TO ROLE <role>",
		describe(s), act, db, act, act, db)}
}
