"""The extension's authentication modes. The extension reads them from the static SparkConf and the
environment, so each mode runs in a SparkContext of its own (auth_probe.py), several contexts one
after the other in one pyspark driver JVM, one JVM per environment (two JVMs, side by side):

- shared signing key: every other module (users switched by local properties);
- per-cluster token: one identity whatever the local user (configured by environment only:
  OKERA_PLANNER, LAKEGATE_AUTH_MODE, LAKEGATE_CLUSTER_TOKEN);
- self-signed: refused by a strict planner with a clear error, accepted by one started with
  --insecure-accept-self-signed;
- OKERA_TOKEN (environment) and spark.lakegate.token (conf) override everything else;
- forged tokens (signed by another key; the extension signing with a key the planner does not
  trust) are refused, and nothing is returned. (An altered payload is the same failure for the
  extension — the planner's attack suite covers the token forms; here it is checked on the API.)

The probes run in one module fixture; each test reads its own context's result.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import harness as h

HERE = Path(__file__).resolve().parent
WHOAMI = "SELECT * FROM okera_sample.whoami"
CLEAN_ENV_PREFIXES = ("OKERA_", "LAKEGATE_JWT", "LAKEGATE_AUTH", "LAKEGATE_CLUSTER", "LAKEGATE_SELF",
                      "LAKEGATE_PLANNER", "LAKEGATE_TOKEN")


def tamper(token: str, **claims) -> str:
    head, payload, sig = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    p = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{head}.{p}.{sig}"


@pytest.fixture(scope="module")
def insecure_planner(keys, workdir):
    p = h.Planner(workdir, keys, extra=["--insecure-accept-self-signed"], name="insecure-planner").start()
    yield p
    p.stop()


def test_altered_token_refused_by_planner(planner, keys):
    forged = tamper(keys.token("alice", "analysts"), sub="admin", groups=["admin"])
    with pytest.raises(h.PlannerError) as e:
        planner.api("WhoAmI", {}, forged)
    assert e.value.status == 401 and "signature" in e.value.body


@pytest.fixture(scope="module")
def probes(jar, keys, planner, insecure_planner, workdir):
    foreign = h.Keys.generate(workdir / "foreign-keys")
    signing = {"spark.lakegate.planner": planner.address}
    # Two driver JVMs, because the environment is per JVM; the contexts of one JVM run in order.
    jvms = {
        # env: planner and cluster token from the environment only (OKERA_PLANNER, LAKEGATE_*)
        "env-cluster-token": (
            {"OKERA_PLANNER": planner.address, "LAKEGATE_AUTH_MODE": "cluster-token",
             "LAKEGATE_CLUSTER_TOKEN": keys.token("svc_etl", "etl")},
            [("cluster_token_env", {}, [("alice", "analysts", WHOAMI), ("bob", "", WHOAMI)]),
             ("self_signed_strict", {**signing, "spark.lakegate.authMode": "self-signed",
                                     "spark.lakegate.selfSigned": "true"}, [("alice", "analysts", WHOAMI)]),
             ("self_signed_insecure", {"spark.lakegate.planner": insecure_planner.address,
                                       "spark.lakegate.authMode": "self-signed", "spark.lakegate.selfSigned": "true"},
              [("alice", "analysts", WHOAMI), ("bob", "", WHOAMI)]),
             ("token_conf", {**signing, "spark.lakegate.token": keys.token("conf_token_user")},
              [("alice", "analysts", WHOAMI)]),
             ("forged_other_key", {**signing, "spark.lakegate.token": foreign.token("admin", "admin")},
              [("admin", "admin", WHOAMI)]),
             ("signing_key_not_trusted", {**signing, "spark.lakegate.authMode": "signing-key",
                                          "spark.lakegate.jwtSigningKey": str(foreign.private)},
              [("admin", "admin", WHOAMI)]),
             # the key's PEM text in the Spark conf (readable back by spark.conf.get) is refused
             ("signing_key_pem_in_conf", {**signing, "spark.lakegate.authMode": "signing-key",
                                          "spark.lakegate.jwtSigningKey": keys.private.read_text()},
              [("admin", "admin", WHOAMI)])]),
        # env: OKERA_TOKEN, which overrides the signing key configured in the Spark conf
        "env-okera-token": (
            {"OKERA_TOKEN": keys.token("okera_token_user")},
            # (spark.lakegate.builtinsDb here: the builtins' database is taken from the first
            # SparkContext of a JVM)
            [("okera_token_env_overrides_signing_key",
              {**signing, "spark.lakegate.authMode": "signing-key", "spark.lakegate.jwtSigningKey": str(keys.private),
               "spark.lakegate.builtinsDb": "my_udfs"},
              [("alice", "analysts", WHOAMI), ("admin", "admin", WHOAMI),
               (None, None, "SELECT my_udfs.mask('abcd'), my_udfs.mask_ccn('abcd-efgh')")])]),
    }

    def run_jvm(name):
        env_extra, contexts = jvms[name]
        spec = {"contexts": [{"name": n, "conf": c, "steps": [{"user": u, "groups": g, "sql": q} for (u, g, q) in st]}
                             for (n, c, st) in contexts]}
        path = workdir / f"probe-{name}.json"
        path.write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV_PREFIXES)}
        env.update(env_extra)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, str(HERE / "auth_probe.py"), str(path)], env=env,
                           capture_output=True, text=True, timeout=300)
        print(f"probe JVM {name}: {time.monotonic() - t0:.1f}s rc={p.returncode}")
        out = {}
        for line in p.stdout.splitlines():
            if line.startswith("PROBE "):
                _, ctx, js = line.split(" ", 2)
                out.setdefault(ctx, []).append(json.loads(js))
        return {n: {"rc": p.returncode, "results": out.get(n, []), "stderr": p.stderr[-3000:]}
                for (n, _, _) in contexts}

    results = {}
    with ThreadPoolExecutor(max_workers=2) as ex:
        for r in ex.map(run_jvm, jvms):
            results.update(r)
    return results


def result(probes, name):
    r = probes[name]
    assert r["results"], f"probe {name} did not run (rc {r['rc']}):\n{r['stderr']}"
    return r["results"]


def test_cluster_token_one_identity_for_everyone(probes):
    assert result(probes, "cluster_token_env") == [{"rows": [["svc_etl"]]}, {"rows": [["svc_etl"]]}]


def test_self_signed_refused_by_strict_planner(probes, planner):
    [r] = result(probes, "self_signed_strict")
    assert "error" in r, r
    msg = r["error"]
    assert "lakegate:" in msg and planner.address in msg, msg
    assert "self-signed" in msg.lower() or "self_signed" in msg.lower(), msg
    assert "insecure-accept-self-signed" in msg, msg  # says what to do


def test_self_signed_accepted_by_insecure_planner(probes):
    assert result(probes, "self_signed_insecure") == [{"rows": [["alice"]]}, {"rows": [["bob"]]}]


def test_okera_token_overrides_all(probes):
    assert result(probes, "okera_token_env_overrides_signing_key")[:2] == [
        {"rows": [["okera_token_user"]]}, {"rows": [["okera_token_user"]]}]


def test_builtins_db_setting(probes):
    assert result(probes, "okera_token_env_overrides_signing_key")[2] == {"rows": [["xxxx", "XXXX-efgh"]]}


def test_token_conf_overrides_cluster_token(probes):
    assert result(probes, "token_conf") == [{"rows": [["conf_token_user"]]}]


def test_signing_key_text_in_spark_conf_refused(probes):
    """issue 11, rule 7: a key in the Spark conf could be read back by any notebook."""
    [r] = result(probes, "signing_key_pem_in_conf")
    assert "rows" not in r, r
    assert "holds the signing key itself" in r["error"] and "path" in r["error"], r


@pytest.mark.parametrize("name", ["forged_other_key", "signing_key_not_trusted"])
def test_forged_tokens_refused(probes, planner, name):
    [r] = result(probes, name)
    assert "rows" not in r, f"a forged token was accepted: {r}"
    msg = r["error"]
    assert "lakegate:" in msg and planner.address in msg, msg
    assert "signature" in msg.lower(), msg
