"""Assertions of the security suite: an attack must fail with a lakegate denial that says who was
refused what on which object and what to ask for; nothing else counts as blocked."""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest

import harness as h

_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
# Where the lakegate part of an error ends: what pyspark and Spark append after the message.
_TAILS = ("\nJVM stacktrace:", "\n== SQL", "\n\tat ", "\nSQLSTATE", ";\n")


def redact(text: str) -> str:
    """Never print a private key into a test report, even when an attack got one."""
    return _PEM.sub("<PRIVATE KEY REDACTED>", text)


def _short(result) -> str:
    try:
        if hasattr(result, "collect"):
            result = result.collect()
    except Exception as e:  # noqa: BLE001
        result = f"<collect failed: {e}>"
    return redact(str(result))[:600]


def raises(fn) -> str:
    """fn() must raise; returns the message. An attack that returns anything fails the test."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 — AnalysisException, Py4JJavaError, StreamingQueryException …
        return str(e)
    pytest.fail(f"ATTACK SUCCEEDED: expected a lakegate refusal, got a result: {_short(result)}")


def lakegate_part(msg: str) -> str:
    """The message from its first `lakegate:` on, without what Spark or pyspark append (the SQL
    text, stack traces), so that the statement's own words cannot satisfy a check."""
    i = msg.find("lakegate:")
    if i < 0:
        return ""
    part = msg[i:]
    for tail in _TAILS:
        j = part.find(tail)
        if j > 0:
            part = part[:j]
    return part


def _has_word(text: str, word: str) -> bool:
    return re.search(r"(?<![A-Za-z_])" + re.escape(word) + r"(?![A-Za-z_])", text) is not None


def check_denial(msg: str, user: str, obj: str | tuple, privilege: str | tuple,
                 *, absent: tuple = (), thing: bool = False) -> str:
    """A lakegate denial naming `user`, one of `privilege` (a whole word; with thing=True a refused
    thing, any part of a word, e.g. "Function" in "CreateFunction"), one of `obj`, and what to ask
    for; none of `absent` anywhere in the whole error text."""
    leaked = [s for s in absent if s in msg]
    assert not leaked, f"the error text reveals {leaked}:\n{redact(msg)[:3000]}"
    part = lakegate_part(msg)
    assert part, f"not a lakegate refusal (no 'lakegate:'):\n{redact(msg)[:3000]}"
    problems = []
    if not _has_word(part, user):
        problems.append(f"user {user!r}")
    privs = (privilege,) if isinstance(privilege, str) else tuple(privilege)
    if thing:
        found = any(p.lower() in part.lower() for p in privs)
    else:
        found = any(_has_word(part, p) or _has_word(part.lower(), p.lower()) for p in privs)
    if not found:
        problems.append(f"privilege/refused thing (one of {privs})")
    objs = (obj,) if isinstance(obj, str) else tuple(obj)
    if not any(o.lower() in part.lower() for o in objs):
        problems.append(f"object (one of {objs})")
    if "administrator" not in part and "Ask" not in part:
        problems.append("what to ask for ('administrator' / 'Ask')")
    assert not problems, f"the lakegate message lacks {', '.join(problems)}:\n{redact(part)[:3000]}"
    return msg


def denied(fn, user: str, obj: str | tuple, privilege: str | tuple = "SELECT", *, absent: tuple = ()) -> str:
    """fn() must fail with a lakegate denial (see check_denial)."""
    return check_denial(raises(fn), user, obj, privilege, absent=absent)


def refused(fn, user: str, thing: str | tuple, *, absent: tuple = ()) -> str:
    """Something lakegate refuses outright (a JVM call, a script, a jar): the message names the
    user and the refused thing and says what to ask for."""
    msg = raises(fn)
    return check_denial(msg, user, thing, thing, absent=absent, thing=True)


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


@contextlib.contextmanager
def identity(spark, user: str, groups: str = ""):
    with h.as_user(spark, user, groups):
        yield spark


def snapshot(d: Path) -> dict:
    """Every file below d with its size and modification time (integrity checks)."""
    d = Path(d)
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = Path(root) / f
            st = p.stat()
            out[str(p.relative_to(d))] = (st.st_size, st.st_mtime_ns)
    return out


def wait_audit(planner: h.Planner, pred, *args: str, timeout: float = 15) -> list[dict]:
    """Audit records (planner.audit(*args)) until one satisfies pred; the planner flushes its
    audit log within 200 ms, so this polls with a deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        recs = planner.audit(*args)
        if any(pred(r) for r in recs):
            return recs
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching audit record in {len(recs)} records: {recs[-5:]}")
        time.sleep(delay)  # bounded poll
        delay = min(delay * 2, 0.5)


@contextlib.contextmanager
def session_conf(spark, key: str, value: str):
    """spark.conf.set by the user (then unset). Refusing the change is fine too, if lakegate says so."""
    try:
        spark.conf.set(key, value)
    except Exception as e:  # noqa: BLE001
        assert "lakegate:" in str(e), f"setting {key} failed, not by lakegate: {e}"
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            spark.conf.unset(key)
