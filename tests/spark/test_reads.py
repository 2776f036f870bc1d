"""Governed reads through Spark SQL and the DataFrame API: whoami, denials, column removal, masks,
row filters with user() and has_roles(), tag-based grants, view-only grants and nested views,
temporary views and cached tables across users, SHOW/DESCRIBE."""

from __future__ import annotations

import pytest

import vectors as V
import world
from checks import columns, denied, fails, rows

USERS_COLS = ["uid", "dob", "gender", "ccn"]


@pytest.fixture(scope="module", autouse=True)
def data(spark, planner, workdir):
    world.load_world(spark, planner, workdir / "lake", delta=True)
    raw = {r.uid: tuple(r) for r in spark.sql("SELECT * FROM okera_sample.users").collect()}
    assert len(raw) == 300
    return {"users": raw}


@pytest.fixture(scope="module")
def alice_users(data):
    """What alice must see of okera_sample.users: gender = 'F' rows, ccn through mask_ccn."""
    return sorted((u, d, g, V.mask_ccn(c)) for (u, d, g, c) in data["users"].values() if g == "F")


# -- whoami ------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["admin", "alice", "bob", "carol"])
def test_whoami_sql_and_spark_table(spark, as_user, user):
    with as_user(user):
        assert rows(spark.sql("SELECT * FROM okera_sample.whoami")) == [(user,)]
        assert rows(spark.table("okera_sample.whoami")) == [(user,)]
        assert columns(spark.table("okera_sample.whoami")) == ["user"]


def test_identity_switches_within_one_session(spark, as_user):
    seen = []
    for u in ["alice", "bob", "alice", "admin"]:
        with as_user(u):
            seen.append(spark.sql("SELECT user FROM okera_sample.whoami").first()[0])
    assert seen == ["alice", "bob", "alice", "admin"]


# -- admin, denial -----------------------------------------------------------------------------

def test_admin_sees_everything(spark, as_user, data):
    with as_user("admin"):
        got = rows(spark.sql("SELECT * FROM okera_sample.users"))
    assert sorted(got) == sorted(data["users"].values())
    assert len(got) == 300


@pytest.mark.parametrize("obj", ["okera_sample.users", "sales.orders", "hr.employees", "sales.events",
                                 "sales.v_orders_eu", "okera_sample.v_users"])
def test_bob_is_denied(spark, as_user, obj):
    with as_user("bob"):
        msg = denied(lambda: spark.sql(f"SELECT * FROM {obj}").collect(), "bob", obj)
        denied(lambda: spark.table(obj).collect(), "bob", obj)
        denied(lambda: spark.sql(f"SELECT count(*) FROM {obj}").collect(), "bob", obj)
    assert msg.count("lakegate:") >= 1


# -- masks, row filter, column removal ---------------------------------------------------------

def test_alice_sample_policy_masks_and_filters(spark, as_user, alice_users):
    with as_user("alice"):
        df = spark.sql("SELECT * FROM okera_sample.users")
        assert columns(df) == USERS_COLS
        got = sorted(rows(df))
    assert len(got) == 150
    assert got == alice_users
    assert all(c.startswith("XXXX-XXXX-XXXX-") for (_, _, _, c) in got)


def test_where_on_masked_column_compares_the_masked_value(spark, as_user, data, alice_users):
    raw_f = next(v for v in data["users"].values() if v[2] == "F")
    masked = V.mask_ccn(raw_f[3])
    with as_user("alice"):
        assert rows(spark.sql(f"SELECT uid FROM okera_sample.users WHERE ccn = '{raw_f[3]}'")) == []
        hits = rows(spark.sql(f"SELECT uid FROM okera_sample.users WHERE ccn = '{masked}'"))
        assert (raw_f[0],) in hits
        # a digit of the hidden part cannot be probed either
        assert spark.sql(f"SELECT count(*) FROM okera_sample.users WHERE substr(ccn, 1, 4) = "
                         f"'{raw_f[3][:4]}'").first()[0] == 0


def test_column_removed_select_star_and_named(spark, as_user):
    with as_user("alice"):
        df = spark.sql("SELECT * FROM sales.orders")
        assert columns(df) == ["order_id", "owner", "region", "amount"]
        assert columns(spark.table("sales.orders")) == ["order_id", "owner", "region", "amount"]
        fails(lambda: spark.sql("SELECT card FROM sales.orders").collect(), "not authorized")
        fails(lambda: spark.sql("SELECT order_id FROM sales.orders WHERE card IS NOT NULL").collect(),
              "not authorized")
        fails(lambda: spark.sql("SELECT o.card FROM sales.orders o").collect(), "not authorized")


def test_column_removed_dataframe_api(spark, as_user):
    with as_user("alice"):
        fails(lambda: spark.table("sales.orders").select("card").collect(), "not authorized")


def test_row_filter_with_user(spark, as_user):
    with as_user("alice"):
        got = rows(spark.sql("SELECT order_id, owner FROM sales.orders ORDER BY order_id"))
    assert got == [(1, "alice"), (2, "alice"), (3, "alice")]


def test_row_filter_with_has_roles(spark, as_user):
    with as_user("dave"):  # analysts + auditors: has_roles('auditor') admits every row
        got = rows(spark.sql("SELECT order_id FROM sales.orders ORDER BY order_id"))
        assert columns(spark.table("sales.orders")) == ["order_id", "owner", "region", "amount"]
    assert got == [(o[0],) for o in world.ORDERS]


# -- tags --------------------------------------------------------------------------------------

def test_tag_grant_not_in_with_transforms(spark, as_user):
    with as_user("alice"):
        df = spark.sql("SELECT * FROM hr.employees ORDER BY emp_id")
        assert columns(df) == ["emp_id", "name", "ssn", "email"]
        got = rows(df)
        fails(lambda: spark.sql("SELECT salary FROM hr.employees").collect(), "not authorized")
    want = [(i, n, V.mask(s), V.tokenize(e)) for (i, n, s, e, _) in world.EMPLOYEES]
    assert got == want


def test_tag_grant_in(spark, as_user):
    with as_user("erin"):
        df = spark.sql("SELECT * FROM hr.employees ORDER BY emp_id")
        assert columns(df) == ["emp_id", "name"]
        assert rows(df) == [(i, n) for (i, n, *_) in world.EMPLOYEES]
        fails(lambda: spark.sql("SELECT ssn FROM hr.employees").collect(), "not authorized")


# -- views -------------------------------------------------------------------------------------

def test_view_only_grant_nested_views(spark, as_user):
    want = sorted((i, a) for (i, _, r, a, _) in world.ORDERS if r == "EU" and a > 100)
    with as_user("carol"):
        assert sorted(rows(spark.sql("SELECT * FROM sales.v_orders_eu_big"))) == want
        assert sorted(rows(spark.table("sales.v_orders_eu_big"))) == want
        assert spark.sql("SELECT count(*) FROM sales.v_orders_eu_big WHERE amount > 200").first()[0] == 2
        denied(lambda: spark.sql("SELECT * FROM sales.orders").collect(), "carol", "sales.orders")
        denied(lambda: spark.sql("SELECT * FROM sales.v_orders_eu").collect(), "carol", "sales.v_orders_eu")
        # a view the user may read does not open the tables beneath it in the same query
        denied(lambda: spark.sql("SELECT * FROM sales.v_orders_eu_big v JOIN sales.orders o "
                                 "ON v.order_id = o.order_id").collect(), "carol", "sales.orders")


def test_view_own_masks_and_filters(spark, as_user, data):
    want = sorted((u, g, V.mask_ccn(c)) for (u, _, g, c) in data["users"].values() if g == "M")
    with as_user("carol"):
        got = sorted(rows(spark.sql("SELECT * FROM okera_sample.v_users")))
        denied(lambda: spark.sql("SELECT * FROM okera_sample.users").collect(), "carol", "okera_sample.users")
    assert got == want and len(got) == 150


def test_view_without_view_grant_is_denied(spark, as_user):
    with as_user("alice"):  # alice may read sales.orders, but no grant reaches the view
        denied(lambda: spark.sql("SELECT * FROM sales.v_orders_eu_big").collect(), "alice",
               "sales.v_orders_eu_big")


# -- DataFrame API and SQL forms ---------------------------------------------------------------

def test_dataframe_api(spark, as_user, alice_users):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    with as_user("alice"):
        u = spark.table("okera_sample.users")
        assert sorted(rows(u.select("uid", "ccn"))) == sorted((r[0], r[3]) for r in alice_users)
        assert u.filter(F.col("gender") == "M").count() == 0
        assert u.filter(F.col("ccn").startswith("4")).count() == 0
        assert rows(u.groupBy("gender").count()) == [("F", 150)]
        j = u.alias("a").join(u.alias("b"), F.col("a.uid") == F.col("b.uid"))
        assert j.count() == 150
        o = spark.table("sales.orders")
        jo = o.join(u, o.owner == u.uid, "left")  # nothing matches, but both sides are governed
        assert jo.count() == 3
        w = Window.partitionBy("gender").orderBy("uid")
        ranked = u.withColumn("rn", F.row_number().over(w))
        assert ranked.agg(F.max("rn")).first()[0] == 150
        assert {r.ccn[:15] for r in ranked.collect()} == {"XXXX-XXXX-XXXX-"}
        agg = o.groupBy("region").agg(F.sum("amount").alias("s")).orderBy("region")
        assert rows(agg) == [("EU", 160), ("US", 80)]


def test_sql_forms(spark, as_user):
    with as_user("alice"):
        q = lambda s: spark.sql(s).first()[0]  # noqa: E731
        assert q("WITH f AS (SELECT * FROM okera_sample.users) SELECT count(*) FROM f") == 150
        assert q("WITH f AS (SELECT * FROM okera_sample.users WHERE gender = 'M') SELECT count(*) FROM f") == 0
        assert q("SELECT count(*) FROM okera_sample.users WHERE uid IN "
                 "(SELECT uid FROM okera_sample.users WHERE gender = 'M')") == 0
        assert q("SELECT (SELECT count(*) FROM okera_sample.users) + 0") == 150
        assert q("SELECT count(*) FROM (SELECT ccn FROM okera_sample.users UNION ALL "
                 "SELECT ccn FROM okera_sample.users) WHERE ccn LIKE 'XXXX-XXXX-XXXX-%'") == 300
        assert q("SELECT count(*) FROM (SELECT owner FROM sales.orders UNION "
                 "SELECT uid FROM okera_sample.users)") == 151
        assert q("SELECT count(*) FROM okera_sample.users u WHERE EXISTS "
                 "(SELECT 1 FROM okera_sample.users m WHERE m.uid = u.uid AND m.gender = 'M')") == 0
        assert q("SELECT count(*) FROM sales.orders o WHERE NOT EXISTS "
                 "(SELECT 1 FROM sales.orders p WHERE p.owner <> 'alice')") == 3
        assert q("SELECT max(amount) FROM sales.orders") == 120


def test_sql_forms_mixed_denial(spark, as_user):
    with as_user("erin"):  # erin has hr columns but nothing on users: any part denies the whole query
        denied(lambda: spark.sql("SELECT name FROM hr.employees WHERE EXISTS "
                                 "(SELECT 1 FROM okera_sample.users)").collect(), "erin", "okera_sample.users")
        denied(lambda: spark.sql("SELECT name FROM hr.employees UNION ALL "
                                 "SELECT uid FROM okera_sample.users").collect(), "erin", "okera_sample.users")


# -- temp views and caches across users --------------------------------------------------------

def test_sql_temp_view_by_admin_is_governed_for_alice(spark, as_user, alice_users):
    with as_user("admin"):
        spark.sql("CREATE OR REPLACE TEMP VIEW tv_users AS SELECT * FROM okera_sample.users")
        assert spark.table("tv_users").count() == 300
    with as_user("alice"):
        assert sorted(rows(spark.sql("SELECT * FROM tv_users"))) == alice_users
    with as_user("bob"):
        denied(lambda: spark.sql("SELECT * FROM tv_users").collect(), "bob", "okera_sample.users")


def test_dataframe_temp_view_by_admin_is_governed_for_alice(spark, as_user, alice_users):
    with as_user("admin"):
        spark.table("okera_sample.users").createOrReplaceTempView("tv_df_users")
        spark.table("okera_sample.users").createOrReplaceGlobalTempView("gtv_users")
        assert spark.table("tv_df_users").count() == 300
    with as_user("alice"):
        assert sorted(rows(spark.sql("SELECT * FROM tv_df_users"))) == alice_users
        assert sorted(rows(spark.sql("SELECT * FROM global_temp.gtv_users"))) == alice_users
    with as_user("bob"):
        denied(lambda: spark.table("tv_df_users").collect(), "bob", "okera_sample.users")
        denied(lambda: spark.table("global_temp.gtv_users").collect(), "bob", "okera_sample.users")


def test_cache_table_by_admin_is_governed_for_alice(spark, as_user, alice_users):
    with as_user("admin"):
        spark.sql("CACHE TABLE okera_sample.users")
        spark.sql("CACHE TABLE cached_users AS SELECT * FROM okera_sample.users")
        assert spark.table("cached_users").count() == 300
        assert spark.catalog.isCached("okera_sample.users")
    try:
        with as_user("alice"):
            assert sorted(rows(spark.sql("SELECT * FROM okera_sample.users"))) == alice_users
            assert sorted(rows(spark.sql("SELECT * FROM cached_users"))) == alice_users
        with as_user("bob"):
            denied(lambda: spark.sql("SELECT * FROM cached_users").collect(), "bob", "okera_sample.users")
            denied(lambda: spark.sql("SELECT * FROM okera_sample.users").collect(), "bob", "okera_sample.users")
    finally:
        with as_user("admin"):
            spark.sql("UNCACHE TABLE IF EXISTS cached_users")
            spark.sql("UNCACHE TABLE IF EXISTS okera_sample.users")


def test_dataframe_cache_by_admin_is_governed_for_alice(spark, as_user, alice_users):
    with as_user("admin"):
        df = spark.table("okera_sample.users").cache()
        assert df.count() == 300
    try:
        with as_user("alice"):
            assert sorted(rows(spark.table("okera_sample.users"))) == alice_users
    finally:
        df.unpersist()


def test_alice_cache_does_not_leak_to_bob_or_narrow_admin(spark, as_user, data, alice_users):
    with as_user("alice"):
        spark.sql("CACHE TABLE alice_cache AS SELECT * FROM okera_sample.users")
        assert sorted(rows(spark.table("alice_cache"))) == alice_users
    try:
        with as_user("bob"):
            denied(lambda: spark.table("alice_cache").collect(), "bob", "okera_sample.users")
        with as_user("admin"):
            assert spark.table("okera_sample.users").count() == 300
    finally:
        spark.sql("UNCACHE TABLE IF EXISTS alice_cache")


# -- SHOW / DESCRIBE ---------------------------------------------------------------------------

def test_describe_shows_visible_columns_only(spark, as_user):
    with as_user("alice"):
        names = [r[0] for r in spark.sql("DESCRIBE TABLE sales.orders").collect() if r[0] and not r[0].startswith("#")]
        assert "card" not in names and "order_id" in names
    with as_user("admin"):
        names = [r[0] for r in spark.sql("DESCRIBE TABLE sales.orders").collect()]
        assert "card" in names


def test_show_lists_only_what_reaches_the_user(spark, as_user):
    with as_user("carol"):
        tables = {r.tableName for r in spark.sql("SHOW TABLES IN sales").collect() if not r.isTemporary}
        assert tables == {"v_orders_eu_big"}
    with as_user("bob"):
        assert {r.tableName for r in spark.sql("SHOW TABLES IN hr").collect() if not r.isTemporary} == set()
    with as_user("admin"):
        dbs = {r[0] for r in spark.sql("SHOW DATABASES").collect()}
        assert {"sales", "hr", "okera_sample"} <= dbs


def test_full_access_leaves_no_trace_in_the_optimized_plan(spark, as_user):
    """Zero cost when nothing applies: admin's optimized plan has no lakegate node, no mask and no
    extra filter; alice's has the mask and the row filter."""
    q = "SELECT uid, ccn FROM okera_sample.users WHERE dob > '1990-01-01'"

    def optimized(user):
        with as_user(user):
            return spark.sql(q)._jdf.queryExecution().optimizedPlan().toString()

    import re

    admin, alice = optimized("admin"), optimized("alice")
    row_filter = re.compile(r"\(gender#\d+ = F\)")
    assert "akegate" not in admin and "mask_ccn" not in admin and not row_filter.search(admin), admin
    assert "mask_ccn" in alice and row_filter.search(alice), alice
