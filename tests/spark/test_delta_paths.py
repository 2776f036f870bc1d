"""Delta tables (reads, time travel, INSERT allowed/denied, MERGE/UPDATE/DELETE), other writes and
DDL, and path-based reads with and without URI grants."""

from __future__ import annotations

import pytest

import world
from checks import columns, denied, fails, rows


@pytest.fixture(scope="module", autouse=True)
def lake(spark, planner, workdir):
    lake = workdir / "lake"
    world.load_world(spark, planner, lake, delta=True)
    # path data written by admin: the same users under raw/ (granted to etl) and raw2/ (not: a
    # sibling that shares the prefix string but not a path segment)
    users = spark.table("okera_sample.users")
    for d in ("raw", "raw2"):
        users.coalesce(1).write.parquet(str(lake / d / "users"))
        spark.createDataFrame(world.EVENTS, "event_id bigint, owner string, kind string, amount int") \
            .coalesce(1).write.format("delta").save(str(lake / d / "events_delta"))
    planner.sql(f"GRANT ALL ON URI 'file://{lake}/raw' TO ROLE etl")
    return lake


def count_events(spark) -> int:
    sc = spark.sparkContext
    prev = sc.getLocalProperty("user"), sc.getLocalProperty("groups")
    sc.setLocalProperty("user", "admin")
    sc.setLocalProperty("groups", "admin")
    try:
        return spark.sql("SELECT count(*) FROM sales.events").first()[0]
    finally:
        sc.setLocalProperty("user", prev[0])
        sc.setLocalProperty("groups", prev[1])


# -- Delta reads -------------------------------------------------------------------------------

def test_delta_read_row_filter(spark, as_user, lake):
    with as_user("alice"):
        assert rows(spark.sql("SELECT event_id FROM sales.events ORDER BY event_id")) == [(1,), (2,)]
        assert rows(spark.table("sales.events").groupBy("owner").count()) == [("alice", 2)]
        assert columns(spark.table("sales.events")) == ["event_id", "owner", "kind", "amount"]
    with as_user("frank"):
        assert spark.sql("SELECT count(*) FROM sales.events").first()[0] >= len(world.EVENTS)
    with as_user("bob"):
        denied(lambda: spark.table("sales.events").collect(), "bob", "sales.events")


def test_delta_time_travel_stays_governed(spark, as_user, lake):
    with as_user("alice"):
        assert rows(spark.sql("SELECT event_id FROM sales.events VERSION AS OF 1 ORDER BY event_id")) == [(1,), (2,)]
    with as_user("bob"):
        denied(lambda: spark.sql("SELECT * FROM sales.events VERSION AS OF 1").collect(), "bob", "sales.events")


# -- Delta writes ------------------------------------------------------------------------------

def test_delta_insert_allowed(spark, as_user, lake):
    before = count_events(spark)
    with as_user("dave"):  # INSERT granted to role auditor
        spark.sql("INSERT INTO sales.events VALUES (100, 'dave', 'click', 1)")
    with as_user("frank"):  # ALL
        spark.sql("INSERT INTO sales.events VALUES (101, 'frank', 'buy', 2)")
        spark.createDataFrame([(102, "frank", "buy", 3)], "event_id bigint, owner string, kind string, amount int") \
            .write.insertInto("sales.events")
    assert count_events(spark) == before + 3
    with as_user("dave"):  # and dave reads back only his own rows
        assert {r.owner for r in spark.table("sales.events").collect()} == {"dave"}


def test_delta_insert_denied(spark, as_user, lake):
    before = count_events(spark)
    with as_user("alice"):  # a restricted SELECT never authorizes a write
        denied(lambda: spark.sql("INSERT INTO sales.events VALUES (200, 'alice', 'x', 1)").collect(),
               "alice", "sales.events", "INSERT")
        denied(lambda: spark.createDataFrame([(201, "alice", "x", 1)],
                                             "event_id bigint, owner string, kind string, amount int")
               .write.insertInto("sales.events"), "alice", "sales.events", "INSERT")
        fails(lambda: spark.sql("INSERT OVERWRITE sales.events SELECT * FROM sales.events").collect(),
              "lakegate:", "alice", "sales.events")
    with as_user("bob"):
        denied(lambda: spark.sql("INSERT INTO sales.events VALUES (202, 'bob', 'x', 1)").collect(),
               "bob", "sales.events", "INSERT")
    assert count_events(spark) == before


MERGE = ("MERGE INTO sales.events t USING (SELECT CAST(4 AS BIGINT) AS event_id, 'frank' AS owner, "
         "'refund' AS kind, -40 AS amount) s ON t.event_id = s.event_id "
         "WHEN MATCHED THEN UPDATE SET t.kind = s.kind, t.amount = s.amount "
         "WHEN NOT MATCHED THEN INSERT *")


def test_delta_merge_update_delete_denied_without_privilege(spark, as_user, lake):
    before = count_events(spark)
    for user in ("alice", "bob", "carol"):
        with as_user(user):
            fails(lambda: spark.sql(MERGE).collect(), "lakegate:", user, "sales.events")
            fails(lambda: spark.sql("UPDATE sales.events SET amount = 0").collect(), "lakegate:", user, "sales.events")
            fails(lambda: spark.sql("DELETE FROM sales.events WHERE event_id = 1").collect(),
                  "lakegate:", user, "sales.events")
    assert count_events(spark) == before
    with as_user("frank"):
        assert rows(spark.sql("SELECT kind, amount FROM sales.events WHERE event_id = 4")) == [("buy", 40)]


def test_delta_merge_update_delete_allowed_with_all(spark, as_user, lake):
    with as_user("frank"):
        spark.sql(MERGE)
        assert rows(spark.sql("SELECT kind, amount FROM sales.events WHERE event_id = 4")) == [("refund", -40)]
        spark.sql("UPDATE sales.events SET amount = 41 WHERE event_id = 4")
        spark.sql("DELETE FROM sales.events WHERE event_id = 5")
        got = dict((r.event_id, r.amount) for r in spark.table("sales.events").collect())
    assert got[4] == 41 and 5 not in got


# -- other writes and DDL ----------------------------------------------------------------------

def test_ddl_needs_privileges(spark, as_user, lake):
    with as_user("alice"):
        fails(lambda: spark.sql("CREATE TABLE sales.alice_copy AS SELECT * FROM okera_sample.users").collect(),
              "lakegate:", "alice")
        fails(lambda: spark.sql("CREATE TABLE sales.alice_t (x int) USING parquet").collect(), "lakegate:", "alice")
        fails(lambda: spark.sql("DROP TABLE sales.orders").collect(), "lakegate:", "alice", "sales.orders")
        fails(lambda: spark.sql("CREATE VIEW sales.alice_v AS SELECT 1 AS x").collect(), "lakegate:", "alice")
        fails(lambda: spark.sql("ALTER TABLE sales.orders SET TBLPROPERTIES ('k' = 'v')").collect(),
              "lakegate:", "alice", "sales.orders")
    with as_user("admin"):
        spark.sql("CREATE TABLE sales.admin_copy USING parquet AS SELECT * FROM okera_sample.users")
        assert spark.table("sales.admin_copy").count() == 300
        spark.sql("DROP TABLE sales.admin_copy")
    with as_user("admin"):
        assert "orders" in {r.tableName for r in spark.sql("SHOW TABLES IN sales").collect()}


# -- path-based access -------------------------------------------------------------------------

def test_path_reads_with_uri_grant(spark, as_user, lake):
    raw = lake / "raw"
    with as_user("frank"):
        assert spark.read.parquet(str(raw / "users")).count() == 300
        assert spark.sql(f"SELECT count(*) FROM parquet.`{raw}/users`").first()[0] == 300
        assert spark.sql(f"SELECT count(*) FROM parquet.`file://{raw}/users`").first()[0] == 300
        assert spark.sql(f"SELECT count(*) FROM delta.`{raw}/events_delta`").first()[0] == len(world.EVENTS)
        assert spark.read.format("delta").load(str(raw / "events_delta")).count() == len(world.EVENTS)
    with as_user("admin"):  # ALL ON CATALOG covers every URI
        assert spark.read.parquet(str(lake / "raw2" / "users")).count() == 300


def test_path_reads_without_uri_grant(spark, as_user, lake):
    raw, raw2 = lake / "raw", lake / "raw2"
    with as_user("frank"):  # raw2 is not below raw on a path-segment boundary
        fails(lambda: spark.read.parquet(str(raw2 / "users")).collect(), "lakegate:", "frank", "raw2")
        fails(lambda: spark.sql(f"SELECT * FROM delta.`{raw2}/events_delta`").collect(), "lakegate:", "frank", "raw2")
    with as_user("bob"):
        fails(lambda: spark.read.parquet(str(raw / "users")).collect(), "lakegate:", "bob", "raw")
        fails(lambda: spark.sql(f"SELECT * FROM parquet.`{raw}/users`").collect(), "lakegate:", "bob", "raw")
        fails(lambda: spark.read.format("delta").load(str(raw / "events_delta")).collect(), "lakegate:", "bob")


def test_table_location_cannot_be_read_by_path(spark, as_user, lake):
    """alice may read okera_sample.users (masked), but not its files directly."""
    loc = lake / "okera_sample" / "users"
    with as_user("alice"):
        fails(lambda: spark.read.parquet(str(loc)).collect(), "lakegate:", "alice")
        fails(lambda: spark.sql(f"SELECT * FROM parquet.`{loc}`").collect(), "lakegate:", "alice")
