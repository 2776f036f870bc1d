"""Issue 11, rows 2, 3, 5 and 6; rules 1, 3, 5 and 2: files, locations and writes.

- rule 1 / row 2: every file relation is governed — DataSource V2 file tables
  (`useV1SourceList=""`), every file format, path SQL, globs, single files, streaming file sources;
- rule 3 / row 3: locations are URIs — CREATE TABLE/DATABASE … LOCATION, ALTER … SET LOCATION,
  partitions, `path` options, path writes need ALL ON URI; hr's files stay untouched;
- rule 5 / row 5: writes never read raw — an INSERT-only user cannot DELETE/UPDATE/MERGE (whose
  conditions read the target), overwrite or truncate, and no secret reaches an error message;
- rule 2 / row 6: the CTAS exemption does not outlive its command, nor apply to a no-op CTAS.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import pytest

import harness as h
import secworld as W
from guards import denied, rows, session_conf, snapshot

V1_LIST = "spark.sql.sources.useV1SourceList"


@pytest.fixture(scope="module", autouse=True)
def world(spark, planner, lake):
    W.load(spark, lake, ("core", "ledger", "shared", "exports"))
    spark.sql("CREATE TABLE sandbox.y (id int) USING parquet")
    spark.sql("CREATE TABLE sandbox.yp (id int, p int) USING parquet PARTITIONED BY (p)")
    spark.sql("INSERT INTO sandbox.yp VALUES (1, 2)")
    return lake


@contextlib.contextmanager
def admin(spark):
    with h.as_user(spark, "admin", "admin"):
        yield


def table_exists(spark, name: str) -> bool:
    db, t = name.split(".")
    with admin(spark):
        return any(r.tableName == t for r in spark.sql(f"SHOW TABLES IN {db}").collect())


def secret_dir(lake) -> str:
    return str(W.secret_dir(lake))


def ledger_dir(lake) -> str:
    return str(Path(lake) / "hr" / "ledger")


@pytest.fixture
def hr_intact(spark, lake):
    """Integrity: no file below <lake>/hr changes, and admin still reads hr.secret as it was."""
    before = snapshot(Path(lake) / "hr")
    yield
    after = snapshot(Path(lake) / "hr")
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"ATTACK SUCCEEDED: files below {lake}/hr changed: {changed[:10]}"
    with admin(spark):
        assert sorted(rows(spark.table("hr.secret"))) == sorted(W.SECRET)


def _ledger(spark, table="hr.ledger") -> list[tuple]:
    with admin(spark):
        return sorted(rows(spark.table(table)))


@pytest.fixture
def ledger_intact(spark):
    """hr.ledger and hr.ledger_pq keep their rows (admin's reads before and after)."""
    before = _ledger(spark), _ledger(spark, "hr.ledger_pq")
    yield
    assert (_ledger(spark), _ledger(spark, "hr.ledger_pq")) == before, "ATTACK SUCCEEDED: the ledger changed"


@pytest.fixture
def important_intact(spark):
    yield
    with admin(spark):
        assert sorted(rows(spark.table("shared.important"))) == sorted(W.IMPORTANT), \
            "ATTACK SUCCEEDED: shared.important changed"


# ---------------------------------------------------------------------------------------------
# rule 1 / row 2: DataSource V2 file tables and every other file relation
# ---------------------------------------------------------------------------------------------

def _exports(lake, fmt):
    return str(Path(lake) / "hr" / "exports" / fmt)


def _one_file(lake) -> str:
    return str(next(p for p in sorted(W.secret_dir(lake).glob("part-*")) if p.suffix == ".parquet"))


V2_READS = {
    "parquet": (lambda s, lake: s.read.parquet(secret_dir(lake)), lambda lake: secret_dir(lake)),
    "format-load": (lambda s, lake: s.read.format("parquet").load(secret_dir(lake)), lambda lake: secret_dir(lake)),
    "explicit-schema": (lambda s, lake: s.read.schema(W.SECRET_SCHEMA).parquet(secret_dir(lake)),
                        lambda lake: secret_dir(lake)),
    "single-file": (lambda s, lake: s.read.parquet(_one_file(lake)), lambda lake: secret_dir(lake)),
    "glob": (lambda s, lake: s.read.parquet(str(Path(lake) / "hr" / "secre*")), lambda lake: str(Path(lake) / "hr")),
    "csv": (lambda s, lake: s.read.option("header", "true").csv(_exports(lake, "csv")), lambda lake: _exports(lake, "csv")),
    "json": (lambda s, lake: s.read.json(_exports(lake, "json")), lambda lake: _exports(lake, "json")),
    "orc": (lambda s, lake: s.read.orc(_exports(lake, "orc")), lambda lake: _exports(lake, "orc")),
    "text": (lambda s, lake: s.read.text(_exports(lake, "text")), lambda lake: _exports(lake, "text")),
    "sql-on-file": (lambda s, lake: s.sql(f"SELECT * FROM parquet.`{secret_dir(lake)}`"), lambda lake: secret_dir(lake)),
}


@pytest.mark.parametrize("how", list(V2_READS))
def test_v2_file_table_read_denied(spark, as_user, lake, how):
    """Row 2 / rules 1, 3 and 9: with spark.sql.sources.useV1SourceList="" (DataSource V2 file tables),
    bob reads hr's files by path — parquet, format().load, explicit schema, one file, a glob, csv,
    json, orc, text, parquet.`dir` — each denied, needing SELECT on the URI."""
    read, obj = V2_READS[how]
    with as_user("bob"), session_conf(spark, V1_LIST, ""):
        denied(lambda: read(spark, lake).collect(), "bob", obj(lake), absent=W.SECRET_VALUES)


@pytest.mark.parametrize("how", ["parquet-sql", "json-sql", "delta-sql", "delta-load"])
def test_v1_path_reads_denied(spark, as_user, lake, how):
    """Row 2 / rules 1 and 3: with the default (V1) sources, path SQL and Delta by path: denied."""
    q = {
        "parquet-sql": lambda: spark.sql(f"SELECT * FROM parquet.`{secret_dir(lake)}`"),
        "json-sql": lambda: spark.sql(f"SELECT * FROM json.`{_exports(lake, 'json')}`"),
        "delta-sql": lambda: spark.sql(f"SELECT * FROM delta.`{ledger_dir(lake)}`"),
        "delta-load": lambda: spark.read.format("delta").load(ledger_dir(lake)),
    }[how]
    obj = {"parquet-sql": secret_dir(lake), "json-sql": _exports(lake, "json")}.get(how, ledger_dir(lake))
    with as_user("bob"):
        denied(lambda: q().collect(), "bob", obj, absent=W.SECRET_VALUES + W.LEDGER_SECRETS)


def test_v2_file_table_read_with_uri_grant(spark, as_user, lake):
    """Row 2 / rule 3, positive control: ursula, with SELECT ON URI <hr.secret's directory>, reads it
    through DataSource V2 and path SQL."""
    with as_user("ursula"), session_conf(spark, V1_LIST, ""):
        assert sorted(rows(spark.read.parquet(secret_dir(lake)))) == sorted(W.SECRET)
        assert rows(spark.sql(f"SELECT count(*) FROM parquet.`{secret_dir(lake)}`")) == [(len(W.SECRET),)]


def test_v2_uri_grant_does_not_reach_a_sibling(spark, as_user, lake):
    """Row 2 / rule 3: ursula's URI grant covers hr/secret only: hr/exports/csv is denied (V2)."""
    with as_user("ursula"), session_conf(spark, V1_LIST, ""):
        denied(lambda: spark.read.option("header", "true").csv(_exports(lake, "csv")).collect(), "ursula",
               _exports(lake, "csv"), absent=W.SECRET_VALUES)


def test_streaming_file_source_denied(spark, as_user, lake, workdir):
    """Row 2 / rule 1: a streaming file source over hr.secret's directory (memory sink,
    availableNow) is denied; no row reaches the sink."""
    name = "leak_" + uuid.uuid4().hex[:6]

    def attack():
        q = (spark.readStream.schema(W.SECRET_SCHEMA).parquet(secret_dir(lake))
             .writeStream.format("memory").queryName(name)
             .option("checkpointLocation", str(Path(workdir) / ("ckpt-" + name)))
             .trigger(availableNow=True).start())
        try:
            assert q.awaitTermination(120), "the stream did not finish in 120 s"
            return spark.sql(f"SELECT * FROM {name}").collect()
        finally:
            with contextlib.suppress(Exception):
                q.stop()

    with as_user("bob"):
        denied(attack, "bob", secret_dir(lake), absent=W.SECRET_VALUES)


# ---------------------------------------------------------------------------------------------
# rule 3 / row 3: locations are URIs
# ---------------------------------------------------------------------------------------------

LOCATION_DDL = {
    "parquet-location": ("CREATE TABLE sandbox.loc_pq ({schema}) USING parquet LOCATION '{secret}'", "secret"),
    "delta-location": ("CREATE TABLE sandbox.loc_delta USING delta LOCATION '{ledger}'", "ledger"),
    "hive-external-location": ("CREATE EXTERNAL TABLE sandbox.loc_hive ({schema}) STORED AS PARQUET "
                               "LOCATION '{secret}'", "secret"),
    "options-path": ("CREATE TABLE sandbox.loc_opt USING parquet OPTIONS (path '{secret}')", "secret"),
    "like-location": ("CREATE TABLE sandbox.loc_like LIKE pub.colors LOCATION '{secret}'", "secret"),
    "set-location": ("ALTER TABLE sandbox.y SET LOCATION '{secret}'", "secret"),
    "add-partition-location": ("ALTER TABLE sandbox.yp ADD PARTITION (p = 1) LOCATION '{secret}'", "secret"),
    "partition-set-location": ("ALTER TABLE sandbox.yp PARTITION (p = 2) SET LOCATION '{secret}'", "secret"),
}


@pytest.mark.parametrize("how", list(LOCATION_DDL))
def test_location_ddl_needs_all_on_uri(spark, as_user, lake, hr_intact, how):
    """Row 3 / rule 3: mallory (ALL on her sandbox database, nothing on hr) points a sandbox table
    or partition at hr's files — CREATE TABLE … LOCATION (parquet, delta, Hive), OPTIONS (path),
    CREATE TABLE LIKE … LOCATION, ALTER TABLE … SET LOCATION, ADD PARTITION … LOCATION, PARTITION
    … SET LOCATION: each denied needing ALL on the URI; hr's files unchanged."""
    sql, which = LOCATION_DDL[how]
    target = secret_dir(lake) if which == "secret" else ledger_dir(lake)
    stmt = sql.format(schema=W.SECRET_SCHEMA, secret=secret_dir(lake), ledger=ledger_dir(lake))
    with as_user("mallory"):
        denied(lambda: spark.sql(stmt).collect(), "mallory", target, "ALL")
    if stmt.startswith("CREATE"):
        assert not table_exists(spark, stmt.split()[2] if stmt.split()[1] == "TABLE" else stmt.split()[3])
    else:  # the sandbox tables still read their own data, nothing of hr's
        with admin(spark):
            assert rows(spark.table("sandbox.yp")) == [(1, 2)]
            assert rows(spark.table("sandbox.y")) == []


def test_save_as_table_with_path_option(spark, as_user, lake, hr_intact):
    """Row 3 / rule 3: df.write.option('path', <hr.secret's directory>).saveAsTable('sandbox.z')
    (append: would add mallory's rows to hr.secret's files) → denied, ALL on the URI."""
    df = spark.createDataFrame([(9, "Mallory", "000-00-0000", 1)], W.SECRET_SCHEMA)
    with as_user("mallory"):
        denied(lambda: df.write.mode("append").option("path", secret_dir(lake)).saveAsTable("sandbox.z"),
               "mallory", secret_dir(lake), "ALL")
    assert not table_exists(spark, "sandbox.z")


def test_catalog_create_table_with_path(spark, as_user, lake, hr_intact):
    """Row 3 / rule 3: spark.catalog.createTable('sandbox.ct', path=<hr.secret's directory>) → denied."""
    with as_user("mallory"):
        denied(lambda: spark.catalog.createTable("sandbox.ct", path=secret_dir(lake), source="parquet"),
               "mallory", secret_dir(lake), "ALL")
    assert not table_exists(spark, "sandbox.ct")


PATH_WRITES = {
    "parquet-append": (lambda s, lake: s.createDataFrame([(9, "M", "000", 1)], W.SECRET_SCHEMA)
                       .write.mode("append").parquet(secret_dir(lake)), lambda lake: secret_dir(lake)),
    "delta-append": (lambda s, lake: s.createDataFrame([(9, "m", "x", 1)], W.LEDGER_SCHEMA)
                     .write.format("delta").mode("append").save(ledger_dir(lake)), lambda lake: ledger_dir(lake)),
    "insert-overwrite-directory": (lambda s, lake: s.sql(
        f"INSERT OVERWRITE DIRECTORY '{_exports(lake, 'csv')}' USING csv SELECT * FROM pub.colors"),
        lambda lake: _exports(lake, "csv")),
}


@pytest.mark.parametrize("how", list(PATH_WRITES))
def test_path_writes_need_uri_privilege(spark, as_user, lake, hr_intact, how):
    """Row 3 / rule 3: writes by path into hr's directories (parquet append, Delta append, INSERT
    OVERWRITE DIRECTORY) → denied on the URI; nothing below <lake>/hr changes."""
    write, obj = PATH_WRITES[how]
    with as_user("mallory"):
        denied(lambda: write(spark, lake), "mallory", obj(lake), ("ALL", "INSERT"))


def test_create_database_at_hr_location(spark, as_user, lake, hr_intact):
    """Row 3 / rule 3: mallory's CREATE DATABASE evil LOCATION '<lake>/hr' → denied; no database."""
    with as_user("mallory"):
        denied(lambda: spark.sql(f"CREATE DATABASE evil LOCATION '{lake}/hr'").collect(), "mallory",
               ("evil", f"{lake}/hr"), ("CREATE", "ALL"))
    with admin(spark):
        assert "evil" not in {r[0] for r in spark.sql("SHOW DATABASES").collect()}


def test_create_database_at_hr_location_needs_uri(spark, as_user, lake, hr_intact):
    """Row 3 / rule 3: dora may CREATE databases (CREATE ON CATALOG) but holds no URI: CREATE
    DATABASE evil2 LOCATION '<lake>/hr' (whose managed table `secret` would be hr.secret's files)
    → denied, ALL on the URI."""
    with as_user("dora"):
        denied(lambda: spark.sql(f"CREATE DATABASE evil2 LOCATION '{lake}/hr'").collect(), "dora",
               f"{lake}/hr", "ALL")
    with admin(spark):
        assert "evil2" not in {r[0] for r in spark.sql("SHOW DATABASES").collect()}


def test_location_with_uri_grant_works(spark, as_user, lake):
    """Rule 3, positive control: with ALL ON URI <lake>/mallory, mallory creates a table located
    there (SQL LOCATION and saveAsTable with a path), writes and reads it."""
    own = Path(lake) / "mallory"
    with as_user("mallory"):
        spark.sql(f"CREATE TABLE sandbox.m_owned (n int) USING parquet LOCATION '{own}/owned'")
        spark.sql("INSERT INTO sandbox.m_owned VALUES (1), (2)")
        assert sorted(rows(spark.table("sandbox.m_owned"))) == [(1,), (2,)]
        spark.createDataFrame([(5,)], "n int").write.option("path", str(own / "z")).saveAsTable("sandbox.m_z")
        assert rows(spark.table("sandbox.m_z")) == [(5,)]


# ---------------------------------------------------------------------------------------------
# rule 5 / row 5: writes never read raw (ivan: INSERT only on hr.ledger and hr.ledger_pq)
# ---------------------------------------------------------------------------------------------

SRC = "(SELECT CAST(1 AS BIGINT) AS id, 'n' AS note, 's' AS secret_col, 1 AS amount)"

READING_WRITES = {
    "delete-raise-error": "DELETE FROM hr.ledger WHERE raise_error(concat('x', secret_col)) IS NULL",
    "update-set-raise-error": "UPDATE hr.ledger SET note = raise_error(secret_col)",
    "update-where-raise-error": "UPDATE hr.ledger SET amount = 0 WHERE raise_error(secret_col) IS NULL",
    "merge-update-raise-error": (f"MERGE INTO hr.ledger t USING {SRC} s ON t.id = s.id "
                                 "WHEN MATCHED THEN UPDATE SET t.note = raise_error(t.secret_col)"),
    "merge-on-raise-error": (f"MERGE INTO hr.ledger t USING {SRC} s ON t.id = s.id AND raise_error(t.secret_col) IS NULL "
                             "WHEN MATCHED THEN DELETE"),
    "merge-insert-only": f"MERGE INTO hr.ledger t USING {SRC} s ON t.secret_col = s.secret_col WHEN NOT MATCHED THEN INSERT *",
    "delete-oracle": "DELETE FROM hr.ledger WHERE secret_col = 'LEDGER-SECRET-0001'",
}


@pytest.mark.parametrize("how", list(READING_WRITES))
def test_insert_only_user_cannot_read_through_writes(spark, as_user, ledger_intact, how):
    """Row 5 / rule 5: ivan (INSERT only) runs DELETE/UPDATE/MERGE whose conditions or SET
    expressions read hr.ledger's columns (raise_error(secret_col), an equality oracle, a MERGE
    matching on the secret): each denied, needing ALL on hr.ledger; no secret in the error."""
    with as_user("ivan"):
        denied(lambda: spark.sql(READING_WRITES[how]).collect(), "ivan", "hr.ledger", "ALL",
               absent=W.LEDGER_SECRETS)


def _delta_api(spark, how):
    from delta.tables import DeltaTable

    t = DeltaTable.forName(spark, "hr.ledger")
    if how == "delete":
        return t.delete("raise_error(concat('x', secret_col)) IS NULL")
    if how == "update":
        return t.update(set={"note": "raise_error(secret_col)"})
    src = spark.createDataFrame([(1, "n", "s", 1)], W.LEDGER_SCHEMA)
    return (t.alias("t").merge(src.alias("s"), "t.id = s.id")
            .whenMatchedUpdate(set={"note": "raise_error(t.secret_col)"}).execute())


@pytest.mark.parametrize("how", ["delete", "update", "merge"])
def test_insert_only_user_delta_api(spark, as_user, ledger_intact, how):
    """Row 5 / rule 5: the same through the DeltaTable Python API (delete, update, merge) → denied,
    no secret in the error. The API analyses the table as a read (DeltaTable.toDF) before it builds
    the command, so the denial may name SELECT instead of ALL: both are privileges ivan lacks."""
    with as_user("ivan"):
        denied(lambda: _delta_api(spark, how), "ivan", "hr.ledger", ("ALL", "SELECT"), absent=W.LEDGER_SECRETS)


def _row_df(spark):
    return spark.createDataFrame([(99, "pwned", "pwned", 0)], W.LEDGER_SCHEMA)


OVERWRITES = {
    "insert-overwrite-delta": ("hr.ledger", lambda s: s.sql("INSERT OVERWRITE hr.ledger VALUES (99, 'p', 'p', 0)").collect()),
    "insert-overwrite-parquet": ("hr.ledger_pq",
                                 lambda s: s.sql("INSERT OVERWRITE hr.ledger_pq VALUES (99, 'p', 'p', 0)").collect()),
    "truncate-delta": ("hr.ledger", lambda s: s.sql("TRUNCATE TABLE hr.ledger").collect()),
    "truncate-parquet": ("hr.ledger_pq", lambda s: s.sql("TRUNCATE TABLE hr.ledger_pq").collect()),
    "insert-replace-where": ("hr.ledger", lambda s: s.sql(
        "INSERT INTO hr.ledger REPLACE WHERE id = 1 SELECT CAST(1 AS BIGINT), 'p', 'p', 0").collect()),
    "insertInto-overwrite": ("hr.ledger", lambda s: _row_df(s).write.mode("overwrite").insertInto("hr.ledger")),
    "writeTo-overwrite": ("hr.ledger", lambda s: _row_df(s).writeTo("hr.ledger").overwrite(__import__(
        "pyspark.sql.functions", fromlist=["lit"]).lit(True))),
    "saveAsTable-overwrite": ("hr.ledger", lambda s: _row_df(s).write.format("delta").mode("overwrite")
                              .saveAsTable("hr.ledger")),
}


@pytest.mark.parametrize("how", list(OVERWRITES))
def test_insert_only_user_cannot_overwrite(spark, as_user, ledger_intact, how):
    """Row 5 / rule 5: INSERT-only users can only append: INSERT OVERWRITE (Delta, parquet),
    TRUNCATE TABLE (Delta, parquet), INSERT … REPLACE WHERE, insertInto/writeTo/saveAsTable in
    overwrite mode → denied, needing ALL; the rows are unchanged."""
    table, attack = OVERWRITES[how]
    with as_user("ivan"):
        denied(lambda: attack(spark), "ivan", table, "ALL", absent=W.LEDGER_SECRETS)


def test_insert_only_user_cannot_insert_from_the_table(spark, as_user, ledger_intact):
    """Row 5 / rule 5: INSERT INTO hr.ledger SELECT … FROM hr.ledger reads it: denied (SELECT)."""
    with as_user("ivan"):
        denied(lambda: spark.sql("INSERT INTO hr.ledger SELECT id + 100, note, secret_col, amount FROM hr.ledger")
               .collect(), "ivan", "hr.ledger", "SELECT", absent=W.LEDGER_SECRETS)


def test_insert_only_user_can_append(spark, as_user):
    """Rule 5, positive control: ivan's plain INSERT INTO (SQL, and a DataFrame append) works and
    only adds rows."""
    before, before_pq = _ledger(spark), _ledger(spark, "hr.ledger_pq")
    with as_user("ivan"):
        spark.sql("INSERT INTO hr.ledger VALUES (10, 'ivan', 'ivan-note', 1)")
        spark.createDataFrame([(11, "ivan", "ivan-df", 2)], W.LEDGER_SCHEMA).write.insertInto("hr.ledger")
        spark.sql("INSERT INTO hr.ledger_pq VALUES (10, 'ivan', 'ivan-note', 1)")
    assert _ledger(spark) == sorted(before + [(10, "ivan", "ivan-note", 1), (11, "ivan", "ivan-df", 2)])
    assert _ledger(spark, "hr.ledger_pq") == sorted(before_pq + [(10, "ivan", "ivan-note", 1)])


def test_ledger_original_rows_unchanged(spark):
    """Row 5 / rule 5: after every attack above, hr.ledger's original rows are all there, unchanged."""
    got = _ledger(spark)
    assert [r for r in got if r[0] <= 3] == sorted(W.LEDGER)
    assert _ledger(spark, "hr.ledger_pq")[:3] == sorted(W.LEDGER)


# ---------------------------------------------------------------------------------------------
# rule 2 / row 6: the CTAS exemption (mallory: CREATE on database shared, nothing else there)
# ---------------------------------------------------------------------------------------------

def _noop_ctas(spark):
    """CREATE TABLE IF NOT EXISTS over an existing table: a no-op (allowed or refused: either way
    it must open no door)."""
    with contextlib.suppress(Exception):
        spark.sql("CREATE TABLE IF NOT EXISTS shared.important USING delta AS SELECT 'z' AS k, 0 AS v")


def _pwn_df(spark):
    return spark.createDataFrame([("pwned", 666)], "k string, v int")


AFTER_NOOP_CTAS = {
    "insert-overwrite": (("ALL", "INSERT"), lambda s: s.sql("INSERT OVERWRITE shared.important SELECT 'pwned', 666").collect()),
    "insert-into": (("INSERT", "ALL"), lambda s: s.sql("INSERT INTO shared.important VALUES ('pwned', 666)").collect()),
    "insertInto": (("INSERT", "ALL"), lambda s: _pwn_df(s).write.insertInto("shared.important")),
    "saveAsTable-append": (("INSERT", "ALL"), lambda s: _pwn_df(s).write.format("delta").mode("append")
                           .saveAsTable("shared.important")),
    "saveAsTable-overwrite": (("ALL", "DROP", "INSERT", "ALTER"), lambda s: _pwn_df(s).write.format("delta")
                              .mode("overwrite").saveAsTable("shared.important")),
    "create-or-replace-as-select": (("ALL", "DROP", "INSERT", "ALTER"), lambda s: s.sql(
        "CREATE OR REPLACE TABLE shared.important USING delta AS SELECT 'pwned' AS k, 666 AS v").collect()),
    "replace-table": (("ALL", "DROP", "INSERT", "ALTER"), lambda s: s.sql(
        "REPLACE TABLE shared.important (k string, v int) USING delta").collect()),
    "rename": (("ALTER", "ALL"), lambda s: s.sql("ALTER TABLE shared.important RENAME TO shared.important_old").collect()),
    "drop": (("DROP", "ALL"), lambda s: s.sql("DROP TABLE shared.important").collect()),
}


@pytest.mark.parametrize("how", list(AFTER_NOOP_CTAS))
def test_noop_ctas_opens_no_write(spark, as_user, important_intact, how):
    """Row 6 / rule 2: mallory runs CREATE TABLE IF NOT EXISTS shared.important AS SELECT … (the
    table exists: nothing created), then writes it — INSERT OVERWRITE, INSERT INTO, insertInto,
    saveAsTable append/overwrite, CREATE OR REPLACE … AS SELECT, REPLACE TABLE, RENAME, DROP:
    each denied; shared.important unchanged."""
    privilege, attack = AFTER_NOOP_CTAS[how]
    with as_user("mallory"):
        _noop_ctas(spark)
        denied(lambda: attack(spark), "mallory", "shared.important", privilege)


def test_ctas_of_a_new_table_works(spark, as_user):
    """Row 6 / rule 2, positive control: mallory's CTAS of a new table sandbox.new_t from pub.colors
    works and writes the data."""
    with as_user("mallory"):
        spark.sql("CREATE TABLE sandbox.new_t USING parquet AS SELECT * FROM pub.colors")
    with admin(spark):
        assert sorted(rows(spark.table("sandbox.new_t"))) == sorted(W.COLORS)


@pytest.mark.parametrize("write", ["INSERT OVERWRITE shared.m_new SELECT 'pwned'",
                                   "INSERT INTO shared.m_new VALUES ('pwned')"])
def test_ctas_exemption_ends_with_its_command(spark, as_user, write):
    """Row 6 / rule 2: mallory's CTAS of a new table in shared (CREATE is all she holds there)
    works; her next statement writing that table is a write like any other: denied (INSERT/ALL)."""
    with as_user("mallory"):
        try:
            spark.sql("CREATE TABLE IF NOT EXISTS shared.m_new USING parquet AS SELECT * FROM pub.colors")
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"precondition: mallory's CTAS of a new table in shared (she holds CREATE there) "
                        f"was refused: {str(e)[:600]}")
        denied(lambda: spark.sql(write).collect(), "mallory", "shared.m_new", ("INSERT", "ALL"))
    with admin(spark):
        assert sorted(rows(spark.table("shared.m_new"))) == sorted(W.COLORS)
