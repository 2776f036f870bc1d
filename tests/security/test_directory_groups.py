"""Groups from the directory, end to end (issue 14).

A shared cluster's tokens name the user and nothing else: here the Spark session signs tokens with
no groups at all (no `groupsProperty`). The planner asks a real OpenLDAP (scripts/slapd.sh, loaded
with testdata/ldap/directory.ldif) for each user's groups and attributes:

- alice is in `analysts` only in the directory, and `l: eu` there: she reads dirdemo.emp masked and
  filtered to her region through the role granted to that group;
- bob is in the directory but not in `analysts`: denied;
- removed from `analysts` in the directory (LDAP modify), alice is denied within the caches' TTLs;
- the directory down with no stale window: her query fails, with the reason, instead of running
  with fewer groups.

The admin's own group comes from a groups file (the second source, combined with LDAP).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import harness as h

ROOT = Path(__file__).resolve().parents[2]
SLAPD = ROOT / "scripts" / "slapd.sh"
EMP = [(1, "Ann", "111-22-3333", "eu"), (2, "Ben", "222-33-4444", "us"), (3, "Cid", "333-44-5555", "eu")]


@pytest.fixture(scope="module")
def ldap(workdir):
    if subprocess.run(["bash", "-c", "command -v slapd || test -x /usr/sbin/slapd"], capture_output=True).returncode:
        if os.environ.get("LAKEGATE_REQUIRE_SLAPD") == "1":
            pytest.fail("slapd is not installed (scripts/ensure-slapd.sh)")
        pytest.skip("slapd is not installed: scripts/ensure-slapd.sh")
    d = workdir / "slapd"
    subprocess.run([str(SLAPD), "start", str(d), str(h.free_port()), str(h.free_port())], check=True,
                   capture_output=True)
    env = dict(line.split("=", 1) for line in (d / "env").read_text().splitlines() if "=" in line)
    env["dir"] = str(d)
    yield env
    subprocess.run([str(SLAPD), "stop", str(d)], check=False)


def ldap_modify(ldap, ldif: str) -> None:
    subprocess.run(["ldapmodify", "-x", "-H", ldap["LDAP_URL"], "-D", ldap["LDAP_ROOT_DN"], "-w",
                    ldap["LDAP_ROOT_PASSWORD"]], input=ldif, text=True, check=True, capture_output=True)


@pytest.fixture(scope="module")
def planner(keys, workdir, ldap):
    password = workdir / "ldap-password"
    password.write_text(ldap["LDAP_BIND_PASSWORD"] + "\n")
    groups = workdir / "groups.yaml"
    groups.write_text("users:\n  admin:\n    groups: [admin]\n")
    p = h.Planner(workdir, keys, extra=[
        "--ldap-url", ldap["LDAPS_URL"], "--ldap-ca-file", ldap["LDAP_CA"],
        "--ldap-bind-dn", ldap["LDAP_BIND_DN"], "--ldap-bind-password-file", str(password),
        "--ldap-user-base", "ou=people,dc=example,dc=com", "--ldap-group-base", "ou=groups,dc=example,dc=com",
        "--ldap-attribute", "region=l", "--groups-file", str(groups),
        "--groups-cache-ttl", "1s", "--groups-stale-for", "-1s"]).start()
    p.sql("""CREATE ATTRIBUTE IF NOT EXISTS pii.ssn; CREATE ROLE dir_analyst;
             GRANT ROLE dir_analyst TO GROUP analysts""")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def spark(jar, planner, workdir):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = h.spark_conf(workdir, planner, extra={"spark.lakegate.cacheTtlMs": "500"})
    del conf["spark.lakegate.groupsProperty"]  # tokens carry the user's name only
    conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = "jdbc:derby:memory:metastore_db;create=true"
    s = h.start_spark(conf)
    with h.as_user(s, "admin"):
        s.sql("CREATE DATABASE dirdemo")
        s.createDataFrame(EMP, "emp_id int, name string, ssn string, region string") \
            .write.format("parquet").saveAsTable("dirdemo.emp")
    planner.wait_known("dirdemo", "emp")
    planner.sql("""ALTER TABLE dirdemo.emp ADD COLUMN ATTRIBUTE ssn pii.ssn;
                   GRANT SELECT ON TABLE dirdemo.emp TRANSFORM pii.ssn WITH mask()
                     WHERE region = user_attribute('region') TO ROLE dir_analyst""")
    yield s
    h.stop_spark(s)


def read_as(spark, user: str):
    with h.as_user(spark, user):
        return sorted(tuple(r) for r in spark.sql("SELECT * FROM dirdemo.emp").collect())


def test_groups_and_attributes_come_from_the_directory(spark, planner):
    # alice: analysts (LDAP) → dir_analyst; region eu (LDAP's l) → her rows; ssn masked.
    assert read_as(spark, "alice") == [(1, "Ann", "xxxxxxxxxxx", "eu"), (3, "Cid", "xxxxxxxxxxx", "eu")]
    who = planner.api("WhoAmI", {}, planner.keys.token("alice"))
    assert "analysts" in who["groups"] and "dir_analyst" in who["roles"], who
    with pytest.raises(Exception) as denied:
        read_as(spark, "bob")
    assert "bob" in str(denied.value) and "dirdemo.emp" in str(denied.value)


def test_removed_in_the_directory_is_denied_within_the_ttl(spark, planner, ldap):
    assert read_as(spark, "alice")
    ldap_modify(ldap, "dn: cn=analysts,ou=groups,dc=example,dc=com\nchangetype: modify\n"
                      "replace: member\nmember: uid=carol,ou=people,dc=example,dc=com\n")
    deadline = time.monotonic() + 20  # the planner's groups TTL (1 s) and the extension's cache (0.5 s)
    while True:
        try:
            read_as(spark, "alice")
        except Exception as e:  # noqa: BLE001 — the denial is what we wait for
            assert "alice" in str(e), e
            break
        assert time.monotonic() < deadline, "alice still reads dirdemo.emp after leaving analysts"
        time.sleep(0.5)


def test_directory_down_fails_closed(spark, planner, ldap):
    ldap_modify(ldap, "dn: cn=analysts,ou=groups,dc=example,dc=com\nchangetype: modify\n"
                      "add: member\nmember: uid=alice,ou=people,dc=example,dc=com\n")
    deadline = time.monotonic() + 20
    while True:
        try:
            if read_as(spark, "alice"):
                break
        except Exception:  # noqa: BLE001 — back in analysts within the TTLs
            pass
        assert time.monotonic() < deadline, "alice was not let back in"
        time.sleep(0.5)
    subprocess.run([str(SLAPD), "stop", ldap["dir"]], check=True)
    deadline = time.monotonic() + 20
    while True:
        try:
            read_as(spark, "alice")
        except Exception as e:  # noqa: BLE001
            assert "cannot tell which groups alice is in" in str(e), e
            break
        assert time.monotonic() < deadline, "alice still reads with the directory down"
        time.sleep(0.5)
