// Package policysql parses lakegate's policy language, the SQL dialect of
// Okera: CREATE/DROP ROLE, GRANT/REVOKE ROLE … TO GROUP, GRANT/REVOKE of
// privileges on catalogs, databases, tables, views and URIs (with column
// lists, HAVING ATTRIBUTE, TRANSFORM masks and WHERE row filters),
// attributes and their assignment to columns, the few catalog statements the
// planner accepts (CREATE/DROP DATABASE and TABLE), and SHOW statements.
//
// Parse turns text into statements (see ast.go) whose rows are the
// catalog package's types. It is all or nothing: on any error it returns a
// *ParseError, pointing at a line and column, and no statement, so a script
// with a mistake in it changes nothing. Text with no statement at all is an
// error too.
//
// # Language rules
//
//   - Keywords are case-insensitive and not reserved: `role` and role are
//     both a name where a name is expected. Bare names are ASCII
//     ([A-Za-z_][A-Za-z0-9_]*); any other name is written in backticks, where
//     a doubled backtick stands for one and control characters are refused.
//   - Role, database, table, column and attribute names are returned in lower
//     case. Group and user names keep their case (they are matched against
//     what the identity provider sends) and may also be 'string literals'.
//   - Database, table and attribute names cannot contain '.', since they are
//     joined with one (db.table, ns.tag); table names are always qualified.
//   - Strings are 'single-quoted'. A doubled single quote stands for one, and
//     backslash escapes work as in Spark: \0 \b \n \r \t \Z are control
//     characters, \% and \_ keep their backslash, any other \c is c.
//     Double-quoted text and raw strings (r'…') are refused.
//   - Comments (-- and /* */) may appear anywhere between tokens, except
//     inside a row filter.
//   - A grant lists its clauses (HAVING ATTRIBUTE, TRANSFORM, WHERE) in any
//     order; HAVING and WHERE at most once, TRANSFORM once per attribute.
//     None applies to a URI, and TRANSFORM and WHERE only to SELECT and ALL
//     grants, where they are enforced. Column lists, attribute lists and
//     transforms are sorted so equal grants compare equal.
//
// # Row filters
//
// A grant's WHERE clause is a row filter: Spark SQL text that the policy
// engine later splices into users' queries. ParseFilter checks it and splits
// it into literal SQL and calls of the principal helpers (user(),
// has_roles(…), has_access(…), user_attribute(…)), which the engine binds
// per user with QuoteString, so no user name or attribute value can change
// the SQL it is bound into. The filter is stored with its whitespace
// collapsed. A filter may only use syntax on which this package's lexer and
// Spark's agree about what is quoted (hence no raw or double-quoted
// strings), so a helper call found here outside a string is outside a string
// for Spark too.
//
// # URIs
//
// NormalizeURI gives the one spelling URI grants are stored and compared in,
// and URICovers decides whether a URI grant reaches a path.
//
// The package is pure: no I/O, no clock, no mutable global state.
package policysql
