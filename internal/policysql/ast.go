package policysql

import "github.com/lakegate/lakegate/internal/catalog"

// Pos is a 1-based line and column in the parsed text.
type Pos struct {
	Line int
	Col  int
}

// Statement is one parsed policy statement.
type Statement interface {
	// Kind is the statement type as written in the audit log, e.g. "GRANT", "CREATE ROLE", "SHOW GRANTS".
	Kind() string
	// IsQuery reports whether the statement only reads (SHOW …).
	IsQuery() bool
}

// Parsed is a statement with where it came from.
type Parsed struct {
	Stmt Statement
	Text string // the statement's source text, trimmed, without the trailing ';'
	Pos  Pos    // where the statement starts
}

// CreateRole is CREATE ROLE [IF NOT EXISTS] name.
type CreateRole struct {
	Name        string
	IfNotExists bool
}

// DropRole is DROP ROLE [IF EXISTS] name.
type DropRole struct {
	Name     string
	IfExists bool
}

// GrantRole is GRANT ROLE r TO GROUP g / TO USER u.
type GrantRole struct{ Member catalog.Membership }

// RevokeRole is REVOKE ROLE r FROM GROUP g / FROM USER u.
type RevokeRole struct{ Member catalog.Membership }

// GrantPrivilege is GRANT priv[(cols)] ON obj [HAVING …] [TRANSFORM …]* [WHERE …] TO ROLE r.
// Grant.ID is zero.
type GrantPrivilege struct{ Grant catalog.Grant }

// RevokePrivilege is REVOKE with the same shape as GrantPrivilege, FROM ROLE r.
type RevokePrivilege struct{ Grant catalog.Grant }

// CreateAttribute is CREATE ATTRIBUTE [IF NOT EXISTS] ns.tag.
type CreateAttribute struct {
	Name        string // "ns.tag"
	IfNotExists bool
}

// DropAttribute is DROP ATTRIBUTE [IF EXISTS] ns.tag.
type DropAttribute struct {
	Name     string
	IfExists bool
}

// AlterColumnAttribute is ALTER TABLE db.t ADD|DROP COLUMN ATTRIBUTE col ns.tag.
type AlterColumnAttribute struct {
	Attr catalog.ColumnAttribute
	Add  bool
}

// CreateDatabase is CREATE DATABASE [IF NOT EXISTS] name.
type CreateDatabase struct {
	Name        string
	IfNotExists bool
}

// DropDatabase is DROP DATABASE [IF EXISTS] name [CASCADE].
type DropDatabase struct {
	Name     string
	IfExists bool
	Cascade  bool
}

// CreateTable is CREATE TABLE [IF NOT EXISTS] db.t (col type, …) [LOCATION 'uri'].
type CreateTable struct {
	Table       catalog.Table
	IfNotExists bool
}

// DropTable is DROP TABLE [IF EXISTS] db.t (DROP VIEW is accepted too).
type DropTable struct {
	Database string
	Name     string
	IfExists bool
}

// ShowRoles is SHOW ROLES.
type ShowRoles struct{}

// ShowGrantsOn is SHOW GRANTS ON CATALOG | DATABASE db | TABLE db.t | VIEW db.v | URI 'u'.
type ShowGrantsOn struct{ Object catalog.Object }

// ShowGrantsToRole is SHOW GRANTS TO ROLE r.
type ShowGrantsToRole struct{ Role string }

// ShowCurrentRoles is SHOW CURRENT ROLES.
type ShowCurrentRoles struct{}

// ShowDatabases is SHOW DATABASES.
type ShowDatabases struct{}

// ShowTables is SHOW TABLES IN db.
type ShowTables struct{ Database string }

// ShowAttributes is SHOW ATTRIBUTES.
type ShowAttributes struct{}

func (CreateRole) Kind() string           { return "CREATE ROLE" }
func (DropRole) Kind() string             { return "DROP ROLE" }
func (GrantRole) Kind() string            { return "GRANT ROLE" }
func (RevokeRole) Kind() string           { return "REVOKE ROLE" }
func (GrantPrivilege) Kind() string       { return "GRANT" }
func (RevokePrivilege) Kind() string      { return "REVOKE" }
func (CreateAttribute) Kind() string      { return "CREATE ATTRIBUTE" }
func (DropAttribute) Kind() string        { return "DROP ATTRIBUTE" }
func (AlterColumnAttribute) Kind() string { return "ALTER TABLE" }
func (CreateDatabase) Kind() string       { return "CREATE DATABASE" }
func (DropDatabase) Kind() string         { return "DROP DATABASE" }
func (CreateTable) Kind() string          { return "CREATE TABLE" }
func (DropTable) Kind() string            { return "DROP TABLE" }
func (ShowRoles) Kind() string            { return "SHOW ROLES" }
func (ShowGrantsOn) Kind() string         { return "SHOW GRANTS" }
func (ShowGrantsToRole) Kind() string     { return "SHOW GRANTS" }
func (ShowCurrentRoles) Kind() string     { return "SHOW CURRENT ROLES" }
func (ShowDatabases) Kind() string        { return "SHOW DATABASES" }
func (ShowTables) Kind() string           { return "SHOW TABLES" }
func (ShowAttributes) Kind() string       { return "SHOW ATTRIBUTES" }

func (CreateRole) IsQuery() bool           { return false }
func (DropRole) IsQuery() bool             { return false }
func (GrantRole) IsQuery() bool            { return false }
func (RevokeRole) IsQuery() bool           { return false }
func (GrantPrivilege) IsQuery() bool       { return false }
func (RevokePrivilege) IsQuery() bool      { return false }
func (CreateAttribute) IsQuery() bool      { return false }
func (DropAttribute) IsQuery() bool        { return false }
func (AlterColumnAttribute) IsQuery() bool { return false }
func (CreateDatabase) IsQuery() bool       { return false }
func (DropDatabase) IsQuery() bool         { return false }
func (CreateTable) IsQuery() bool          { return false }
func (DropTable) IsQuery() bool            { return false }
func (ShowRoles) IsQuery() bool            { return true }
func (ShowGrantsOn) IsQuery() bool         { return true }
func (ShowGrantsToRole) IsQuery() bool     { return true }
func (ShowCurrentRoles) IsQuery() bool     { return true }
func (ShowDatabases) IsQuery() bool        { return true }
func (ShowTables) IsQuery() bool           { return true }
func (ShowAttributes) IsQuery() bool       { return true }
