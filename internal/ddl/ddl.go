// Package ddl is the meaning of lakegate's policy statements (package
// policysql parses them): given the catalog as it is, who runs them and the
// statements, it validates each in order against a working copy — so later
// statements see earlier ones — and returns each statement's result and the
// catalog changes to make, as data. It does no I/O: the planner applies the
// changes in one store transaction (or none, on any error) and maps the
// domain errors here to API codes once. The cascade rules of DROP live here,
// and only here.
package ddl

import (
	"fmt"
	"sort"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// Kind classifies a refusal.
type Kind int

// Kinds of refusal.
const (
	Invalid       Kind = iota + 1 // the statement cannot mean anything valid
	NotFound                      // it names something that does not exist
	AlreadyExists                 // it creates something that exists
	Denied                        // the caller may not run it
	Precondition                  // something else must change first
	Unsupported                   // a statement the planner does not run
)

// Error is a statement refused for a reason the user can fix.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func refuse(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

func notAdmin(what string) error {
	return refuse(Denied, "only members of the admin group may %s", what)
}

// Op is one kind of catalog change.
type Op int

// Catalog changes, one per store operation.
const (
	CreateRole Op = iota + 1
	DropRole
	AddMembership
	RemoveMembership
	AddGrant
	RemoveGrant
	CreateAttribute
	DropAttribute
	CreateDatabase
	DropDatabase
	PutTable
	DropTable
	AddColumnAttribute
	RemoveColumnAttribute
)

// Change is one catalog change. Grants added in the same batch carry
// temporary negative IDs; a RemoveGrant may name one (the store's ID of that
// grant is known only once it is added).
type Change struct {
	Op         Op
	Name       string // role, attribute, database; the database of DropTable
	Table      string // DropTable
	Membership catalog.Membership
	Grant      catalog.Grant // AddGrant (ID: its temporary ID)
	GrantID    int64         // RemoveGrant
	ColumnAttr catalog.ColumnAttribute
	TableRow   catalog.Table // PutTable
}

// Result is what a statement returns: a message, or rows.
type Result struct {
	Message string
	Columns []string
	Rows    [][]string
}

// Batch runs the statements of one request.
type Batch struct {
	work    *catalog.State
	changes []Change
	// base is the policy the batch started from and the caller's subject in
	// it: privileges are decided on it, never on the batch's own changes.
	base     *policy.Policy
	subj     *policy.Subject
	pr       policy.Principal
	opts     policy.Options
	nextTemp int64
	// view is the compiled working copy for SHOW after changes.
	view     *policy.Policy
	viewSubj *policy.Subject
	dirty    bool
	cloned   bool
}

// NewBatch starts a batch over state (which it clones before any change)
// for the principal pr, whose subject in base (compiled from state) is subj.
func NewBatch(state *catalog.State, base *policy.Policy, subj *policy.Subject, pr policy.Principal, opts policy.Options) *Batch {
	return &Batch{work: state, base: base, subj: subj, pr: pr, opts: opts, view: base, viewSubj: subj}
}

// Changes returns the catalog changes of the statements run so far, in order.
func (b *Batch) Changes() []Change { return b.changes }

// State returns the working copy of the catalog, with every change applied.
func (b *Batch) State() *catalog.State { return b.work }

func (b *Batch) change(c Change) {
	b.changes = append(b.changes, c)
	b.dirty = true
}

// mutable returns the working copy to change, copied from the caller's
// state on first use (that state and its rows are shared and never written:
// a change replaces a field of the copy, see catalog.State).
func (b *Batch) mutable() *catalog.State {
	if !b.cloned {
		b.work = b.work.Clone()
		b.cloned = true
	}
	return b.work
}

func done(format string, args ...any) Result {
	return Result{Message: fmt.Sprintf(format, args...)}
}

func (b *Batch) admin() bool { return b.subj.IsAdmin }

// visible returns the compiled working copy, for SHOW statements that
// follow changes in the same batch.
func (b *Batch) visible() (*policy.Policy, *policy.Subject) {
	if b.dirty {
		if pol, err := policy.Recompile(b.view, b.work, b.opts); err == nil {
			b.view, b.viewSubj = pol, pol.Subject(b.pr)
		}
		b.dirty = false
	}
	return b.view, b.viewSubj
}

// Run validates and applies one statement to the working copy.
func (b *Batch) Run(st policysql.Statement) (Result, error) {
	switch x := st.(type) {
	case policysql.CreateRole:
		if !b.admin() {
			return Result{}, notAdmin("create roles")
		}
		return b.createName("role", &b.mutable().Roles, x.Name, x.IfNotExists, CreateRole)
	case policysql.DropRole:
		return b.dropRole(x)
	case policysql.GrantRole:
		return b.grantRole(x.Member)
	case policysql.RevokeRole:
		return b.revokeRole(x.Member)
	case policysql.GrantPrivilege:
		return b.grant(x.Grant)
	case policysql.RevokePrivilege:
		return b.revoke(x.Grant)
	case policysql.CreateAttribute:
		if !b.admin() {
			return Result{}, notAdmin("create attributes")
		}
		return b.createName("attribute", &b.mutable().Attributes, x.Name, x.IfNotExists, CreateAttribute)
	case policysql.DropAttribute:
		return b.dropAttribute(x)
	case policysql.AlterColumnAttribute:
		return b.alterColumnAttribute(x)
	case policysql.CreateDatabase:
		if err := b.allowed(policy.Object{Database: x.Name, Action: catalog.PrivCreate}); err != nil {
			return Result{}, err
		}
		return b.createName("database", &b.mutable().Databases, x.Name, x.IfNotExists, CreateDatabase)
	case policysql.DropDatabase:
		return b.dropDatabase(x)
	case policysql.CreateTable:
		return b.createTable(x)
	case policysql.DropTable:
		return b.dropTable(x)
	case policysql.ShowRoles:
		roles := b.subj.Roles
		if b.admin() {
			roles = append([]string(nil), b.work.Roles...)
			sort.Strings(roles)
		}
		return rows([]string{"role_name"}, single(roles)), nil
	case policysql.ShowCurrentRoles:
		return rows([]string{"role_name"}, single(b.subj.Roles)), nil
	case policysql.ShowGrantsOn:
		return b.showGrantsOn(x.Object), nil
	case policysql.ShowGrantsToRole:
		return b.showGrantsToRole(x.Role)
	case policysql.ShowDatabases:
		pol, subj := b.visible()
		return rows([]string{"database_name"}, single(pol.VisibleDatabases(subj))), nil
	case policysql.ShowTables:
		return b.showTables(x.Database)
	case policysql.ShowAttributes:
		attrs := append([]string(nil), b.work.Attributes...)
		sort.Strings(attrs)
		return rows([]string{"attribute"}, single(attrs)), nil
	}
	return Result{}, refuse(Unsupported, "statement %T is not supported", st)
}
