"""From init script to query: the script runs unchanged in a sandbox for each authentication mode,
then a real local pyspark starts with exactly the configuration it wrote (the driver conf file) and
the jar it installed (on the driver's classpath, as /databricks/jars is on Databricks), against a
real planner, and runs `SELECT * FROM okera_sample.whoami` and a masked query for two users — the
way Databricks runs notebook commands, with the user in the Spark local property `user`.

Spark sessions are the expensive part, so: the four modes on runtime 15.4 (Spark 3.5 jar) run as
four SparkContexts one after the other in one pyspark 3.5 driver JVM, and runtime 17.3 (Spark 4.0
jar, script generated with --init-hms-schema) in one pyspark 4.0 driver JVM, both side by side.
No OKERA_*/LAKEGATE_* variable reaches Spark: whatever lakegate does there comes from the files.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import HERE, REPO, Sandbox, lakegate, sha256

import vectors as V

WHOAMI = "SELECT * FROM okera_sample.whoami"
USERS = "SELECT uid, gender, ccn FROM okera_sample.users"
VENVS = {"3.5": REPO / ".venv-spark35", "4.0": REPO / ".venv-spark40"}


def derby(path: Path) -> str:
    return f"jdbc:derby:;databaseName={path};create=true"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, libs, keys, planner, insecure_planner):
    """Run the init scripts, then the two driver JVMs; returns {context: [results]} and the sandboxes."""
    for line, venv in VENVS.items():
        if not (venv / "bin" / "python").exists():
            pytest.fail(f"{venv} is missing: scripts/spark-env.sh {line} creates it")
    base = tmp_path_factory.mktemp("spark-sandboxes")
    hms35 = derby(base / "metastore35")
    # The runtime-17.3 cluster's script is generated with --init-hms-schema (its first start).
    hms_script = base / "init-hms" / "lakegate-init.sh"
    hms_script.parent.mkdir()
    hms_script.write_text(lakegate("databricks", "init-script", "--libs-from", "dbfs:/lakegate",
                                   "--jars-dir", str(libs.dir), "--init-hms-schema").stdout)
    pem = keys.private.read_text()  # what {{secrets/lakegate/jwt-signing-key}} resolves to
    clusters = {
        # name: (runtime, env of the cluster, planner, script)
        "signing_key": ("15.4", {"LAKEGATE_AUTH_MODE": "signing-key", "LAKEGATE_JWT_SIGNING_KEY": pem,
                                 "LAKEGATE_HMS_JDBC_URL": hms35}, planner, None),
        "cluster_token": ("15.4", {"LAKEGATE_AUTH_MODE": "cluster-token", "LAKEGATE_CLUSTER_TOKEN": keys.token("alice"),
                                   "LAKEGATE_HMS_JDBC_URL": hms35}, planner, None),
        "okera_token": ("15.4", {"OKERA_TOKEN": keys.token("bob"), "LAKEGATE_HMS_JDBC_URL": hms35}, planner, None),
        "self_signed": ("15.4", {"LAKEGATE_AUTH_MODE": "self-signed", "LAKEGATE_SELF_SIGNED": "true",
                                 "LAKEGATE_HMS_JDBC_URL": hms35}, insecure_planner, None),
        "dbr17_signing_key": ("17.3", {"LAKEGATE_JWT_SIGNING_KEY": pem,
                                       "LAKEGATE_HMS_JDBC_URL": derby(base / "metastore40")}, planner, hms_script),
    }
    boxes = {}
    for name, (runtime, env, pl, script) in clusters.items():
        sb = Sandbox(base / name, libs)
        p = sb.run({"DATABRICKS_RUNTIME_VERSION": runtime, "DB_IS_DRIVER": "TRUE", "OKERA_PLANNER": pl.address, **env},
                   script=script)
        assert p.returncode == 0, f"init script for {name}: {p.stderr}"
        boxes[name] = sb

    admin_setup = [{"user": "admin", "load_sample": True}, {"user": "admin", "sql": USERS}]
    per_user = [{"user": "alice", "sql": WHOAMI}, {"user": "bob", "sql": WHOAMI},
                {"user": "alice", "sql": USERS}, {"user": "bob", "sql": USERS}]
    jvms = {
        "3.5": [
            {"name": "signing_key", "steps": admin_setup + per_user},
            {"name": "cluster_token", "steps": per_user},
            {"name": "okera_token", "steps": per_user},
            {"name": "self_signed", "steps": per_user},
        ],
        "4.0": [{"name": "dbr17_signing_key", "steps": admin_setup + per_user}],
    }

    def run_jvm(line):
        spec = {"contexts": [{**c, "root": str(boxes[c["name"]].root)} for c in jvms[line]]}
        path = base / f"spec-{line}.json"
        path.write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OKERA_", "LAKEGATE_", "PYSPARK_"))}
        env.update({"SPARK_LOCAL_IP": "127.0.0.1", "PYTHONDONTWRITEBYTECODE": "1",
                    "PYSPARK_PYTHON": str(VENVS[line] / "bin" / "python")})
        env.pop("SPARK_HOME", None)
        if not env.get("JAVA_HOME") and Path("/usr/lib/jvm/java-17-openjdk-amd64").is_dir():
            env["JAVA_HOME"] = "/usr/lib/jvm/java-17-openjdk-amd64"
        t0 = time.monotonic()
        p = subprocess.run([str(VENVS[line] / "bin" / "python"), str(HERE / "sandbox_spark.py"), "--spec", str(path)],
                           env=env, capture_output=True, text=True, timeout=600)
        print(f"driver JVM (pyspark {line}): {time.monotonic() - t0:.1f}s rc={p.returncode}")
        out = {}
        for ln in p.stdout.splitlines():
            if ln.startswith("RESULT "):
                _, ctx, js = ln.split(" ", 2)
                out.setdefault(ctx, []).append(json.loads(js))
        for c in jvms[line]:
            out.setdefault(c["name"], [])
            if len(out[c["name"]]) != 1 + len(c["steps"]):
                pytest.fail(f"context {c['name']} did not run through (rc {p.returncode}):\n{p.stderr[-4000:]}")
        return out

    results = {}
    with ThreadPoolExecutor(max_workers=2) as ex:
        for r in ex.map(run_jvm, jvms):
            results.update(r)
    return {"results": results, "boxes": boxes}


def started(runs, name):
    """(what the SparkContext held, the step results) of one context."""
    head, *steps = runs["results"][name]
    return head, steps


def rows(r):
    assert "rows" in r, r.get("error")
    return [tuple(x) for x in r["rows"]]


def denied(r, user):
    assert "rows" not in r, f"{user} read data: {r}"
    assert "lakegate:" in r["error"] and f'user "{user}"' in r["error"] and "may not SELECT" in r["error"], r["error"]


def alice_view(raw):
    return sorted((u, g, V.mask_ccn(c)) for (u, g, c) in raw if g == "F")


@pytest.fixture(scope="module")
def raw(runs):
    _, steps = started(runs, "signing_key")
    r = rows(steps[1])
    assert len(r) == 300
    return r


def test_spark_runs_exactly_what_the_script_wrote(runs):
    for name, sb in runs["boxes"].items():
        head, _ = started(runs, name)
        written = {k: v for k, v in sb.conf().items() if k.startswith("spark.lakegate.") or k == "spark.sql.extensions"}
        assert head["conf"] == written, name  # nothing more, nothing less: no leak between contexts
        [jar] = sb.jars()
        # the first context of a JVM put its sandbox's jars on the classpath; every other script
        # installed a byte-identical jar
        assert sha256(sb.root / "databricks" / "jars" / jar) == sha256(sb.libs.jar(jar[len("lakegate-spark-"):-4]))
    assert started(runs, "signing_key")[0]["jars"][0].endswith("/signing_key/databricks/jars/lakegate-spark-3.5_2.12.jar")
    assert started(runs, "dbr17_signing_key")[0]["jars"][0].endswith("lakegate-spark-4.0_2.13.jar")


@pytest.mark.parametrize("name", ["signing_key", "self_signed", "dbr17_signing_key"])
def test_per_user_modes(runs, raw, name):
    """Signing key (High Concurrency) and self-signed: each notebook user is themself."""
    _, steps = started(runs, name)
    if name == "dbr17_signing_key":
        assert rows(steps[1]) == raw  # the admin's raw read on the Spark 4.0 cluster
        steps = steps[2:]
    elif name == "signing_key":
        steps = steps[2:]
    who_alice, who_bob, users_alice, users_bob = steps
    assert rows(who_alice) == [("alice",)] and rows(who_bob) == [("bob",)]
    assert sorted(rows(users_alice)) == alice_view(raw)
    denied(users_bob, "bob")


def test_cluster_token_is_one_identity(runs, raw):
    """Cluster token (alice's): whoever runs the command, the planner sees alice."""
    _, (who_alice, who_bob, users_alice, users_bob) = started(runs, "cluster_token")
    assert rows(who_alice) == rows(who_bob) == [("alice",)]
    assert sorted(rows(users_alice)) == sorted(rows(users_bob)) == alice_view(raw)


def test_okera_token_is_one_identity(runs):
    """OKERA_TOKEN (bob's): every command runs as bob, who may not read the table."""
    _, (who_alice, who_bob, users_alice, users_bob) = started(runs, "okera_token")
    assert rows(who_alice) == rows(who_bob) == [("bob",)]
    denied(users_alice, "bob")
    denied(users_bob, "bob")


def test_hms_schema_settings_reached_spark(runs):
    sb = runs["boxes"]["dbr17_signing_key"]
    assert sb.conf()["spark.hadoop.datanucleus.autoCreateSchema"] == "true"
    assert (sb.root.parent / "metastore40").is_dir()  # the metastore the written settings named
