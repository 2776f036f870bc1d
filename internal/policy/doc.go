// Package policy is lakegate's policy engine: a pure function of a compiled
// policy, a principal and a request. It does no I/O, reads no clock and
// imports nothing of the planner, the store or the network.
//
// Compile turns the catalog rows of one policy version into an immutable
// index; Policy.Subject resolves a principal's roles once; Policy.Authorize
// answers a batch of objects with one Decision each.
//
// Grants that reach one user combine row by row (see DESIGN.md): a row is
// visible when any applicable grant admits it, and in a visible row each
// column gets the most permissive treatment among the grants that admit that
// row. When grants differ in their row filters a column's treatment becomes an
// ordered list of (condition, treatment) cases that engines render as one
// CASE expression, so a grant of every row with a column masked plus a grant
// of some rows unmasked never shows the raw value outside those rows.
package policy
