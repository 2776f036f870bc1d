# lakegate's decision rules (docs/policy.md, "What a user sees") for the
# common case, written as an OPA policy: the baseline lakegate's engine is
# measured against. It is a fair baseline, not a strawman:
#
#   - data is indexed the way a Rego author would index it: roles by group
#     and by user, each role's grants by scope and then by database or by
#     "db.table", column attributes by "db.table" then column; nothing scans
#     the 100,000 grants;
#   - it computes everything the engine computes for one request: the roles
#     of the principal (the engine does this once per session, OPA has no
#     sessions, so it is done per request here; bench/opa times lakegate both
#     ways), the applicable grants (role, scope catalog/database/table,
#     privilege), each grant's row filter with user(), has_roles(),
#     has_access() and user_attribute() bound and folded (TRUE: every row,
#     FALSE/NULL: the grant does not apply), each grant's treatment of every
#     requested column (column list, HAVING ATTRIBUTE IN / NOT IN, first
#     matching TRANSFORM), per column the most permissive treatment (visible,
#     else the mask of the oldest grant, else removed), the OR of the
#     distinct row filters in grant order, full access, and a reason.
#
# What it leaves out, by design: row-by-row combination when the applicable
# grants have different filters (CASE columns; the generated policy never
# needs them and the cross-check fails if the engine produces one), views
# and definer rights, URIs and okera_sample.whoami (none in the requests).
# The filter folder understands disjunctions whose terms are TRUE, FALSE or
# opaque conditions (split on " OR "), which is every filter the generator
# writes; the engine's folder is a small parser over AND/OR/NOT/parentheses.
package lakegate.authz

lg := data.lakegate_policy

default is_admin := false

is_admin if {
	some g in input.groups
	g == lg.admin_group
}

roles contains r if {
	some r in lg.user_roles[input.user]
}

roles contains r if {
	some g in input.groups
	some r in lg.group_roles[g]
}

decisions := [decide(o) | some o in input.objects]

action(o) := object.get(o, "action", "SELECT")

table_key(o) := concat(".", [lower(o.database), lower(o.table)])

decide(o) := full_access(o, concat("", ["member of the admin group ", lg.admin_group])) if {
	is_admin
} else := decide_select(o) if {
	action(o) == "SELECT"
} else := decide_write(o)

implies(priv, act) if priv == "ALL"

implies(priv, act) if priv == act

# The grants of the principal's roles on the object, its database or the
# catalog whose privilege implies act, sorted by grant id.
grants_on(db, key, act) := [p[1] |
	some p in sort([[g.id, g] |
		some r in roles
		rg := lg.grants[r]
		some scope in [rg.catalog, object.get(rg.db, db, []), object.get(rg.table, key, [])]
		some g in scope
		implies(g.privilege, act)
	])
]

full_access(o, why) := {
	"object": table_key(o),
	"allowed": true,
	"reason": why,
	"columns": [{"name": c.name, "action": "VISIBLE"} | some c in o.columns],
	"row_filter": "",
	"full_access": true,
}

decide_write(o) := full_access(o, concat("", ["granted to role ", g.role])) if {
	some g in grants_on(lower(o.database), table_key(o), action(o))
	not g.restricted
} else := deny(o, action(o))

deny(o, act) := {
	"object": table_key(o),
	"allowed": false,
	"reason": sprintf("user %q (groups: %s; roles: %s) may not %s %s. Ask an administrator to GRANT %s ON TABLE %s TO ROLE <role> and grant that role to one of your groups", [
		input.user, concat(", ", input.groups), concat(", ", roles), act, table_key(o), act, table_key(o),
	]),
}

decide_select(o) := d if {
	key := table_key(o)
	lcs := [lower(c.name) | some c in o.columns]
	cols := {c | some c in lcs}
	tagged := object.get(lg.attrs, key, {})
	apps := [a |
		some g in grants_on(lower(o.database), key, "SELECT")
		b := bind(g)
		b.admits
		a := object.union(shown(g, cols, tagged), {"role": g.role, "filter": b.sql})
		shows_any(a, cols)
	]
	count(apps) > 0
	filters := distinct([a.filter | some a in apps; a.filter != ""])
	all_rows := count([1 | some a in apps; a.filter == ""]) > 0
	visible := union({a.visible | some a in apps})
	masked := {c: ms[0] |
		some c in union({object.keys(a.masked) | some a in apps})
		not c in visible
		ms := [m | some a in apps; m := a.masked[c]]
	}
	columns := [column(o.columns[i].name, c, visible, masked) | some i, c in lcs]
	d := {
		"object": key,
		"allowed": true,
		"reason": concat("", ["granted to role ", concat(", ", {a.role | some a in apps})]),
		"columns": columns,
		"row_filter": row_filter(all_rows, filters),
		"full_access": full(all_rows, columns),
	}
} else := deny(o, "SELECT")

shows_any(a, cols) if count(cols) == 0

shows_any(a, cols) if count(a.visible) + count(a.masked) > 0

# shown is how grant g shows the requested columns cols (a set), given the
# table's tagged columns (column -> attributes): the set of columns it shows
# as they are, and the columns it masks with their first matching TRANSFORM.
shown(g, cols, tagged) := {"visible": keep - object.keys(masked), "masked": masked} if {
	keep := having(g, listed(g, cols), tagged)
	masked := {c: m |
		some c, attrs in tagged
		c in keep
		ms := [t | some t in g.transforms; t.attribute in attrs]
		count(ms) > 0
		m := {"function": ms[0].function, "args": ms[0].args}
	}
}

listed(g, cols) := cols if {
	g.columns == null
} else := {c | some c in cols; g.columns[c]}

having(g, cols, tagged) := cols if {
	g.attrs == null
} else := cols - {c | some c, attrs in tagged; some a in attrs; g.attrs[a]} if {
	g.attrs_not
} else := {c | some c in cols; some a in object.get(tagged, c, []); g.attrs[a]}

# column: visible if any grant shows it unmasked, else the mask of the
# oldest grant that masks it, else removed.
column(name, c, visible, masked) := {"name": name, "action": "VISIBLE"} if {
	c in visible
} else := {"name": name, "action": "MASKED", "mask": masked[c]} if {
	masked[c]
} else := {"name": name, "action": "REMOVED"}

distinct(xs) := [x | some i, x in xs; not seen_before(xs, i, x)]

seen_before(xs, i, x) if {
	some j, y in xs
	j < i
	y == x
}

row_filter(true, _) := ""

row_filter(false, fs) := fs[0] if count(fs) == 1

row_filter(false, fs) := concat(" OR ", [concat("", ["(", f, ")"]) | some f in fs]) if count(fs) > 1

full(all_rows, columns) if {
	all_rows
	every c in columns {
		c.action == "VISIBLE"
	}
} else := false

# bind renders g's row filter for the principal: admits false when it folds
# to FALSE or NULL, sql "" when it admits every row.
bind(g) := {"admits": true, "sql": ""} if {
	g.filter == null
} else := fold(trim_space(concat("", [bind_part(p) | some p in g.filter])))

fold(sql) := {"admits": true, "sql": ""} if {
	some t in split(sql, " OR ")
	upper(trim_space(t)) == "TRUE"
} else := {"admits": false, "sql": ""} if {
	every t in split(sql, " OR ") {
		upper(trim_space(t)) == "FALSE"
	}
} else := {"admits": false, "sql": ""} if {
	upper(trim(sql, "() ")) == "NULL"
} else := {"admits": true, "sql": sql}

bind_part(p) := p.sql if {
	p.call == ""
} else := quote(input.user) if {
	p.call == "user"
} else := "TRUE" if {
	p.call == "has_roles"
	some r in p.args
	r in roles
} else := "FALSE" if {
	p.call == "has_roles"
} else := "TRUE" if {
	p.call == "has_access"
	has_select(p.args[0])
} else := "FALSE" if {
	p.call == "has_access"
} else := quote(v) if {
	p.call == "user_attribute"
	v := input.attributes[p.args[0]]
} else := "NULL" if {
	p.call == "user_attribute"
}

has_select(key) if {
	db := split(key, ".")[0]
	count(grants_on(db, key, "SELECT")) > 0
}

# quote is policysql.QuoteString: plain text as a string literal, anything
# else as hex, so no value can change the filter's meaning.
quote(s) := concat("", ["'", s, "'"]) if {
	regex.match(`^[A-Za-z0-9_ .,:@+/=-]*$`, s)
} else := concat("", ["CAST(X'", upper(hex.encode(s)), "' AS STRING)"])
