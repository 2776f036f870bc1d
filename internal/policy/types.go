package policy

import "github.com/lakegate/lakegate/internal/catalog"

// Principal is an authenticated caller.
type Principal struct {
	User       string
	Groups     []string
	Attributes map[string]string // values for user_attribute('k') in row filters
}

// Object is one thing a query touches: a table or view, a database alone
// (Table empty), or a URI.
type Object struct {
	Database string
	Table    string
	IsView   bool
	Columns  []catalog.Column
	URI      string
	// Action is the privilege the query needs on the object.
	Action catalog.Privilege
	// UnderView is "db.view" when the relation is read through that permanent
	// view; when the view is in the same request and allowed, the view's
	// grant decides (definer rights).
	UnderView string
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
