// Package catalog holds the plain rows lakegate's policy is made of: roles,
// role memberships, grants, attributes, databases, tables and column
// attributes. The store persists them and the policy engine compiles them;
// neither depends on the other, both depend on this package.
//
// Identifiers (role, database, table, column and attribute names) are case
// insensitive and stored in lower case; use the Normalize helpers.
package catalog
