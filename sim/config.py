"""TOML in and out, key paths, and typed reading of tables: one copy of each, for every file kind.

Scenario files (both model kinds), sweep files and the section parsers inside them read their
tables through these helpers, so unknown keys, types, ranges and "did you mean" hints behave the
same everywhere, and every mistake is a :class:`ScenarioError` naming the file and key path.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path

from .errors import ScenarioError

MAX_FILE_BYTES = 4 << 20  # a scenario, sweep or text map is a few kB; anything this big is not one
MAX_DEPTH = 32  # tables nested deeper than this are not a scenario (and would exhaust Python's stack)


# --- files --------------------------------------------------------------------------------------------
def read_text(path, *, what: str = "file", key_path: str = "", limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes; anything else (a folder, a device
    such as /dev/zero, a huge or binary file) is a ScenarioError naming ``key_path`` (or the file)."""
    if not isinstance(path, (str, os.PathLike)) or (isinstance(path, str) and ("\x00" in path or not path)):
        raise ScenarioError(f"expected the path of a {what}, got {path!r}", path=key_path)
    path = Path(path)
    where = {"path": key_path} if key_path else {"file": str(path)}
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"no such file: {path}" if key_path else f"no such {what}", **where) from None
    except OSError as err:
        raise ScenarioError(f"cannot read {path}: {err.strerror or err}", **where) from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(f"{path} is not a regular file", **where)
    if info.st_size > limit:
        raise ScenarioError(f"{path} is {info.st_size:,} bytes; a {what} is at most {limit:,}", **where)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise ScenarioError(f"cannot read {path}: {err.strerror or err}", **where) from None
    if len(data) > limit:
        raise ScenarioError(f"{path} is over {limit:,} bytes; a {what} is not that large", **where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path} is not UTF-8 text", **where) from None
    if "\x00" in text:
        raise ScenarioError(f"{path} holds NUL bytes: not a text file", **where)
    return text


def load_toml(path, *, what: str = "scenario file") -> dict:
    """A TOML file as a dict; every way it can be wrong is one ScenarioError naming the file."""
    text = read_text(path, what=what)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"malformed TOML: {err}", file=str(path)) from None
    except RecursionError:
        raise ScenarioError(f"tables nested too deeply (at most {MAX_DEPTH})", file=str(path)) from None
    if _depth(data) > MAX_DEPTH:
        raise ScenarioError(f"tables nested too deeply (at most {MAX_DEPTH})", file=str(path))
    return data


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


# --- key paths ----------------------------------------------------------------------------------------
def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def set_path(raw: dict, path: str, value, *, creatable=()) -> None:
    """Set the dotted key path ``path`` (``police.guard.count``, ``events.0.count``) in ``raw``.
    Missing tables are created only where ``creatable`` names them (optional sections)."""
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise ScenarioError(f"not a key path: {path!r}", path=str(path))
    parts = path.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(f"no item {part} (there are {len(node)})", path=here)
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                if here not in creatable:
                    raise ScenarioError(f"unknown key path {path!r}: nothing at {here!r}", path=here)
                node[part] = {}
            node = node[part]
        else:
            raise ScenarioError(f"unknown key path {path!r}: {here!r} is a value, not a table", path=here)
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError(f"no item {last}", path=path)
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"unknown key path {path!r}", path=path)


# --- did you mean -------------------------------------------------------------------------------------
def suggest(name, options) -> str:
    """"; did you mean 'a', 'b'?" for the closest options, else a few examples."""
    options = list(options)
    close = difflib.get_close_matches(str(name), options, n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else f"; e.g. {', '.join(options[:5])}"


def check_keys(table: dict, allowed, path: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise ScenarioError(f"unknown key {key!r}{hint}", path=join(path, key))


def choice(value, path: str, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ScenarioError(f"expected one of {', '.join(options)}, got {value!r}", path=path)
    return value


# --- typed values -------------------------------------------------------------------------------------
MAX_INTEGER = 2**63 - 1  # what numpy and the kernels can hold


def number(value, path: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, integer: bool = False, unit: str = "") -> float | int:
    """A finite number within bounds; bools are not numbers here; ``unit`` goes into the message."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ScenarioError(f"expected {'an integer' if integer else 'a number'}, got {value!r}", path=path)
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"expected a finite number, got {value!r}", path=path)
    if integer and abs(value) > MAX_INTEGER:
        raise ScenarioError(f"{value} is too large (at most {MAX_INTEGER})", path=path)
    u = f" {unit}" if unit else ""
    if low is not None and (value <= low if low_open else value < low):
        raise ScenarioError(f"must be {'>' if low_open else '>='} {low:g}{u}, got {value!r}{u}", path=path)
    if high is not None and value > high:
        raise ScenarioError(f"must be <= {high:g}{u}, got {value!r}{u}", path=path)
    return value if integer else float(value)


def span(low=None, high=None, unit: str = "", *, low_open: bool = False) -> dict:
    """Keyword arguments of :func:`number` for a value's physical bounds (a ``bounds`` entry of
    :func:`table_to_dataclass`): beyond them a setting means nothing, or a run would not fit."""
    return {"low": low, "high": high, "unit": unit, "low_open": low_open}


def string(table: dict, key: str, path: str, *, required: bool = False) -> str | None:
    if key not in table:
        if required:
            raise ScenarioError("missing required key", path=join(path, key))
        return None
    if not isinstance(table[key], str):
        raise ScenarioError(f"expected a string, got {table[key]!r}", path=join(path, key))
    return table[key]


def string_list(value, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError("expected a list of strings", path=path)
    return list(value)


def required(table: dict, key: str, path: str):
    if key not in table:
        raise ScenarioError("missing required key", path=join(path, key))
    return table[key]


def subtable(data: dict, key: str, *, required: bool = False) -> dict:
    if key not in data:
        if required:
            raise ScenarioError("missing required table", path=key)
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise ScenarioError("expected a table", path=key)
    return value


def table_to_dataclass(cls, table, path: str, *, bounds: dict | None = None):
    """Build ``cls`` from a TOML table of numbers, bools and strings; defaults fill the gaps.

    ``bounds`` maps a field name to keyword arguments of :func:`number` (``low``, ``high``, ``unit``...).
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


def as_table(obj) -> dict:
    """A dataclass's fields as a TOML table."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


# --- writing TOML -------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        if "\n" in v:
            return '"""\n' + v.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def dumps_toml(data: dict, prefix: str = "") -> str:
    """TOML for nested dicts of scalars, lists of scalars, tables and arrays of tables."""
    lines, tables, arrays = [], [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_toml_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in tables:
        name = f"{prefix}{_key(k)}"
        out += f"\n[{name}]\n" + dumps_toml(v, name + ".")
    for k, items in arrays:
        name = f"{prefix}{_key(k)}"
        for item in items:
            out += f"\n[[{name}]]\n" + dumps_toml(item, name + ".")
    return out
