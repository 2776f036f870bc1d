"""Every builtin, against testdata/builtins/vectors.json:

- called directly by a user as okera_udfs.<fn>(…) on literals (constant folding: the interpreted
  path) and on table columns (generated code), including every error case;
- through the planner: each (function, column type, arguments) of the vectors is a column of
  masks.vectors carrying its own attribute, and one grant TRANSFORMs each attribute WITH that
  function, so alice's SELECT * shows every builtin applied by the extension under the relation;
- the random builtins by the vectors' properties (luhn16, laplace, saturates) over 10,000 rows;
- the Python rendering of the deterministic builtins (vectors.py) against the file, since the
  other modules compute expected governed values with it.
"""

from __future__ import annotations

import math
import statistics
from collections import OrderedDict
from decimal import Decimal

import pytest

import vectors as V
from checks import fails

DOC = V.load()
CASES = DOC["cases"]
PROPS = DOC["properties"]
BUILTINS_DB = "okera_udfs"


def group_key(case) -> tuple:
    a = case["args"]
    return case["fn"], a[0]["type"], tuple(V.policy_literal(x) for x in a[1:])


def groups() -> "OrderedDict[tuple, list]":
    g: OrderedDict = OrderedDict()
    for c in CASES:
        if "result" in c:
            g.setdefault(group_key(c), []).append(c)
    return g


GROUPS = groups()
ROWS = max(len(v) for v in GROUPS.values())
DRAWS = max(p["draws"] for p in PROPS)


def transform(fn: str, args: tuple) -> str:
    return f"{fn}({', '.join(args)})"


FNS = list(OrderedDict.fromkeys(k[0] for k in GROUPS))
PROP_FNS = list(OrderedDict.fromkeys(p["fn"] for p in PROPS))


@pytest.fixture(scope="module")
def tables(spark, planner):
    """masks.vectors: one column c<i> per (function, column type, arguments) of the vectors, one row
    per case, NULL-padded (NULL in gives NULL out for every function); masks.props: one constant
    column p<i> per property, DRAWS rows. Created by admin. For the TRANSFORM tests, one table per
    function (masks.t_<fn>, masks.p_<fn>) with that function's columns, each column carrying its own
    attribute and one grant TRANSFORMing each attribute WITH the function: a builtin that breaks
    then breaks only its own table."""
    sc = spark.sparkContext
    sc.setLocalProperty("user", "admin")
    sc.setLocalProperty("groups", "admin")
    cols = [(f"c{i}", k[1]) for i, k in enumerate(GROUPS)]
    ddl = "id int, " + ", ".join(f"{n} {t}" for n, t in cols)
    data = []
    for r in range(ROWS):
        row = [r]
        for k, cs in GROUPS.items():
            row.append(V.py_value(cs[r]["args"][0]) if r < len(cs) else None)
        data.append(tuple(row))
    spark.sql("CREATE DATABASE IF NOT EXISTS masks")
    spark.createDataFrame(data, ddl).coalesce(1).write.format("parquet").saveAsTable("masks.vectors")
    pcols = [(f"p{i}", p["args"][0]["type"]) for i, p in enumerate(PROPS)]
    pddl = "id int, " + ", ".join(f"{n} {t}" for n, t in pcols)
    pdata = [tuple([r] + [V.py_value(p["args"][0]) for p in PROPS]) for r in range(DRAWS)]
    spark.createDataFrame(pdata, pddl).coalesce(1).write.format("parquet").saveAsTable("masks.props")

    stmts = ["CREATE ROLE IF NOT EXISTS analyst", "GRANT ROLE analyst TO GROUP analysts",
             "CREATE DATABASE IF NOT EXISTS masks"]

    def governed(table, source, members):  # members: [(column, type, "fn(args)")]
        spark.sql(f"CREATE TABLE masks.{table} USING parquet AS SELECT id, "
                  f"{', '.join(m[0] for m in members)} FROM masks.{source}")
        stmts.append(f"CREATE TABLE IF NOT EXISTS masks.{table} (id int, "
                     f"{', '.join(f'{n} {t}' for n, t, _ in members)})")
        tr = []
        for n, _, call in members:
            stmts.extend([f"CREATE ATTRIBUTE IF NOT EXISTS vec.{n}",
                          f"ALTER TABLE masks.{table} ADD COLUMN ATTRIBUTE {n} vec.{n}"])
            tr.append(f"TRANSFORM vec.{n} WITH {call}")
        stmts.append(f"GRANT SELECT ON TABLE masks.{table} {' '.join(tr)} TO ROLE analyst")

    for fn in FNS:
        governed(f"t_{fn}", "vectors", [(n, k[1], transform(k[0], k[2]))
                                        for (n, _), k in zip(cols, GROUPS) if k[0] == fn])
    for fn in PROP_FNS:
        governed(f"p_{fn}", "props", [(n, t, transform(p["fn"], tuple(V.policy_literal(x) for x in p["args"][1:])))
                                      for (n, t), p in zip(pcols, PROPS) if p["fn"] == fn])
    planner.sql(";\n".join(stmts))
    return cols, pcols


def check_column(name: str, key: tuple, cases: list, got_rows: list, got_type: str, errors: list):
    for r, c in enumerate(cases):
        if not V.same(c["result"], got_rows[r], got_type):
            errors.append(f"{key[0]}({c['args']}) = {got_rows[r]!r} ({got_type}), want {c['result']}"
                          f" [{name}]")
    for r in range(len(cases), len(got_rows)):
        if got_rows[r] is not None:
            errors.append(f"{key[0]}(NULL {key[1]}) = {got_rows[r]!r}, want NULL [{name} row {r}]")


# -- the Python rendering ----------------------------------------------------------------------

def test_python_rendering_matches_vectors():
    n = 0
    for c in CASES:
        if c["fn"] in V.PY and "result" in c and len(c["args"]) == 1:
            a = c["args"][0]
            assert V.PY[c["fn"]](V.py_value(a), a["type"]) == V.py_value(c["result"]), c
            n += 1
    assert n > 150


# -- direct calls ------------------------------------------------------------------------------

def test_direct_calls_on_literals(spark, as_user):
    cases = [c for c in CASES if "result" in c]
    exprs = [f"{BUILTINS_DB}.{c['fn']}({', '.join(V.sql_literal(a) for a in c['args'])}) AS r{i}"
             for i, c in enumerate(cases)]
    with as_user("alice"):
        df = spark.sql("SELECT " + ", ".join(exprs))
        row = df.first()
    errors = []
    for i, c in enumerate(cases):
        t = df.schema.fields[i].dataType.simpleString()
        if not V.same(c["result"], row[i], t):
            errors.append(f"{c['fn']}({c['args']}) = {row[i]!r} ({t}), want {c['result']}")
    assert not errors, f"{len(errors)} of {len(cases)} cases differ:\n" + "\n".join(errors)


@pytest.mark.parametrize("case", [c for c in CASES if c.get("error")],
                         ids=lambda c: f"{c['fn']}-{c.get('note', '')}".replace(" ", "_"))
def test_direct_call_errors(spark, as_user, case):
    expr = f"{BUILTINS_DB}.{case['fn']}({', '.join(V.sql_literal(a) for a in case['args'])})"
    with as_user("alice"):
        msg = fails(lambda: spark.sql(f"SELECT {expr}").collect())
    # the function exists: the error is about the call, not a missing function
    assert "UNRESOLVED_ROUTINE" not in msg and "Cannot resolve function" not in msg, msg


def test_direct_calls_on_columns(spark, as_user, tables):
    cols, _ = tables
    exprs = [f"{BUILTINS_DB}.{k[0]}({', '.join((n,) + k[2])}) AS {n}" for (n, _), k in zip(cols, GROUPS)]
    with as_user("admin"):
        df = spark.sql(f"SELECT {', '.join(exprs)} FROM masks.vectors ORDER BY id")
        data = df.collect()
    errors: list = []
    for i, ((n, _), (k, cs)) in enumerate(zip(cols, GROUPS.items())):
        check_column(n, k, cs, [r[i] for r in data], df.schema.fields[i].dataType.simpleString(), errors)
    assert not errors, f"{len(errors)} differences:\n" + "\n".join(errors)


def test_sample_ccn_through_mask_ccn(spark, as_user, planner, workdir, tables):
    import world

    with as_user("admin"):
        world.load_users(spark, workdir / "lake")
        direct = dict(spark.sql(f"SELECT uid, {BUILTINS_DB}.mask_ccn(ccn) FROM okera_sample.users").collect())
        raw = dict(spark.sql("SELECT uid, ccn FROM okera_sample.users").collect())
    planner.sql("GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() TO ROLE analyst")
    with as_user("alice"):
        governed = dict(spark.sql("SELECT uid, ccn FROM okera_sample.users").collect())
    assert len(governed) == 300
    for uid, ccn in raw.items():
        want = V.mask_ccn(ccn)
        assert want == "XXXX-XXXX-XXXX-" + ccn[-4:]
        assert direct[uid] == want and governed[uid] == want, uid


# -- through the planner: TRANSFORM … WITH fn() ------------------------------------------------

@pytest.mark.parametrize("fn", FNS)
def test_every_builtin_through_transform(spark, as_user, tables, fn):
    cols, _ = tables
    mine = [(n, k, cs) for (n, _), (k, cs) in zip(cols, GROUPS.items()) if k[0] == fn]
    with as_user("alice"):
        df = spark.sql(f"SELECT * FROM masks.t_{fn} ORDER BY id")
        data = df.collect()
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    assert [f.name for f in df.schema.fields] == ["id"] + [n for n, _, _ in mine]
    errors: list = []
    for n, k, cs in mine:
        check_column(n, k, cs, [r[n] for r in data], types[n], errors)
    assert not errors, f"{len(errors)} differences:\n" + "\n".join(errors)


@pytest.mark.parametrize("fn", PROP_FNS)
def test_random_builtins_properties_through_transform(spark, as_user, tables, fn):
    _, pcols = tables
    with as_user("alice"):
        df = spark.sql(f"SELECT * FROM masks.p_{fn} ORDER BY id")
        data = df.collect()
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    errors = []
    for (n, t), p in ((c, p) for c, p in zip(pcols, PROPS) if p["fn"] == fn):
        vals = [r[n] for r in data][: p["draws"]]
        label = f"{p['fn']}({p['args']}) {p['check']} [{n}]"
        if types[n] != t:
            errors.append(f"{label}: type {types[n]}, want {t}")
            continue
        if any(v is None for v in vals):
            errors.append(f"{label}: a draw is NULL")
            continue
        if p["check"] == "luhn16":
            bad = [v for v in vals if not (len(v) == 16 and v.isascii() and v.isdigit() and v[0] == "4"
                                           and V.luhn_ok(v))]
            if bad:
                errors.append(f"{label}: not Luhn-valid 16 digits starting with 4: {bad[:3]}")
            if p.get("distinct") and len(set(vals)) != len(vals):
                errors.append(f"{label}: draws repeat")
        elif p["check"] == "laplace":
            x = V.py_value(p["args"][0])
            if t.startswith("decimal"):
                noise = [float(Decimal(v) - Decimal(x)) for v in vals]
            else:
                noise = [v - x for v in vals]
            rng = V.type_range(t)
            if rng and any(not (rng[0] <= v <= rng[1]) for v in vals):
                errors.append(f"{label}: a draw is out of the type's range")
            if any(math.isnan(z) or math.isinf(z) for z in noise):
                errors.append(f"{label}: non-finite noise")
                continue
            m, am = statistics.fmean(noise), statistics.fmean(abs(z) for z in noise)
            if abs(m) > p.get("mean_tol", 0):
                errors.append(f"{label}: mean noise {m:.4f} beyond ±{p.get('mean_tol')}")
            if abs(am - p.get("abs_mean", 0)) > p.get("abs_mean_tol", 0):
                errors.append(f"{label}: mean |noise| {am:.4f}, want {p.get('abs_mean')} ± {p.get('abs_mean_tol')}")
        elif p["check"] == "saturates":
            lo, hi = V.type_range(t)
            if any(not (lo <= v <= hi) for v in vals):
                errors.append(f"{label}: a draw is out of range")
            if not any(v in (lo, hi) for v in vals):
                errors.append(f"{label}: no draw reached {lo} or {hi}")
        else:
            errors.append(f"{label}: unknown check")
    assert not errors, "\n".join(errors)
