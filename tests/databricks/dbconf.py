"""Reading the driver configuration files Databricks takes from /databricks/driver/conf.

Their format is a small part of HOCON: a `[driver] {` block of `"key" = "value"` lines (JSON
strings on both sides; `=` or `:`; an optional trailing comma), with `#` and `//` comment lines.
This parser accepts exactly that and fails on anything else, so a file the init script writes
wrongly fails the test instead of being half read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_STR = r'"(?:[^"\\\x00-\x1f]|\\.)*"'
_ENTRY = re.compile(rf"^\s*({_STR})\s*[=:]\s*({_STR})\s*,?\s*$")


class ConfError(ValueError):
    pass


def parse(text: str, *, source: str = "<conf>") -> dict[str, str]:
    """The settings of the `[driver]` block of one conf file."""
    out: dict[str, str] = {}
    state = "before"
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("//"):
            continue
        if state == "before":
            if s != "[driver] {":
                raise ConfError(f"{source}:{n}: expected '[driver] {{', found {s!r}")
            state = "in"
        elif state == "in":
            if s == "}":
                state = "after"
                continue
            m = _ENTRY.match(line)
            if not m:
                raise ConfError(f"{source}:{n}: not a \"key\" = \"value\" line: {s!r}")
            key, value = json.loads(m.group(1)), json.loads(m.group(2))
            if key in out:
                raise ConfError(f"{source}:{n}: {key} is set twice")
            out[key] = value
        else:
            raise ConfError(f"{source}:{n}: text after the closing brace: {s!r}")
    if state != "after":
        raise ConfError(f"{source}: the [driver] block is {'missing' if state == 'before' else 'not closed'}")
    return out


def read_dir(conf_dir: Path) -> dict[str, str]:
    """Every *.conf of a driver conf directory, merged as Databricks does (a file whose name sorts
    first wins: 00-… files take precedence)."""
    merged: dict[str, str] = {}
    for f in sorted(Path(conf_dir).glob("*.conf"), reverse=True):
        merged.update(parse(f.read_text(), source=str(f)))
    return merged
