// Package policy is lakegate's policy engine: a pure function of a compiled
// policy, a principal and a request. It does no I/O, reads no clock and
// imports nothing of the planner, the store or the network.
//
// Compile turns the catalog rows of one policy version into an immutable
// index; Policy.Subject resolves a principal's roles once; Policy.Authorize
// answers a batch of objects with one Decision each.
//
// Grants that reach one user combine row by row (docs/architecture.md): a row is
// visible when any applicable grant admits it, and in a visible row each
// column gets the most permissive treatment among the grants that admit that
// row. When grants differ in their row filters a column's treatment becomes an
// ordered list of (condition, treatment) cases that engines render as one
// CASE expression, so a grant of every row with a column masked plus a grant
// of some rows unmasked never shows the raw value outside those rows.
//
// Views: an object read by a view's definition (Object.UnderView) is decided
// with the rights of the view's definer, as the policy stands at the time of
// reading, only when the compiled catalog records that view with a definer
// and the object among its reads, the view is in the same request and
// allowed, and the action is SELECT. Anything else, whatever the client
// claims, is decided with the subject's own rights. A view definition
// (IsViewDefinition) is allowed only when its subject may SELECT everything
// it reads.
package policy
