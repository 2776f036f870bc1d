"""testdata/builtins/vectors.json for the Spark suite: reading values into Python, the Spark type of
each, comparing results; and a Python rendering of the deterministic builtins (docs/builtins.md),
checked against the vectors by test_builtins.py, used to compute what a governed column must
show."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import struct
from decimal import Decimal

from harness import VECTORS

INTEGRAL = {"bigint": 64, "int": 32, "smallint": 16, "tinyint": 8}


def load() -> dict:
    with open(VECTORS, encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["version"] == 1, f"vectors.json version {doc['version']} is not 1"
    return doc


def py_value(v: dict):
    """A vector value as the Python object pyspark uses for that Spark type."""
    t, x = v["type"], v["value"]
    if x is None:
        return None
    if t == "string":
        return x
    if t in INTEGRAL:
        return int(x)
    if t in ("double", "float"):
        return float(x)  # also "NaN", "Infinity", "-Infinity"
    if t.startswith("decimal"):
        return Decimal(x)
    if t == "boolean":
        return bool(x)
    if t == "date":
        return dt.date.fromisoformat(x)
    raise ValueError(f"unknown vector type {t}")


def sql_literal(v: dict) -> str:
    """A Spark SQL literal of exactly the vector's type."""
    t, x = v["type"], v["value"]
    if x is None:
        return f"CAST(NULL AS {t.upper()})"
    if t == "string":
        return "'" + x.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if t == "bigint":
        return f"{int(x)}L" if int(x) != -(2**63) else "CAST(-9223372036854775808 AS BIGINT)"
    if t == "int":
        return f"CAST({int(x)} AS INT)"
    if t == "smallint":
        return f"CAST({int(x)} AS SMALLINT)"
    if t == "tinyint":
        return f"CAST({int(x)} AS TINYINT)"
    if t in ("double", "float"):
        s = x if isinstance(x, str) else repr(float(x))
        return f"CAST('{s}' AS {t.upper()})"
    if t.startswith("decimal"):
        return f"CAST('{x}' AS {t.upper()})"
    if t == "boolean":
        return "TRUE" if x else "FALSE"
    if t == "date":
        return f"DATE'{x}'"
    raise ValueError(t)


def policy_literal(v: dict) -> str:
    """A literal argument as written in a TRANSFORM … WITH fn(args) clause."""
    x = v["value"]
    if isinstance(x, str):
        return x if re.fullmatch(r"-?[0-9.]+", x) else "'" + x + "'"
    return repr(x)


def same(expected: dict, got, got_type: str) -> bool:
    """vectors.json's comparison rule: same type name; both NULL, or equal by value (NaN = NaN,
    floats as binary32, decimals numerically)."""
    t = expected["type"]
    if t != got_type:
        return False
    want = py_value(expected)
    if want is None or got is None:
        return want is None and got is None
    if t in ("double", "float"):
        if math.isnan(want):
            return math.isnan(got)
        if t == "float":
            want = struct.unpack("f", struct.pack("f", want))[0]
        return want == got
    if t.startswith("decimal"):
        return Decimal(want).compare(Decimal(got)) == 0
    return want == got and type(want) is type(got)


def type_range(t: str):
    if t in INTEGRAL:
        b = INTEGRAL[t]
        return -(2 ** (b - 1)), 2 ** (b - 1) - 1
    m = re.fullmatch(r"decimal\((\d+),(\d+)\)", t)
    if m:
        p, s = int(m.group(1)), int(m.group(2))
        top = (Decimal(10) ** p - 1) / (Decimal(10) ** s)
        return -top, top
    return None


# -- the deterministic builtins in Python ------------------------------------------------------

def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def mask(s):
    return None if s is None else "x" * len(s)


def mask_ccn(s):
    if s is None:
        return None
    idx = [i for i, c in enumerate(s) if _alnum(c)]
    keep = set(idx[-4:]) if len(idx) > 4 else set()
    hide = set(idx) - keep
    return "".join("X" if i in hide else c for i, c in enumerate(s))


def _tokenize_str(s: str) -> str:
    k = hashlib.sha256(b"lakegate-tokenize-v1\x00" + s.encode("utf-8")).digest()
    out, stream = [], b""
    for i, c in enumerate(s):
        while len(stream) <= i:
            stream += hashlib.sha256(k + (len(stream) // 32).to_bytes(4, "big")).digest()
        b = stream[i]
        if "0" <= c <= "9":
            out.append(chr(ord("0") + (ord(c) - ord("0") + 1 + b % 9) % 10))
        elif "a" <= c <= "z":
            out.append(chr(ord("a") + (ord(c) - ord("a") + 1 + b % 25) % 26))
        elif "A" <= c <= "Z":
            out.append(chr(ord("A") + (ord(c) - ord("A") + 1 + b % 25) % 26))
        else:
            out.append(c)
    return "".join(out)


def tokenize(x, t: str = "string"):
    if x is None:
        return None
    if t == "string":
        return _tokenize_str(x)
    if t in ("bigint", "int"):
        mag = int(_tokenize_str(str(abs(x))))
        limit = 2**63 if t == "bigint" else 2**31
        fits = mag <= limit - 1 if x >= 0 else mag <= limit
        if not fits:
            mag %= 10**18 if t == "bigint" else 10**9
        return -mag if x < 0 else mag
    return None


def _string_form(x, t: str):
    if t == "string":
        return x
    if t in INTEGRAL:
        return str(x)
    if t == "boolean":
        return "true" if x else "false"
    return None


def sha2(x, t: str = "string"):
    f = None if x is None else _string_form(x, t)
    if f is None:
        return None
    return int.from_bytes(hashlib.sha256(f.encode()).digest()[:8], "big") >> 4


def hash_(x, t: str = "string"):
    f = None if x is None else _string_form(x, t)
    return None if f is None else hashlib.sha256(f.encode()).hexdigest()


def fnv_hash(x, t: str = "string"):
    f = None if x is None else _string_form(x, t)
    if f is None:
        return None
    h = 0xCBF29CE484222325
    for byte in f.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h - 2**64 if h >= 2**63 else h


def phi_age(x, t: str = "int"):
    if x is None or t not in INTEGRAL:
        return None
    return min(x, 90)


def luhn_ok(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


PY = {"mask": lambda x, t: mask(x) if t == "string" else None,
      "mask_ccn": lambda x, t: mask_ccn(x) if t == "string" else None,
      "tokenize": tokenize, "sha2": sha2, "hash": hash_, "fnv_hash": fnv_hash, "phi_age": phi_age}
