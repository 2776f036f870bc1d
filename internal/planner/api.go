package planner

import (
	"context"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// api implements lakegatev1connect.PlannerServiceHandler.
type api struct{ s *Server }

var actions = map[lakegatev1.Action]catalog.Privilege{
	lakegatev1.Action_ACTION_SELECT: catalog.PrivSelect,
	lakegatev1.Action_ACTION_INSERT: catalog.PrivInsert,
	lakegatev1.Action_ACTION_CREATE: catalog.PrivCreate,
	lakegatev1.Action_ACTION_ALTER:  catalog.PrivAlter,
	lakegatev1.Action_ACTION_DROP:   catalog.PrivDrop,
	lakegatev1.Action_ACTION_SHOW:   catalog.PrivShow,
	lakegatev1.Action_ACTION_ALL:    catalog.PrivAll,
}

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

func (a *api) Authorize(ctx context.Context, req *connect.Request[lakegatev1.AuthorizeRequest]) (*connect.Response[lakegatev1.AuthorizeResponse], error) {
	s, m := a.s, req.Msg
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, m.SessionId, m.Client, req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	objs, err := s.objects(m)
	if err != nil {
		s.record(c, audit.Record{StatementType: "AUTHORIZE", Statement: m.Statement, Outcome: "error", Reason: err.Error()})
		return nil, err
	}
	for i := range objs {
		// A client that sends no columns (the CLI) asks about the columns
		// the planner knows; engines always send theirs.
		o := &objs[i]
		if o.Table != "" && len(o.Columns) == 0 {
			if t, ok := c.snap.policy.Table(strings.ToLower(o.Database), strings.ToLower(o.Table)); ok {
				o.Columns = t.Columns
			}
		}
	}
	decisions := c.snap.policy.Authorize(c.subject, objs)
	version := c.snap.policy.Version()

	// Allowed definitions are recorded before the answer, so a view reads
	// with its definer's rights, and a new table can be granted on, from the
	// very next request. Nothing else in a request changes the catalog.
	var defs []definition
	for i := range objs {
		o := &objs[i]
		if decisions[i].Allowed && (policy.IsViewDefinition(o) || policy.IsTableDefinition(o)) {
			defs = append(defs, definition{index: i, obj: o, location: m.Objects[i].Location})
		}
	}
	if len(defs) > 0 {
		if version, err = s.recordDefinitions(ctx, c, defs, decisions); err != nil {
			s.log.Error("could not record a definition", "err", err)
			s.record(c, audit.Record{StatementType: "AUTHORIZE", Statement: m.Statement, Outcome: audit.OutcomeError, Reason: "record definition: " + err.Error()})
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("the planner could not record the definition (%v); do not create the object", err))
		}
		// Recording left the fair-share gate to wait for the disk; the rest
		// of the answer waits its turn again.
		if err := rejoinGate(ctx); err != nil {
			return nil, err
		}
	}

	resp := &lakegatev1.AuthorizeResponse{
		Decisions:     make([]*lakegatev1.ObjectDecision, len(decisions)),
		PolicyVersion: version,
		User:          c.principal.User,
		RequestId:     c.requestID,
	}
	outcome, names, denials := "allowed", make([]string, len(decisions)), []string(nil)
	for i, d := range decisions {
		resp.Decisions[i] = toProtoDecision(i, d)
		names[i] = d.Object
		if d.Allowed {
			s.metrics.decisions.WithLabelValues("allowed").Inc()
			s.checkDrift(c, &objs[i])
		} else {
			s.metrics.decisions.WithLabelValues("denied").Inc()
			outcome = "denied"
			denials = append(denials, d.Reason)
		}
	}
	s.record(c, audit.Record{StatementType: "AUTHORIZE", Statement: m.Statement, Objects: names,
		Outcome: outcome, Reason: strings.Join(denials, "; ")})
	return connect.NewResponse(resp), nil
}

// objects validates and converts a request's objects.
func (s *Server) objects(m *lakegatev1.AuthorizeRequest) ([]policy.Object, error) {
	if len(m.Objects) == 0 {
		return nil, invalid("the request has no objects to authorize")
	}
	if len(m.Objects) > s.cfg.MaxObjects {
		return nil, invalid("the request has %d objects; at most %d are allowed in one request", len(m.Objects), s.cfg.MaxObjects)
	}
	def, ok := actions[m.Action]
	if !ok && m.Action != lakegatev1.Action_ACTION_UNSPECIFIED {
		return nil, invalid("unknown action %v", m.Action)
	}
	if def == "" {
		def = catalog.PrivSelect
	}
	out := make([]policy.Object, len(m.Objects))
	for i, o := range m.Objects {
		act := def
		if o.Action != lakegatev1.Action_ACTION_UNSPECIFIED {
			if act, ok = actions[o.Action]; !ok {
				return nil, invalid("object %d: unknown action %v", i, o.Action)
			}
		}
		switch {
		case o.Uri != "" && (o.Database != "" || o.Table != ""):
			return nil, invalid("object %d: set either a URI or a database and table, not both", i)
		case o.Uri == "" && o.Database == "":
			return nil, invalid("object %d: names neither a database nor a URI", i)
		case len(o.Columns) > s.cfg.MaxColumns:
			return nil, invalid("object %d: %d columns; at most %d are allowed", i, len(o.Columns), s.cfg.MaxColumns)
		}
		cols := make([]catalog.Column, len(o.Columns))
		for j, c := range o.Columns {
			if c.Name == "" {
				return nil, invalid("object %d: column %d has no name", i, j)
			}
			cols[j] = catalog.Column{Name: c.Name, Type: c.Type}
		}
		out[i] = policy.Object{Database: o.Database, Table: o.Table, IsView: o.IsView, Columns: cols,
			URI: o.Uri, Action: act, UnderView: o.UnderView}
		if len(o.ViewReads) == 0 {
			continue
		}
		if !policy.IsViewDefinition(&out[i]) {
			return nil, invalid("object %d: view_reads belong to a CREATE or ALTER of a view (is_view with ACTION_CREATE or ACTION_ALTER) only", i)
		}
		if len(o.ViewReads) > s.cfg.MaxObjects {
			return nil, invalid("object %d: %d view_reads; at most %d are allowed", i, len(o.ViewReads), s.cfg.MaxObjects)
		}
		reads := make([]catalog.ViewRead, len(o.ViewReads))
		for j, r := range o.ViewReads {
			isURI, isTable := r.Uri != "" && r.Database == "" && r.Table == "", r.Uri == "" && r.Database != "" && r.Table != ""
			if !isURI && !isTable {
				return nil, invalid("object %d: view_reads %d: set either a URI or a database and table", i, j)
			}
			reads[j] = catalog.ViewRead{Database: r.Database, Table: r.Table, URI: r.Uri}
		}
		out[i].ViewReads = reads
	}
	return out, nil
}

var columnActions = map[policy.ColumnAction]lakegatev1.ColumnAction{
	policy.Visible:     lakegatev1.ColumnAction_COLUMN_ACTION_VISIBLE,
	policy.Masked:      lakegatev1.ColumnAction_COLUMN_ACTION_MASKED,
	policy.Removed:     lakegatev1.ColumnAction_COLUMN_ACTION_REMOVED,
	policy.Conditional: lakegatev1.ColumnAction_COLUMN_ACTION_CONDITIONAL,
}

func toProtoMask(m *policy.Mask) *lakegatev1.Mask {
	if m == nil {
		return nil
	}
	return &lakegatev1.Mask{Function: m.Function, Args: m.Args}
}

func toProtoDecision(i int, d policy.Decision) *lakegatev1.ObjectDecision {
	pd := &lakegatev1.ObjectDecision{
		Index: int32(i), Object: d.Object, Allowed: d.Allowed, Reason: d.Reason,
		RowFilter: d.RowFilter, FullAccess: d.FullAccess, Whoami: d.WhoAmI,
	}
	if len(d.Columns) > 0 {
		pd.Columns = make([]*lakegatev1.ColumnDecision, len(d.Columns))
		for j, c := range d.Columns {
			pc := &lakegatev1.ColumnDecision{Name: c.Name, Action: columnActions[c.Action], Mask: toProtoMask(c.Mask)}
			for _, cs := range c.Cases {
				pc.Cases = append(pc.Cases, &lakegatev1.ColumnCase{Condition: cs.Condition, Action: columnActions[cs.Action], Mask: toProtoMask(cs.Mask)})
			}
			pd.Columns[j] = pc
		}
	}
	return pd
}

func (a *api) WhoAmI(ctx context.Context, req *connect.Request[lakegatev1.WhoAmIRequest]) (*connect.Response[lakegatev1.WhoAmIResponse], error) {
	s := a.s
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, req.Msg.SessionId, req.Msg.Client, req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	s.record(c, audit.Record{StatementType: "WHOAMI", Outcome: "ok"})
	sources := make([]*lakegatev1.GroupMembership, len(c.groups))
	for i, m := range c.groups {
		sources[i] = &lakegatev1.GroupMembership{Group: m.Group, Source: m.Source}
	}
	return connect.NewResponse(&lakegatev1.WhoAmIResponse{
		User: c.principal.User, Groups: c.principal.Groups, Roles: c.subject.Roles,
		IsAdmin: c.subject.IsAdmin, SelfSigned: c.principal.SelfSigned, PolicyVersion: c.snap.policy.Version(),
		GroupSources: sources,
	}), nil
}

func (a *api) ExecuteSql(ctx context.Context, req *connect.Request[lakegatev1.ExecuteSqlRequest]) (*connect.Response[lakegatev1.ExecuteSqlResponse], error) {
	s, m := a.s, req.Msg
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, m.SessionId, m.Client, req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	stmts, err := policysql.ParseContext(ctx, m.Sql)
	if ctx.Err() != nil { // the client went away while the script was parsed
		return nil, connect.NewError(connect.CodeCanceled, fmt.Errorf("cancelled while parsing; nothing was changed: %w", ctx.Err()))
	}
	if err != nil {
		s.record(c, audit.Record{StatementType: "PARSE", Statement: m.Sql, Outcome: "error", Reason: err.Error()})
		return nil, invalid("%v; nothing was changed", err)
	}
	if len(stmts) == 0 {
		return nil, invalid("no statement to execute")
	}
	results, version, err := s.execute(ctx, c, stmts)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&lakegatev1.ExecuteSqlResponse{Results: results, PolicyVersion: version}), nil
}

func (a *api) ListDatabases(ctx context.Context, req *connect.Request[lakegatev1.ListDatabasesRequest]) (*connect.Response[lakegatev1.ListDatabasesResponse], error) {
	s := a.s
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, req.Msg.SessionId, "", req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	dbs := c.snap.policy.VisibleDatabases(c.subject)
	s.record(c, audit.Record{StatementType: "LIST DATABASES", Outcome: "ok"})
	return connect.NewResponse(&lakegatev1.ListDatabasesResponse{Databases: dbs}), nil
}

func (a *api) ListTables(ctx context.Context, req *connect.Request[lakegatev1.ListTablesRequest]) (*connect.Response[lakegatev1.ListTablesResponse], error) {
	s := a.s
	c, err := s.authenticate(ctx, req.Header(), req.Peer().Addr, req.Msg.SessionId, "", req.Spec().Procedure)
	if err != nil {
		return nil, err
	}
	db := strings.ToLower(req.Msg.Database)
	if db == "" {
		return nil, invalid("name the database to list")
	}
	pol := c.snap.policy
	if !pol.HasDatabase(db) || !containsString(pol.VisibleDatabases(c.subject), db) {
		// Unknown and invisible look the same, so listings reveal nothing.
		s.record(c, audit.Record{StatementType: "LIST TABLES", Objects: []string{db}, Outcome: "denied", Reason: "database not found or not visible"})
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("database %s does not exist or you may not see it", db))
	}
	var out []*lakegatev1.TableInfo
	for _, t := range pol.VisibleTables(c.subject, db) {
		out = append(out, &lakegatev1.TableInfo{Name: t.Name, IsView: t.IsView})
	}
	s.record(c, audit.Record{StatementType: "LIST TABLES", Objects: []string{db}, Outcome: "ok"})
	return connect.NewResponse(&lakegatev1.ListTablesResponse{Tables: out}), nil
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
