"""The init script, run unchanged under /bin/sh (dash) in a sandbox: the jar each runtime gets, the
configuration and the secret files it writes, and every way it refuses to let a cluster start.
Security checks name the attack they stop."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import JARS_DIR, LIBS_FROM, Sandbox, lakegate, sha256

import harness as h

# -- runtimes ------------------------------------------------------------------------------------

# (how the node tells its runtime, the value) → the jar it must get. Databricks says it in the
# environment (DATABRICKS_RUNTIME_VERSION), in /databricks/DBR_VERSION, and, with the Scala
# version, in /databricks/common/conf/deploy.conf; the Scala library it ships is the last hint.
SUPPORTED = [
    ("env", "15.4", "3.5_2.12"),
    ("env", "15.4.x-photon-scala2.12", "3.5_2.12"),
    ("file", "16.4", "3.5_2.12"),
    ("file+deploy", ("16.4", "16.4.x-scala2.13"), "3.5_2.13"),
    ("deploy", "16.4.x-scala2.13", "3.5_2.13"),
    ("env+scala-library", ("16.4", "2.13.16"), "3.5_2.13"),
    ("env+scala-library", ("16.4", "2.12.18"), "3.5_2.12"),
    ("env", "17.3", "4.0_2.13"),
    ("deploy", "17.3.x-scala2.13", "4.0_2.13"),
]

UNSUPPORTED = [
    ("env", "14.3", "not supported"),
    ("env", "18.0", "not supported"),
    ("deploy", "13.3.x-scala2.12", "not supported"),
    ("env", "15.4.x-scala2.13", "Scala 2.13"),
    ("deploy", "17.3.x-scala2.12", "Scala 2.12"),
    ("env", "latest", "not a version number"),
    ("none", None, "cannot tell the Databricks runtime"),
]


def token_env(keys, user="svc") -> dict:
    return {"OKERA_TOKEN": keys.token(user)}


def set_runtime(sb: Sandbox, how: str, value) -> dict:
    env = {}
    if how == "env":
        env["DATABRICKS_RUNTIME_VERSION"] = value
    elif how == "file":
        sb.dbr_version_file(value)
    elif how == "file+deploy":
        sb.dbr_version_file(value[0])
        sb.deploy_conf(value[1])
    elif how == "deploy":
        sb.deploy_conf(value)
    elif how == "env+scala-library":
        env["DATABRICKS_RUNTIME_VERSION"] = value[0]
        # a jar named as Databricks names its Scala library in /databricks/jars
        sb.write("databricks/jars/----ws_3_5--maven-trees--org.scala-lang--scala-library--"
                 f"org.scala-lang__scala-library__{value[1]}.jar", "")
    return env


@pytest.mark.parametrize("how,value,variant", SUPPORTED, ids=[f"{a}-{b}" for a, b, _ in SUPPORTED])
def test_supported_runtime_gets_its_jar(sandbox, planner, keys, how, value, variant):
    env = {"OKERA_PLANNER": planner.address, **token_env(keys), **set_runtime(sandbox, how, value)}
    p = sandbox.run(env)
    assert p.returncode == 0, p.stderr
    assert sandbox.jars() == [f"lakegate-spark-{variant}.jar"]
    assert sha256(sandbox.root / "databricks/jars" / f"lakegate-spark-{variant}.jar") == \
        sha256(sandbox.libs.jar(variant))
    assert f"Spark {variant.split('_')[0]} jar" in p.stdout


@pytest.mark.parametrize("how,value,why", UNSUPPORTED, ids=[f"{a}-{b}" for a, b, _ in UNSUPPORTED])
def test_unsupported_runtime_fails_the_start(sandbox, planner, keys, how, value, why):
    env = {"OKERA_PLANNER": planner.address, **token_env(keys), **set_runtime(sandbox, how, value)}
    p = sandbox.run(env)
    assert p.returncode != 0
    assert why in p.stderr, p.stderr
    assert "supported: 15.x (Spark 3.5, Scala 2.12), 16.x (Spark 3.5, Scala 2.12 or 2.13), 17.x (Spark 4.0, Scala 2.13)" \
        in p.stderr, p.stderr
    assert sandbox.jars() == [] and not sandbox.conf_file.exists()
    assert why in sandbox.log()


def test_jar_variant_override(sandbox, planner, keys):
    env = {"OKERA_PLANNER": planner.address, **token_env(keys), "DATABRICKS_RUNTIME_VERSION": "18.0"}
    p = sandbox.run({**env, "LAKEGATE_JAR_VARIANT": "4.0_2.13"})
    assert p.returncode == 0, p.stderr
    assert sandbox.jars() == ["lakegate-spark-4.0_2.13.jar"]
    p = sandbox.run({**env, "LAKEGATE_JAR_VARIANT": "9.9_2.12"})
    assert p.returncode != 0 and "not a lakegate jar" in p.stderr


# -- what the driver gets ------------------------------------------------------------------------

def test_signing_key_mode_writes_conf_and_a_root_only_key(sandbox, planner, keys):
    """Attacks stopped: the private key (which can sign a token for any user) ending up in a
    world-readable file — the driver conf directory, the init script log that cluster log delivery
    copies to DBFS, the script's output — where notebook users or log readers would find it."""
    pem = keys.private.read_text()
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address,
                     "LAKEGATE_JWT_SIGNING_KEY": pem, "LAKEGATE_AUTH_MODE": "signing-key",
                     "LAKEGATE_TOKEN_TTL_SECONDS": "120", "OKERA_BUILTINS_DB": "okera_udfs"})
    assert p.returncode == 0, p.stderr
    key_file = sandbox.secrets_dir / "LAKEGATE_JWT_SIGNING_KEY"
    assert sandbox.conf() == {
        "spark.sql.extensions": "io.lakegate.spark.LakegateSparkExtension",
        "spark.lakegate.planner": planner.address,
        "spark.lakegate.authMode": "signing-key",
        "spark.lakegate.jwtSigningKey": str(key_file),
        "spark.lakegate.tokenTtlSeconds": "120",
        "spark.lakegate.builtinsDb": "okera_udfs",
    }
    assert key_file.read_text().strip() == pem.strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(sandbox.secrets_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(sandbox.secrets_dir.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(sandbox.conf_file.stat().st_mode) == 0o644
    body = pem.strip().splitlines()[1]  # a line of the key's base64
    for f in sandbox.written():
        if f != key_file:
            assert body not in f.read_text(errors="replace"), f"key material in {f}"
            assert not (stat.S_IMODE(f.stat().st_mode) & 0o002), f"{f} is world-writable"
    assert body not in p.stdout and body not in p.stderr
    assert f"the planner at {planner.address} answers" in sandbox.log()


@pytest.mark.parametrize("env_name,conf_key", [("OKERA_TOKEN", "spark.lakegate.token"),
                                               ("LAKEGATE_CLUSTER_TOKEN", "spark.lakegate.clusterToken")])
def test_tokens_go_to_root_only_files(sandbox, planner, keys, env_name, conf_key):
    """Attack stopped: a token readable from the conf file or the logs by anyone on the node."""
    tok = keys.token("svc_etl")
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, env_name: tok})
    assert p.returncode == 0, p.stderr
    f = Path(sandbox.conf()[conf_key])
    assert f.parent == sandbox.secrets_dir and f.read_text().strip() == tok
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    for g in sandbox.written():
        if g != f:
            assert tok not in g.read_text(errors="replace"), g
    assert tok not in p.stdout + p.stderr


def test_key_given_as_a_file_is_copied(sandbox, planner, keys):
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address,
                     "LAKEGATE_JWT_SIGNING_KEY": str(keys.private)})
    assert p.returncode == 0, p.stderr
    f = Path(sandbox.conf()["spark.lakegate.jwtSigningKey"])
    assert f.read_bytes() == keys.private.read_bytes() and stat.S_IMODE(f.stat().st_mode) == 0o600


def test_self_signed_mode_warns(sandbox, insecure_planner):
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": insecure_planner.address,
                     "LAKEGATE_AUTH_MODE": "self-signed", "LAKEGATE_SELF_SIGNED": "true"})
    assert p.returncode == 0, p.stderr
    assert "proofs of concept only" in p.stdout and "--insecure-accept-self-signed" in p.stdout
    assert sandbox.conf()["spark.lakegate.selfSigned"] == "true"
    assert list(sandbox.secrets_dir.iterdir()) == []


def test_metastore_settings_and_init_hms_schema(tmp_path, libs, planner, keys):
    """--init-hms-schema adds the two schema settings (and says to remove them); metastore
    settings come from LAKEGATE_HMS_*; the metastore password is never read from the environment."""
    plain = Sandbox(tmp_path / "plain", libs)
    env = {"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, **token_env(keys),
           "LAKEGATE_HMS_JDBC_URL": "jdbc:mysql://hms.example.com:3306/metastore",
           "LAKEGATE_HMS_JDBC_DRIVER": "org.mariadb.jdbc.Driver", "LAKEGATE_HMS_JDBC_USER": "hive",
           "LAKEGATE_HMS_VERSION": "2.3.9", "LAKEGATE_HMS_JARS": "builtin",
           "LAKEGATE_HMS_JDBC_PASSWORD": "s3cret"}
    assert plain.run(env).returncode == 0
    conf = plain.conf()
    assert {k: v for k, v in conf.items() if "lakegate" not in k and k != "spark.sql.extensions"} == {
        "spark.hadoop.javax.jdo.option.ConnectionURL": "jdbc:mysql://hms.example.com:3306/metastore",
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.mariadb.jdbc.Driver",
        "spark.hadoop.javax.jdo.option.ConnectionUserName": "hive",
        "spark.sql.hive.metastore.version": "2.3.9",
        "spark.sql.hive.metastore.jars": "builtin",
    }
    assert "s3cret" not in plain.conf_file.read_text() + plain.log()

    stage = tmp_path / "hms-stage"
    gen = lakegate("databricks", "init-script", "--libs-from", LIBS_FROM, "--init-hms-schema")
    assert "remove" in gen.stderr.lower() and "--init-hms-schema" in gen.stderr
    stage.mkdir()
    (stage / "lakegate-init.sh").write_text(gen.stdout)
    hms = Sandbox(tmp_path / "hms", libs)
    p = hms.run(env, script=stage / "lakegate-init.sh")
    assert p.returncode == 0, p.stderr
    extra = {k: v for k, v in hms.conf().items() if k not in conf}
    assert extra == {"spark.hadoop.datanucleus.autoCreateSchema": "true",
                     "spark.hadoop.hive.metastore.schema.verification": "false"}
    assert "--init-hms-schema" in p.stdout


def test_conf_values_are_escaped(sandbox, planner, keys):
    """A value with quotes and backslashes is written so that it reads back unchanged; one with a
    line break is refused (it could otherwise add a setting of its own to the driver conf)."""
    odd = 'we"ird\\prop'
    env = {"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, **token_env(keys)}
    assert sandbox.run({**env, "LAKEGATE_USER_PROPERTY": odd}).returncode == 0
    assert sandbox.conf()["spark.lakegate.userProperty"] == odd
    p = sandbox.run({**env, "LAKEGATE_USER_PROPERTY": 'x"\n  "spark.lakegate.planner" = "evil:1'})
    assert p.returncode != 0 and "line break" in p.stderr


def test_worker_gets_the_jar_only(sandbox, planner, keys):
    """Workers run no queries of their own against the planner: they get the jar (for the masking
    expressions), never a key or the driver conf."""
    p = sandbox.run({"DB_IS_DRIVER": "FALSE", "DATABRICKS_RUNTIME_VERSION": "17.3", "OKERA_PLANNER": planner.address,
                     "LAKEGATE_JWT_SIGNING_KEY": keys.private.read_text()})
    assert p.returncode == 0, p.stderr
    assert sandbox.jars() == ["lakegate-spark-4.0_2.13.jar"]
    assert not sandbox.conf_file.exists() and not sandbox.secrets_dir.exists()


def test_restart_rewrites_everything(sandbox, planner, keys):
    """Nothing of a previous start survives: after the signing key is replaced by a cluster token and
    the runtime changes, the old key file, its setting and the old jar are gone."""
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address,
                     "LAKEGATE_JWT_SIGNING_KEY": keys.private.read_text(), "LAKEGATE_GROUPS_PROPERTY": "groups"})
    assert p.returncode == 0, p.stderr
    first_log = sandbox.log()
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "17.3", "OKERA_PLANNER": planner.address,
                     "LAKEGATE_CLUSTER_TOKEN": keys.token("svc")})
    assert p.returncode == 0, p.stderr
    conf = sandbox.conf()
    assert "spark.lakegate.jwtSigningKey" not in conf and "spark.lakegate.groupsProperty" not in conf
    assert conf["spark.lakegate.clusterToken"] == str(sandbox.secrets_dir / "LAKEGATE_CLUSTER_TOKEN")
    assert sorted(p.name for p in sandbox.secrets_dir.iterdir()) == ["LAKEGATE_CLUSTER_TOKEN"]
    assert sandbox.jars() == ["lakegate-spark-4.0_2.13.jar"]
    assert sorted(p.name for p in sandbox.conf_dir.iterdir()) == ["00-lakegate-spark.conf"]
    assert "lakegate-spark-3.5_2.12" not in sandbox.log() and sandbox.log() != first_log


# -- refusals: the cluster must not start --------------------------------------------------------

def refused(sb: Sandbox, p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode != 0, p.stdout
    for n in needles:
        assert n in p.stderr, p.stderr
    assert "cannot start" in p.stderr
    assert sb.jars() == [] and not sb.conf_file.exists() and not sb.secrets_dir.exists(), sb.written()


def test_missing_planner(sandbox, keys):
    """A cluster must not start half configured: it would look governed while every query fails."""
    refused(sandbox, sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", **token_env(keys)}),
            "OKERA_PLANNER is not set")


def test_unreachable_planner(sandbox, keys):
    port = h.free_port()  # nothing listens there
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", **token_env(keys), "OKERA_PLANNER": f"127.0.0.1:{port}",
                     "LAKEGATE_PLANNER_CHECK_ATTEMPTS": "2", "LAKEGATE_PLANNER_CHECK_TIMEOUT": "2"})
    refused(sandbox, p, f"the planner at 127.0.0.1:{port} (OKERA_PLANNER) is unreachable", "failed 2 time(s)")


@pytest.mark.parametrize("value,why", [("https://planner:12050", "plain HTTP"), ("planner host", "not a host:port"),
                                       ("planner:port", "not a number"), ("::1", "IPv6")])
def test_malformed_planner(sandbox, keys, value, why):
    refused(sandbox, sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", **token_env(keys), "OKERA_PLANNER": value}),
            why)


def test_planner_forms(sandbox, planner, keys):
    env = {"DATABRICKS_RUNTIME_VERSION": "15.4", **token_env(keys)}
    assert sandbox.run({**env, "OKERA_PLANNER": f"http://{planner.address}/"}).returncode == 0
    assert sandbox.conf()["spark.lakegate.planner"] == planner.address
    p = sandbox.run({**env, "OKERA_PLANNER": "127.0.0.1", "LAKEGATE_PLANNER_CHECK_ATTEMPTS": "1"})
    assert "127.0.0.1:12050" in p.stderr + p.stdout  # the default port


@pytest.mark.parametrize("env,why", [
    ({}, "no credentials"),
    ({"LAKEGATE_AUTH_MODE": "signing-key"}, "needs LAKEGATE_JWT_SIGNING_KEY"),
    ({"LAKEGATE_AUTH_MODE": "cluster-token"}, "needs LAKEGATE_CLUSTER_TOKEN"),
    ({"LAKEGATE_AUTH_MODE": "self-signed"}, "needs LAKEGATE_SELF_SIGNED=true"),
    ({"LAKEGATE_AUTH_MODE": "kerberos", "LAKEGATE_CLUSTER_TOKEN": "a.b.c"}, "unknown"),
    ({"LAKEGATE_JWT_SIGNING_KEY": "{{secrets/lakegate/jwt-signing-key}}"}, "unresolved reference"),
])
def test_credentials_checked(sandbox, planner, env, why):
    refused(sandbox, sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, **env}),
            why)


# -- file access through the ensemble (OKERA_ENABLE_OKERA_FS) ------------------------------------

class Ensemble:
    """A stand-in for the ensemble's health endpoint: GET /_lakegate/healthz answers `status`; the
    paths asked for are kept. The unit under test is the init script, not the proxy."""

    def __init__(self, status: int = 200):
        import http.server
        import threading

        self.status, self.paths = status, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.paths.append(self.path)
                code = outer.status if self.path == "/_lakegate/healthz" else 404
                self.send_response(code)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def ensemble():
    e = Ensemble()
    yield e
    e.stop()


FAST_CHECK = {"LAKEGATE_PLANNER_CHECK_ATTEMPTS": "1", "LAKEGATE_PLANNER_CHECK_TIMEOUT": "2"}


def okera_fs_env(planner, keys, url, runtime="15.4") -> dict:
    return {"DATABRICKS_RUNTIME_VERSION": runtime, "OKERA_PLANNER": planner.address, **token_env(keys),
            "OKERA_ENABLE_OKERA_FS": "true", "LAKEGATE_ENSEMBLE": url, **FAST_CHECK}


def okera_fs_conf(url: str) -> dict:
    """What the driver conf gains under OKERA_FS: the extension's two settings, its plugin, and
    s3a routed through the ensemble (what OkeraFs.install in lakegate-spark requires)."""
    s3a = {
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.endpoint": url,
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(url.startswith("https:")).lower(),
        "fs.s3a.aws.credentials.provider": "io.lakegate.spark.ensemble.UnboundCredentialsProvider",
        "fs.s3a.audit.enabled": "true",
        "fs.s3a.audit.service.classname": "io.lakegate.spark.ensemble.EnsembleAuditor",
        "fs.s3a.bucket.probe": "0",
    }
    return {"spark.lakegate.okeraFs": "true", "spark.lakegate.ensemble": url,
            "spark.plugins": "io.lakegate.spark.ensemble.EnsemblePlugin",
            **{"spark.hadoop." + k: v for k, v in s3a.items()}}


@pytest.mark.parametrize("runtime,variant", [("15.4", "3.5_2.12"), ("16.4.x-scala2.13", "3.5_2.13")])
def test_okera_fs_writes_the_extensions_settings(tmp_path, libs, planner, keys, ensemble, runtime, variant):
    """With a reachable ensemble, the driver conf is what it is without OKERA_FS plus the two
    settings the extension reads (the URL without its trailing slash), its plugin and the s3a
    routing, and nothing else."""
    off = Sandbox(tmp_path / "off", libs)
    p = off.run({"DATABRICKS_RUNTIME_VERSION": runtime, "OKERA_PLANNER": planner.address, **token_env(keys)})
    assert p.returncode == 0, p.stderr
    on = Sandbox(tmp_path / "on", libs)
    p = on.run(okera_fs_env(planner, keys, ensemble.url + "/", runtime))
    assert p.returncode == 0, p.stderr
    assert ensemble.paths == ["/_lakegate/healthz"]
    conf = on.conf()
    extra = {k: v for k, v in conf.items() if k not in off.conf()}
    assert extra == okera_fs_conf(ensemble.url)
    same = {k: v for k, v in conf.items() if k not in extra}
    assert set(same) == set(off.conf())
    assert {k: v for k, v in same.items() if k != "spark.lakegate.token"} == \
        {k: v for k, v in off.conf().items() if k != "spark.lakegate.token"}  # the token file is under each root
    assert not any("s3" in k for k in off.conf()), off.conf()
    assert on.jars() == [f"lakegate-spark-{variant}.jar"]
    assert f"the ensemble at {ensemble.url} answers ({ensemble.url}/_lakegate/healthz" in on.log()


def test_okera_fs_disabled_writes_nothing_new(sandbox, planner, keys, ensemble):
    """OKERA_ENABLE_OKERA_FS=false (what cluster-config sets without --okera-fs): no okeraFs or
    ensemble setting even with LAKEGATE_ENSEMBLE set, no check of the ensemble; and a restart
    with it switched off removes the settings an earlier start wrote."""
    env = okera_fs_env(planner, keys, ensemble.url)
    assert sandbox.run(env).returncode == 0
    assert sandbox.conf()["spark.lakegate.okeraFs"] == "true"
    ensemble.paths.clear()
    for off in ({**env, "OKERA_ENABLE_OKERA_FS": "false"}, {k: v for k, v in env.items() if k != "OKERA_ENABLE_OKERA_FS"}):
        p = sandbox.run(off)
        assert p.returncode == 0, p.stderr
        conf = sandbox.conf()
        assert not set(okera_fs_conf(ensemble.url)) & set(conf), conf
        assert "ensemble" not in sandbox.log()
    assert ensemble.paths == []


@pytest.mark.parametrize("status", [None, 503, 404])
def test_okera_fs_unreachable_ensemble_fails_the_start(sandbox, planner, keys, status):
    """Fail closed: files are governed only through the ensemble; a cluster that cannot reach it
    must not start (it would fail every file access, or someone would switch OKERA_FS off)."""
    if status is None:
        url = f"http://127.0.0.1:{h.free_port()}"  # nothing listens there
        e = None
    else:
        e = Ensemble(status)
        url = e.url
    try:
        p = sandbox.run(okera_fs_env(planner, keys, url))
    finally:
        if e:
            e.stop()
    refused(sandbox, p, f"the ensemble at {url} (LAKEGATE_ENSEMBLE) is unreachable", f"GET {url}/_lakegate/healthz failed")


BAD_ENSEMBLES = [
    (None, "needs LAKEGATE_ENSEMBLE"),
    ("", "needs LAKEGATE_ENSEMBLE"),
    ("ftp://ensemble.example.com:21", "not the ensemble's"),
    ("ensemble.example.com:5010", "not the ensemble's"),
    ("http://user:pw@ensemble.example.com:5010", "holds a character"),
    ("http://ensemble.example.com:5010/path", "has a path"),
    ("http://ensemble.example.com:5010?x=1", "holds a character"),
    ("http://ensemble.example.com:5010#f", "holds a character"),
    ('http://e:5010\n  "spark.lakegate.planner" = "evil:1', "holds a character"),
    ("http://e:5010\n", "holds a character"),
    (" http://e:5010", "holds a character"),
    ("http://e:0", "port"),
    ("http://e:65536", "port"),
    ("http://e:", "port is empty"),
    ("http://", "names no host"),
    ("http://-e:5010", "not a host name"),
    ("http://::1:5010", "brackets"),
    ("http://[zz]:5010", "not an IPv6 address"),
]


@pytest.mark.parametrize("value,why", BAD_ENSEMBLES, ids=[repr(v) for v, _ in BAD_ENSEMBLES])
def test_okera_fs_bad_ensemble_refused(sandbox, planner, keys, value, why):
    """Attacks stopped: user info in the URL (a credential in the driver conf and the logs), a
    line break or quote adding a setting of its own to the driver conf, a path or another scheme
    the extension would not use as an S3 endpoint."""
    env = okera_fs_env(planner, keys, value or "")
    if value is None:
        del env["LAKEGATE_ENSEMBLE"]
    p = sandbox.run(env)
    refused(sandbox, p, why, "LAKEGATE_ENSEMBLE", "https://ensemble.example.com:5010")
    assert "evil" not in sandbox.log()


def test_okera_fs_on_spark_40(sandbox, planner, keys, ensemble):
    """17.x (Spark 4.0, hadoop-aws 3.4 with the AWS SDK v2) gets the same settings."""
    p = sandbox.run(okera_fs_env(planner, keys, ensemble.url, runtime="17.3"))
    assert p.returncode == 0, p.stderr
    conf = sandbox.conf()
    assert {k: conf.get(k) for k in okera_fs_conf(ensemble.url)} == okera_fs_conf(ensemble.url)
    assert sandbox.jars() == ["lakegate-spark-4.0_2.13.jar"]


def test_okera_fs_worker_gets_the_jar_only(sandbox, keys):
    """Workers check the URL and the runtime but not the ensemble (the driver does)."""
    p = sandbox.run({"DB_IS_DRIVER": "FALSE", "DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": "127.0.0.1:1",
                     **token_env(keys), "OKERA_ENABLE_OKERA_FS": "true",
                     "LAKEGATE_ENSEMBLE": f"http://127.0.0.1:{h.free_port()}"})
    assert p.returncode == 0, p.stderr
    assert sandbox.jars() == ["lakegate-spark-3.5_2.12.jar"] and not sandbox.conf_file.exists()


def test_replaced_jar_refused(tmp_path, libs, planner, keys):
    """Attack stopped: whoever can write to the libs location swapping the jar for code of their own,
    which would run in the driver next to the signing key. The script pins each jar's SHA-256."""
    sb = Sandbox(tmp_path / "node", libs, link_libs=False)
    jar = sb.dbfs_libs / "lakegate-spark-3.5_2.12.jar"
    jar.write_bytes(jar.read_bytes() + b"\0")
    p = sb.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, **token_env(keys)})
    refused(sb, p, "was replaced or is corrupt")
    assert list((sb.root / "databricks" / "jars").iterdir()) == []  # no download left behind


def test_missing_jar_refused(tmp_path, libs, planner, keys):
    sb = Sandbox(tmp_path / "node", libs, link_libs=False)
    (sb.dbfs_libs / "lakegate-spark-4.0_2.13.jar").unlink()
    refused(sb, sb.run({"DATABRICKS_RUNTIME_VERSION": "17.3", "OKERA_PLANNER": planner.address, **token_env(keys)}),
            "lakegate-spark-4.0_2.13.jar is not in the libs location dbfs:/lakegate", "upload-libs")


# -- portability ---------------------------------------------------------------------------------

def tools_path(tmp_path: Path, drop: set[str]) -> str:
    """A PATH holding the tools of a node without those in `drop`."""
    d = tmp_path / "bin"
    d.mkdir()
    for t in ("sh", "date", "mkdir", "cat", "head", "tr", "sed", "cut", "cp", "mv", "rm", "chmod", "sleep",
              "sha256sum", "tail", "curl", "wget", "python3", "nc"):
        src = "/usr/bin/python3" if t == "python3" and os.path.exists("/usr/bin/python3") else shutil.which(t)
        if src and t not in drop:
            (d / t).symlink_to(src)
    return str(d)


@pytest.mark.parametrize("tool", ["wget", "python3"])
def test_planner_check_falls_back(tmp_path, sandbox, planner, keys, tool):
    """Without curl the check uses wget, then python3; unreachable is still unreachable."""
    if not shutil.which(tool):
        pytest.fail(f"{tool} is needed for this test (it is on Databricks nodes)")
    drop = {"curl", "wget", "nc"} - {tool}
    path = tools_path(tmp_path, drop)
    env = {"DATABRICKS_RUNTIME_VERSION": "15.4", **token_env(keys)}
    p = sandbox.run({**env, "OKERA_PLANNER": planner.address}, path=path)
    assert p.returncode == 0, p.stderr
    assert f"checked with {tool}" in p.stdout
    port = h.free_port()
    p = sandbox.run({**env, "OKERA_PLANNER": f"127.0.0.1:{port}", "LAKEGATE_PLANNER_CHECK_ATTEMPTS": "1"}, path=path)
    assert p.returncode != 0 and "unreachable" in p.stderr and f"({tool}:" in p.stderr


@pytest.mark.parametrize("tool", ["wget", "python3"])
def test_ensemble_check_falls_back(tmp_path, sandbox, planner, keys, ensemble, tool):
    path = tools_path(tmp_path, {"curl", "wget", "nc"} - {tool})
    p = sandbox.run(okera_fs_env(planner, keys, ensemble.url), path=path)
    assert p.returncode == 0, p.stderr
    assert f"the ensemble at {ensemble.url} answers" in p.stdout and f"checked with {tool}" in p.stdout
    ensemble.status = 503
    p = sandbox.run(okera_fs_env(planner, keys, ensemble.url), path=path)
    assert p.returncode != 0 and "(LAKEGATE_ENSEMBLE) is unreachable" in p.stderr and f"({tool}:" in p.stderr


def test_ensemble_check_needs_an_http_tool(tmp_path, sandbox, planner, keys, ensemble):
    """nc sees an open port, not an answering ensemble: without curl, wget and python3 the start
    fails (the planner check, by contrast, warns and goes on)."""
    path = tools_path(tmp_path, {"curl", "wget", "python3"})
    refused(sandbox, sandbox.run(okera_fs_env(planner, keys, ensemble.url), path=path),
            "none of curl, wget, python3 is on this node: cannot check that the ensemble")


def test_no_probe_tool_warns_and_continues(tmp_path, sandbox, planner, keys):
    path = tools_path(tmp_path, {"curl", "wget", "python3", "nc"})
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "15.4", "OKERA_PLANNER": planner.address, **token_env(keys)},
                    path=path)
    assert p.returncode == 0, p.stderr
    assert "cannot check that the planner" in p.stdout


def test_runs_under_bash_too(sandbox, planner, keys):
    p = sandbox.run({"DATABRICKS_RUNTIME_VERSION": "16.4", "OKERA_PLANNER": planner.address, **token_env(keys)},
                    shell="bash")
    assert p.returncode == 0, p.stderr
    assert sandbox.jars() == ["lakegate-spark-3.5_2.12.jar"] and sandbox.conf_file.exists()


@pytest.mark.parametrize("args", [[], ["--init-hms-schema"], ["--libs-from", "s3://acme-lakegate/libs"],
                                  ["--libs-from", "/Volumes/main/lakegate/libs"], ["--jars-dir", "@jars"]],
                         ids=["default", "init-hms-schema", "s3", "volume", "pinned"])
def test_shellcheck_clean(tmp_path, args):
    sc = shutil.which("shellcheck")
    if not sc:
        pytest.fail("shellcheck is missing: scripts/databricks-test.sh installs it (apt-get install shellcheck)")
    args = [str(JARS_DIR) if a == "@jars" else a for a in args]
    f = tmp_path / "lakegate-init.sh"
    f.write_text(lakegate("databricks", "init-script", *args).stdout)
    p = subprocess.run([sc, "--shell=sh", "--severity=style", str(f)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f.read_text().startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", f.read_text(), re.M)


def test_libs_over_https(tmp_path, libs, planner, keys):
    """--libs-from https://…: the jar comes over TLS (curl, checked against the CA the node trusts)
    and must still match the pinned SHA-256."""
    import http.server
    import ssl
    import threading

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    served = tmp_path / "www"
    shutil.copytree(libs.dir, served / "lakegate")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"https://localhost:{srv.server_address[1]}/lakegate"
        script = tmp_path / "lakegate-init.sh"
        script.write_text(lakegate("databricks", "init-script", "--libs-from", url, "--jars-dir", str(JARS_DIR)).stdout)
        sb = Sandbox(tmp_path / "node", libs)
        env = {"DATABRICKS_RUNTIME_VERSION": "17.3", "OKERA_PLANNER": planner.address, **token_env(keys),
               "CURL_CA_BUNDLE": str(cert)}
        p = sb.run(env, script=script)
        assert p.returncode == 0, p.stderr
        assert sb.jars() == ["lakegate-spark-4.0_2.13.jar"]
        assert sha256(sb.root / "databricks/jars/lakegate-spark-4.0_2.13.jar") == sha256(libs.jar("4.0_2.13"))
        # a server the node does not trust: refused
        p = sb.run({k: v for k, v in env.items() if k != "CURL_CA_BUNDLE"}, script=script)
        assert p.returncode != 0 and f"downloading {url}/lakegate-spark-4.0_2.13.jar failed" in p.stderr
        # a jar that is not the pinned one: refused
        jar = served / "lakegate" / "lakegate-spark-4.0_2.13.jar"
        jar.write_bytes(b"not the jar")
        p = sb.run(env, script=script)
        assert p.returncode != 0 and "was replaced or is corrupt" in p.stderr
    finally:
        srv.shutdown()
