package policysql

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
)

// MaxStatements bounds the statements of one Parse (one ExecuteSql request).
const MaxStatements = 10000

// Parse parses one or more policy statements separated by ';' (a trailing
// ';' is optional and empty statements are ignored). On any error it returns
// a *ParseError and no statements at all, so that a script with a mistake in
// it changes nothing. Text without any statement is an error too.
func Parse(text string) ([]Parsed, error) {
	return parseSource(context.Background(), newSource(text))
}

// ParseContext is Parse that stops, returning ctx's error, once ctx is done
// (checked between statements): a request whose client went away stops
// costing CPU.
func ParseContext(ctx context.Context, text string) ([]Parsed, error) {
	return parseSource(ctx, newSource(text))
}

func parseSource(ctx context.Context, src *source) ([]Parsed, error) {
	text := src.text
	if err := checkUTF8(src); err != nil {
		return nil, err
	}
	toks, err := lex(src, 0, len(text), false)
	if err != nil {
		return nil, err
	}
	var out []Parsed
	start := 0 // first token of the current statement
	for i, t := range toks {
		if !t.isEnd() {
			continue
		}
		if i > start && len(out) == MaxStatements {
			return nil, src.tokenError(toks[start], nil, fmt.Sprintf(
				"more than %d statements in one request; send them in several", MaxStatements))
		}
		if i > start && len(out)%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if i > start {
			stmt, err := parseStatement(src, toks[start:i+1])
			if err != nil {
				return nil, err
			}
			out = append(out, Parsed{
				Stmt: stmt,
				Text: text[toks[start].off:toks[i-1].end],
				Pos:  src.pos(toks[start].off),
			})
		}
		start = i + 1
	}
	if len(out) == 0 {
		return nil, src.tokenError(toks[len(toks)-1], []string{"a statement"}, "")
	}
	return out, nil
}

// parser reads one statement by recursive descent. On the first error it
// panics with a bailout, which parseStatement recovers into the returned
// error (as go/parser does): the grammar functions stay free of error plumbing.
type parser struct {
	src  *source
	toks []token // one statement, ending with its ';' or tkEOF
	i    int
}

type bailout struct{ err *ParseError }

func parseStatement(src *source, toks []token) (stmt Statement, err *ParseError) {
	p := &parser{src: src, toks: toks}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			stmt, err = nil, b.err
		}
	}()
	stmt = p.statement()
	if t := p.peek(); !t.isEnd() {
		p.fail(t, "';'", "end of input")
	}
	return stmt, nil
}

// ---- token helpers ----

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt looks n tokens ahead, never past the end of the statement.
func (p *parser) peekAt(n int) token { return p.toks[min(p.i+n, len(p.toks)-1)] }

// next consumes a token; the end of the statement is never consumed.
func (p *parser) next() token {
	t := p.toks[p.i]
	if !t.isEnd() {
		p.i++
	}
	return t
}

// fail stops parsing: "expected <expected>, found <t>".
func (p *parser) fail(t token, expected ...string) {
	panic(bailout{p.src.tokenError(t, expected, "")})
}

// failf stops parsing with a message about token t.
func (p *parser) failf(t token, format string, args ...any) {
	panic(bailout{p.src.tokenError(t, nil, fmt.Sprintf(format, args...))})
}

// failHint stops parsing: "expected <expected>, found <t>; <hint>".
func (p *parser) failHint(t token, hint string, expected ...string) {
	panic(bailout{p.src.tokenError(t, expected, hint)})
}

// keyword consumes one of the keywords kws (upper case) and returns it.
func (p *parser) keyword(kws ...string) string {
	t := p.peek()
	for _, kw := range kws {
		if t.isKw(kw) {
			p.next()
			return kw
		}
	}
	p.fail(t, kws...)
	return ""
}

func (p *parser) acceptKw(kw string) bool {
	if p.peek().isKw(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) accept(punct string) bool {
	if p.peek().is(punct) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(punct string) token {
	t := p.peek()
	if !t.is(punct) {
		p.fail(t, "'"+punct+"'")
	}
	return p.next()
}

// parenList reads '(' item {',' item} ')', calling item for each element;
// with allowEmpty, '()' as well.
func (p *parser) parenList(allowEmpty bool, item func()) {
	p.expect("(")
	if allowEmpty && p.accept(")") {
		return
	}
	for {
		item()
		if p.accept(")") {
			return
		}
		if !p.accept(",") {
			p.fail(p.peek(), "','", "')'")
		}
	}
}

// ---- names ----

// name reads an identifier, bare or backticked, in lower case. what says
// what it names ("role name") in errors.
func (p *parser) name(what string) string {
	t := p.peek()
	if !t.isName() {
		p.fail(t, what)
	}
	p.next()
	return strings.ToLower(t.val)
}

// partName reads a name that is one part of a dotted name (database, table,
// attribute namespace or tag), so it may not contain a '.' itself.
func (p *parser) partName(what string) string {
	t := p.peek()
	n := p.name(what)
	if strings.Contains(n, ".") {
		p.failf(t, "the %s cannot contain '.'", what)
	}
	return n
}

// tableName reads db.name; kind is "table" or "view".
func (p *parser) tableName(kind string) (db, name string) {
	db = p.partName("database name")
	if t := p.peek(); !t.is(".") {
		p.failHint(t, kind+" names are qualified with their database: db."+kind, "'.'")
	}
	p.next()
	return db, p.partName(kind + " name")
}

// attribute reads ns.tag.
func (p *parser) attribute() string {
	ns := p.partName("attribute name")
	if t := p.peek(); !t.is(".") {
		p.failHint(t, "attributes are written namespace.tag, e.g. pii.email", "'.'")
	}
	p.next()
	return ns + "." + p.partName("attribute tag")
}

// principal reads a group or user name: an identifier or a string literal
// ('alice@example.com'). Unlike other names it keeps its case, since it is
// matched against what the identity provider sends.
func (p *parser) principal(what string) string {
	t := p.peek()
	if !t.isName() && t.kind != tkString {
		p.fail(t, what)
	}
	p.next()
	if t.val == "" {
		p.failf(t, "the %s is empty", what)
	}
	if hasControl(t.val) {
		p.failf(t, "the %s contains a control character", what)
	}
	return t.val
}

// stringLit reads a 'string literal'; what says what it holds.
func (p *parser) stringLit(what string) string {
	t := p.peek()
	if t.kind == tkDQString {
		p.failHint(t, "strings are written in 'single quotes'", what)
	}
	if t.kind != tkString {
		p.fail(t, what)
	}
	p.next()
	return t.val
}

// uri reads a quoted URI and normalizes it.
func (p *parser) uri() string {
	t := p.peek()
	u, err := NormalizeURI(p.stringLit("quoted URI"))
	if err != nil {
		p.failf(t, "%v", err)
	}
	return u
}

// ifNotExists reads an optional IF NOT EXISTS. An IF right before the end of
// the statement is a name (CREATE ROLE if).
func (p *parser) ifNotExists() bool {
	if !p.peek().isKw("IF") || p.peekAt(1).isEnd() {
		return false
	}
	p.next()
	p.keyword("NOT")
	p.keyword("EXISTS")
	return true
}

// ifExists reads an optional IF EXISTS, like ifNotExists.
func (p *parser) ifExists() bool {
	if !p.peek().isKw("IF") || p.peekAt(1).isEnd() {
		return false
	}
	p.next()
	p.keyword("EXISTS")
	return true
}

// ---- statements ----

func (p *parser) statement() Statement {
	switch p.keyword("CREATE", "DROP", "GRANT", "REVOKE", "ALTER", "SHOW") {
	case "CREATE":
		return p.create()
	case "DROP":
		return p.drop()
	case "GRANT":
		return p.grant(true)
	case "REVOKE":
		return p.grant(false)
	case "ALTER":
		return p.alter()
	default:
		return p.show()
	}
}

func (p *parser) create() Statement {
	switch p.keyword("ROLE", "ATTRIBUTE", "DATABASE", "TABLE") {
	case "ROLE":
		ine := p.ifNotExists()
		return CreateRole{Name: p.name("role name"), IfNotExists: ine}
	case "ATTRIBUTE":
		ine := p.ifNotExists()
		return CreateAttribute{Name: p.attribute(), IfNotExists: ine}
	case "DATABASE":
		ine := p.ifNotExists()
		return CreateDatabase{Name: p.partName("database name"), IfNotExists: ine}
	default:
		return p.createTable()
	}
}

func (p *parser) drop() Statement {
	switch kw := p.keyword("ROLE", "ATTRIBUTE", "DATABASE", "TABLE", "VIEW"); kw {
	case "ROLE":
		ie := p.ifExists()
		return DropRole{Name: p.name("role name"), IfExists: ie}
	case "ATTRIBUTE":
		ie := p.ifExists()
		return DropAttribute{Name: p.attribute(), IfExists: ie}
	case "DATABASE":
		ie := p.ifExists()
		name := p.partName("database name")
		return DropDatabase{Name: name, IfExists: ie, Cascade: p.acceptKw("CASCADE")}
	default:
		ie := p.ifExists()
		db, name := p.tableName(strings.ToLower(kw))
		return DropTable{Database: db, Name: name, IfExists: ie}
	}
}

// grant reads what follows GRANT (isGrant) or REVOKE.
func (p *parser) grant(isGrant bool) Statement {
	to := "TO"
	if !isGrant {
		to = "FROM"
	}
	if p.acceptKw("ROLE") {
		role := p.name("role name")
		p.keyword(to)
		kind := catalog.MemberKind(p.keyword("GROUP", "USER"))
		m := catalog.Membership{Role: role, Kind: kind, Name: p.principal(strings.ToLower(string(kind)) + " name")}
		if isGrant {
			return GrantRole{Member: m}
		}
		return RevokeRole{Member: m}
	}

	var g catalog.Grant
	g.Privilege = p.privilege()
	colsTok := p.peek()
	if colsTok.is("(") {
		p.parenList(false, func() { g.Columns = append(g.Columns, p.name("column name")) })
		g.Columns = catalog.SortStrings(g.Columns)
	}
	p.keyword("ON")
	g.Object = p.object()
	if g.Columns != nil && g.Object.Scope != catalog.ScopeTable {
		p.failf(colsTok, "a column list is only allowed ON TABLE or VIEW, not ON %s", g.Object.Scope)
	}
	p.grantClauses(&g, to)
	p.keyword("ROLE")
	g.Role = p.name("role name")
	if isGrant {
		return GrantPrivilege{Grant: g}
	}
	return RevokePrivilege{Grant: g}
}

// privilege reads ALL [PRIVILEGES], SELECT, SHOW, INSERT, CREATE, ALTER or DROP.
func (p *parser) privilege() catalog.Privilege {
	t := p.peek()
	priv, ok := catalog.ParsePrivilege(t.val)
	if t.kind != tkIdent || !ok {
		expected := make([]string, 0, len(catalog.Privileges)+1)
		for _, q := range catalog.Privileges {
			expected = append(expected, string(q))
		}
		p.fail(t, append(expected, "ROLE")...)
	}
	p.next()
	if priv == catalog.PrivAll {
		p.acceptKw("PRIVILEGES")
	}
	return priv
}

// object reads CATALOG | DATABASE db | TABLE db.t | VIEW db.v | URI 'uri'.
// Tables and views share one namespace, so a view is a ScopeTable object.
func (p *parser) object() catalog.Object {
	switch kw := p.keyword("CATALOG", "DATABASE", "TABLE", "VIEW", "URI"); kw {
	case "CATALOG":
		return catalog.Object{Scope: catalog.ScopeCatalog}
	case "DATABASE":
		return catalog.Object{Scope: catalog.ScopeDatabase, Database: p.partName("database name")}
	case "TABLE", "VIEW":
		db, name := p.tableName(strings.ToLower(kw))
		return catalog.Object{Scope: catalog.ScopeTable, Database: db, Table: name}
	default:
		return catalog.Object{Scope: catalog.ScopeURI, URI: p.uri()}
	}
}

// grantClauses reads the optional HAVING ATTRIBUTE, TRANSFORM and WHERE
// clauses of a grant, in any order, then the keyword to (TO or FROM).
func (p *parser) grantClauses(g *catalog.Grant, to string) {
	var sawHaving, sawWhere bool
	transformed := map[string]bool{}
	for {
		t := p.peek()
		switch {
		case t.isKw("HAVING"):
			if sawHaving {
				p.failf(t, "HAVING ATTRIBUTE is given twice")
			}
			sawHaving = true
			p.checkClause(t, g, "HAVING ATTRIBUTE", false)
			p.next()
			p.keyword("ATTRIBUTE")
			g.AttributesNot = p.acceptKw("NOT")
			p.keyword("IN")
			p.parenList(false, func() { g.Attributes = append(g.Attributes, p.attribute()) })
			g.Attributes = catalog.SortStrings(g.Attributes)

		case t.isKw("TRANSFORM"):
			p.checkClause(t, g, "TRANSFORM", true)
			p.next()
			attrTok := p.peek()
			tr := catalog.Transform{Attribute: p.attribute()}
			if transformed[tr.Attribute] {
				p.failf(attrTok, "attribute %s is transformed twice", tr.Attribute)
			}
			transformed[tr.Attribute] = true
			p.keyword("WITH")
			tr.Function = p.name("function name")
			p.parenList(true, func() { tr.Args = append(tr.Args, p.literal()) })
			g.Transforms = append(g.Transforms, tr)

		case t.isKw("WHERE"):
			if sawWhere {
				p.failf(t, "WHERE is given twice")
			}
			sawWhere = true
			p.checkClause(t, g, "WHERE", true)
			p.next()
			g.Filter = p.filter()

		case t.isKw(to):
			p.next()
			// One transform per attribute, kept in a stable order so that
			// equal grants compare equal (catalog.Grant.SameSpec).
			sort.Slice(g.Transforms, func(i, j int) bool {
				return g.Transforms[i].Attribute < g.Transforms[j].Attribute
			})
			return

		default:
			var expected []string
			if !sawHaving {
				expected = append(expected, "HAVING")
			}
			expected = append(expected, "TRANSFORM")
			if !sawWhere {
				expected = append(expected, "WHERE")
			}
			p.fail(t, append(expected, to)...)
		}
	}
}

// checkClause refuses a clause where it would be silently meaningless: no
// clause applies to a URI, and masks and row filters (selectOnly) only shape
// what is read, so on an INSERT or DROP grant they would promise a
// restriction nothing enforces.
func (p *parser) checkClause(t token, g *catalog.Grant, clause string, selectOnly bool) {
	if g.Object.Scope == catalog.ScopeURI {
		p.failf(t, "%s does not apply to a URI grant", clause)
	}
	if selectOnly && g.Privilege != catalog.PrivSelect && g.Privilege != catalog.PrivAll {
		p.failf(t, "%s only applies to SELECT or ALL grants, not %s", clause, g.Privilege)
	}
}

// numberRE is a Spark numeric literal: 12, 1.5, 1e-3, with an optional type
// suffix (10L, 1S, 1Y, 1.5D, 1.5F, 1.5BD).
var numberRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?([lLsSyYdDfF]|[bB][dD])?$`)

// literal reads a TRANSFORM argument and returns it as SQL literal text.
func (p *parser) literal() string {
	t := p.peek()
	switch {
	case t.kind == tkString:
		p.next()
		return QuoteString(t.val)
	case t.kind == tkNumber, t.is("-") && p.peekAt(1).kind == tkNumber:
		sign := ""
		if t.is("-") {
			sign = "-"
			p.next()
		}
		n := p.next()
		if !numberRE.MatchString(n.val) {
			p.failf(n, "invalid number '%s'", n.val)
		}
		return sign + n.val
	case t.isKw("TRUE"), t.isKw("FALSE"), t.isKw("NULL"):
		p.next()
		return strings.ToUpper(t.val)
	}
	p.failHint(t, "TRANSFORM arguments are constants", "string literal", "number", "TRUE", "FALSE", "NULL")
	return ""
}

// filter reads a row filter: the source text after WHERE up to the next
// clause (TO ROLE, FROM ROLE, HAVING ATTRIBUTE, TRANSFORM ns.tag, WHERE) at
// parenthesis depth 0. It is checked by parseFilter and returned canonical.
func (p *parser) filter() string {
	first := p.i
	depth := 0
	for {
		t := p.peek()
		if t.isEnd() || depth == 0 && p.atClause() {
			break
		}
		p.next()
		if t.is("(") {
			depth++
		} else if t.is(")") {
			depth-- // below 0 no clause is found; parseFilter reports the stray ')'
		}
	}
	if p.i == first {
		p.failHint(p.peek(), "the row filter after WHERE is empty", "a boolean expression")
	}
	_, canon, err := parseFilter(p.src, p.toks[first].off, p.toks[p.i-1].end)
	if err != nil {
		panic(bailout{err})
	}
	return canon
}

// atClause reports whether the next tokens start a clause that ends a row filter.
func (p *parser) atClause() bool {
	t, u := p.peek(), p.peekAt(1)
	return (t.isKw("TO") || t.isKw("FROM")) && u.isKw("ROLE") ||
		t.isKw("HAVING") && u.isKw("ATTRIBUTE") ||
		t.isKw("TRANSFORM") && u.isName() ||
		t.isKw("WHERE")
}

func (p *parser) alter() Statement {
	kind := p.keyword("TABLE", "VIEW")
	db, name := p.tableName(strings.ToLower(kind))
	add := p.keyword("ADD", "DROP") == "ADD"
	p.keyword("COLUMN")
	p.keyword("ATTRIBUTE")
	col := p.name("column name")
	attr := p.attribute()
	return AlterColumnAttribute{
		Attr: catalog.ColumnAttribute{Database: db, Table: name, Column: col, Attribute: attr},
		Add:  add,
	}
}

func (p *parser) show() Statement {
	switch p.keyword("ROLES", "GRANTS", "CURRENT", "DATABASES", "TABLES", "ATTRIBUTES") {
	case "ROLES":
		return ShowRoles{}
	case "GRANTS":
		if p.keyword("ON", "TO") == "ON" {
			return ShowGrantsOn{Object: p.object()}
		}
		p.keyword("ROLE")
		return ShowGrantsToRole{Role: p.name("role name")}
	case "CURRENT":
		p.keyword("ROLES")
		return ShowCurrentRoles{}
	case "DATABASES":
		return ShowDatabases{}
	case "TABLES":
		p.keyword("IN", "FROM")
		return ShowTables{Database: p.partName("database name")}
	default:
		return ShowAttributes{}
	}
}

func (p *parser) createTable() Statement {
	ine := p.ifNotExists()
	db, name := p.tableName("table")
	tbl := catalog.Table{Database: db, Name: name}
	seen := map[string]bool{}
	p.parenList(false, func() {
		t := p.peek()
		col := p.name("column name")
		if seen[col] {
			p.failf(t, "column %s is declared twice", col)
		}
		seen[col] = true
		tbl.Columns = append(tbl.Columns, catalog.Column{Name: col, Type: p.dataType(0)})
	})
	if p.acceptKw("LOCATION") {
		tbl.Location = p.uri()
	}
	if t := p.peek(); !t.isEnd() {
		p.fail(t, "LOCATION", "';'", "end of input")
	}
	return CreateTable{Table: tbl, IfNotExists: ine}
}

// maxTypeDepth bounds how deeply types nest (array<array<…>>), so that
// hostile input cannot make the parser recurse without end.
const maxTypeDepth = 64

// typeParams is how many <…> parameters the generic types take.
var typeParams = map[string]int{"array": 1, "map": 2}

// dataType reads a Spark/Hive column type, such as bigint, decimal(10, 2),
// array<string>, map<string,int> or struct<a:int, b string>, and returns it
// in lower case without spaces: decimal(10,2), struct<a:int,b:string>.
func (p *parser) dataType(depth int) string {
	t := p.peek()
	if t.kind != tkIdent {
		p.fail(t, "type name")
	}
	if depth > maxTypeDepth {
		p.failf(t, "types nest more than %d deep", maxTypeDepth)
	}
	p.next()
	name := strings.ToLower(t.val)

	if p.peek().is("(") { // decimal(10,2), varchar(20)
		var params []string
		p.parenList(false, func() { params = append(params, p.integer()) })
		return name + "(" + strings.Join(params, ",") + ")"
	}
	if !p.peek().is("<") {
		if name == "struct" || typeParams[name] > 0 {
			p.failHint(p.peek(), name+" needs its element types, e.g. array<string>", "'<'")
		}
		return name
	}
	lt := p.next()
	var elems []string
	item := func() {
		if name == "struct" { // field [:] type
			field := p.name("field name")
			p.accept(":")
			elems = append(elems, quoteIdent(field)+":"+p.dataType(depth+1))
		} else {
			elems = append(elems, p.dataType(depth+1))
		}
	}
	if name != "struct" || !p.accept(">") { // struct<> is a valid, empty struct
		for item(); !p.accept(">"); item() {
			if !p.accept(",") {
				p.fail(p.peek(), "','", "'>'")
			}
		}
	}
	if want := typeParams[name]; want > 0 && len(elems) != want {
		p.failf(lt, "%s takes %d type parameter(s), not %d", name, want, len(elems))
	}
	return name + "<" + strings.Join(elems, ",") + ">"
}

// integer reads an unsigned integer (a type parameter).
func (p *parser) integer() string {
	t := p.peek()
	if t.kind != tkNumber || strings.TrimLeft(t.val, "0123456789") != "" {
		p.fail(t, "integer")
	}
	p.next()
	return t.val
}

// quoteIdent writes a name bare when it is a plain identifier, else in backticks.
func quoteIdent(s string) string {
	plain := s != "" && isIdentStart(s[0])
	for i := 0; i < len(s) && plain; i++ {
		plain = isIdentPart(s[i])
	}
	if plain {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
