package policy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
)

// TestDifferential checks the engine against a deliberately naive evaluator
// of the row-by-row rule (docs/architecture.md): random roles, grants and tags; 10,000 random (user,
// table) questions; for every possible row, the engine's decision (row
// filter and column cases, evaluated) must show exactly what the rules say.
// A third of the questions read the table under a view recorded with a
// random definer and random reads: the rules say the definer's answer
// applies when the reader may read the view and the view reads the table,
// and the reader's own answer otherwise.
func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(diffSeed(), 11))
	questions, worlds, underView, asDefiner := 0, 0, 0, 0
	for questions < 10000 {
		w := randomWorld(rng)
		p, err := Compile(&w.st, Options{})
		require.NoError(t, err)
		worlds++
		for i := 0; i < 100; i++ {
			questions++
			u := w.users[rng.IntN(len(w.users))]
			tbl := w.st.Tables[rng.IntN(len(w.st.Tables))]
			var asked []catalog.Column
			for _, c := range tbl.Columns {
				if rng.IntN(4) > 0 {
					asked = append(asked, c)
				}
			}
			if len(asked) == 0 {
				asked = tbl.Columns[:1]
			}
			obj := Object{Database: tbl.Database, Table: tbl.Name, Columns: asked, Action: catalog.PrivSelect}
			var got Decision
			var want naiveAnswer
			if v := w.view(); !tbl.IsView && rng.IntN(3) == 0 {
				obj.UnderView = v.FullName()
				vo := Object{Database: v.Database, Table: v.Name, IsView: true, Columns: v.Columns, Action: catalog.PrivSelect}
				if rng.IntN(2) == 0 {
					got = p.Authorize(p.Subject(u), []Object{obj, vo})[0]
				} else {
					got = p.Authorize(p.Subject(u), []Object{vo, obj})[1]
				}
				reads := false
				for _, r := range v.ViewReads {
					reads = reads || (r.Database == tbl.Database && r.Table == tbl.Name)
				}
				as := u
				underView++
				if reads && w.naive(u, *v, v.Columns).allowed {
					as = Principal{User: v.Definer, Groups: v.DefinerGroups}
					asDefiner++
				}
				want = w.naive(as, tbl, asked)
			} else {
				got = p.Authorize(p.Subject(u), []Object{obj})[0]
				want = w.naive(u, tbl, asked)
			}
			if msg := compare(u, got, want, asked); msg != "" {
				t.Fatalf("world %d question %d: user %s table %s: %s\ngrants:\n%s\ndecision: %+v", worlds, questions, u.User, tbl.FullName(), msg, w.describe(), got)
			}
		}
	}
	t.Logf("%d questions over %d random policies (%d under a view, %d of them read as its definer): no disagreement",
		questions, worlds, underView, asDefiner)
}

var regions = []string{"EU", "US", "APAC", "LATAM"}

type world struct {
	st    catalog.State
	users []Principal
}

func randomWorld(rng *rand.Rand) *world {
	w := &world{}
	st := &w.st
	st.Databases = []string{"d1", "d2"}
	st.Attributes = []string{"t.a", "t.b", "t.c"}
	for i := 0; i < 6; i++ {
		st.Roles = append(st.Roles, fmt.Sprintf("r%d", i))
	}
	groups := []string{"g0", "g1", "g2", "g3"}
	for _, r := range st.Roles {
		for _, g := range groups {
			if rng.IntN(3) == 0 {
				st.Memberships = append(st.Memberships, catalog.Membership{Role: r, Kind: catalog.MemberGroup, Name: g})
			}
		}
		if rng.IntN(6) == 0 {
			st.Memberships = append(st.Memberships, catalog.Membership{Role: r, Kind: catalog.MemberUser, Name: "u1"})
		}
	}
	for _, db := range st.Databases {
		for ti := 0; ti < 2; ti++ {
			tbl := catalog.Table{Database: db, Name: fmt.Sprintf("t%d", ti), Columns: cols("c0", "c1", "c2", "c3", "c4")}
			st.Tables = append(st.Tables, tbl)
			for _, c := range tbl.Columns {
				for _, a := range st.Attributes {
					if rng.IntN(4) == 0 {
						st.ColumnAttrs = append(st.ColumnAttrs, catalog.ColumnAttribute{Database: db, Table: tbl.Name, Column: c.Name, Attribute: a})
					}
				}
			}
		}
	}
	// One view, recorded with a definer (set below, once there are users)
	// and reading some of the tables.
	view := catalog.Table{Database: "d1", Name: "v", IsView: true, Columns: cols("c0", "c1", "c2", "c3", "c4")}
	for _, tbl := range st.Tables {
		if rng.IntN(2) == 0 {
			view.ViewReads = append(view.ViewReads, catalog.ViewRead{Database: tbl.Database, Table: tbl.Name})
		}
	}
	st.Tables = append(st.Tables, view)
	filters := []string{"", "", "", "region = 'EU'", "region = 'US'", "region = 'EU' OR region = 'APAC'",
		"NOT region = 'US'", "has_roles('r1')", "has_roles('r2') AND region = 'US'", "user() = 'u1'", "user() = 'u2' OR region = 'LATAM'"}
	masks := []string{"mask", "tokenize", "null"}
	privs := []catalog.Privilege{catalog.PrivSelect, catalog.PrivSelect, catalog.PrivAll, catalog.PrivInsert, catalog.PrivShow}
	n := 1 + rng.IntN(14)
	for i := 0; i < n; i++ {
		g := catalog.Grant{ID: int64(i + 1), Role: st.Roles[rng.IntN(len(st.Roles))], Privilege: privs[rng.IntN(len(privs))]}
		switch rng.IntN(6) {
		case 0:
			g.Object = catalog.Object{Scope: catalog.ScopeCatalog}
		case 1, 2:
			g.Object = catalog.Object{Scope: catalog.ScopeDatabase, Database: st.Databases[rng.IntN(2)]}
		default:
			tbl := st.Tables[rng.IntN(len(st.Tables))]
			g.Object = catalog.Object{Scope: catalog.ScopeTable, Database: tbl.Database, Table: tbl.Name}
			if rng.IntN(3) == 0 {
				for _, c := range tbl.Columns {
					if rng.IntN(2) == 0 {
						g.Columns = append(g.Columns, c.Name)
					}
				}
			}
		}
		if rng.IntN(4) == 0 {
			g.Attributes = []string{st.Attributes[rng.IntN(3)]}
			g.AttributesNot = rng.IntN(2) == 0
		}
		for _, a := range st.Attributes {
			if rng.IntN(4) == 0 {
				g.Transforms = append(g.Transforms, catalog.Transform{Attribute: a, Function: masks[rng.IntN(len(masks))]})
			}
		}
		g.Filter = filters[rng.IntN(len(filters))]
		st.Grants = st.Grants.With(g)
	}
	for i := 0; i < 5; i++ {
		u := Principal{User: fmt.Sprintf("u%d", i)}
		for _, g := range groups {
			if rng.IntN(2) == 0 {
				u.Groups = append(u.Groups, g)
			}
		}
		w.users = append(w.users, u)
	}
	if rng.IntN(10) == 0 {
		w.users = append(w.users, Principal{User: "root", Groups: []string{"admin"}})
	}
	v := w.view()
	d := w.users[rng.IntN(len(w.users))]
	v.Definer, v.DefinerGroups = d.User, d.Groups
	return w
}

// view is the world's recorded view.
func (w *world) view() *catalog.Table {
	for i := range w.st.Tables {
		if w.st.Tables[i].IsView {
			return &w.st.Tables[i]
		}
	}
	panic("no view")
}

func (w *world) describe() string {
	var b strings.Builder
	for _, g := range w.st.Grants.All() {
		fmt.Fprintf(&b, "  %d %s %s %s cols=%v attrs=%v not=%v tr=%v where=%q\n", g.ID, g.Role, g.Privilege, g.Object, g.Columns, g.Attributes, g.AttributesNot, g.Transforms, g.Filter)
	}
	for _, m := range w.st.Memberships {
		fmt.Fprintf(&b, "  role %s -> %s %s\n", m.Role, m.Kind, m.Name)
	}
	v := w.view()
	fmt.Fprintf(&b, "  view %s definer %s groups %v reads %v\n", v.FullName(), v.Definer, v.DefinerGroups, v.ViewReads)
	return b.String()
}

// outcome of one column in one row: "raw", "mask:<fn>", "null", or "absent".
type rowView struct {
	visible bool
	cols    []string
}

type naiveAnswer struct {
	allowed bool
	rows    map[string]rowView // by region
}

// naive applies the row-by-row rule (docs/architecture.md) literally.
func (w *world) naive(u Principal, tbl catalog.Table, asked []catalog.Column) naiveAnswer {
	roles := map[string]bool{}
	admin := false
	for _, m := range w.st.Memberships {
		if (m.Kind == catalog.MemberUser && m.Name == u.User) || (m.Kind == catalog.MemberGroup && contains(u.Groups, m.Name)) {
			roles[m.Role] = true
		}
	}
	for _, g := range u.Groups {
		admin = admin || g == "admin"
	}
	ans := naiveAnswer{rows: map[string]rowView{}}
	if admin {
		ans.allowed = true
		for _, r := range regions {
			v := rowView{visible: true}
			for range asked {
				v.cols = append(v.cols, "raw")
			}
			ans.rows[r] = v
		}
		return ans
	}
	attrsOf := func(col string) []string {
		var out []string
		for _, a := range w.st.ColumnAttrs {
			if a.Database == tbl.Database && a.Table == tbl.Name && a.Column == col {
				out = append(out, a.Attribute)
			}
		}
		return out
	}
	// treat: per applicable grant, per asked column.
	type ga struct {
		g     catalog.Grant
		treat []string
	}
	var apps []ga
	for _, g := range w.st.Grants.All() {
		if !roles[g.Role] || (g.Privilege != catalog.PrivSelect && g.Privilege != catalog.PrivAll) {
			continue
		}
		o := g.Object
		if !(o.Scope == catalog.ScopeCatalog || (o.Scope == catalog.ScopeDatabase && o.Database == tbl.Database) ||
			(o.Scope == catalog.ScopeTable && o.Database == tbl.Database && o.Table == tbl.Name)) {
			continue
		}
		a := ga{g: g}
		shows := false
		for _, c := range asked {
			t := "raw"
			attrs := attrsOf(c.Name)
			if len(g.Columns) > 0 && !contains(g.Columns, c.Name) {
				t = "absent"
			}
			if t != "absent" && len(g.Attributes) > 0 {
				has := false
				for _, x := range attrs {
					has = has || contains(g.Attributes, x)
				}
				if has == g.AttributesNot {
					t = "absent"
				}
			}
			if t == "raw" {
			tr:
				for _, x := range g.Transforms {
					for _, y := range attrs {
						if x.Attribute == y {
							t = "mask:" + x.Function
							break tr
						}
					}
				}
			}
			shows = shows || t != "absent"
			a.treat = append(a.treat, t)
		}
		admitsSome := false
		for _, r := range regions {
			admitsSome = admitsSome || naiveFilter(g.Filter, u, roles, r)
		}
		if shows && admitsSome {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return ans
	}
	ans.allowed = true
	sort.Slice(apps, func(i, j int) bool { return apps[i].g.ID < apps[j].g.ID })
	for _, r := range regions {
		v := rowView{}
		var admitting []ga
		for _, a := range apps {
			if naiveFilter(a.g.Filter, u, roles, r) {
				admitting = append(admitting, a)
			}
		}
		v.visible = len(admitting) > 0
		for ci := range asked {
			// Shown at all: some applicable grant shows the column.
			shown := false
			for _, a := range apps {
				shown = shown || a.treat[ci] != "absent"
			}
			best := "null"
			if !shown {
				best = "absent"
			}
			for _, a := range admitting {
				if a.treat[ci] == "raw" {
					best = "raw"
					break
				}
			}
			if best == "null" {
				for _, a := range admitting { // lowest grant id among masks wins
					if strings.HasPrefix(a.treat[ci], "mask:") {
						best = a.treat[ci]
						break
					}
				}
			}
			v.cols = append(v.cols, best)
		}
		ans.rows[r] = v
	}
	return ans
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func compare(u Principal, got Decision, want naiveAnswer, asked []catalog.Column) string {
	if got.Allowed != want.allowed {
		return fmt.Sprintf("allowed: engine %v, rules %v (%s)", got.Allowed, want.allowed, got.Reason)
	}
	if !got.Allowed {
		return ""
	}
	if len(got.Columns) != len(asked) {
		return "wrong number of column decisions"
	}
	for _, r := range regions {
		visible := got.RowFilter == "" || evalSQL(got.RowFilter, r)
		w := want.rows[r]
		if visible != w.visible {
			return fmt.Sprintf("row %s: visible engine %v, rules %v (filter %q)", r, visible, w.visible, got.RowFilter)
		}
		if !visible {
			continue
		}
		for ci, cd := range got.Columns {
			var g string
			switch cd.Action {
			case Visible:
				g = "raw"
			case Masked:
				g = "mask:" + cd.Mask.Function
			case Removed:
				g = "absent"
			case Conditional:
				g = "null"
				for _, cs := range cd.Cases {
					if evalSQL(cs.Condition, r) {
						g = "raw"
						if cs.Action == Masked {
							g = "mask:" + cs.Mask.Function
						}
						break
					}
				}
			}
			if g != w.cols[ci] {
				return fmt.Sprintf("row %s column %s: engine %s, rules %s (%+v)", r, asked[ci].Name, g, w.cols[ci], cd)
			}
		}
	}
	return ""
}

// --- a tiny SQL boolean evaluator over one row (region) ---

// naiveFilter evaluates an unbound grant filter for user u in a row.
func naiveFilter(f string, u Principal, roles map[string]bool, region string) bool {
	if f == "" {
		return true
	}
	e := &evaluator{toks: tokenize(f), region: region, user: u.User, roles: roles}
	v := e.or()
	if e.pos != len(e.toks) {
		panic("trailing tokens in " + f)
	}
	return v
}

// evalSQL evaluates a bound filter (as the engine emits it) in a row.
func evalSQL(f string, region string) bool {
	e := &evaluator{toks: tokenize(f), region: region}
	v := e.or()
	if e.pos != len(e.toks) {
		panic("trailing tokens in " + f)
	}
	return v
}

type evaluator struct {
	toks   []string
	pos    int
	region string
	user   string
	roles  map[string]bool
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == '=' || c == ',':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			out = append(out, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && strings.IndexByte(" ()=,'", s[j]) < 0 {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

func (e *evaluator) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *evaluator) next() string { t := e.peek(); e.pos++; return t }

func (e *evaluator) or() bool {
	v := e.and()
	for strings.EqualFold(e.peek(), "OR") {
		e.next()
		w := e.and()
		v = v || w
	}
	return v
}

func (e *evaluator) and() bool {
	v := e.not()
	for strings.EqualFold(e.peek(), "AND") {
		e.next()
		w := e.not()
		v = v && w
	}
	return v
}

func (e *evaluator) not() bool {
	if strings.EqualFold(e.peek(), "NOT") {
		e.next()
		return !e.not()
	}
	return e.primary()
}

func (e *evaluator) primary() bool {
	switch t := e.peek(); {
	case t == "(":
		e.next()
		v := e.or()
		e.next() // )
		return v
	case strings.EqualFold(t, "TRUE"):
		e.next()
		return true
	case strings.EqualFold(t, "FALSE"):
		e.next()
		return false
	case strings.EqualFold(t, "has_roles"):
		e.next()
		e.next() // (
		r := strings.Trim(e.next(), "'")
		e.next() // )
		return e.roles[r]
	}
	a := e.operand()
	if e.next() != "=" {
		panic("expected =")
	}
	b := e.operand()
	return a == b
}

func (e *evaluator) operand() string {
	t := e.next()
	switch {
	case strings.HasPrefix(t, "'"):
		return strings.Trim(t, "'")
	case t == "region":
		return e.region
	case t == "user":
		e.next()
		e.next() // ( )
		return e.user
	}
	panic("unexpected operand " + t)
}

// diffSeed lets a run explore other random policies: LAKEGATE_DIFF_SEED=n.
func diffSeed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("LAKEGATE_DIFF_SEED"), 10, 64); err == nil {
		return s
	}
	return 2026
}
