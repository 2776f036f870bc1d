package policysql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
)

func table(db, t string) catalog.Object {
	return catalog.Object{Scope: catalog.ScopeTable, Database: db, Table: t}
}

// validStatements are single statements and what they parse to. They also
// seed FuzzParse.
var validStatements = []struct {
	name string
	in   string
	want Statement
}{
	// roles
	{"create role", "CREATE ROLE analyst", CreateRole{Name: "analyst"}},
	{"create role if not exists", "create role if not exists Analyst", CreateRole{Name: "analyst", IfNotExists: true}},
	{"create role named if", "CREATE ROLE if", CreateRole{Name: "if"}},
	{"create role backticked", "CREATE ROLE `Data Stewards`", CreateRole{Name: "data stewards"}},
	{"create role backtick escape", "CREATE ROLE `a``b`", CreateRole{Name: "a`b"}},
	{"drop role", "DROP ROLE analyst", DropRole{Name: "analyst"}},
	{"drop role if exists", "DROP ROLE IF EXISTS analyst", DropRole{Name: "analyst", IfExists: true}},
	{"grant role to group", "GRANT ROLE Analyst TO GROUP DataEngineers",
		GrantRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberGroup, Name: "DataEngineers"}}},
	{"grant role to user string", "GRANT ROLE analyst TO USER 'Alice@Example.com'",
		GrantRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberUser, Name: "Alice@Example.com"}}},
	{"grant role to user backticked", "grant role analyst to user `bob.smith`",
		GrantRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberUser, Name: "bob.smith"}}},
	{"revoke role from group", "REVOKE ROLE analyst FROM GROUP eng",
		RevokeRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberGroup, Name: "eng"}}},
	{"revoke role from user", "REVOKE ROLE analyst FROM USER alice",
		RevokeRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberUser, Name: "alice"}}},

	// privilege grants
	{"grant select on table", "GRANT SELECT ON TABLE sales.orders TO ROLE analyst",
		GrantPrivilege{Grant: catalog.Grant{Role: "analyst", Privilege: catalog.PrivSelect, Object: table("sales", "orders")}}},
	{"grant on view is a table", "GRANT SELECT ON VIEW sales.v TO ROLE analyst",
		GrantPrivilege{Grant: catalog.Grant{Role: "analyst", Privilege: catalog.PrivSelect, Object: table("sales", "v")}}},
	{"grant all on catalog", "GRANT ALL ON CATALOG TO ROLE admin",
		GrantPrivilege{Grant: catalog.Grant{Role: "admin", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeCatalog}}}},
	{"grant all privileges", "GRANT ALL PRIVILEGES ON DATABASE Sales TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "sales"}}}},
	{"grant show", "GRANT SHOW ON DATABASE d TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivShow, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"}}}},
	{"grant insert", "GRANT INSERT ON TABLE d.t TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivInsert, Object: table("d", "t")}}},
	{"grant create", "GRANT CREATE ON DATABASE d TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivCreate, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"}}}},
	{"grant alter", "GRANT ALTER ON TABLE d.t TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivAlter, Object: table("d", "t")}}},
	{"grant drop", "GRANT DROP ON TABLE d.t TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivDrop, Object: table("d", "t")}}},
	{"grant columns sorted and deduplicated", "GRANT SELECT(Zip, id, `Id`, name) ON TABLE d.t TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"), Columns: []string{"id", "name", "zip"}}}},
	{"grant columns on view", "GRANT SELECT (a) ON VIEW d.v TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "v"), Columns: []string{"a"}}}},
	{"grant uri normalized", "GRANT ALL ON URI 'S3A://bucket//data/' TO ROLE etl",
		GrantPrivilege{Grant: catalog.Grant{Role: "etl", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://bucket/data"}}}},
	{"grant having attribute in", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE IN (PII.Email, pii.ccn, pii.email) TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"},
			Attributes: []string{"pii.ccn", "pii.email"}}}},
	{"grant having attribute not in", "GRANT SELECT ON TABLE d.t HAVING ATTRIBUTE NOT IN (pii.ccn) TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"),
			Attributes: []string{"pii.ccn"}, AttributesNot: true}}},
	{"grant transforms sorted, args rendered", "GRANT SELECT ON DATABASE d TRANSFORM pii.ssn WITH MASK() TRANSFORM pii.ccn WITH Mask_Ccn('x', 4, -1.5, 10L, true, Null, 'it''s') TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"},
			Transforms: []catalog.Transform{
				{Attribute: "pii.ccn", Function: "mask_ccn", Args: []string{"'x'", "4", "-1.5", "10L", "TRUE", "NULL", "CAST(X'69742773' AS STRING)"}},
				{Attribute: "pii.ssn", Function: "mask"},
			}}}},
	{"grant where", "GRANT SELECT ON TABLE d.t WHERE  region  =  'EU  west'\n AND user() = owner TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"),
			Filter: "region = 'EU  west' AND user() = owner"}}},
	{"grant where with parenthesised TO ROLE", "GRANT SELECT ON TABLE d.t WHERE f(x, 'TO ROLE') = (1) TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"),
			Filter: "f(x, 'TO ROLE') = (1)"}}},
	{"grant where with spark transform()", "GRANT SELECT ON TABLE d.t WHERE array_contains(transform(tags, t -> lower(t)), 'eu') TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"),
			Filter: "array_contains(transform(tags, t -> lower(t)), 'eu')"}}},
	{"grant clauses in any order", "GRANT SELECT ON DATABASE d WHERE has_roles('EU') TRANSFORM pii.x WITH mask() HAVING ATTRIBUTE IN (pii.x) TO ROLE r",
		GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"},
			Attributes: []string{"pii.x"}, Transforms: []catalog.Transform{{Attribute: "pii.x", Function: "mask"}}, Filter: "has_roles('EU')"}}},
	{"revoke privilege", "REVOKE SELECT(b, a) ON TABLE d.t WHERE x > 1 FROM ROLE r",
		RevokePrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"), Columns: []string{"a", "b"}, Filter: "x > 1"}}},
	{"revoke uri", "REVOKE ALL ON URI 'file:/tmp/x/' FROM ROLE r",
		RevokePrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivAll, Object: catalog.Object{Scope: catalog.ScopeURI, URI: "file:///tmp/x"}}}},

	// attributes
	{"create attribute", "CREATE ATTRIBUTE PII.Email", CreateAttribute{Name: "pii.email"}},
	{"create attribute if not exists", "CREATE ATTRIBUTE IF NOT EXISTS `pii`.`ccn`", CreateAttribute{Name: "pii.ccn", IfNotExists: true}},
	{"drop attribute", "DROP ATTRIBUTE pii.email", DropAttribute{Name: "pii.email"}},
	{"drop attribute if exists", "DROP ATTRIBUTE IF EXISTS pii.email", DropAttribute{Name: "pii.email", IfExists: true}},
	{"alter table add column attribute", "ALTER TABLE Sales.Orders ADD COLUMN ATTRIBUTE CCN pii.ccn",
		AlterColumnAttribute{Attr: catalog.ColumnAttribute{Database: "sales", Table: "orders", Column: "ccn", Attribute: "pii.ccn"}, Add: true}},
	{"alter view drop column attribute", "ALTER VIEW d.v DROP COLUMN ATTRIBUTE `a.b` pii.ccn",
		AlterColumnAttribute{Attr: catalog.ColumnAttribute{Database: "d", Table: "v", Column: "a.b", Attribute: "pii.ccn"}}},

	// databases and tables
	{"create database", "CREATE DATABASE Sales", CreateDatabase{Name: "sales"}},
	{"create database if not exists", "CREATE DATABASE IF NOT EXISTS sales", CreateDatabase{Name: "sales", IfNotExists: true}},
	{"drop database", "DROP DATABASE sales", DropDatabase{Name: "sales"}},
	{"drop database if exists cascade", "DROP DATABASE IF EXISTS sales CASCADE", DropDatabase{Name: "sales", IfExists: true, Cascade: true}},
	{"create table", "CREATE TABLE d.t (id BIGINT, Name string)",
		CreateTable{Table: catalog.Table{Database: "d", Name: "t", Columns: []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "string"}}}}},
	{"create table complex types", "CREATE TABLE IF NOT EXISTS d.t (a DECIMAL(10, 2), b ARRAY< STRING >, c map<string,array<int>>, d STRUCT<x: INT, `Y z` String, w:struct<>>, e varchar(20)) LOCATION 's3n://b/t/'",
		CreateTable{IfNotExists: true, Table: catalog.Table{Database: "d", Name: "t", Location: "s3://b/t", Columns: []catalog.Column{
			{Name: "a", Type: "decimal(10,2)"},
			{Name: "b", Type: "array<string>"},
			{Name: "c", Type: "map<string,array<int>>"},
			{Name: "d", Type: "struct<x:int,`y z`:string,w:struct<>>"},
			{Name: "e", Type: "varchar(20)"},
		}}}},
	{"drop table", "DROP TABLE d.t", DropTable{Database: "d", Name: "t"}},
	{"drop table if exists", "DROP TABLE IF EXISTS d.t", DropTable{Database: "d", Name: "t", IfExists: true}},
	{"drop view", "DROP VIEW IF EXISTS d.v", DropTable{Database: "d", Name: "v", IfExists: true}},

	// SHOW
	{"show roles", "SHOW ROLES", ShowRoles{}},
	{"show grants on catalog", "SHOW GRANTS ON CATALOG", ShowGrantsOn{Object: catalog.Object{Scope: catalog.ScopeCatalog}}},
	{"show grants on database", "SHOW GRANTS ON DATABASE d", ShowGrantsOn{Object: catalog.Object{Scope: catalog.ScopeDatabase, Database: "d"}}},
	{"show grants on table", "show grants on table D.T", ShowGrantsOn{Object: table("d", "t")}},
	{"show grants on view", "SHOW GRANTS ON VIEW d.v", ShowGrantsOn{Object: table("d", "v")}},
	{"show grants on uri", "SHOW GRANTS ON URI 's3://b/p/'", ShowGrantsOn{Object: catalog.Object{Scope: catalog.ScopeURI, URI: "s3://b/p"}}},
	{"show grants to role", "SHOW GRANTS TO ROLE Analyst", ShowGrantsToRole{Role: "analyst"}},
	{"show current roles", "SHOW CURRENT ROLES", ShowCurrentRoles{}},
	{"show databases", "SHOW DATABASES", ShowDatabases{}},
	{"show tables in", "SHOW TABLES IN Sales", ShowTables{Database: "sales"}},
	{"show tables from", "SHOW TABLES FROM sales", ShowTables{Database: "sales"}},
	{"show attributes", "SHOW ATTRIBUTES", ShowAttributes{}},
}

func TestParseStatements(t *testing.T) {
	for _, tc := range validStatements {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, tc.want, got[0].Stmt)
			require.Equal(t, tc.in, got[0].Text)
			require.Equal(t, Pos{Line: 1, Col: 1}, got[0].Pos)

			// Trailing ';', surrounding space and case do not matter.
			again, err := Parse("  " + tc.in + " ;\n")
			require.NoError(t, err)
			require.Equal(t, tc.want, again[0].Stmt)
			require.Equal(t, tc.in, again[0].Text)
		})
	}
}

func TestParseKeywordsAreCaseInsensitive(t *testing.T) {
	for _, in := range []string{
		"GRANT SELECT ON TABLE D.T WHERE X = 1 TO ROLE R",
		"grant select on table d.t where X = 1 to role r",
		"GrAnT SeLeCt On TaBlE d.T wHeRe X = 1 tO rOlE R",
		"grant select on table `D`.`T` where X = 1 to role `R`",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := Parse(in)
			require.NoError(t, err)
			require.Equal(t, GrantPrivilege{Grant: catalog.Grant{
				Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"), Filter: "X = 1",
			}}, got[0].Stmt)
		})
	}
}

func TestParseBackticks(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Statement
	}{
		{"keywords as names", "GRANT SELECT ON TABLE `table`.`select` TO ROLE `role`",
			GrantPrivilege{Grant: catalog.Grant{Role: "role", Privilege: catalog.PrivSelect, Object: table("table", "select")}}},
		{"spaces and unicode", "CREATE ROLE `Équipe données`", CreateRole{Name: "équipe données"}},
		{"doubled backtick", "CREATE ROLE ```x```", CreateRole{Name: "`x`"}},
		{"backticked keyword is a name", "CREATE ROLE `if`", CreateRole{Name: "if"}},
		{"semicolon and comment marks inside", "CREATE ROLE `a;--b/*c*/`", CreateRole{Name: "a;--b/*c*/"}},
		{"column with a dot", "GRANT SELECT(`a.b`) ON TABLE d.t TO ROLE r",
			GrantPrivilege{Grant: catalog.Grant{Role: "r", Privilege: catalog.PrivSelect, Object: table("d", "t"), Columns: []string{"a.b"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got[0].Stmt)
		})
	}
}

func TestParseMultipleStatements(t *testing.T) {
	in := "-- set up the analyst role\n" +
		"CREATE ROLE analyst;\n" +
		";;\n" +
		"/* grants:\n   two of them */ GRANT ROLE analyst TO GROUP eng ;\n" +
		"GRANT SELECT ON TABLE d.t -- inline comment\n" +
		"  TO ROLE analyst -- trailing comment\n" +
		";  SHOW ROLES"
	got, err := Parse(in)
	require.NoError(t, err)
	require.Equal(t, []Parsed{
		{Stmt: CreateRole{Name: "analyst"}, Text: "CREATE ROLE analyst", Pos: Pos{Line: 2, Col: 1}},
		{Stmt: GrantRole{Member: catalog.Membership{Role: "analyst", Kind: catalog.MemberGroup, Name: "eng"}},
			Text: "GRANT ROLE analyst TO GROUP eng", Pos: Pos{Line: 5, Col: 19}},
		{Stmt: GrantPrivilege{Grant: catalog.Grant{Role: "analyst", Privilege: catalog.PrivSelect, Object: table("d", "t")}},
			Text: "GRANT SELECT ON TABLE d.t -- inline comment\n  TO ROLE analyst", Pos: Pos{Line: 6, Col: 1}},
		{Stmt: ShowRoles{}, Text: "SHOW ROLES", Pos: Pos{Line: 8, Col: 4}},
	}, got)
}

func TestParseStatementKindsAndQueries(t *testing.T) {
	got, err := Parse("SHOW ROLES; CREATE ROLE r; GRANT SELECT ON CATALOG TO ROLE r; SHOW GRANTS TO ROLE r")
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, []string{"SHOW ROLES", "CREATE ROLE", "GRANT", "SHOW GRANTS"},
		[]string{got[0].Stmt.Kind(), got[1].Stmt.Kind(), got[2].Stmt.Kind(), got[3].Stmt.Kind()})
	require.Equal(t, []bool{true, false, false, true},
		[]bool{got[0].Stmt.IsQuery(), got[1].Stmt.IsQuery(), got[2].Stmt.IsQuery(), got[3].Stmt.IsQuery()})
}

func TestStatementKinds(t *testing.T) {
	for _, tc := range validStatements {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.want.Kind()
			// The AST has no separate view statements: DROP VIEW is a DropTable.
			in := strings.Replace(strings.ToUpper(tc.in), " VIEW ", " TABLE ", 1)
			require.True(t, strings.HasPrefix(in, kind), "the kind %q starts the statement %q", kind, tc.in)
			require.Equal(t, strings.HasPrefix(kind, "SHOW"), tc.want.IsQuery())
		})
	}
}

func TestParseEqualGrantsAreSameSpec(t *testing.T) {
	a, err := Parse("GRANT SELECT(b, a) ON TABLE d.t HAVING ATTRIBUTE IN (x.b, x.a) TRANSFORM x.b WITH f() TRANSFORM x.a WITH g('1') WHERE  a=1 TO ROLE r")
	require.NoError(t, err)
	b, err := Parse("grant select(A, B, a) on table `D`.t transform X.A with G('1') where a=1\n having attribute in (X.A, x.b) transform x.b with F() to role R")
	require.NoError(t, err)
	require.True(t, a[0].Stmt.(GrantPrivilege).Grant.SameSpec(b[0].Stmt.(GrantPrivilege).Grant))
}

// parseErrors are inputs Parse must refuse, with the error it must give.
var parseErrors = []struct {
	name string
	in   string
	want string
}{
	// statement level
	{"empty input", "", "line 1, column 1: expected a statement, found end of input"},
	{"only comments and semicolons", "-- nothing\n ; /* here */ ;", "line 2, column 16: expected a statement, found end of input"},
	{"unknown statement", "SELECT * FROM t", "line 1, column 1: expected CREATE, DROP, GRANT, REVOKE, ALTER or SHOW, found 'SELECT'"},
	{"unknown create", "CREATE FOO x", "line 1, column 8: expected ROLE, ATTRIBUTE, DATABASE or TABLE, found 'FOO'"},
	{"error on second line", "CREATE ROLE a;\nDROP    FOO", "line 2, column 9: expected ROLE, ATTRIBUTE, DATABASE, TABLE or VIEW, found 'FOO'"},
	{"error column counts characters", "CREATE ROLE `é`; DROP x", "line 1, column 23: expected ROLE, ATTRIBUTE, DATABASE, TABLE or VIEW, found 'x'"},
	{"trailing tokens", "SHOW ROLES now", "line 1, column 12: expected ';' or end of input, found 'now'"},
	{"missing name", "CREATE ROLE", "line 1, column 12: expected role name, found end of input"},
	{"missing name before semicolon", "CREATE ROLE ;", "line 1, column 13: expected role name, found ';'"},
	{"string is not a role name", "CREATE ROLE 'r'", "line 1, column 13: expected role name, found string 'r'"},
	{"if not exists incomplete", "CREATE ROLE IF EXISTS r", "line 1, column 16: expected NOT, found 'EXISTS'"},
	{"if exists incomplete", "DROP ROLE IF NOT EXISTS r", "line 1, column 14: expected EXISTS, found 'NOT'"},
	{"error in a later statement changes nothing", "CREATE ROLE a; CREATE ROLE b; CREATE ROLE", "line 1, column 42: expected role name, found end of input"},

	// lexer
	{"unterminated string", "GRANT ALL ON URI 's3://b TO ROLE r", "line 1, column 18: unterminated string literal: ' has no closing '"},
	{"unterminated string ending in backslash", `GRANT ALL ON URI 's3://b\`, "line 1, column 18: unterminated string literal: ' has no closing '"},
	{"unterminated backtick", "CREATE ROLE `abc", "line 1, column 13: unterminated quoted identifier: ` has no closing `"},
	{"empty backticks", "CREATE ROLE ``", "line 1, column 13: empty quoted identifier"},
	{"control character in backticks", "CREATE ROLE `a\x00b`", "line 1, column 15: quoted identifier contains control character U+0000"},
	{"unterminated comment", "SHOW ROLES /* oops", "line 1, column 12: unterminated comment: '/*' has no closing '*/'"},
	{"unexpected character", "CREATE ROLE r#", "line 1, column 14: unexpected character '#'"},
	{"letter outside backticks", "CREATE ROLE équipe", "line 1, column 13: unexpected character 'é' (U+00E9); names with such characters are written in `backticks`"},
	{"non-breaking space", "CREATE ROLE\u00a0r", "line 1, column 12: unexpected character U+00A0"},
	{"invalid utf-8", "CREATE ROLE `a\xffb`", "line 1, column 15: invalid UTF-8"},

	// role membership
	{"grant role without kind", "GRANT ROLE r TO eng", "line 1, column 17: expected GROUP or USER, found 'eng'"},
	{"grant role with FROM", "GRANT ROLE r FROM GROUP g", "line 1, column 14: expected TO, found 'FROM'"},
	{"revoke role with TO", "REVOKE ROLE r TO GROUP g", "line 1, column 15: expected FROM, found 'TO'"},
	{"grant role to no one", "GRANT ROLE r TO GROUP", "line 1, column 22: expected group name, found end of input"},
	{"empty user name", "GRANT ROLE r TO USER ''", "line 1, column 22: the user name is empty"},
	{"control character in group", "GRANT ROLE r TO GROUP 'a\\nb'", "line 1, column 23: the group name contains a control character"},

	// privilege grants
	{"unknown privilege", "GRANT READ ON TABLE d.t TO ROLE r", "line 1, column 7: expected ALL, SELECT, SHOW, INSERT, CREATE, ALTER, DROP or ROLE, found 'READ'"},
	{"missing ON", "GRANT SELECT TABLE d.t TO ROLE r", "line 1, column 14: expected ON, found 'TABLE'"},
	{"unknown object", "GRANT SELECT ON SCHEMA d TO ROLE r", "line 1, column 17: expected CATALOG, DATABASE, TABLE, VIEW or URI, found 'SCHEMA'"},
	{"unqualified table", "GRANT SELECT ON TABLE t TO ROLE r", "line 1, column 25: expected '.', found 'TO'; table names are qualified with their database: db.table"},
	{"unqualified view", "DROP VIEW v", "line 1, column 12: expected '.', found end of input; view names are qualified with their database: db.view"},
	{"dot inside a database name", "GRANT SELECT ON DATABASE `a.b` TO ROLE r", "line 1, column 26: the database name cannot contain '.'"},
	{"dot inside a table name", "DROP TABLE d.`t.u`", "line 1, column 14: the table name cannot contain '.'"},
	{"dot inside an attribute tag", "CREATE ATTRIBUTE pii.`a.b`", "line 1, column 22: the attribute tag cannot contain '.'"},
	{"attribute without tag", "CREATE ATTRIBUTE pii", "line 1, column 21: expected '.', found end of input; attributes are written namespace.tag, e.g. pii.email"},
	{"empty attribute list", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE IN () TO ROLE r", "line 1, column 49: expected attribute name, found ')'"},
	{"raw string", "GRANT ROLE r TO USER r'x'", "line 1, column 22: raw string literals (r'...') are not supported; write a '...' string"},
	{"empty column list", "GRANT SELECT() ON TABLE d.t TO ROLE r", "line 1, column 14: expected column name, found ')'"},
	{"unclosed column list", "GRANT SELECT(a b) ON TABLE d.t TO ROLE r", "line 1, column 16: expected ',' or ')', found 'b'"},
	{"column list on database", "GRANT SELECT(a) ON DATABASE d TO ROLE r", "line 1, column 13: a column list is only allowed ON TABLE or VIEW, not ON DATABASE"},
	{"missing TO ROLE", "GRANT SELECT ON TABLE d.t", "line 1, column 26: expected HAVING, TRANSFORM, WHERE or TO, found end of input"},
	{"TO without ROLE", "GRANT SELECT ON TABLE d.t TO GROUP g", "line 1, column 30: expected ROLE, found 'GROUP'"},
	{"revoke with TO", "REVOKE SELECT ON TABLE d.t TO ROLE r", "line 1, column 28: expected HAVING, TRANSFORM, WHERE or FROM, found 'TO'"},
	{"uri not quoted", "GRANT ALL ON URI s3 TO ROLE r", "line 1, column 18: expected quoted URI, found 's3'"},
	{"uri double quoted", `GRANT ALL ON URI "s3://b" TO ROLE r`, `line 1, column 18: expected quoted URI, found "s3://b"; strings are written in 'single quotes'`},
	{"uri with dot-dot", "GRANT ALL ON URI 's3://b/p/../q' TO ROLE r", `line 1, column 18: invalid URI "s3://b/p/../q": '.' and '..' path segments are not allowed`},
	{"location uri without scheme", "CREATE TABLE d.t (a int) LOCATION '/tmp/t'", `line 1, column 35: invalid URI "/tmp/t": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},

	// HAVING
	{"having twice", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE IN (a.b) HAVING ATTRIBUTE IN (a.c) TO ROLE r", "line 1, column 54: HAVING ATTRIBUTE is given twice"},
	{"having without IN", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE (a.b) TO ROLE r", "line 1, column 45: expected IN, found '('"},
	{"having attribute without namespace", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE IN (email) TO ROLE r", "line 1, column 54: expected '.', found ')'; attributes are written namespace.tag, e.g. pii.email"},
	{"having on uri", "GRANT ALL ON URI 's3://b' HAVING ATTRIBUTE IN (a.b) TO ROLE r", "line 1, column 27: HAVING ATTRIBUTE does not apply to a URI grant"},
	{"after having, expected list shrinks", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE IN (a.b) ROLE r", "line 1, column 54: expected TRANSFORM, WHERE or TO, found 'ROLE'"},

	// TRANSFORM
	{"transform without WITH", "GRANT SELECT ON DATABASE d TRANSFORM pii.x mask() TO ROLE r", "line 1, column 44: expected WITH, found 'mask'"},
	{"transform without parentheses", "GRANT SELECT ON DATABASE d TRANSFORM pii.x WITH mask TO ROLE r", "line 1, column 54: expected '(', found 'TO'"},
	{"transform identifier argument", "GRANT SELECT ON DATABASE d TRANSFORM pii.x WITH mask(col) TO ROLE r", "line 1, column 54: expected string literal, number, TRUE, FALSE or NULL, found 'col'; TRANSFORM arguments are constants"},
	{"transform expression argument", "GRANT SELECT ON DATABASE d TRANSFORM pii.x WITH mask(1 + 2) TO ROLE r", "line 1, column 56: expected ',' or ')', found '+'"},
	{"transform bad number", "GRANT SELECT ON DATABASE d TRANSFORM pii.x WITH mask(12abc) TO ROLE r", "line 1, column 54: invalid number '12abc'"},
	{"transform twice on one attribute", "GRANT SELECT ON DATABASE d TRANSFORM pii.x WITH mask() TRANSFORM PII.X WITH zero() TO ROLE r", "line 1, column 66: attribute pii.x is transformed twice"},
	{"transform on insert", "GRANT INSERT ON DATABASE d TRANSFORM pii.x WITH mask() TO ROLE r", "line 1, column 28: TRANSFORM only applies to SELECT or ALL grants, not INSERT"},

	// WHERE
	{"where twice", "GRANT SELECT ON TABLE d.t WHERE a = 1 WHERE b = 2 TO ROLE r", "line 1, column 39: WHERE is given twice"},
	{"empty where", "GRANT SELECT ON TABLE d.t WHERE TO ROLE r", "line 1, column 33: expected a boolean expression, found 'TO'; the row filter after WHERE is empty"},
	{"where on uri", "GRANT ALL ON URI 's3://b' WHERE a = 1 TO ROLE r", "line 1, column 27: WHERE does not apply to a URI grant"},
	{"where on drop", "GRANT DROP ON TABLE d.t WHERE a = 1 TO ROLE r", "line 1, column 25: WHERE only applies to SELECT or ALL grants, not DROP"},
	{"where without TO ROLE", "GRANT SELECT ON TABLE d.t WHERE a = 1", "line 1, column 38: expected HAVING, TRANSFORM or TO, found end of input"},
	{"where with unclosed parenthesis", "GRANT SELECT ON TABLE d.t WHERE (a = 1 TO ROLE r", "line 1, column 33: unbalanced '(': it is never closed"},
	{"where with stray parenthesis", "GRANT SELECT ON TABLE d.t WHERE a = 1) TO ROLE r", "line 1, column 38: unbalanced ')': there is no '(' to close"},
	{"where with subquery", "GRANT SELECT ON TABLE d.t WHERE a IN (select id FROM x) TO ROLE r", "line 1, column 39: subqueries (SELECT) are not allowed in a row filter"},
	{"where with comment", "GRANT SELECT ON TABLE d.t WHERE a = 1 -- AND b = 2\nOR c = 3 TO ROLE r", "line 1, column 39: comments are not allowed in a row filter"},
	{"where with block comment", "GRANT SELECT ON TABLE d.t WHERE a /* x */ = 1 TO ROLE r", "line 1, column 35: comments are not allowed in a row filter"},
	{"where with bad helper", "GRANT SELECT ON TABLE d.t WHERE has_roles(x) TO ROLE r", "line 1, column 43: expected string literal, found 'x'; has_roles() arguments must be string literals"},
	{"where with double quotes", `GRANT SELECT ON TABLE d.t WHERE a = "x" TO ROLE r`, "line 1, column 37: double-quoted text is a string or an identifier depending on Spark's settings; write 'single quotes' for a string or `backticks` for a column"},
	{"where on second line", "GRANT SELECT ON TABLE d.t\n  WHERE user() = owner AND user_attribute() = 'x' TO ROLE r", "line 2, column 28: user_attribute() takes exactly one argument, e.g. user_attribute('region')"},

	// ALTER
	{"alter without COLUMN", "ALTER TABLE d.t ADD ATTRIBUTE c pii.x", "line 1, column 21: expected COLUMN, found 'ATTRIBUTE'"},
	{"alter bad action", "ALTER TABLE d.t SET COLUMN ATTRIBUTE c pii.x", "line 1, column 17: expected ADD or DROP, found 'SET'"},
	{"alter database", "ALTER DATABASE d", "line 1, column 7: expected TABLE or VIEW, found 'DATABASE'"},

	// CREATE TABLE
	{"create table unqualified", "CREATE TABLE t (a int)", "line 1, column 16: expected '.', found '('; table names are qualified with their database: db.table"},
	{"create table without columns", "CREATE TABLE d.t", "line 1, column 17: expected '(', found end of input"},
	{"create table duplicate column", "CREATE TABLE d.t (a int, b int, A string)", "line 1, column 33: column a is declared twice"},
	{"create table missing type", "CREATE TABLE d.t (a, b int)", "line 1, column 20: expected type name, found ','"},
	{"create table unknown clause", "CREATE TABLE d.t (a int) USING delta", "line 1, column 26: expected LOCATION, ';' or end of input, found 'USING'"},
	{"create table bare array", "CREATE TABLE d.t (a array)", "line 1, column 26: expected '<', found ')'; array needs its element types, e.g. array<string>"},
	{"create table map with one type", "CREATE TABLE d.t (a map<string>)", "line 1, column 24: map takes 2 type parameter(s), not 1"},
	{"create table unclosed generic", "CREATE TABLE d.t (a array<int)", "line 1, column 30: expected ',' or '>', found ')'"},
	{"create table non-integer parameter", "CREATE TABLE d.t (a decimal(p, 2))", "line 1, column 29: expected integer, found 'p'"},
	{"create table type nested too deep", "CREATE TABLE d.t (a " + strings.Repeat("array<", 70) + "int" + strings.Repeat(">", 70) + ")",
		"line 1, column 411: types nest more than 64 deep"},

	// SHOW
	{"show unknown", "SHOW USERS", "line 1, column 6: expected ROLES, GRANTS, CURRENT, DATABASES, TABLES or ATTRIBUTES, found 'USERS'"},
	{"show grants without ON", "SHOW GRANTS d.t", "line 1, column 13: expected ON or TO, found 'd'"},
	{"show tables without database", "SHOW TABLES", "line 1, column 12: expected IN or FROM, found end of input"},
	{"show current without roles", "SHOW CURRENT USER", "line 1, column 14: expected ROLES, found 'USER'"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.Nil(t, got, "a parse error returns no statements")
			require.Error(t, err)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "error is a *ParseError: %T", err)
			require.Equal(t, tc.want, err.Error())
		})
	}
}

func TestParseErrorFields(t *testing.T) {
	_, err := Parse("CREATE ROLE r;\nCREATE   FOO")
	var pe *ParseError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, &ParseError{
		Line: 2, Col: 10, Found: "'FOO'",
		Expected: []string{"ROLE", "ATTRIBUTE", "DATABASE", "TABLE"},
	}, pe)
	require.Equal(t, "line 2, column 10: expected ROLE, ATTRIBUTE, DATABASE or TABLE, found 'FOO'", pe.Error())

	_, err = Parse("SHOW ROLES x" + strings.Repeat("y", 100))
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "'x"+strings.Repeat("y", 36)+"...'", pe.Found, "long tokens are shortened")
}

// A script stops parsing once its context is done: an abandoned request
// stops costing CPU between statements.
func TestParseContextStops(t *testing.T) {
	script := strings.Repeat("SHOW CURRENT ROLES;", 5000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ParseContext(ctx, script)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ParseContext with a done context: %v, want context.Canceled", err)
	}
	out, err := ParseContext(context.Background(), script)
	if err != nil || len(out) != 5000 {
		t.Fatalf("ParseContext: %d statements, %v", len(out), err)
	}
}
