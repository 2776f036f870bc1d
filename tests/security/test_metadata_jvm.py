"""Issue 11, rows 7 and 8; rules 6, 7 and 1: metadata, JVM calls, and the inventory.

- rule 6 / row 7: metadata follows data — SHOW/DESCRIBE/EXPLAIN/catalog API/Delta history and
  detail/input files/change feed of a table a user may not read are refused; listings omit it;
  a row-filtered user gets no partition list or history; statistics of masked columns are hidden;
- rule 7 / row 8: code that runs arbitrary JVM calls (reflect, java_method, Hive UDF classes,
  functions, jars, scripts) is refused on a multi-user cluster, and the signing key — its file
  named in the Spark conf, its PEM text also in the driver's environment — is never readable
  from the session (conf, SET, SparkConf, getenv, the key file through Spark's file sources);
- rule 1: default deny by inventory — every LogicalPlan class in Spark's and Delta's jars is
  classified (`Inventory.unclassified` is empty).
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path

import pytest

import harness as h
import secworld as W
from guards import check_denial, denied, lakegate_part, raises, redact, refused, rows


@pytest.fixture(scope="module")
def driver_env(keys) -> dict:
    # The Spark conf names the key's file (harness.spark_conf); the driver's environment also holds
    # the PEM text, as a careless cluster setup would: the target of the reflect attacks.
    return {"LAKEGATE_JWT_SIGNING_KEY": keys.private.read_text()}


@pytest.fixture(scope="module", autouse=True)
def world(spark, planner, lake):
    W.load(spark, lake, ("core", "hive", "payroll", "ledger", "events"))
    spark.sql("ANALYZE TABLE hr.emp COMPUTE STATISTICS FOR ALL COLUMNS")
    return lake


@contextlib.contextmanager
def admin(spark):
    with h.as_user(spark, "admin", "admin"):
        yield


def ledger_dir(lake) -> str:
    return str(Path(lake) / "hr" / "ledger")


def _unmentioned(statement: str, names) -> tuple:
    """Names the attacker did not type (so an error echoing the statement is not a leak)."""
    return tuple(n for n in names if n not in statement)


# ---------------------------------------------------------------------------------------------
# rule 6 / row 7: metadata follows data (bob: no grant at all)
# ---------------------------------------------------------------------------------------------

METADATA_SQL = {
    "show-partitions": ("SHOW PARTITIONS hr.payroll", "hr.payroll"),
    "show-create-table": ("SHOW CREATE TABLE hr.secret", "hr.secret"),
    "show-create-table-as-serde": ("SHOW CREATE TABLE hr.emp_hive AS SERDE", "hr.emp_hive"),
    "show-tblproperties": ("SHOW TBLPROPERTIES hr.secret", "hr.secret"),
    "describe-table": ("DESCRIBE TABLE hr.secret", "hr.secret"),
    "describe-extended": ("DESCRIBE EXTENDED hr.secret", "hr.secret"),
    "describe-formatted": ("DESCRIBE FORMATTED hr.emp_hive", "hr.emp_hive"),
    "describe-column": ("DESCRIBE TABLE EXTENDED hr.secret tax_ssn", "hr.secret"),
    "describe-query": ("DESCRIBE QUERY SELECT * FROM hr.secret", "hr.secret"),
    "show-columns": ("SHOW COLUMNS IN hr.secret", "hr.secret"),
    "describe-detail": ("DESCRIBE DETAIL hr.ledger", "hr.ledger"),
    "describe-history": ("DESCRIBE HISTORY hr.ledger", "hr.ledger"),
}

SCHEMA_NAMES = W.SECRET_COLUMNS + ("secret_col", "ssn", "salary")


@pytest.mark.parametrize("how", list(METADATA_SQL))
def test_metadata_statements_denied(spark, as_user, how):
    """Row 7 / rule 6: bob, with no grant, runs SHOW PARTITIONS, SHOW CREATE TABLE [AS SERDE],
    SHOW TBLPROPERTIES, DESCRIBE [EXTENDED|FORMATTED], DESCRIBE of a column, DESCRIBE QUERY,
    SHOW COLUMNS, DESCRIBE DETAIL, DESCRIBE HISTORY on hr's tables: each denied; the error reveals
    no column name and no value."""
    stmt, obj = METADATA_SQL[how]
    with as_user("bob"):
        denied(lambda: spark.sql(stmt).collect(), "bob", obj,
               absent=_unmentioned(stmt, SCHEMA_NAMES) + W.SECRET_VALUES + W.LEDGER_SECRETS)


def test_describe_history_by_path_denied(spark, as_user, lake):
    """Row 7 / rules 6 and 3: DESCRIBE HISTORY delta.`<hr.ledger's directory>` → denied (the URI)."""
    with as_user("bob"):
        denied(lambda: spark.sql(f"DESCRIBE HISTORY delta.`{ledger_dir(lake)}`").collect(), "bob",
               (ledger_dir(lake), "hr.ledger"), absent=W.LEDGER_SECRETS)


def _delta_table_api(spark, what: str):
    from delta.tables import DeltaTable

    t = DeltaTable.forName(spark, "hr.ledger")
    return (t.history() if what == "history" else t.detail()).collect()


METADATA_API = {
    "catalog.listColumns": (lambda s, lake: s.catalog.listColumns("hr.secret"), lambda lake: "hr.secret"),
    "DeltaTable.history": (lambda s, lake: _delta_table_api(s, "history"), lambda lake: "hr.ledger"),
    "DeltaTable.detail": (lambda s, lake: _delta_table_api(s, "detail"), lambda lake: "hr.ledger"),
    "inputFiles": (lambda s, lake: s.table("hr.secret").inputFiles(), lambda lake: "hr.secret"),
    "inputFiles-by-path": (lambda s, lake: s.read.parquet(str(W.secret_dir(lake))).inputFiles(),
                           lambda lake: str(W.secret_dir(lake))),
}


@pytest.mark.parametrize("how", list(METADATA_API))
def test_metadata_api_denied(spark, as_user, lake, how):
    """Row 7 / rule 6: the same through APIs that skip SQL: spark.catalog.listColumns,
    DeltaTable.history()/detail(), Dataset.inputFiles() (by table and by path) → denied."""
    call, obj = METADATA_API[how]
    with as_user("bob"):
        denied(lambda: call(spark, lake), "bob", obj(lake), absent=SCHEMA_NAMES + W.SECRET_VALUES + W.LEDGER_SECRETS)


@pytest.mark.parametrize("mode", ["", "EXTENDED", "FORMATTED", "COST", "CODEGEN"])
def test_explain_reveals_nothing(spark, as_user, mode):
    """Row 7 / rule 6: EXPLAIN [EXTENDED|FORMATTED|COST|CODEGEN] SELECT * FROM hr.secret returns a
    row of text instead of failing: it must hold the lakegate denial and none of the column names
    only the schema would reveal."""
    with as_user("bob"):
        try:
            text = "\n".join(str(r[0]) for r in spark.sql(f"EXPLAIN {mode} SELECT * FROM hr.secret").collect())
        except Exception as e:  # noqa: BLE001 — failing outright is fine too
            text = str(e)
    check_denial(text, "bob", "hr.secret", "SELECT", absent=W.SECRET_COLUMNS + W.SECRET_VALUES)


def test_show_tables_omits_unreadable(spark, as_user):
    """Row 7 / rule 6: SHOW TABLES IN hr does not list hr.secret for bob (or is refused)."""
    with as_user("bob"):
        try:
            names = {r.tableName for r in spark.sql("SHOW TABLES IN hr").collect()}
        except Exception as e:  # noqa: BLE001
            assert "bob" in lakegate_part(str(e)), f"not a lakegate refusal: {e}"
            return
    assert "secret" not in names, f"bob sees {sorted(names)}"


def test_catalog_list_tables_omits_unreadable(spark, as_user):
    """Row 7 / rule 6: spark.catalog.listTables('hr') does not list hr.secret for bob (or is refused)."""
    with as_user("bob"):
        try:
            names = {t.name for t in spark.catalog.listTables("hr")}
        except Exception as e:  # noqa: BLE001
            assert "bob" in lakegate_part(str(e)), f"not a lakegate refusal: {e}"
            return
    assert "secret" not in names, f"bob sees {sorted(names)}"


def test_show_table_extended_reveals_no_schema(spark, as_user):
    """Row 7 / rule 6: SHOW TABLE EXTENDED IN hr LIKE '*' (schema, location, statistics of each
    table) shows bob nothing of hr.secret (or is refused)."""
    with as_user("bob"):
        try:
            got = rows(spark.sql("SHOW TABLE EXTENDED IN hr LIKE '*'"))
        except Exception as e:  # noqa: BLE001
            check_denial(str(e), "bob", "hr", ("SELECT", "SHOW"), absent=W.SECRET_COLUMNS)
            return
    text = str(got)
    assert not any(c in text for c in W.SECRET_COLUMNS), f"ATTACK SUCCEEDED: {text[:800]}"
    assert not any(r[1] == "secret" for r in got)


def test_row_filtered_user_show_partitions_refused(spark, as_user):
    """Row 7 / rule 6: alice reads hr.payroll only where region = 'EU'; SHOW PARTITIONS would list
    every region: refused, and the message says the row filter is why."""
    with as_user("alice"):
        assert sorted(rows(spark.sql("SELECT * FROM hr.payroll"))) == sorted(r for r in W.PAYROLL if r[2] == "EU")
        msg = raises(lambda: spark.sql("SHOW PARTITIONS hr.payroll").collect())
    assert "APAC" not in msg and "region=US" not in msg
    check_denial(msg, "alice", "hr.payroll", ("row filter", "row-filter", "row filters", "filtered"))


def _history_sql(spark):
    return spark.sql("DESCRIBE HISTORY hr.events_d").collect()


def _history_api(spark):
    from delta.tables import DeltaTable
    return DeltaTable.forName(spark, "hr.events_d").history().collect()


@pytest.mark.parametrize("how", ["sql", "DeltaTable-api"])
def test_row_filtered_user_describe_history_refused(spark, as_user, how):
    """Row 7 / rule 6: alice reads hr.events_d only for owner = user(); its history holds a DELETE
    predicate with a value of a row she may not see: DESCRIBE HISTORY (SQL, DeltaTable.history())
    refused."""
    with as_user("alice"):
        assert {r.owner for r in spark.table("hr.events_d").collect()} == {"alice"}
        msg = raises(lambda: (_history_sql if how == "sql" else _history_api)(spark))
    check_denial(msg, "alice", "hr.events_d", ("row filter", "row-filter", "SELECT", "ALL", "filtered"),
                 absent=(W.EVENTS_HIDDEN,))


def test_delta_table_handle_needs_unrestricted_read(spark, as_user):
    """Row 7 / rule 6: a Delta table handle (DeltaTable.forName) reads the transaction log
    directly, so opening one needs what DESCRIBE HISTORY needs: alice (row-filtered) is refused at
    forName, naming the API, and still reads her rows with spark.table; admin opens the handle and
    sees the DELETE in its history."""
    from delta.tables import DeltaTable

    with as_user("alice"):
        msg = raises(lambda: DeltaTable.forName(spark, "hr.events_d"))
        assert {r.owner for r in spark.table("hr.events_d").collect()} == {"alice"}
    check_denial(msg, "alice", "hr.events_d", ("row filter", "SELECT"), absent=(W.EVENTS_HIDDEN,))
    assert "DeltaTable" in lakegate_part(msg)
    with as_user("admin"):
        ops = [r.operation for r in DeltaTable.forName(spark, "hr.events_d").history().collect()]
    assert "DELETE" in ops


STAT_NAMES = {"min", "max", "num_nulls", "distinct_count", "avg_col_len", "max_col_len", "histogram"}


@pytest.mark.parametrize("column", ["ssn", "salary", "emp_id"])
def test_column_statistics_hidden(spark, as_user, column):
    """Row 7 / rule 6: after ANALYZE … FOR ALL COLUMNS (admin), DESCRIBE EXTENDED hr.emp <col> by
    alice shows no statistics of ssn (masked), salary (zero()ed: min/max are salaries) or emp_id
    (computed over the rows her filter hides): rows absent or NULL, or the statement refused."""
    stmt = f"DESCRIBE EXTENDED hr.emp {column}"
    with admin(spark):  # the statistics exist
        stats = dict(rows(spark.sql(stmt)))
    assert stats.get("distinct_count") not in (None, "NULL")
    with as_user("alice"):
        try:
            info = rows(spark.sql(stmt))
        except Exception as e:  # noqa: BLE001
            assert "alice" in lakegate_part(str(e)), f"not a lakegate refusal: {e}"
            return
    leaked = {k: v for (k, v) in info if k in STAT_NAMES and v not in (None, "NULL")}
    assert not leaked, f"ATTACK SUCCEEDED: alice sees statistics of {column}: {leaked}"


def test_change_feed_denied(spark, as_user, lake):
    """Row 7 / rules 6 and 1: Delta's change feed of a table bob may not read — table_changes()
    and readChangeFeed — is denied (naming the table or its location)."""
    obj = ("hr.events_d", str(Path(lake) / "hr" / "events_d"))
    with as_user("bob"):
        denied(lambda: spark.sql("SELECT * FROM table_changes('hr.events_d', 0)").collect(), "bob", obj,
               absent=(W.EVENTS_HIDDEN,))
        denied(lambda: spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0)
               .table("hr.events_d").collect(), "bob", obj, absent=(W.EVENTS_HIDDEN,))


@pytest.mark.parametrize("how", ["table_changes", "readChangeFeed", "time-travel"])
def test_row_filtered_change_feed_and_time_travel(spark, as_user, lake, how):
    """Row 7 / rules 6 and 1: alice's change feed and time travel of hr.events_d (bob's rows were
    deleted at version 2) show only rows her filter admits — or are refused — never bob's rows."""
    q = {
        "table_changes": lambda: spark.sql("SELECT event_id, owner, kind FROM table_changes('hr.events_d', 0)"),
        "readChangeFeed": lambda: spark.read.format("delta").option("readChangeFeed", "true")
        .option("startingVersion", 0).table("hr.events_d").select("event_id", "owner", "kind"),
        "time-travel": lambda: spark.sql("SELECT event_id, owner, kind FROM hr.events_d VERSION AS OF 1"),
    }[how]
    with as_user("alice"):
        try:
            got = rows(q())
        except Exception as e:  # noqa: BLE001
            # the change feed is read from the table's files: naming that location is naming the object
            check_denial(str(e), "alice", ("hr.events_d", str(Path(lake) / "hr" / "events_d")),
                         ("row filter", "SELECT", "filtered"), absent=(W.EVENTS_HIDDEN,))
            return
    assert W.EVENTS_HIDDEN not in str(got) and {r[1] for r in got} <= {"alice"}, f"ATTACK SUCCEEDED: {got}"


# ---------------------------------------------------------------------------------------------
# rule 7 / row 8: JVM calls refused; the signing key out of reach
# ---------------------------------------------------------------------------------------------

REFLECT_KEY = "reflect('java.lang.System', 'getenv', 'LAKEGATE_JWT_SIGNING_KEY')"
JVM_THING = ("reflect", "java_method", "CallMethodViaReflection", "JVM", "Java")

JVM_SQL = {
    "reflect": f"SELECT {REFLECT_KEY} AS k",
    "java_method": "SELECT java_method('java.lang.System', 'getenv', 'LAKEGATE_JWT_SIGNING_KEY') AS k",
    "reflect-in-subquery": f"SELECT k FROM (SELECT {REFLECT_KEY} AS k) t",
    "reflect-in-scalar-subquery": f"SELECT (SELECT {REFLECT_KEY}) AS k",
    "reflect-in-cte": f"WITH t AS (SELECT {REFLECT_KEY} AS k) SELECT * FROM t",
    "reflect-in-where": f"SELECT id FROM range(1) WHERE {REFLECT_KEY} LIKE '%PRIVATE%'",
    "reflect-side-effect": "SELECT reflect('java.lang.System', 'setProperty', 'lakegate.pwned', 'yes') AS k",
    "try_reflect": f"SELECT try_{REFLECT_KEY} AS k",
}


def _jvm_property(spark, name):
    return spark.sparkContext._jvm.java.lang.System.getProperty(name)


@pytest.mark.parametrize("how", list(JVM_SQL))
def test_jvm_call_sql_refused(spark, as_user, line, how):
    """Row 8 / rule 7: reflect / java_method (plain, in a subquery, a scalar subquery, a CTE, a
    WHERE, for a side effect; try_reflect on Spark 4) → refused naming the user; nothing returned,
    nothing run."""
    if how == "try_reflect" and line == "3.5":
        pytest.skip("try_reflect exists from Spark 4.0")
    with as_user("bob"):
        refused(lambda: spark.sql(JVM_SQL[how]).collect(), "bob", JVM_THING, absent=("PRIVATE KEY",))
    assert _jvm_property(spark, "lakegate.pwned") is None, "ATTACK SUCCEEDED: reflect ran System.setProperty"


def _functions():
    import pyspark.sql.functions as F
    return F


JVM_API = {
    "selectExpr": lambda s: s.range(1).selectExpr(f"{REFLECT_KEY} AS k").collect(),
    "expr-withColumn": lambda s: s.range(1).withColumn("k", _functions().expr(REFLECT_KEY)).collect(),
    "call_function": lambda s: s.range(1).select(_functions().call_function(
        "reflect", *[_functions().lit(x) for x in ("java.lang.System", "getenv", "LAKEGATE_JWT_SIGNING_KEY")])).collect(),
    "filter-expr": lambda s: s.range(1).filter(_functions().expr(f"{REFLECT_KEY} IS NOT NULL")).collect(),
}


@pytest.mark.parametrize("how", list(JVM_API))
def test_jvm_call_dataframe_refused(spark, as_user, how):
    """Row 8 / rule 7: reflect through the DataFrame API (selectExpr, expr, call_function, a filter)
    → refused naming the user."""
    with as_user("bob"):
        refused(lambda: JVM_API[how](spark), "bob", JVM_THING, absent=("PRIVATE KEY",))


def test_jvm_call_in_view_refused(spark, as_user):
    """Row 8 / rules 7 and 4: mallory's view (permanent, then temporary) calling reflect: refused
    at CREATE or at SELECT; nothing returned."""
    def permanent():
        spark.sql(f"CREATE VIEW sandbox.rv AS SELECT {REFLECT_KEY} AS k")
        return spark.sql("SELECT * FROM sandbox.rv").collect()

    def temporary():
        spark.sql(f"CREATE OR REPLACE TEMP VIEW trv AS SELECT {REFLECT_KEY} AS k")
        return spark.sql("SELECT * FROM trv").collect()

    with as_user("mallory"):
        refused(permanent, "mallory", JVM_THING, absent=("PRIVATE KEY",))
        refused(temporary, "mallory", JVM_THING, absent=("PRIVATE KEY",))


@pytest.fixture(scope="module")
def some_jar(workdir) -> Path:
    p = Path(workdir) / "x.jar"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    return p


FUNCTION_THING = ("FUNCTION", "function", "GenericUDFReflect", "reflect", "JAR", "jar")

FUNCTIONS = {
    "temporary-hive-udf": ["CREATE TEMPORARY FUNCTION f_reflect AS 'org.apache.hadoop.hive.ql.udf.generic.GenericUDFReflect'",
                           "SELECT f_reflect('java.lang.System', 'getenv', 'LAKEGATE_JWT_SIGNING_KEY')"],
    "permanent-hive-udf": ["CREATE FUNCTION sandbox.f_reflect AS 'org.apache.hadoop.hive.ql.udf.generic.GenericUDFReflect'",
                           "SELECT sandbox.f_reflect('java.lang.System', 'getenv', 'LAKEGATE_JWT_SIGNING_KEY')"],
    "function-using-jar": ["CREATE TEMPORARY FUNCTION f_jar AS 'evil.Udf' USING JAR '{jar}'"],
    "add-jar": ["ADD JAR '{jar}'"],
}


@pytest.mark.parametrize("how", list(FUNCTIONS))
def test_user_code_refused(spark, as_user, some_jar, how):
    """Row 8 / rule 7: CREATE TEMPORARY FUNCTION / CREATE FUNCTION over Hive's GenericUDFReflect,
    a function from a user jar, ADD JAR → refused naming the user; the function never runs."""
    def attack():
        out = None
        for stmt in FUNCTIONS[how]:
            out = spark.sql(stmt.format(jar=some_jar)).collect()
        return out

    with as_user("mallory"):
        refused(attack, "mallory", FUNCTION_THING, absent=("PRIVATE KEY",))


def test_script_transformation_refused(spark, as_user):
    """Row 8 / rule 7: SELECT TRANSFORM(…) USING 'cat' (a process the user chooses) → refused."""
    with as_user("bob"):
        refused(lambda: spark.sql("SELECT TRANSFORM(id) USING 'cat' AS (x) FROM range(1)").collect(), "bob",
                ("TRANSFORM", "script", "ScriptTransformation"))


def _no_key(what: str, value) -> None:
    text = str(value)
    assert "PRIVATE KEY" not in text, f"ATTACK SUCCEEDED: {what} reveals the signing key: {redact(text)[:300]}"


def _value_or_refusal(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 — refusing is fine; the error text is checked too
        return str(e)


KEY_READS = {
    "spark.conf.get": lambda s: s.conf.get("spark.lakegate.jwtSigningKey", None),
    "SET key": lambda s: rows(s.sql("SET spark.lakegate.jwtSigningKey")),
    "SET": lambda s: rows(s.sql("SET")),
    "SET -v": lambda s: rows(s.sql("SET -v")),
    "SparkContext.getConf": lambda s: s.sparkContext.getConf().getAll(),
}


@pytest.mark.parametrize("how", list(KEY_READS))
def test_signing_key_not_in_configuration(spark, as_user, how):
    """Row 8 / rule 7: the signing key is not readable from the session's configuration:
    spark.conf.get, SET <key>, SET, SET -v, SparkContext.getConf() — no value holds
    'PRIVATE KEY'."""
    with as_user("bob"):
        _no_key(how, _value_or_refusal(lambda: KEY_READS[how](spark)))


KEY_FILE_READS = {
    "read.text": lambda s, p: s.read.text(p).collect(),
    "sql-on-file": lambda s, p: s.sql(f"SELECT * FROM text.`{p}`").collect(),
    "read.text-v2": lambda s, p: _with_v2(s, lambda: s.read.text(p).collect()),
    "read.csv": lambda s, p: s.read.csv(p).collect(),
}


def _with_v2(spark, fn):
    from guards import session_conf
    with session_conf(spark, "spark.sql.sources.useV1SourceList", ""):
        return fn()


@pytest.mark.parametrize("how", list(KEY_FILE_READS))
def test_signing_key_file_not_readable(spark, as_user, keys, how):
    """Row 8 / rules 7 and 3: the file spark.lakegate.jwtSigningKey names, read through Spark's file
    sources (text, path SQL, text as a DataSource V2 table, csv) → denied, needing SELECT on its URI;
    the key never appears."""
    path = str(keys.private)
    with as_user("bob"):
        denied(lambda: KEY_FILE_READS[how](spark, path), "bob", path, absent=("PRIVATE KEY",))


def test_signing_key_still_signs_after_redaction(spark, as_user):
    """Row 8 / rule 7, positive control: after the key was hidden from the configuration, statements
    are still signed for their users (whoami as bob and alice)."""
    with as_user("bob"):
        assert rows(spark.sql("SELECT user FROM okera_sample.whoami")) == [("bob",)]
    with as_user("alice"):
        assert rows(spark.sql("SELECT user FROM okera_sample.whoami")) == [("alice",)]


# ---------------------------------------------------------------------------------------------
# rule 1: default deny, by inventory
# ---------------------------------------------------------------------------------------------

def _jar_group(name: str, line: str) -> list[Path]:
    import pyspark

    jars = Path(pyspark.__file__).resolve().parent / "jars"
    if name == "delta":
        return h.delta_jars(line)
    pattern = {"spark-catalyst": "spark-catalyst*.jar", "spark-sql": "spark-sql_*.jar",
               "spark-hive": "spark-hive_*.jar"}[name]
    return sorted(jars.glob(pattern))


@pytest.mark.parametrize("group", ["spark-catalyst", "spark-sql", "spark-hive", "delta"])
def test_inventory_classifies_every_plan_class(spark, line, group):
    """Rule 1: Inventory.unclassified(jars) — the LogicalPlan classes in Spark's catalyst, sql and
    hive jars and in Delta's jars of this line that the extension's inventory does not classify —
    is empty."""
    from py4j.java_gateway import JavaPackage

    jars = _jar_group(group, line)
    assert jars, f"no {group} jars found"
    jvm = spark.sparkContext._jvm
    inventory = jvm.io.lakegate.spark.rule.inventory.Inventory
    if isinstance(inventory, JavaPackage):
        pytest.fail("io.lakegate.spark.rule.inventory.Inventory is not in the extension jar")
    arr = spark.sparkContext._gateway.new_array(jvm.java.lang.String, len(jars))
    for i, j in enumerate(jars):
        arr[i] = str(j)
    missing = sorted(str(c) for c in inventory.unclassified(arr))
    assert missing == [], f"{len(missing)} plan classes of {[j.name for j in jars]} are not classified: {missing[:40]}"
