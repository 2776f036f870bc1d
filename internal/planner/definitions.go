package planner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/store"
)

// Reads never write; definitions do. The catalog changes only through admin
// DDL and through definitions an engine asks about and the planner allows:
//
//   - a view: an object with is_view, the CREATE or ALTER action, its columns
//     and view_reads (the objects its definition reads). Allowed (the
//     privilege on the view, and SELECT by the same caller on every read), it
//     is recorded with the caller as its definer, replacing an earlier record
//     of the view. Only such a view reads with its definer's rights (see
//     policy.Authorize);
//   - a table: an object with the CREATE action and the new table's columns.
//     Allowed (CREATE on the table, its database or the catalog), it is
//     recorded if the planner does not know the name yet; a known table is
//     never rewritten by a request (see drift.go).
//
// Both are recorded synchronously, before the answer, so the very next
// request sees them. A definition never turns a table into a view or back
// (policy denies it).

// definition is an allowed view or table definition of one request.
type definition struct {
	index    int // in the request
	obj      *policy.Object
	location string // a table's location, as the engine sent it
}

// recordDefinitions records the allowed definitions of c's request in one
// store transaction and returns the policy version that holds them. Each is
// decided again against the newest policy first, in case the policy changed
// since the request was decided: a definition now denied is not recorded and
// its decision is replaced in decisions.
func (s *Server) recordDefinitions(ctx context.Context, c *caller, defs []definition, decisions []policy.Decision) (int64, error) {
	s.ddl.Lock()
	defer s.ddl.Unlock()
	snap := s.snapshot()
	var rows []catalog.Table
	for _, d := range defs {
		if snap != c.snap {
			subj := snap.policy.Subject(toPolicyPrincipal(c.principal))
			if now := snap.policy.Authorize(subj, []policy.Object{*d.obj})[0]; !now.Allowed {
				decisions[d.index] = now
				continue
			}
		}
		if !d.obj.IsView {
			t := tableRecord(d.obj, d.location)
			if _, known := snap.policy.Table(t.Database, t.Name); !known && !containsTable(rows, t) {
				rows = append(rows, t)
			}
			continue
		}
		v, err := viewRecord(d.obj, c.principal.User, c.principal.Groups)
		if err != nil {
			return 0, err
		}
		rows = append(rows, v)
	}
	if len(rows) == 0 {
		return snap.policy.Version(), nil
	}
	work := snap.state.Clone()
	var newDBs []string
	for _, v := range rows {
		if !containsString(work.Databases, v.Database) && !containsString(newDBs, v.Database) {
			newDBs = append(newDBs, v.Database)
		}
	}
	// Audit first, durably: a recorded definition always has its record.
	recs := make([]audit.Record, len(rows))
	for i, v := range rows {
		recs[i] = definitionRecord(c, v)
	}
	if err := s.recordAhead(ctx, c, recs...); err != nil {
		return 0, err
	}
	version, err := s.store.Apply(ctx, func(tx store.Tx) error {
		for _, db := range newDBs {
			if err := tx.CreateDatabase(db); err != nil {
				return err
			}
		}
		for _, v := range rows {
			if err := tx.PutTable(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range recs {
			r.Outcome, r.Reason = audit.OutcomeError, "store: "+err.Error()+"; not recorded (the record of this request id above is void)"
			s.record(c, r)
		}
		return 0, err
	}
	work.Databases = append(slices.Clip(work.Databases), newDBs...)
	for _, v := range rows {
		work.PutTable(v)
	}
	work.Version = version
	if err := s.publish(work); err != nil {
		// The store holds the definitions but they cannot be served: stop
		// serving rather than decide on an older policy.
		s.ready.Store(false)
		return 0, err
	}
	for _, v := range rows {
		if v.IsView {
			s.log.Info("recorded view", "view", v.FullName(), "definer", v.Definer, "version", version)
		} else {
			s.log.Info("recorded table", "table", v.FullName(), "creator", c.principal.User, "columns", len(v.Columns), "version", version)
		}
	}
	return version, nil
}

// definitionRecord is the audit record of a recorded table or view.
func definitionRecord(c *caller, v catalog.Table) audit.Record {
	if !v.IsView {
		return audit.Record{StatementType: "RECORD TABLE", Objects: []string{v.FullName()}, Outcome: audit.OutcomeOK,
			Reason: fmt.Sprintf("created by %s; %d columns", c.principal.User, len(v.Columns))}
	}
	reads := make([]string, len(v.ViewReads))
	for i, r := range v.ViewReads {
		reads[i] = r.String()
	}
	return audit.Record{StatementType: "RECORD VIEW", Objects: []string{v.FullName()}, Outcome: audit.OutcomeOK,
		Reason: fmt.Sprintf("definer %s; reads %s", v.Definer, strings.Join(reads, ", "))}
}

// viewRecord is the catalog row of an allowed view definition: its names,
// columns and reads normalized as the planner keys them.
func viewRecord(o *policy.Object, user string, groups []string) (catalog.Table, error) {
	t := tableRecord(o, "")
	t.IsView, t.Definer = true, user
	for _, g := range groups {
		if g = catalog.FoldName(g); g != "" {
			t.DefinerGroups = append(t.DefinerGroups, g)
		}
	}
	t.DefinerGroups = catalog.SortStrings(t.DefinerGroups)
	seen := map[catalog.ViewRead]bool{}
	for _, r := range o.ViewReads {
		if r.URI != "" {
			u, err := policysql.NormalizeURI(r.URI)
			if err != nil {
				return catalog.Table{}, fmt.Errorf("view %s: %w", t.FullName(), err) // decided allowed, so it normalized then
			}
			r = catalog.ViewRead{URI: u}
		} else {
			r = catalog.ViewRead{Database: strings.ToLower(r.Database), Table: strings.ToLower(r.Table)}
		}
		if !seen[r] {
			seen[r] = true
			t.ViewReads = append(t.ViewReads, r)
		}
	}
	sort.Slice(t.ViewReads, func(i, j int) bool {
		a, b := t.ViewReads[i], t.ViewReads[j]
		if a.URI != b.URI {
			return a.URI < b.URI
		}
		if a.Database != b.Database {
			return a.Database < b.Database
		}
		return a.Table < b.Table
	})
	return t, nil
}

// tableRecord is the catalog row of an allowed table definition (and the
// names and columns of a view's), normalized as the planner keys them.
func tableRecord(o *policy.Object, location string) catalog.Table {
	t := catalog.Table{
		Database: strings.ToLower(o.Database),
		Name:     strings.ToLower(o.Table),
		Location: location,
		Columns:  make([]catalog.Column, len(o.Columns)),
	}
	for i, col := range o.Columns {
		t.Columns[i] = catalog.Column{Name: strings.ToLower(col.Name), Type: strings.ToLower(col.Type)}
	}
	return t
}

func containsTable(ts []catalog.Table, t catalog.Table) bool {
	for _, x := range ts {
		if x.Database == t.Database && x.Name == t.Name {
			return true
		}
	}
	return false
}
