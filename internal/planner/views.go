package planner

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/store"
)

// Views have an owner. An engine that runs CREATE VIEW or ALTER VIEW asks
// for the view as an object with is_view, the CREATE or ALTER action, its
// columns and view_reads, the objects its definition reads. When the
// engine decides that object allowed (the privilege on the view, and SELECT
// by the same caller on every read), the planner records the view, with the
// caller as its definer, synchronously, before it answers. Only such a view
// reads with its definer's rights (see policy.Authorize); a read request
// never creates or changes a view record.

// viewDefinition is an allowed view definition of one request.
type viewDefinition struct {
	index int // in the request
	obj   *policy.Object
}

// recordViews records the allowed view definitions of c's request, each
// replacing any earlier record of the same name, in one store transaction,
// and returns the policy version that holds them. Each is decided again
// against the newest policy first, in case the policy changed since the
// request was decided: a definition now denied is not recorded and its
// decision is replaced in decisions.
func (s *Server) recordViews(ctx context.Context, c *caller, defs []viewDefinition, decisions []policy.Decision) (int64, error) {
	s.ddl.Lock()
	defer s.ddl.Unlock()
	snap := s.snapshot()
	var views []catalog.Table
	for _, d := range defs {
		if snap != c.snap {
			subj := snap.policy.Subject(toPolicyPrincipal(c.principal))
			if now := snap.policy.Authorize(subj, []policy.Object{*d.obj})[0]; !now.Allowed {
				decisions[d.index] = now
				continue
			}
		}
		v, err := viewRecord(d.obj, c.principal.User, c.principal.Groups)
		if err != nil {
			return 0, err
		}
		views = append(views, v)
	}
	if len(views) == 0 {
		return snap.policy.Version(), nil
	}
	work := snap.state.Clone()
	var newDBs []string
	for _, v := range views {
		if !containsString(work.Databases, v.Database) && !containsString(newDBs, v.Database) {
			newDBs = append(newDBs, v.Database)
		}
	}
	version, err := s.store.Apply(ctx, func(tx store.Tx) error {
		for _, db := range newDBs {
			if err := tx.CreateDatabase(db); err != nil {
				return err
			}
		}
		for _, v := range views {
			if err := tx.PutTable(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	work.Databases = append(work.Databases, newDBs...)
	for _, v := range views {
		putTable(work, v)
	}
	work.Version = version
	if err := s.publish(work); err != nil {
		// The store holds the views but they cannot be served: stop
		// serving rather than decide on an older policy.
		s.ready.Store(false)
		return 0, err
	}
	for _, v := range views {
		reads := make([]string, len(v.ViewReads))
		for i, r := range v.ViewReads {
			reads[i] = r.String()
		}
		s.log.Info("recorded view", "view", v.FullName(), "definer", v.Definer, "reads", reads, "version", version)
		s.record(c, audit.Record{StatementType: "RECORD VIEW", Objects: []string{v.FullName()}, Outcome: audit.OutcomeOK,
			Reason: fmt.Sprintf("definer %s; reads %s", v.Definer, strings.Join(reads, ", "))})
	}
	return version, nil
}

// viewRecord is the catalog row of an allowed view definition: its names,
// columns and reads normalized as the planner keys them.
func viewRecord(o *policy.Object, user string, groups []string) (catalog.Table, error) {
	t := catalog.Table{
		Database: strings.ToLower(o.Database),
		Name:     strings.ToLower(o.Table),
		IsView:   true,
		Columns:  make([]catalog.Column, len(o.Columns)),
		Definer:  user,
	}
	for i, col := range o.Columns {
		t.Columns[i] = catalog.Column{Name: strings.ToLower(col.Name), Type: strings.ToLower(col.Type)}
	}
	for _, g := range groups {
		if g = strings.ToLower(g); g != "" {
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
