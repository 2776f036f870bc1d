package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lakegate/lakegate/internal/catalog"
)

// ErrInvalid: a row is malformed (an empty name, an unknown privilege,
// scope or member kind, an object that does not fit its scope, text that is
// not valid UTF-8 or holds a NUL byte, which PostgreSQL cannot store).
// Backends check rows with the Check functions below before storing them,
// so every backend rejects the same rows.
var ErrInvalid = errors.New("invalid row")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// CheckName rejects an empty name and bad text; what says what is named
// ("role", …).
func CheckName(what, name string) error {
	if name == "" {
		return invalid("empty %s name", what)
	}
	return CheckText(what+" name", name)
}

// CheckText rejects text that is not valid UTF-8 or contains a NUL byte.
func CheckText(what, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s %q is not valid UTF-8", what, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return invalid("%s %q contains a NUL byte", what, s)
	}
	return nil
}

// CheckMembership checks a membership before it is stored.
func CheckMembership(m catalog.Membership) error {
	if err := CheckName("role", m.Role); err != nil {
		return err
	}
	if m.Kind != catalog.MemberGroup && m.Kind != catalog.MemberUser {
		return invalid("member kind %q (want %s or %s)", m.Kind, catalog.MemberGroup, catalog.MemberUser)
	}
	return CheckName("member", m.Name)
}

// CheckGrant checks a grant before it is stored: a role, a known privilege,
// and an object whose fields fit its scope.
func CheckGrant(g catalog.Grant) error {
	if err := CheckName("role", g.Role); err != nil {
		return err
	}
	if !knownPrivilege(g.Privilege) {
		return invalid("privilege %q", g.Privilege)
	}
	o := g.Object
	for _, f := range [...]struct{ what, s string }{
		{"database", o.Database}, {"table", o.Table}, {"URI", o.URI}, {"filter", g.Filter},
	} {
		if err := CheckText(f.what, f.s); err != nil {
			return err
		}
	}
	switch o.Scope {
	case catalog.ScopeCatalog:
		if o.Database != "" || o.Table != "" || o.URI != "" {
			return invalid("CATALOG grant names an object (%+v)", o)
		}
	case catalog.ScopeDatabase:
		if o.Database == "" || o.Table != "" || o.URI != "" {
			return invalid("DATABASE grant needs a database and nothing else (%+v)", o)
		}
	case catalog.ScopeTable:
		if o.Database == "" || o.Table == "" || o.URI != "" {
			return invalid("TABLE grant needs a database and a table and nothing else (%+v)", o)
		}
	case catalog.ScopeURI:
		if o.URI == "" || o.Database != "" || o.Table != "" {
			return invalid("URI grant needs a URI and nothing else (%+v)", o)
		}
	default:
		return invalid("scope %q", o.Scope)
	}
	for _, c := range g.Columns {
		if err := CheckName("column", c); err != nil {
			return err
		}
	}
	for _, a := range g.Attributes {
		if err := CheckName("attribute", a); err != nil {
			return err
		}
	}
	for _, t := range g.Transforms {
		if t.Attribute == "" || t.Function == "" {
			return invalid("transform needs an attribute and a function (%+v)", t)
		}
		if err := CheckName("transform attribute", t.Attribute); err != nil {
			return err
		}
		if err := CheckName("transform function", t.Function); err != nil {
			return err
		}
		for _, a := range t.Args {
			if err := CheckText("transform argument", a); err != nil {
				return err
			}
		}
	}
	return nil
}

func knownPrivilege(p catalog.Privilege) bool {
	for _, q := range catalog.Privileges {
		if p == q {
			return true
		}
	}
	return false
}

// CheckTable checks a table before it is stored.
func CheckTable(t catalog.Table) error {
	if err := CheckName("database", t.Database); err != nil {
		return err
	}
	if err := CheckName("table", t.Name); err != nil {
		return err
	}
	if err := CheckText("location", t.Location); err != nil {
		return err
	}
	for _, c := range t.Columns {
		if c.Name == "" {
			return invalid("empty column name in table %s", t.FullName())
		}
		if err := CheckName("column", c.Name); err != nil {
			return err
		}
		if err := CheckText("column type", c.Type); err != nil {
			return err
		}
	}
	if !t.IsView && (t.Definer != "" || len(t.DefinerGroups) > 0 || len(t.ViewReads) > 0) {
		return invalid("table %s is not a view but has a definer or view reads", t.FullName())
	}
	if t.Definer == "" && (len(t.DefinerGroups) > 0 || len(t.ViewReads) > 0) {
		return invalid("view %s has definer groups or view reads but no definer", t.FullName())
	}
	if err := CheckText("definer", t.Definer); err != nil {
		return err
	}
	for _, g := range t.DefinerGroups {
		if err := CheckName("definer group", g); err != nil {
			return err
		}
	}
	for _, r := range t.ViewReads {
		switch {
		case r.URI != "" && (r.Database != "" || r.Table != ""):
			return invalid("view %s: a read names both a URI and a table (%+v)", t.FullName(), r)
		case r.URI == "" && (r.Database == "" || r.Table == ""):
			return invalid("view %s: a read needs a database and a table, or a URI (%+v)", t.FullName(), r)
		}
		for _, f := range [...]struct{ what, s string }{{"view read database", r.Database}, {"view read table", r.Table}, {"view read URI", r.URI}} {
			if err := CheckText(f.what, f.s); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckColumnAttribute checks a column attribute before it is stored.
func CheckColumnAttribute(a catalog.ColumnAttribute) error {
	for _, f := range [...]struct{ what, name string }{
		{"database", a.Database}, {"table", a.Table}, {"column", a.Column}, {"attribute", a.Attribute},
	} {
		if err := CheckName(f.what, f.name); err != nil {
			return err
		}
	}
	return nil
}
