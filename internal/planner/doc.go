// Package planner is lakegate's policy server. It wires authentication,
// sessions, the store, the policy engine and the audit log behind the
// PlannerService Connect API (gRPC, gRPC-Web and JSON on one port), and
// serves /healthz, /readyz and Prometheus /metrics beside it.
//
// The decision path (Authorize) reads only the immutable compiled policy of
// the current version; policy statements (ExecuteSql) are validated against a
// copy of the current rows, written to the store in one transaction, and then
// published as a new compiled version. The one exception on the decision
// path is an allowed CREATE or ALTER of a view: the planner records the view
// with its definer (views.go) in a store transaction before it answers, since
// only views recorded that way read with their definer's rights.
package planner
