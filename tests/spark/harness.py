"""Helpers of the Spark end-to-end suite: the real planner process, its keys and tokens, its JSON
API, and local SparkSessions (embedded Derby metastore, Delta, the lakegate extension).

Nothing here fakes a component: the planner is bin/lakegate, Spark is the venv's pyspark, Delta is
Delta's own jars, the metastore is Hive's with Derby.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LAKEGATE_BIN", REPO / "bin" / "lakegate"))
USERS_PARQUET = REPO / "data" / "okera_sample" / "users.parquet"
VECTORS = REPO / "testdata" / "builtins" / "vectors.json"

# The Spark line under test, set by scripts/spark-test.sh (else derived from the venv's pyspark).
LINES = {"3.5": "2.12", "4.0": "2.13"}
EXTENSION_CLASS = "io.lakegate.spark.LakegateSparkExtension"
DELTA_EXTENSION_CLASS = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG_CLASS = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def spark_line() -> str:
    line = os.environ.get("LAKEGATE_SPARK_LINE")
    if line:
        return line
    import pyspark

    return ".".join(pyspark.__version__.split(".")[:2])


def extension_jar(line: str | None = None) -> Path:
    if os.environ.get("LAKEGATE_SPARK_JAR"):
        return Path(os.environ["LAKEGATE_SPARK_JAR"])
    line = line or spark_line()
    return REPO / "build" / "spark" / f"lakegate-spark-{line}_{LINES[line]}.jar"


def delta_jars(line: str | None = None) -> list[Path]:
    if os.environ.get("LAKEGATE_DELTA_JARS"):
        return [Path(p) for p in os.environ["LAKEGATE_DELTA_JARS"].split(",") if p]
    line = line or spark_line()
    d = REPO / ".cache" / "jars" / ("spark" + line.replace(".", ""))
    return sorted(d.glob("*.jar"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], *, check: bool = True, input: str | None = None, env: dict | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    p = subprocess.run(args, input=input, capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args[:3]))} … exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


class PlannerError(RuntimeError):
    def __init__(self, status: int, body: str):
        super().__init__(f"planner answered HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Keys:
    """A key pair from `lakegate keygen` and the tokens it signs (cached per user and groups)."""

    dir: Path
    _tokens: dict = field(default_factory=dict)

    @classmethod
    def generate(cls, dir: Path) -> "Keys":
        run([str(BIN), "keygen", "--out", str(dir)])
        return cls(dir)

    @property
    def private(self) -> Path:
        return self.dir / "jwt-private.pem"

    @property
    def public(self) -> Path:
        return self.dir / "jwt-public.pem"

    def token(self, user: str, groups: str = "", *, ttl: str = "2h", self_signed: bool = False,
              attributes: dict | None = None) -> str:
        key = (user, groups, ttl, self_signed, tuple(sorted((attributes or {}).items())))
        if key not in self._tokens:
            args = [str(BIN), "token", "--user", user, "--ttl", ttl]
            args += ["--self-signed"] if self_signed else ["--key", str(self.private)]
            if groups:
                args += ["--groups", groups]
            for k, v in (attributes or {}).items():
                args += ["--attribute", f"{k}={v}"]
            self._tokens[key] = run(args).stdout.strip()
        return self._tokens[key]


class ApiClient:
    """The planner's Connect JSON API (POST /lakegate.v1.PlannerService/<Method>) on one
    kept-alive HTTP connection; one per thread."""

    def __init__(self, port: int):
        self.port = port
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, method: str, body: dict, token: str, *, timeout: float = 30) -> dict:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self._conn.request("POST", f"/lakegate.v1.PlannerService/{method}", data, headers)
                r = self._conn.getresponse()
                text = r.read().decode()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a kept-alive connection the server closed: retry once on a new one
                if attempt:
                    raise
                continue
            if r.status != 200:
                raise PlannerError(r.status, text)
            return json.loads(text)
        raise AssertionError("unreachable")


class Planner:
    """A real `lakegate serve` process on 127.0.0.1:<port> with its own data directory."""

    def __init__(self, workdir: Path, keys: Keys, *, port: int | None = None, extra: list[str] | None = None,
                 name: str = "planner"):
        self.workdir = Path(workdir)
        self.keys = keys
        self.port = port or free_port()
        self.extra = list(extra or [])
        self.name = name
        self.data_dir = self.workdir / f"{name}-data"
        self.log_path = self.workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self._client: ApiClient | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- process -----------------------------------------------------------------------------
    def start(self, timeout: float = 20) -> "Planner":
        assert self.proc is None or self.proc.poll() is not None, "planner already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", self.address, "--data-dir", str(self.data_dir),
             "--jwt-public-key", str(self.keys.public), *self.extra],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start:\n{self.log()}")
            if self.ready():
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready on {self.address} after {timeout}s:\n{self.log()}")
            time.sleep(delay)  # polling readiness, bounded by the deadline
            delay = min(delay * 2, 0.2)

    def ready(self) -> bool:
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            c.request("GET", "/readyz")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the planner vanishes without a goodbye (crash, OOM kill)."""
        self._drop_conn()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        """SIGTERM: graceful stop."""
        self._drop_conn()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # -- clients -----------------------------------------------------------------------------
    def admin_token(self) -> str:
        return self.keys.token("admin", "admin")

    def sql(self, statements: str, *, token: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Policy statements through the CLI, as an operator would run them (`lakegate sql`)."""
        return run([str(BIN), "sql", "--planner", self.address, "--token", token or self.admin_token(),
                    "--output", "json", "-"], input=statements, check=check)

    def api(self, method: str, body: dict, token: str, *, timeout: float = 30) -> dict:
        """One call of the Connect JSON API (kept-alive connection)."""
        if self._client is None:
            self._client = ApiClient(self.port)
        return self._client.call(method, body, token, timeout=timeout)

    def _drop_conn(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def metrics(self) -> dict[str, float]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def knows(self, database: str, table: str) -> bool:
        r = self.api("ListTables", {"database": database}, self.admin_token())
        return any(t.get("name", "").lower() == table.lower() for t in r.get("tables", []))

    def wait_known(self, database: str, table: str, timeout: float = 15) -> None:
        """Wait until the planner has recorded a table or view an engine showed it (recorded
        asynchronously, off the decision path)."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while not self.knows(database, table):
            if time.monotonic() > deadline:
                raise AssertionError(f"the planner never recorded {database}.{table}:\n{self.log()}")
            time.sleep(delay)  # bounded poll
            delay = min(delay * 2, 0.2)

    def audit(self, *args: str) -> list[dict]:
        p = run([str(BIN), "audit", "--data-dir", str(self.data_dir), *args])
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


# -- Spark -------------------------------------------------------------------------------------

def spark_conf(tmp: Path, planner: Planner | None, *, lakegate: bool = True, hive: bool = True,
               delta: bool = True, extra: dict | None = None) -> dict:
    """The Spark confs of a test session: local[2], no UI, Derby metastore and warehouse under
    tmp, Delta's jars and extension, and the lakegate extension in signing-key mode."""
    tmp = Path(tmp)
    jars = [str(j) for j in delta_jars()] if delta else []
    exts = [DELTA_EXTENSION_CLASS] if delta else []
    conf = {
        "spark.master": "local[2]",
        "spark.app.name": "lakegate-e2e",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.sql.warehouse.dir": str(tmp / "warehouse"),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={tmp} -Dderby.stream.error.file={tmp}/derby.log "
            f"-Djava.io.tmpdir={tmp} -Dlog4j2.configurationFile={Path(__file__).resolve().parent / 'log4j2.properties'}"),
    }
    if hive:
        conf.update({
            "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.javax.jdo.option.ConnectionURL":
                f"jdbc:derby:;databaseName={tmp}/metastore_db;create=true",
            "spark.hadoop.hive.metastore.warehouse.dir": str(tmp / "warehouse"),
        })
    else:
        conf["spark.sql.catalogImplementation"] = "in-memory"
    if delta:
        conf["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG_CLASS
    if lakegate:
        jars.append(str(extension_jar()))
        exts.append(EXTENSION_CLASS)
        assert planner is not None
        conf.update({
            "spark.lakegate.planner": planner.address,
            "spark.lakegate.authMode": "signing-key",
            "spark.lakegate.jwtSigningKey": str(planner.keys.private),
            "spark.lakegate.groupsProperty": "groups",
            "spark.lakegate.requestTimeoutMs": "10000",
            "spark.lakegate.connectTimeoutMs": "2000",
        })
    if jars:
        conf["spark.jars"] = ",".join(jars)
    if exts:
        conf["spark.sql.extensions"] = ",".join(exts)
    conf.update(extra or {})
    return conf


def start_spark(conf: dict):
    """A SparkSession in a fresh driver JVM (static confs such as spark.jars and
    spark.sql.extensions only take effect in a new JVM)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    b = SparkSession.builder
    for k, v in conf.items():
        b = b.config(k, v)
    if conf.get("spark.sql.catalogImplementation") == "hive":
        b = b.enableHiveSupport()
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stop_spark(spark) -> None:
    """Stop the session and its driver JVM, so the next module starts from nothing."""
    from pyspark import SparkContext

    with contextlib.suppress(Exception):
        spark.stop()
    gw = SparkContext._gateway
    SparkContext._gateway = None
    SparkContext._jvm = None
    if gw is None:
        return
    proc = getattr(gw, "proc", None)
    with contextlib.suppress(Exception):
        gw.shutdown()
    if proc is not None:
        with contextlib.suppress(Exception):
            proc.stdin.close()  # the gateway JVM exits on EOF of its stdin
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextlib.contextmanager
def as_user(spark, user: str, groups: str = "", job_group: str | None = None):
    """Run the block as `user` (Spark local properties `user` and `groups`, read by the extension
    in signing-key mode). The previous identity is restored afterwards."""
    sc = spark.sparkContext
    prev = (sc.getLocalProperty("user"), sc.getLocalProperty("groups"))
    sc.setLocalProperty("user", user)
    sc.setLocalProperty("groups", groups or None)
    if job_group is not None:
        sc.setJobGroup(job_group, f"lakegate e2e as {user}")
    try:
        yield spark
    finally:
        sc.setLocalProperty("user", prev[0])
        sc.setLocalProperty("groups", prev[1])


def sql_str(s: str) -> str:
    """A Spark SQL string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def python_with_pyspark_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.update(extra or {})
    return env


def rmtree(p: Path) -> None:
    shutil.rmtree(p, ignore_errors=True)
