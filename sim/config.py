"""Reading TOML tables into frozen dataclasses with errors that name the key path.

Shared by every section parser (scenario, police means, triggers), so the rules for unknown
keys, types and ranges are the same everywhere.
"""

from __future__ import annotations

import difflib
from dataclasses import MISSING, fields

from .errors import ScenarioError


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_keys(table: dict, allowed, path: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise ScenarioError(f"unknown key {key!r}{hint}", path=join(path, key))


def number(value, path: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, integer: bool = False) -> float | int:
    """A number within bounds; bools are not numbers here."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ScenarioError(f"expected {'an integer' if integer else 'a number'}, got {value!r}", path=path)
    if low is not None and (value <= low if low_open else value < low):
        raise ScenarioError(f"must be {'>' if low_open else '>='} {low}, got {value!r}", path=path)
    if high is not None and value > high:
        raise ScenarioError(f"must be <= {high}, got {value!r}", path=path)
    return value if integer else float(value)


def table_to_dataclass(cls, table, path: str, *, bounds: dict | None = None):
    """Build ``cls`` from a TOML table of numbers, bools and strings; defaults fill the gaps.

    ``bounds`` maps a field name to keyword arguments of :func:`number`.
    """
    if not isinstance(table, dict):
        raise ScenarioError(f"expected a table, got {table!r}", path=path)
    names = {f.name: f for f in fields(cls)}
    check_keys(table, names, path)
    bounds = bounds or {}
    values = {}
    for name, f in names.items():
        if name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ScenarioError("missing required key", path=join(path, name))
            continue
        value, key_path = table[name], join(path, name)
        default = f.default if f.default is not MISSING else None
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ScenarioError(f"expected true or false, got {value!r}", path=key_path)
        elif isinstance(default, (int, float)):
            value = number(value, key_path, integer=isinstance(default, int), **bounds.get(name, {}))
        elif isinstance(default, str) and not isinstance(value, str):
            raise ScenarioError(f"expected a string, got {value!r}", path=key_path)
        values[name] = value
    return cls(**values)
