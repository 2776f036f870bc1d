// Package planner is lakegate's policy server. It wires authentication,
// sessions, the store, the policy engine and the audit log behind the
// PlannerService Connect API (gRPC, gRPC-Web and JSON on one port), and
// serves /healthz, /readyz and Prometheus /metrics beside it.
//
// The decision path (Authorize) reads only the immutable compiled policy of
// the current version; policy statements (ExecuteSql) are validated against a
// copy of the current rows, written to the store in one transaction, and then
// published as a new compiled version.
package planner
