// Package store defines how lakegate's policy rows are persisted: the
// backend-neutral Store and Tx interfaces, and the errors every backend
// returns. A store knows rows (package catalog), never decisions: it does not
// import the policy engine.
//
// Backends live in subpackages (store/sqlite today, PostgreSQL later) and
// prove they keep the contract by running the conformance suite in
// store/storetest.
//
// The contract, beyond the method comments:
//
//   - Names are stored and compared byte for byte; callers normalise case
//     (catalog's identifiers are lower case).
//   - Load orders rows deterministically by byte-wise (Go string) comparison:
//     roles, attributes and databases by name; memberships by (role, kind,
//     name); grants by ID; tables by (database, name); column attributes by
//     (database, table, column, attribute). Empty lists may be nil.
//   - Every successful Apply increments the policy version by exactly one,
//     even when fn changed nothing, so a version names one committed state.
//   - A Tx operation that returns an error has no effect, and the transaction
//     stays usable: fn may treat ErrExists as "already there" and go on.
//     Whether the transaction commits is decided only by fn's return value.
//   - References are checked: a membership or grant needs its role, a table
//     its database, a column attribute its table and its attribute (not the
//     column: tags may be set before the column is learnt); a missing one is
//     ErrNotFound. Grants, which name their objects rather than refer to
//     rows, survive DropDatabase, DropTable and DropAttribute.
//   - Rows are checked before they are stored (Check functions in this
//     package, ErrInvalid): names are non-empty, privileges, scopes and
//     member kinds are the catalog's constants, an object's fields fit its
//     scope, and all text is valid UTF-8 without NUL bytes.
//   - PutTable replaces a table's columns but keeps its column attributes,
//     even those of columns no longer listed: a column that reappears after a
//     schema change keeps its tag, so a mask cannot silently fall away.
//   - Grants are not deduplicated: finding an identical grant
//     (catalog.Grant.SameSpec) is the caller's job.
package store
