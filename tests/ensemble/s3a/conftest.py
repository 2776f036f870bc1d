"""Spark's s3a connector (hadoop-aws 3.3.4 with the AWS SDK for Java v1 on Spark 3.5, hadoop-aws 3.4.1
with the SDK v2 on Spark 4.0) through the real proxy with the
lakegate extension's OKERA_ENABLE_OKERA_FS: a planner, an ensemble and moto's S3 server as the
upstream, as processes; one local SparkSession (driver and executor threads in one JVM, tasks as
on a cluster) whose s3a the extension points at the proxy. Each user's requests are signed with
that user's access key, which the extension exchanges for the user's JWT (signing-key mode) and
hands to the query's tasks. scripts/ensemble-s3a-test.sh runs this with .venv-spark35 (pyspark)
and starts moto from .venv-ensemble."""

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procs import BIN, ROOT, clean_env, free_port, lakegate, wait_http  # noqa: E402
MOTO_PYTHON = os.environ.get("LAKEGATE_MOTO_PYTHON") or str(ROOT / ".venv-ensemble" / "bin" / "python")
# Set by scripts/ensemble-s3a-test.sh for the Spark line it runs (defaults: Spark 3.5).
S3A_JARS = os.environ.get("LAKEGATE_S3A_JARS") or str(ROOT / ".cache" / "jars" / "ensemble-s3a-3.5")
EXTENSION_JAR = os.environ.get("LAKEGATE_SPARK_JAR") or str(ROOT / "build" / "spark" / "lakegate-spark-3.5_2.12.jar")
USERS = {"admin": "admin", "alice": "analysts", "bob": "eng", "carol": "eng"}


class World:
    def __init__(self, root: Path):
        self.root, self.procs = root, []
        keys = root / "k"
        lakegate("keygen", "--out", str(keys))
        self.priv = keys / "jwt-private.pem"
        master = root / "master.key"
        lakegate("ensemble", "keygen", "--out", str(master))
        self.moto = f"http://127.0.0.1:{free_port()}"
        self._start([MOTO_PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", self.moto.rsplit(":", 1)[1]],
                    "moto", self.moto + "/moto-api/", clean_env())
        self.planner = f"127.0.0.1:{free_port()}"
        self._start([BIN, "serve", "--listen", self.planner, "--data-dir", str(root / "planner"),
                     "--jwt-public-key", str(keys / "jwt-public.pem"), "--trusted-proxy", "svc-ensemble"],
                    "planner", f"http://{self.planner}/readyz", clean_env())
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        self.ensemble = self._start([BIN, "ensemble", "--listen", self.endpoint[len("http://"):], "--planner", self.planner,
                     "--upstream", self.moto, "--upstream-style", "path", "--master-key-file", str(master),
                     "--data-dir", str(root / "ensemble"), "--log-level", os.environ.get("LAKEGATE_S3A_LOG_LEVEL", "info")],
                    "ensemble", self.endpoint + "/_lakegate/healthz",
                    clean_env(OKERA_TOKEN=self.token("svc-ensemble"), AWS_ACCESS_KEY_ID="moto", AWS_SECRET_ACCESS_KEY="moto",
                              AWS_REGION="us-east-1", AWS_CONFIG_FILE="/nonexistent",
                              AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true"))
        req = urllib.request.Request(self.moto + "/lake", method="PUT")
        urllib.request.urlopen(req, timeout=10).close()

    def _start(self, argv, name, ready, env):
        log = self.root / f"{name}.log"
        p = subprocess.Popen(argv, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_http(ready, p, log, name)
        return p

    def token(self, user, *groups):
        args = ["token", "--key", str(self.priv), "--user", user, "--ttl", "2h"]
        if groups:
            args += ["--groups", ",".join(groups)]
        return lakegate(*args).stdout.strip()

    def sql(self, stmts):
        lakegate("sql", stmts, env=clean_env(OKERA_PLANNER=self.planner, OKERA_TOKEN=self.token("root", "admin")))

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def world():
    for path, what in [(BIN, "make build"), (MOTO_PYTHON, "scripts/ensemble-env.sh")]:
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: run {what}")
    root = Path(tempfile.mkdtemp(prefix="lakegate-s3a-"))
    w = World(root)
    try:
        yield w
    finally:
        w.stop()
        if os.environ.get("LAKEGATE_S3A_KEEP"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def s3a_settings(endpoint: str) -> dict:
    return {
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https:")).lower(),
        "fs.s3a.aws.credentials.provider": "io.lakegate.spark.ensemble.UnboundCredentialsProvider",
        "fs.s3a.audit.enabled": "true",
        "fs.s3a.audit.service.classname": "io.lakegate.spark.ensemble.EnsembleAuditor",
        "fs.s3a.bucket.probe": "0",
    }


def spark_conf(world, root: Path) -> dict:
    jars = sorted(str(p) for p in Path(S3A_JARS).glob("*.jar"))
    if len(jars) < 2:
        pytest.fail(f"hadoop-aws and the AWS SDK bundle are missing in {S3A_JARS}: run scripts/ensemble-s3a-test.sh")
    if not os.path.isfile(EXTENSION_JAR):
        pytest.fail(f"the extension jar {EXTENSION_JAR} is missing: run spark/build.sh 3.5_2.12")
    return {
        "spark.jars": ",".join([EXTENSION_JAR, *jars]),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.sql.extensions": "io.lakegate.spark.LakegateSparkExtension",
        "spark.lakegate.planner": world.planner,
        "spark.lakegate.jwtSigningKey": str(world.priv),
        "spark.lakegate.groupsProperty": "groups",
        "spark.lakegate.okeraFs": "true",
        "spark.lakegate.ensemble": world.endpoint,
        "spark.plugins": "io.lakegate.spark.ensemble.EnsemblePlugin",
        # What the Databricks init script writes under OKERA_ENABLE_OKERA_FS (docs/ensemble.md):
        # s3a (and s3) reach storage through the proxy, with no credentials of their own; the
        # extension checks these are all there and refuses to start otherwise.
        **{"spark.hadoop." + k: v for k, v in s3a_settings(world.endpoint).items()},
        # Only to keep failures fast.
        "spark.hadoop.fs.s3a.attempts.maximum": "1",
        "spark.hadoop.fs.s3a.retry.limit": "1",
        "spark.hadoop.fs.s3a.directory.marker.retention": "keep",
    }


@pytest.fixture(scope="session")
def spark(world):
    from pyspark.sql import SparkSession
    b = SparkSession.builder.master("local[2]").appName("lakegate-ensemble-s3a")
    for k, v in spark_conf(world, world.root).items():
        b = b.config(k, v)
    s = b.getOrCreate()
    yield s
    s.stop()


@pytest.fixture
def as_user(spark):
    """as_user("alice") makes the following actions of this thread run as alice (the local
    properties a notebook platform sets for each command)."""
    def use(user: str):
        spark.sparkContext.setLocalProperty("user", user)
        spark.sparkContext.setLocalProperty("groups", USERS[user])
    yield use
    use("admin")
