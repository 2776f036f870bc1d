package policy

import "github.com/lakegate/lakegate/internal/catalog"

// Principal is an authenticated caller.
type Principal struct {
	User       string
	Groups     []string
	Attributes map[string]string // values for user_attribute('k') in row filters
	// NoAdmin: the principal never holds admin rights, whatever its groups
	// (its token was signed by a cluster signing key, see authn.KeyLimits).
	NoAdmin bool
}

// Object is one thing a query touches: a table or view, a database alone
// (Table empty), or a URI.
type Object struct {
	Database string
	Table    string
	// IsView is the client's claim that the relation is a view. It grants
	// nothing by itself; with Action CREATE or ALTER it makes the object a
	// view definition (see IsViewDefinition).
	IsView  bool
	Columns []catalog.Column
	URI     string
	// Action is the privilege the query needs on the object.
	Action catalog.Privilege
	// UnderView is "db.view" when the relation is read by the definition of
	// that permanent view (the immediately enclosing one). The relation is
	// decided with the rights of the view's definer, at the time of
	// reading, only when the policy records db.view as a view with a
	// definer, the relation is among its recorded reads, the view is in the
	// same request and allowed, and the action is SELECT; otherwise with
	// the subject's own rights.
	UnderView string
	// ViewReads are, for a view definition, the objects its definition
	// reads directly. Each must be readable (SELECT) by the subject, or the
	// definition is denied.
	ViewReads []catalog.ViewRead
}

// IsViewDefinition reports whether o creates or alters a view: a table-level
// object claimed as a view with Action CREATE or ALTER. Such an object is
// allowed only when the subject may also SELECT every one of its ViewReads;
// the planner records allowed definitions with their definer.
func IsViewDefinition(o *Object) bool {
	return o.IsView && o.URI == "" && o.Database != "" && o.Table != "" &&
		(o.Action == catalog.PrivCreate || o.Action == catalog.PrivAlter)
}

// ColumnAction is how a column is shown.
type ColumnAction int

// Column actions. Conditional means: evaluate Cases in order, apply the first
// whose condition holds, NULL when none does.
const (
	Visible ColumnAction = iota + 1
	Masked
	Removed
	Conditional
)

func (a ColumnAction) String() string {
	switch a {
	case Visible:
		return "VISIBLE"
	case Masked:
		return "MASKED"
	case Removed:
		return "REMOVED"
	case Conditional:
		return "CONDITIONAL"
	}
	return "UNKNOWN"
}

// Mask is a builtin applied to a column: Function(column, Args...).
type Mask struct {
	Function string
	Args     []string
}

// ColumnCase is one branch of a conditional column.
type ColumnCase struct {
	Condition string
	Action    ColumnAction // Visible or Masked
	Mask      *Mask
}

// ColumnDecision is the treatment of one requested column.
type ColumnDecision struct {
	Name   string
	Action ColumnAction
	Mask   *Mask
	Cases  []ColumnCase
}

// Decision answers one Object.
type Decision struct {
	Object  string // display name
	Allowed bool
	Reason  string
	// Columns has one entry per requested column, in request order, for
	// allowed SELECT decisions on tables and views.
	Columns []ColumnDecision
	// RowFilter is a boolean SQL expression with the principal helpers bound;
	// empty admits every row.
	RowFilter string
	// FullAccess: nothing masked, removed or filtered.
	FullAccess bool
	// WhoAmI marks the virtual table okera_sample.whoami.
	WhoAmI bool
}
