package policy

import (
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policysql"
)

// TableRef names a table or view in a listing.
type TableRef struct {
	Name   string
	IsView bool
}

// A subject sees a database or table when any grant, of any privilege,
// reaches it or something inside it (SHOW semantics, as in Okera).

func (p *Policy) canSeeDatabase(s *Subject, db string) bool {
	if s.IsAdmin || db == WhoAmIDatabase {
		return true
	}
	for _, rg := range s.grants {
		if len(rg.catalog) > 0 || len(rg.db[db]) > 0 {
			return true
		}
		for k := range rg.table {
			if k.db == db {
				return true
			}
		}
	}
	return false
}

func (p *Policy) canSeeTable(s *Subject, k tableKey) bool {
	if s.IsAdmin || (k.db == WhoAmIDatabase && k.table == WhoAmITable) {
		return true
	}
	for _, rg := range s.grants {
		if len(rg.catalog) > 0 || len(rg.db[k.db]) > 0 || len(rg.table[k]) > 0 {
			return true
		}
	}
	return false
}

// VisibleDatabases lists, sorted, the known databases s may see.
func (p *Policy) VisibleDatabases(s *Subject) []string {
	var out []string
	for db := range p.databases {
		if p.canSeeDatabase(s, db) {
			out = append(out, db)
		}
	}
	sort.Strings(out)
	return out
}

// VisibleTables lists, sorted, the known tables and views of db that s may see.
func (p *Policy) VisibleTables(s *Subject, db string) []TableRef {
	db = strings.ToLower(db)
	var out []TableRef
	for _, ti := range p.tablesByDB[db] {
		if p.canSeeTable(s, ti.key) {
			out = append(out, TableRef{Name: ti.key.table, IsView: ti.isView})
		}
	}
	return out
}

// HoldsAll reports whether s may administer obj: admins, and holders of an
// unrestricted ALL grant on obj or on something that contains it.
func (p *Policy) HoldsAll(s *Subject, obj catalog.Object) bool {
	if s.IsAdmin {
		return true
	}
	for _, rg := range s.grants {
		var cands []*grant
		cands = append(cands, rg.catalog...)
		switch obj.Scope {
		case catalog.ScopeDatabase:
			cands = append(cands, rg.db[obj.Database]...)
		case catalog.ScopeTable:
			cands = append(cands, rg.db[obj.Database]...)
			cands = append(cands, rg.table[tableKey{obj.Database, obj.Table}]...)
		case catalog.ScopeURI:
			for _, g := range rg.uri {
				if policysql.URICovers(g.src.Object.URI, obj.URI) {
					cands = append(cands, g)
				}
			}
		}
		for _, g := range cands {
			if g.src.Privilege == catalog.PrivAll && !g.restricted {
				return true
			}
		}
	}
	return false
}
