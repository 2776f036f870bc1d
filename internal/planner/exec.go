package planner

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/ddl"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/store"
)

// execute runs one ExecuteSql request: package ddl validates the statements
// in order against a working copy of the catalog and says what changes; the
// changes are then written in one store transaction and published. Any
// refusal changes nothing.
func (s *Server) execute(ctx context.Context, c *caller, stmts []policysql.Parsed) ([]*lakegatev1.StatementResult, int64, error) {
	mutates := false
	for _, p := range stmts {
		mutates = mutates || !p.Stmt.IsQuery()
	}
	if mutates {
		s.ddl.Lock()
		defer s.ddl.Unlock()
		// Validate against the newest version, which may be newer than the
		// one the caller was authenticated against.
		if snap := s.snapshot(); snap != c.snap {
			c.snap = snap
			c.subject = snap.policy.Subject(toPolicyPrincipal(c.principal))
		}
	}
	b := ddl.NewBatch(c.snap.state, c.snap.policy, c.subject, toPolicyPrincipal(c.principal), policy.Options{AdminGroup: s.cfg.AdminGroup})
	results := make([]*lakegatev1.StatementResult, 0, len(stmts))
	for i, p := range stmts {
		if err := ctx.Err(); err != nil { // the client went away: stop, change nothing
			return nil, 0, connect.NewError(connect.CodeCanceled, fmt.Errorf("cancelled at statement %d of %d; nothing was changed", i+1, len(stmts)))
		}
		r, err := b.Run(p.Stmt)
		if err != nil {
			s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: outcomeOf(err), Reason: err.Error()})
			return nil, 0, wrapStmtError(err, i, len(stmts), p)
		}
		results = append(results, toProtoResult(p.Stmt.Kind(), r))
	}
	version := c.snap.policy.Version()
	changes := b.Changes()
	if len(changes) > 0 {
		// Audit first, durably: a committed change always has its record.
		recs := make([]audit.Record, len(stmts))
		for i, p := range stmts {
			recs[i] = audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: "ok"}
		}
		if err := s.recordAhead(ctx, c, recs...); err != nil {
			return nil, 0, err
		}
		ids := map[int64]int64{} // temporary grant IDs → the store's
		v, err := s.store.Apply(ctx, func(tx store.Tx) error {
			for _, ch := range changes {
				if err := applyChange(tx, ch, ids); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.log.Error("policy change failed in the store", "err", err)
			for _, p := range stmts { // the records above described a change that did not happen
				s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: "error",
					Reason: "store: " + err.Error() + "; not committed (the record of this request id above is void)"})
			}
			return nil, 0, connect.NewError(connect.CodeInternal, fmt.Errorf("the store refused the change (%v); nothing was changed", err))
		}
		work := b.State()
		work.Grants = work.Grants.Renumber(ids)
		work.Version = v
		if err := s.publish(work); err != nil {
			// The store holds the change but it cannot be served: stop
			// serving rather than decide on an older policy.
			s.ready.Store(false)
			return nil, 0, connect.NewError(connect.CodeInternal, err)
		}
		version = v
		s.log.Info("policy changed", "user", c.principal.User, "statements", len(stmts), "version", v)
	}
	if len(changes) == 0 { // queries, and statements that changed nothing (IF NOT EXISTS …)
		for _, p := range stmts {
			s.record(c, audit.Record{StatementType: p.Stmt.Kind(), Statement: p.Text, Outcome: "ok"})
		}
	}
	return results, version, nil
}

// applyChange makes one catalog change in the store.
func applyChange(tx store.Tx, ch ddl.Change, ids map[int64]int64) error {
	switch ch.Op {
	case ddl.CreateRole:
		return tx.CreateRole(ch.Name)
	case ddl.DropRole:
		return tx.DropRole(ch.Name)
	case ddl.AddMembership:
		return tx.AddMembership(ch.Membership)
	case ddl.RemoveMembership:
		return tx.RemoveMembership(ch.Membership)
	case ddl.AddGrant:
		g := ch.Grant
		temp := g.ID
		g.ID = 0
		id, err := tx.AddGrant(g)
		ids[temp] = id
		return err
	case ddl.RemoveGrant:
		id := ch.GrantID
		if id < 0 {
			id = ids[id]
		}
		return tx.RemoveGrant(id)
	case ddl.CreateAttribute:
		return tx.CreateAttribute(ch.Name)
	case ddl.DropAttribute:
		return tx.DropAttribute(ch.Name)
	case ddl.CreateDatabase:
		return tx.CreateDatabase(ch.Name)
	case ddl.DropDatabase:
		return tx.DropDatabase(ch.Name)
	case ddl.PutTable:
		return tx.PutTable(ch.TableRow)
	case ddl.DropTable:
		return tx.DropTable(ch.Name, ch.Table)
	case ddl.AddColumnAttribute:
		return tx.AddColumnAttribute(ch.ColumnAttr)
	case ddl.RemoveColumnAttribute:
		return tx.RemoveColumnAttribute(ch.ColumnAttr)
	}
	return fmt.Errorf("unknown catalog change %d", ch.Op)
}

func toProtoResult(kind string, r ddl.Result) *lakegatev1.StatementResult {
	out := &lakegatev1.StatementResult{StatementType: kind, Message: r.Message, Columns: r.Columns}
	if r.Columns != nil {
		out.Rows = make([]*lakegatev1.Row, len(r.Rows))
		for i, row := range r.Rows {
			out.Rows[i] = &lakegatev1.Row{Values: row}
		}
	}
	return out
}

// codes maps ddl's refusals to API codes, in one place.
var codes = map[ddl.Kind]connect.Code{
	ddl.Invalid:       connect.CodeInvalidArgument,
	ddl.NotFound:      connect.CodeNotFound,
	ddl.AlreadyExists: connect.CodeAlreadyExists,
	ddl.Denied:        connect.CodePermissionDenied,
	ddl.Precondition:  connect.CodeFailedPrecondition,
	ddl.Unsupported:   connect.CodeUnimplemented,
}

func outcomeOf(err error) string {
	var e *ddl.Error
	if errors.As(err, &e) && e.Kind == ddl.Denied {
		return "denied"
	}
	return "error"
}

func wrapStmtError(err error, i, n int, p policysql.Parsed) error {
	code := connect.CodeInternal
	var e *ddl.Error
	if errors.As(err, &e) {
		code = codes[e.Kind]
	}
	where := fmt.Sprintf("line %d", p.Pos.Line)
	if n > 1 {
		where = fmt.Sprintf("statement %d of %d (line %d)", i+1, n, p.Pos.Line)
	}
	return connect.NewError(code, fmt.Errorf("%s: %s: %v; nothing was changed", where, p.Stmt.Kind(), err))
}
