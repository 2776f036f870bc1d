package planner

import (
	"context"
	"strings"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// Policies are keyed by name, so the planner works with any metastore; it
// records the tables engines show it (name, view or not, columns, location)
// so that SHOW TABLES, GRANT and column attributes can refer to them. Only
// objects an allowed decision covered are recorded, off the decision path,
// and a full queue drops the update rather than slowing a query.

func (s *Server) maybeLearn(c *caller, o *policy.Object, po *lakegatev1.AuthObject) {
	if o.URI != "" || o.Table == "" || o.UnderView != "" || len(o.Columns) == 0 {
		return
	}
	t := catalog.Table{
		Database: strings.ToLower(o.Database),
		Name:     strings.ToLower(o.Table),
		IsView:   o.IsView,
		Location: po.Location,
		Columns:  make([]catalog.Column, len(o.Columns)),
	}
	if t.Database == policy.WhoAmIDatabase && t.Name == policy.WhoAmITable {
		return
	}
	for i, col := range o.Columns {
		t.Columns[i] = catalog.Column{Name: strings.ToLower(col.Name), Type: strings.ToLower(col.Type)}
	}
	if k, ok := c.snap.policy.Table(t.Database, t.Name); ok && sameTable(k, t) {
		return
	}
	select {
	case s.learn <- t:
	default:
		s.log.Debug("learn queue full; table not recorded this time", "table", t.FullName())
	}
}

// sameTable reports whether the record k already says what t says.
func sameTable(k, t catalog.Table) bool {
	if k.IsView != t.IsView || (t.Location != "" && k.Location != t.Location) || len(k.Columns) != len(t.Columns) {
		return false
	}
	for i := range k.Columns {
		if k.Columns[i] != t.Columns[i] {
			return false
		}
	}
	return true
}

func (s *Server) learner(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-s.learn:
			if err := s.record1(ctx, t); err != nil {
				s.log.Warn("could not record a table seen in a request", "table", t.FullName(), "err", err)
			}
		}
	}
}

func (s *Server) record1(ctx context.Context, t catalog.Table) error {
	s.ddl.Lock()
	defer s.ddl.Unlock()
	snap := s.snapshot()
	k, ok := snap.policy.Table(t.Database, t.Name)
	if ok && sameTable(k, t) {
		return nil
	}
	if ok && t.Location == "" {
		t.Location = k.Location
	}
	work := snap.state.Clone()
	newDB := !containsString(work.Databases, t.Database)
	version, err := s.store.Apply(ctx, func(tx store.Tx) error {
		if newDB {
			if err := tx.CreateDatabase(t.Database); err != nil {
				return err
			}
		}
		return tx.PutTable(t)
	})
	if err != nil {
		return err
	}
	if newDB {
		work.Databases = append(work.Databases, t.Database)
	}
	putTable(work, t)
	work.Version = version
	s.log.Info("recorded table", "table", t.FullName(), "columns", len(t.Columns), "version", version)
	return s.publish(work)
}

func putTable(st *catalog.State, t catalog.Table) {
	for i, k := range st.Tables {
		if k.Database == t.Database && k.Name == t.Name {
			st.Tables[i] = t
			return
		}
	}
	st.Tables = append(st.Tables, t)
}
