"""How a setting's value is written wherever a person reads it or a command line parses it back:
tables, folder names, progress lines, run titles, ``--set`` words and preset descriptions."""
from __future__ import annotations

import json
from typing import Any


def format_value(value: Any) -> str:
    """The shortest text that reads back as exactly ``value``: floats as ``%g`` when that is exact
    (else ``repr``), booleans as true/false, tuples and lists (the mixture's) as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)
