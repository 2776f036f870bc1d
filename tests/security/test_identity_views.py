"""Issue 11, rows 1, 4 and 9; rules 2, 4, 8 and 9: who a statement runs as, and what a view shows.

- rule 2 / row 1: a forged `spark.sql.execution.id` (after an authorized write on the same thread,
  or inside a streaming foreachBatch) never turns a user's query into "a command's internal query";
- rule 4 / row 4: views have an owner — a view is never a way around its definer's masks, filters
  and missing grants, and a definer who loses access takes the view's readers with them;
- rule 8 / row 9: the identity is taken per statement — 10,000 statements over 6 threads switching
  users, and the statements right after an admin's CREATE TABLE;
- rule 9: the settings that matter are read once (`spark.lakegate.*`, `excludedRules`, Hive
  conversion, stored analyzed plans of views).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

import harness as h
import secworld as W
from guards import check_denial, denied, lakegate_part, redact, rows, session_conf, wait_audit

EXEC_ID = "spark.sql.execution.id"


@pytest.fixture(scope="module", autouse=True)
def world(spark, planner, lake):
    W.load(spark, lake, ("core", "hive", "stream"))
    for t in ("log_m", "log_a"):
        spark.sql(f"CREATE TABLE sandbox.{t} (n bigint) USING parquet")
    spark.sql("CREATE TABLE sandbox.loot (s string) USING parquet")
    return lake


def admin_rows(spark, sql: str) -> list[tuple]:
    with admin(spark):
        return rows(spark.sql(sql))


@contextlib.contextmanager
def admin(spark):
    sc = spark.sparkContext
    prev = sc.getLocalProperty("user"), sc.getLocalProperty("groups")
    sc.setLocalProperty("user", "admin")
    sc.setLocalProperty("groups", "admin")
    try:
        yield
    finally:
        sc.setLocalProperty("user", prev[0])
        sc.setLocalProperty("groups", prev[1])


def table_exists(spark, name: str) -> bool:
    db, t = name.split(".")
    with admin(spark):
        return any(r.tableName == t for r in spark.sql(f"SHOW TABLES IN {db}").collect())


@contextlib.contextmanager
def forged_execution_id(spark, value: str = "424242"):
    sc = spark.sparkContext
    prev = sc.getLocalProperty(EXEC_ID)
    sc.setLocalProperty(EXEC_ID, value)
    try:
        yield
    finally:
        sc.setLocalProperty(EXEC_ID, prev)


def no_raw(result_text: str, secrets=W.SECRET_VALUES) -> None:
    leaked = [s for s in secrets if s in result_text]
    assert not leaked, f"ATTACK SUCCEEDED: raw values {leaked} reached the user: {redact(result_text)[:800]}"


# ---------------------------------------------------------------------------------------------
# rule 2 / row 1: no exemption keyed on something a user sets
# ---------------------------------------------------------------------------------------------

def test_forged_execution_id_bob_still_denied(spark, as_user):
    """Row 1 / rule 2: bob forges spark.sql.execution.id; SELECT * FROM hr.secret is still denied."""
    with as_user("bob"), forged_execution_id(spark):
        denied(lambda: spark.sql("SELECT * FROM hr.secret").collect(), "bob", "hr.secret", absent=W.SECRET_VALUES)
        denied(lambda: spark.table("hr.secret").collect(), "bob", "hr.secret", absent=W.SECRET_VALUES)


FORGED_READS = {
    "sql": lambda spark, lake: spark.sql("SELECT * FROM hr.secret").collect(),
    "dataframe": lambda spark, lake: spark.table("hr.secret").select("tax_ssn").collect(),
    "scalar-subquery": lambda spark, lake: spark.sql(
        "SELECT (SELECT max(tax_ssn) FROM hr.secret) AS s").collect(),
    "path": lambda spark, lake: spark.read.parquet(str(W.secret_dir(lake))).collect(),
    "insert-select": lambda spark, lake: spark.sql("INSERT INTO sandbox.loot SELECT tax_ssn FROM hr.secret").collect(),
}


@pytest.mark.parametrize("how", list(FORGED_READS))
def test_forged_execution_id_after_authorized_insert(spark, as_user, lake, how):
    """Row 1 / rule 2: mallory runs an authorized INSERT, then forges spark.sql.execution.id on the
    same thread and reads hr.secret (SQL, DataFrame, scalar subquery, by path, INSERT … SELECT into
    her own table): each is denied, nothing is copied."""
    obj = str(W.secret_dir(lake)) if how == "path" else "hr.secret"
    with as_user("mallory"):
        spark.sql("INSERT INTO sandbox.log_m VALUES (1)")  # authorized: ALL ON DATABASE sandbox
        with forged_execution_id(spark):
            denied(lambda: FORGED_READS[how](spark, lake), "mallory", obj, absent=W.SECRET_VALUES)
    no_raw(str(admin_rows(spark, "SELECT * FROM sandbox.loot")))


def test_forged_execution_id_create_view_denied(spark, as_user):
    """Row 1 / rules 2 and 4: a CREATE VIEW over hr.secret made under a forged execution id (after
    an authorized write) is refused at CREATE and leaves no view that reads raw forever."""
    with as_user("mallory"):
        spark.sql("INSERT INTO sandbox.log_m VALUES (2)")
        with forged_execution_id(spark, "777"):
            denied(lambda: spark.sql("CREATE VIEW sandbox.forged_v AS SELECT * FROM hr.secret").collect(),
                   "mallory", "hr.secret")
    assert not table_exists(spark, "sandbox.forged_v"), "the view was created"


def test_forged_execution_id_alice_still_masked(spark, as_user):
    """Row 1 / rule 2: after her own authorized INSERT and a forged execution id, alice still reads
    hr.emp masked and filtered, never raw."""
    with as_user("alice"):
        spark.sql("INSERT INTO sandbox.log_a VALUES (1)")
        with forged_execution_id(spark):
            got = sorted(rows(spark.sql("SELECT * FROM hr.emp")))
    no_raw(str(got), W.EMP_RAW_SSN)
    assert got == W.ALICE_EMP


def test_forged_execution_id_denial_is_audited(spark, as_user, planner):
    """Row 1 ("nothing audited") / rule 2: the forged read's denial is in the planner's audit log."""
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with as_user("bob"), forged_execution_id(spark, "9001"):
        denied(lambda: spark.sql("SELECT tax_ssn FROM hr.secret").collect(), "bob", "hr.secret")

    def pred(r):
        return (r.get("user") == "bob" and r.get("outcome") == "denied"
                and "hr.secret" in " ".join(r.get("objects") or []) + " " + (r.get("reason") or ""))

    wait_audit(planner, pred, "--user", "bob", "--denied", "--since", since)


def _run_foreach_batch(spark, lake, user: str, batch) -> None:
    src = lake / "mallory" / "stream_in"
    ckpt = lake / "mallory" / f"ckpt-{uuid.uuid4().hex[:8]}"
    q = (spark.readStream.schema("n bigint").json(str(src))
         .writeStream.foreachBatch(batch).option("checkpointLocation", str(ckpt))
         .trigger(availableNow=True).start())
    try:
        done = q.awaitTermination(120)
        assert done, "the availableNow stream did not finish in 120 s"
    finally:
        with contextlib.suppress(Exception):
            q.stop()


def test_foreach_batch_read_after_authorized_insert_denied(spark, as_user, lake):
    """Row 1 / rule 2: inside a streaming foreachBatch, mallory's batch function runs an allowed
    INSERT, then reads hr.secret: the read is denied (and the INSERT worked)."""
    out: dict = {}

    def batch(df, epoch_id):
        s = df.sparkSession
        try:
            s.sql("INSERT INTO sandbox.log_m VALUES (3)")
            out.setdefault("insert", "ok")
        except Exception as e:  # noqa: BLE001
            out["insert"] = str(e)
        try:
            out["read"] = [tuple(r) for r in s.sql("SELECT * FROM hr.secret").collect()]
        except Exception as e:  # noqa: BLE001
            out["read_error"] = str(e)

    with as_user("mallory"):
        _run_foreach_batch(spark, lake, "mallory", batch)
    assert "read" not in out, f"ATTACK SUCCEEDED: foreachBatch read hr.secret: {out.get('read')}"
    assert out.get("insert") == "ok", f"the allowed INSERT failed: {out.get('insert')}"
    check_denial(out["read_error"], "mallory", "hr.secret", "SELECT", absent=W.SECRET_VALUES)


def test_foreach_batch_create_view_denied(spark, as_user, lake):
    """Row 1 / rules 2 and 4: inside foreachBatch, after an allowed INSERT, CREATE VIEW over
    hr.secret is denied and no view is left behind."""
    out: dict = {}

    def batch(df, epoch_id):
        s = df.sparkSession
        with contextlib.suppress(Exception):
            s.sql("INSERT INTO sandbox.log_m VALUES (4)")
        try:
            s.sql("CREATE VIEW sandbox.fb_v AS SELECT * FROM hr.secret")
            out["created"] = True
        except Exception as e:  # noqa: BLE001
            out["error"] = str(e)

    with as_user("mallory"):
        _run_foreach_batch(spark, lake, "mallory", batch)
    assert not out.get("created") and not table_exists(spark, "sandbox.fb_v"), \
        "ATTACK SUCCEEDED: foreachBatch created sandbox.fb_v over hr.secret"
    check_denial(out["error"], "mallory", "hr.secret", "SELECT")


# ---------------------------------------------------------------------------------------------
# rule 4 / row 4: views have an owner
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def alice_view(spark):
    """alice's own view over hr.emp (she may CREATE in sandbox; her hr.emp grant is masked and
    row-filtered)."""
    with h.as_user(spark, "alice", W.USERS["alice"]):
        spark.sql("CREATE VIEW sandbox.v_alice AS SELECT * FROM hr.emp")
    return "sandbox.v_alice"


def test_alice_view_over_masked_table_stays_masked(spark, as_user, alice_view):
    """Row 4 / rule 4: alice (ssn masked, dept = 'eng' rows) defines sandbox.v_alice AS SELECT * FROM
    hr.emp and reads it: still masked and filtered, never raw."""
    with as_user("alice"):
        got = sorted(rows(spark.sql(f"SELECT * FROM {alice_view}")))
        ops = rows(spark.sql(f"SELECT ssn FROM {alice_view} WHERE dept = 'ops'"))
    no_raw(str(got) + str(ops), W.EMP_RAW_SSN)
    assert got == W.ALICE_EMP
    assert ops == []


def test_reader_of_alices_view_gets_at_most_alices_view(spark, as_user, planner, alice_view):
    """Row 4 / rule 4: bob, granted SELECT on alice's view only, gets at most what alice sees
    (masked, filtered) — never raw hr.emp."""
    with as_user("alice"):
        spark.sql(f"SELECT * FROM {alice_view} LIMIT 1").collect()  # the planner learns the view
    planner.wait_known("sandbox", "v_alice")
    planner.sql("CREATE ROLE IF NOT EXISTS bob_view; GRANT ROLE bob_view TO USER bob;"
                f"GRANT SELECT ON VIEW {alice_view} TO ROLE bob_view")
    with as_user("bob"):
        try:
            got = sorted(rows(spark.sql(f"SELECT * FROM {alice_view}")))
        except Exception as e:  # noqa: BLE001 — refusing bob is within "at most"
            check_denial(str(e), "bob", (alice_view, "hr.emp"), "SELECT", absent=W.EMP_RAW_SSN)
            return
    no_raw(str(got), W.EMP_RAW_SSN)
    assert set(got) <= set(W.ALICE_EMP), f"bob saw more than alice's view: {got}"


@pytest.mark.parametrize("definition", [
    "SELECT * FROM hr.secret",
    # only a harmless column shown, the secret used in the filter: still a read of hr.secret
    "SELECT emp_id FROM hr.secret WHERE tax_ssn LIKE '1%'",
])
def test_view_over_unreadable_table_denied_at_create(spark, as_user, definition):
    """Row 4 / rule 4: mallory (CREATE in sandbox, nothing on hr.secret) cannot define a view over
    hr.secret: refused at CREATE VIEW, naming SELECT on hr.secret; no view is left."""
    name = f"sandbox.mv_{uuid.uuid4().hex[:6]}"
    with as_user("mallory"):
        denied(lambda: spark.sql(f"CREATE VIEW {name} AS {definition}").collect(), "mallory", "hr.secret")
    assert not table_exists(spark, name)


@pytest.mark.parametrize("statement", [
    "ALTER VIEW sandbox.v_alice AS SELECT * FROM hr.secret",
    "CREATE OR REPLACE VIEW sandbox.v_alice AS SELECT * FROM hr.secret",
])
def test_redefining_own_view_over_unreadable_table_denied(spark, as_user, alice_view, statement):
    """Row 4 / rule 4: alice may alter her own view, but not to read hr.secret, which she may not
    read: denied, and the view still shows what it showed."""
    with as_user("alice"):
        denied(lambda: spark.sql(statement).collect(), "alice", "hr.secret")
        got = sorted(rows(spark.sql(f"SELECT * FROM {alice_view}")))
    assert got == W.ALICE_EMP


def test_admin_view_with_view_only_grant(spark, as_user, planner):
    """Rule 4: a view defined by admin, granted to carol alone, shows carol the view's columns;
    carol still cannot read the base table directly."""
    with as_user("admin"):
        spark.sql("CREATE VIEW sandbox.v_admin AS SELECT emp_id, full_name FROM hr.secret")
        spark.sql("SELECT * FROM sandbox.v_admin LIMIT 1").collect()
    planner.wait_known("sandbox", "v_admin")
    planner.sql("GRANT SELECT ON VIEW sandbox.v_admin TO ROLE viewer")
    with as_user("carol"):
        got = sorted(rows(spark.sql("SELECT * FROM sandbox.v_admin")))
        assert got == sorted((i, n) for (i, n, _, _) in W.SECRET)
        denied(lambda: spark.sql("SELECT * FROM hr.secret").collect(), "carol", "hr.secret", absent=W.SECRET_VALUES)
        denied(lambda: spark.table("hr.secret").select("emp_id").collect(), "carol", "hr.secret")


def test_definer_losing_access_takes_readers_with_him(spark, as_user, planner):
    """Rule 4: owen (SELECT hr.emp) defines sandbox.v_owen, carol and cora may read it; when owen's
    grant is revoked, readers of the view are denied at once."""
    with as_user("owen"):
        spark.sql("CREATE VIEW sandbox.v_owen AS SELECT emp_id, name, dept FROM hr.emp")
        assert len(rows(spark.sql("SELECT * FROM sandbox.v_owen"))) == len(W.EMP)
    planner.wait_known("sandbox", "v_owen")
    planner.sql("GRANT SELECT ON VIEW sandbox.v_owen TO ROLE viewer")
    with as_user("carol"):
        assert len(rows(spark.sql("SELECT * FROM sandbox.v_owen"))) == len(W.EMP)  # positive control
    planner.sql("REVOKE SELECT ON TABLE hr.emp FROM ROLE definer")
    try:
        for reader in ("cora", "carol"):  # cora never read it; carol's decision is newer-policy stale
            with as_user(reader):
                denied(lambda: spark.sql("SELECT * FROM sandbox.v_owen").collect(), reader,
                       ("sandbox.v_owen", "hr.emp"))
    finally:
        planner.sql("GRANT SELECT ON TABLE hr.emp TO ROLE definer")


def test_temp_view_over_unreadable_table(spark, as_user):
    """Rule 4: a temporary view is read with its reader's rights: mallory's temp view over
    hr.secret yields nothing."""
    def attack():
        spark.sql("CREATE OR REPLACE TEMP VIEW tv_mallory AS SELECT * FROM hr.secret")
        return spark.sql("SELECT * FROM tv_mallory").collect()

    with as_user("mallory"):
        denied(attack, "mallory", "hr.secret", absent=W.SECRET_VALUES)


def test_admins_global_temp_view_read_by_bob(spark, as_user):
    """Rule 4: a global temporary view admin built over hr.secret gives bob nothing."""
    with as_user("admin"):
        spark.sql("CREATE OR REPLACE GLOBAL TEMP VIEW gv_secret AS SELECT * FROM hr.secret")
        assert len(rows(spark.sql("SELECT * FROM global_temp.gv_secret"))) == len(W.SECRET)
    with as_user("bob"):
        denied(lambda: spark.sql("SELECT * FROM global_temp.gv_secret").collect(), "bob", "hr.secret",
               absent=W.SECRET_VALUES)


# ---------------------------------------------------------------------------------------------
# rule 8 / row 9: identity per statement
# ---------------------------------------------------------------------------------------------

STRESS_STATEMENTS = int(os.environ.get("LAKEGATE_SECURITY_STRESS_STATEMENTS", "10000"))
STRESS_THREADS = 8
STRESS_USERS = ["alice", "bob", "carol", "ivan", "mallory", "owen", "ursula", "admin"]


def test_identity_stress_across_threads(spark):
    """Row 9 / rule 8: 10,000 statements over 8 Python threads (pyspark's pinned threads: a JVM
    thread each), each thread switching user before every statement: the user the planner saw
    (okera_sample.whoami) is always the user set — 0 mismatches. Every 97th statement reads
    hr.secret (allowed for admin only, otherwise denied naming the user set), and every 150th is
    an admin CREATE TABLE or DROP TABLE, right before another user's statement on the same thread."""
    sc = spark.sparkContext
    per_thread = [STRESS_STATEMENTS // STRESS_THREADS + (1 if i < STRESS_STATEMENTS % STRESS_THREADS else 0)
                  for i in range(STRESS_THREADS)]
    mismatches: list = []
    errors: list = []
    done = [0] * STRESS_THREADS

    def as_(u):
        sc.setLocalProperty("user", u)
        sc.setLocalProperty("groups", W.USERS[u] or None)

    def worker(tid: int):
        rnd = random.Random(tid)
        try:
            for i in range(per_thread[tid]):
                u = rnd.choice(STRESS_USERS)
                if i % 150 == 149:
                    as_("admin")
                    k = f"sandbox.stress_{tid}_{i}"
                    spark.sql(f"CREATE TABLE {k} (x int) USING parquet" if i % 300 == 149 else
                              f"DROP TABLE IF EXISTS sandbox.stress_{tid}_{i - 150}")
                    u = rnd.choice([x for x in STRESS_USERS if x != "admin"])
                as_(u)
                if i % 97 == 96:
                    try:
                        n = len(spark.sql("SELECT emp_id FROM hr.secret").collect())
                        if u != "admin":
                            mismatches.append((tid, i, u, f"read hr.secret ({n} rows)"))
                    except Exception as e:  # noqa: BLE001
                        if u == "admin" or u not in lakegate_part(str(e)):
                            mismatches.append((tid, i, u, str(e)[:300]))
                else:
                    got = spark.sql("SELECT user FROM okera_sample.whoami").first()[0]
                    if got != u:
                        mismatches.append((tid, i, u, got))
                done[tid] += 1
        except Exception as e:  # noqa: BLE001
            errors.append((tid, repr(e)[:500]))

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(STRESS_THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    elapsed = time.monotonic() - t0
    print(f"identity stress: {sum(done)} statements in {elapsed:.1f}s over {STRESS_THREADS} threads")
    assert not errors, f"worker errors: {errors[:5]}"
    assert sum(done) == STRESS_STATEMENTS
    assert not mismatches, f"{len(mismatches)} identity mismatches (thread, i, user set, planner saw): {mismatches[:10]}"


# A driver with PySpark's pinned threads off, in a process of its own (the mode is chosen when the
# gateway starts): each probe sets `user` and runs whoami; every outcome is printed as JSON.
UNPINNED_DRIVER = r"""
import json, sys, threading
sys.path.insert(0, sys.argv[1])
import harness as h
spark = h.start_spark(json.loads(open(sys.argv[2]).read()))
sc, out = spark.sparkContext, []
def probe(user):
    sc.setLocalProperty("user", user)
    try:
        out.append((user, "ok", spark.sql("SELECT user FROM okera_sample.whoami").first()[0]))
    except Exception as e:
        out.append((user, "error", str(e)))
probe("alice")
ts = [threading.Thread(target=probe, args=(u,)) for u in ("bob", "carol", "admin")]
for t in ts: t.start()
for t in ts: t.join()
print("RESULT " + json.dumps(out), flush=True)
h.stop_spark(spark)
"""


def test_unpinned_pyspark_threads_are_refused(planner, jar, tmp_path):
    """Row 9 / rule 8, pinned threads off: with PYSPARK_PIN_THREAD=false Py4J runs a Python
    thread's calls on any of its pooled JVM threads, so the `user` property one thread sets can
    govern another's statement. In signing-key mode every statement on such a thread is refused
    (lakegate cannot tell who runs it), from one thread or several — never decided as anyone."""
    conf = h.spark_conf(tmp_path, planner)
    conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = "jdbc:derby:memory:unpinned;create=true"
    conf_file = tmp_path / "conf.json"
    conf_file.write_text(json.dumps(conf))
    env = dict(os.environ, PYSPARK_PIN_THREAD="false")
    r = subprocess.run([sys.executable, "-c", UNPINNED_DRIVER, str(Path(h.__file__).parent), str(conf_file)], env=env,
                       capture_output=True, text=True, timeout=600)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, f"the unpinned driver printed no result (exit {r.returncode}):\n{r.stderr[-3000:]}"
    results = json.loads(line[len("RESULT "):])
    assert len(results) == 4
    for user, outcome, detail in results:
        assert outcome == "error", f"{user}'s statement ran on an unpinned thread and was decided as {detail}"
        assert "PYSPARK_PIN_THREAD" in lakegate_part(detail), detail[:500]


def test_created_table_is_recorded_reads_record_nothing(spark, as_user, planner):
    """Issue 12, reads never write: mallory's CREATE TABLE in her sandbox is recorded by the planner
    before the statement returns (so it can be granted on and tagged at once); her reads of a
    table the planner does not know, and of a known one with other columns, record nothing."""
    with as_user("mallory"):
        spark.sql("CREATE TABLE sandbox.m_created (a int, note string) USING parquet")
    assert planner.knows("sandbox", "m_created")
    planner.sql("CREATE ATTRIBUTE IF NOT EXISTS pii.note; "
                "ALTER TABLE sandbox.m_created ADD COLUMN ATTRIBUTE note pii.note; "
                "GRANT SELECT ON TABLE sandbox.m_created TRANSFORM pii.note WITH mask() TO ROLE viewer")
    with as_user("admin"):
        spark.sql("CREATE TABLE sandbox.m_unrecorded (x int) USING parquet")
    planner.sql("DROP TABLE sandbox.m_unrecorded")  # the planner forgets it; the metastore keeps it
    with as_user("mallory"):
        spark.sql("SELECT * FROM sandbox.m_unrecorded").collect()
    assert not planner.knows("sandbox", "m_unrecorded"), "a read recorded a table"


def test_statements_after_admin_create_table_are_their_own(spark, as_user):
    """Row 9 / rule 8: right after admin's CREATE TABLE (and CTAS, INSERT) on the same thread,
    bob's and alice's statements are decided as bob and alice: whoami, bob denied on hr.secret,
    alice masked on hr.emp, alice's INSERT INTO hr.emp denied."""
    for i in range(4):
        with as_user("admin"):
            spark.sql(f"CREATE TABLE sandbox.after_{i} (x int) USING parquet")
            spark.sql(f"INSERT INTO sandbox.after_{i} VALUES ({i})")
            spark.sql(f"CREATE TABLE sandbox.after_ctas_{i} USING parquet AS SELECT * FROM hr.secret")
        with as_user("bob"):
            assert rows(spark.sql("SELECT user FROM okera_sample.whoami")) == [("bob",)]
            denied(lambda: spark.sql("SELECT * FROM hr.secret").collect(), "bob", "hr.secret", absent=W.SECRET_VALUES)
            denied(lambda: spark.sql(f"SELECT * FROM sandbox.after_ctas_{i}").collect(), "bob",
                   f"sandbox.after_ctas_{i}", absent=W.SECRET_VALUES)
        with as_user("alice"):
            assert rows(spark.sql("SELECT user FROM okera_sample.whoami")) == [("alice",)]
            assert sorted(rows(spark.sql("SELECT * FROM hr.emp"))) == W.ALICE_EMP
            denied(lambda: spark.sql("INSERT INTO hr.emp VALUES (9, 'Zed', '999-99-9999', 'eng', 1)").collect(),
                   "alice", "hr.emp", ("INSERT", "ALL"))
    assert len(admin_rows(spark, "SELECT * FROM hr.emp")) == len(W.EMP)


def test_decisions_are_keyed_by_user_within_one_session(spark, as_user):
    """Rule 8: one job group (one planner session), users switched inside it: each statement gets
    its own user's decision, never a cached one of the previous user."""
    group = "notebook-" + uuid.uuid4().hex[:6]
    with as_user("admin", job_group=group):
        assert len(rows(spark.sql("SELECT * FROM hr.emp"))) == len(W.EMP)
    with as_user("alice", job_group=group):
        assert sorted(rows(spark.sql("SELECT * FROM hr.emp"))) == W.ALICE_EMP
    with as_user("bob", job_group=group):
        denied(lambda: spark.sql("SELECT * FROM hr.emp").collect(), "bob", "hr.emp", absent=W.EMP_RAW_SSN)
    with as_user("alice", job_group=group):
        assert sorted(rows(spark.sql("SELECT * FROM hr.emp"))) == W.ALICE_EMP


def test_decisions_are_keyed_by_groups(spark, as_user):
    """Rule 8: the groups are part of the identity: alice without her group is denied right after
    alice with it was allowed (no decision reused across groups)."""
    with as_user("alice"):
        assert sorted(rows(spark.sql("SELECT * FROM hr.emp"))) == W.ALICE_EMP
    with as_user("alice", groups=""):
        denied(lambda: spark.sql("SELECT * FROM hr.emp").collect(), "alice", "hr.emp", absent=W.EMP_RAW_SSN)


# ---------------------------------------------------------------------------------------------
# rule 9: settings users cannot change
# ---------------------------------------------------------------------------------------------

def test_planner_address_cannot_be_changed(spark, as_user):
    """Rule 9: spark.conf.set('spark.lakegate.planner', '127.0.0.1:1') changes nothing: bob is
    denied by the policy (not by an unreachable planner), alice still reads masked rows."""
    with session_conf(spark, "spark.lakegate.planner", "127.0.0.1:1"):
        with as_user("bob"):
            msg = denied(lambda: spark.sql("SELECT * FROM hr.secret").collect(), "bob", "hr.secret")
            assert "could not authorize" not in msg
        with as_user("alice"):
            assert sorted(rows(spark.sql("SELECT * FROM hr.emp"))) == W.ALICE_EMP


def test_user_property_setting_cannot_be_changed(spark, as_user):
    """Rule 9: pointing spark.lakegate.userProperty at a property bob controls (set to 'admin')
    does not make bob admin."""
    sc = spark.sparkContext
    with session_conf(spark, "spark.lakegate.userProperty", "lg.attacker"), as_user("bob"):
        sc.setLocalProperty("lg.attacker", "admin")
        try:
            assert rows(spark.sql("SELECT user FROM okera_sample.whoami")) == [("bob",)]
            denied(lambda: spark.sql("SELECT * FROM hr.secret").collect(), "bob", "hr.secret", absent=W.SECRET_VALUES)
        finally:
            sc.setLocalProperty("lg.attacker", None)


def _masked_or_failed(spark, sql: str) -> None:
    try:
        got = sorted(rows(spark.sql(sql)))
    except Exception as e:  # noqa: BLE001 — failing is allowed, returning raw is not
        no_raw(str(e), W.EMP_RAW_SSN)
        return
    no_raw(str(got), W.EMP_RAW_SSN)
    assert got == W.ALICE_EMP


def test_excluded_optimizer_rules_cannot_unmask(spark, as_user):
    """Rule 9: excluding lakegate's optimizer rule (spark.sql.optimizer.excludedRules) leaves
    alice's read of hr.emp masked and filtered, or failing — never raw."""
    with session_conf(spark, "spark.sql.optimizer.excludedRules",
                      "io.lakegate.spark.rule.RuleEliminateMarkers"), as_user("alice"):
        _masked_or_failed(spark, "SELECT * FROM hr.emp")


def test_hive_conversion_off_still_masked(spark, as_user):
    """Rule 9: spark.sql.hive.convertMetastoreParquet=false (a Hive SerDe scan instead of a file
    relation) leaves alice's read of the Hive table hr.emp_hive masked and filtered."""
    with session_conf(spark, "spark.sql.hive.convertMetastoreParquet", "false"), as_user("alice"):
        _masked_or_failed(spark, "SELECT * FROM hr.emp_hive")
    with as_user("bob"), session_conf(spark, "spark.sql.hive.convertMetastoreParquet", "false"):
        denied(lambda: spark.sql("SELECT * FROM hr.emp_hive").collect(), "bob", "hr.emp_hive", absent=W.EMP_RAW_SSN)


def test_stored_analyzed_temp_view_governed_for_reader(spark, as_user):
    """Rule 9: with spark.sql.legacy.storeAnalyzedPlanForView=true a temporary view keeps the plan
    admin's analysis produced (full access, so no lakegate marker); bob reading it is still denied."""
    with session_conf(spark, "spark.sql.legacy.storeAnalyzedPlanForView", "true"):
        with as_user("admin"):
            spark.sql("CREATE OR REPLACE TEMP VIEW tv_stored AS SELECT * FROM hr.secret")
        with as_user("bob"):
            denied(lambda: spark.sql("SELECT * FROM tv_stored").collect(), "bob", "hr.secret", absent=W.SECRET_VALUES)
