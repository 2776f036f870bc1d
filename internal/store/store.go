package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Store persists the policy rows of package catalog.
//
// A Store is safe for concurrent use. Apply calls are serialised; Load may run
// concurrently with Apply and sees the last committed state.
type Store interface {
	// Load returns every row and the current policy version.
	Load(ctx context.Context) (*catalog.State, error)
	// Apply runs fn inside one transaction. If fn returns nil the transaction
	// commits, the policy version is incremented by exactly one, and the new
	// version is returned. If fn returns an error (or anything fails),
	// nothing is changed and that error is returned.
	//
	// The Tx is valid only while fn runs. fn must not call Apply or Load on
	// the same store (Apply would deadlock).
	Apply(ctx context.Context, fn func(Tx) error) (version int64, err error)
	// Close waits for a running Apply and releases the store. Apply and
	// Load fail with ErrClosed afterwards; a second Close does nothing.
	Close() error
}

// Tx changes rows inside one Apply. See the package comment for the rules
// every backend follows (error atomicity, reference checks, cascades).
type Tx interface {
	CreateRole(name string) error
	DropRole(name string) error // also removes its memberships and grants
	AddMembership(m catalog.Membership) error
	RemoveMembership(m catalog.Membership) error
	// AddGrant stores g and returns its new ID: unique, greater than every ID
	// assigned before, never reused, even after RemoveGrant. g.ID is ignored.
	AddGrant(g catalog.Grant) (id int64, err error)
	RemoveGrant(id int64) error
	CreateAttribute(name string) error
	DropAttribute(name string) error // also removes column attributes using it
	CreateDatabase(name string) error
	DropDatabase(name string) error // also removes its tables and their column attributes
	// PutTable inserts t or replaces the table of the same database and name
	// (IsView, Location, Columns, Definer, DefinerGroups and ViewReads all
	// replaced; column attributes kept).
	PutTable(t catalog.Table) error
	DropTable(database, name string) error // also removes its column attributes
	AddColumnAttribute(a catalog.ColumnAttribute) error
	RemoveColumnAttribute(a catalog.ColumnAttribute) error
}

// Errors every backend returns, wrapped with context: test them with
// errors.Is.
var (
	// ErrNotFound: a row to drop or remove, or a row referred to, is missing.
	ErrNotFound = errors.New("not found")
	// ErrExists: a row with the same key is already stored.
	ErrExists = errors.New("already exists")
	// ErrCorrupt: the store's data is damaged or is not a lakegate store.
	// The error message names the file or database and what to do.
	ErrCorrupt = errors.New("store is corrupt")
	// ErrClosed: the store was closed, or a Tx was used after its Apply ended.
	ErrClosed = errors.New("store is closed")
)

// SchemaVersionError is returned when a store's schema was written by a newer
// lakegate than the running one: opening it could misread or damage rows the
// binary does not know about.
type SchemaVersionError struct {
	Store  string // the file or database, as an operator would name it
	Found  int    // the store's schema version
	Known  int    // the newest schema version this binary knows
	Binary string // the running binary, with its version when known
}

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("store %s has schema version %d, but this binary (%s) knows schema versions up to %d only: "+
		"run a lakegate release at least as new as the one that last wrote the store, or restore a backup taken before it was upgraded",
		e.Store, e.Found, e.Binary, e.Known)
}
