package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/policysql"
)

// The OPA data document (data.lakegate_policy), indexed as a Rego author would:
// lookups by key, never a scan of all grants.
type opaData struct {
	AdminGroup string                         `json:"admin_group"`
	GroupRoles map[string][]string            `json:"group_roles"`
	UserRoles  map[string][]string            `json:"user_roles"`
	Grants     map[string]*opaRole            `json:"grants"` // by role
	Attrs      map[string]map[string][]string `json:"attrs"`  // "db.t" -> column -> attributes
}

type opaRole struct {
	Catalog []*opaGrant            `json:"catalog"`
	DB      map[string][]*opaGrant `json:"db"`
	Table   map[string][]*opaGrant `json:"table"` // "db.t"
}

type opaGrant struct {
	ID         int64           `json:"id"`
	Role       string          `json:"role"`
	Privilege  string          `json:"privilege"`
	Columns    map[string]bool `json:"columns"` // null: every column
	Attrs      map[string]bool `json:"attrs"`   // null: no HAVING
	AttrsNot   bool            `json:"attrs_not"`
	Transforms []opaTransform  `json:"transforms"`
	Filter     []opaFilterPart `json:"filter"` // null: every row
	Restricted bool            `json:"restricted"`
}

type opaTransform struct {
	Attribute string   `json:"attribute"`
	Function  string   `json:"function"`
	Args      []string `json:"args"`
}

type opaFilterPart struct {
	SQL  string   `json:"sql"`
	Call string   `json:"call"`
	Args []string `json:"args"`
}

// buildData converts the policy rows to data.lakegate_policy, doing at load time
// what lakegate's Compile does (index by role and scope, lower-case column
// names, parse row filters into SQL text and helper calls), and returns it
// as an AST object for OPA's in-memory store (the fastest read path).
func buildData(st *catalog.State, adminGroup string) (ast.Object, int, error) {
	d := opaData{
		AdminGroup: adminGroup,
		GroupRoles: map[string][]string{},
		UserRoles:  map[string][]string{},
		Grants:     map[string]*opaRole{},
		Attrs:      map[string]map[string][]string{},
	}
	for _, m := range st.Memberships {
		if m.Kind == catalog.MemberGroup {
			d.GroupRoles[m.Name] = append(d.GroupRoles[m.Name], m.Role)
		} else {
			d.UserRoles[m.Name] = append(d.UserRoles[m.Name], m.Role)
		}
	}
	for _, a := range st.ColumnAttrs {
		k := a.Database + "." + a.Table
		if d.Attrs[k] == nil {
			d.Attrs[k] = map[string][]string{}
		}
		c := strings.ToLower(a.Column)
		d.Attrs[k][c] = append(d.Attrs[k][c], a.Attribute)
	}
	for _, g := range st.Grants {
		og := &opaGrant{ID: g.ID, Role: g.Role, Privilege: string(g.Privilege), AttrsNot: g.AttributesNot,
			Transforms: []opaTransform{}}
		if len(g.Columns) > 0 {
			og.Columns = map[string]bool{}
			for _, c := range g.Columns {
				og.Columns[strings.ToLower(c)] = true
			}
		}
		if len(g.Attributes) > 0 {
			og.Attrs = map[string]bool{}
			for _, a := range g.Attributes {
				og.Attrs[a] = true
			}
		}
		for _, t := range g.Transforms {
			args := t.Args
			if args == nil {
				args = []string{}
			}
			og.Transforms = append(og.Transforms, opaTransform{Attribute: t.Attribute, Function: t.Function, Args: args})
		}
		if g.Filter != "" {
			parts, err := policysql.ParseFilter(g.Filter)
			if err != nil {
				return nil, 0, fmt.Errorf("grant %d: %w", g.ID, err)
			}
			og.Filter = []opaFilterPart{}
			for _, p := range parts {
				args := p.Args
				if args == nil {
					args = []string{}
				}
				og.Filter = append(og.Filter, opaFilterPart{SQL: p.SQL, Call: p.Call, Args: args})
			}
		}
		og.Restricted = og.Columns != nil || og.Attrs != nil || len(og.Transforms) > 0 || og.Filter != nil
		r := d.Grants[g.Role]
		if r == nil {
			r = &opaRole{Catalog: []*opaGrant{}, DB: map[string][]*opaGrant{}, Table: map[string][]*opaGrant{}}
			d.Grants[g.Role] = r
		}
		switch g.Object.Scope {
		case catalog.ScopeCatalog:
			r.Catalog = append(r.Catalog, og)
		case catalog.ScopeDatabase:
			r.DB[g.Object.Database] = append(r.DB[g.Object.Database], og)
		case catalog.ScopeTable:
			k := g.Object.Database + "." + g.Object.Table
			r.Table[k] = append(r.Table[k], og)
		case catalog.ScopeURI:
			// URIs are not part of the comparison.
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, 0, err
	}
	var doc any
	if err := util.NewJSONDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil, 0, err
	}
	v, err := ast.InterfaceToValue(map[string]any{"lakegate_policy": doc})
	if err != nil {
		return nil, 0, err
	}
	return v.(ast.Object), len(raw), nil
}

// inputOf is the request as OPA's input document: the principal from the
// token and the objects with their columns, as an engine sends them.
func inputOf(p policy.Principal, objs []policy.Object) map[string]any {
	os := make([]any, len(objs))
	for i, o := range objs {
		cols := make([]any, len(o.Columns))
		for j, c := range o.Columns {
			cols[j] = map[string]any{"name": c.Name, "type": c.Type}
		}
		act := string(o.Action)
		if act == "" {
			act = string(catalog.PrivSelect)
		}
		os[i] = map[string]any{"database": o.Database, "table": o.Table, "action": act, "columns": cols}
	}
	groups := make([]any, len(p.Groups))
	for i, g := range p.Groups {
		groups[i] = g
	}
	attrs := map[string]any{}
	for k, v := range p.Attributes {
		attrs[k] = v
	}
	return map[string]any{"user": p.User, "groups": groups, "attributes": attrs, "objects": os}
}
