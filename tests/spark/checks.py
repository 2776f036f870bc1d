"""Small assertions shared by the Spark test modules."""

from __future__ import annotations

import pytest


def fails(fn, *fragments: str) -> str:
    """fn() must raise; the message must contain every fragment (case-sensitive). Returns it."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 — pyspark raises AnalysisException, Py4JJavaError, …
        msg = str(e)
        missing = [f for f in fragments if f not in msg]
        assert not missing, f"error lacks {missing}:\n{msg[:3000]}"
        return msg
    pytest.fail(f"expected a failure containing {fragments}, got a result: {str(result)[:500]}")


def denied(fn, user: str, obj: str, privilege: str = "SELECT") -> str:
    """A lakegate denial: starts with `lakegate:` and names user, privilege and object."""
    msg = fails(fn, "lakegate:", user, privilege, obj)
    return msg


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def columns(df) -> list[str]:
    return [f.name for f in df.schema.fields]
