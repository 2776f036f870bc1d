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
// records the tables engines show it (name, columns, location) so that SHOW
// TABLES, GRANT and column attributes can refer to them. Only tables it does
// not know yet are recorded (a known table is never rewritten from a
// request, so engines that spell a schema differently cannot make it flap),
// only when an allowed decision covered them, off the decision path; a full
// queue drops the update rather than slowing a query. Objects claimed as
// views are never learned: a view is recorded only from an authorized CREATE
// or ALTER VIEW, with its definer (views.go), and a request must never make
// or change one.

func (s *Server) maybeLearn(c *caller, o *policy.Object, po *lakegatev1.AuthObject) {
	if o.URI != "" || o.Table == "" || o.UnderView != "" || o.IsView || len(o.Columns) == 0 {
		return
	}
	t := catalog.Table{
		Database: strings.ToLower(o.Database),
		Name:     strings.ToLower(o.Table),
		Location: po.Location,
		Columns:  make([]catalog.Column, len(o.Columns)),
	}
	if t.Database == policy.WhoAmIDatabase && t.Name == policy.WhoAmITable {
		return
	}
	for i, col := range o.Columns {
		t.Columns[i] = catalog.Column{Name: strings.ToLower(col.Name), Type: strings.ToLower(col.Type)}
	}
	if _, ok := c.snap.policy.Table(t.Database, t.Name); ok {
		return
	}
	select {
	case s.learn <- t:
	default:
		s.log.Debug("learn queue full; table not recorded this time", "table", t.FullName())
	}
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
	if _, ok := snap.policy.Table(t.Database, t.Name); ok {
		return nil
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
