"""The data dictionary of run folders: the unit and meaning of every column of ``timeseries.parquet``
and ``events.csv`` and of every key of ``summary.json``.

Each model kind lists its outputs as :class:`Entry` rows (``sim.protest.outputs``,
``sim.epstein.outputs``); a run writes the entries of what it actually wrote to ``schema.json``
(:func:`run_schema`), ``docs/outputs.md`` is rendered from the same rows (:func:`markdown`), and
:func:`undescribed` lists what a run wrote that its dictionary does not describe (a test keeps
that empty). A name may hold a ``<word>`` that stands for any text: ``protesters_in_<place>``,
``triggers.<label>``. Summary keys are dotted paths into the JSON objects; an entry for a path
describes everything under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

TYPES = ("number", "integer", "text", "clock", "boolean", "list", "object")
_WORD = re.compile(r"<[a-z_]+>")
SCHEMA_FILE = "schema.json"


@dataclass(frozen=True)
class Entry:
    """One column or summary key: ``unit`` "" for text and for pure numbers (a share, a seed)."""

    name: str
    type: str
    unit: str
    meaning: str

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"{self.name}: type {self.type!r} is not one of {TYPES}")


def common_summary(step_unit: str) -> tuple[Entry, ...]:
    """The summary keys of every model kind; ``step_unit``: what a step is ("0.5 s", "one step")."""
    return (
        Entry("status", "text", "", "complete, or interrupted (a .partial folder: Ctrl-C or an error during the run)"),
        Entry("figures_error", "text", "", "interrupted runs only: why the figures could not be drawn"),
        Entry("scenario", "text", "", "the scenario's name"),
        Entry("scenario_file", "text", "", "the scenario file, as given"),
        Entry("seed", "integer", "", "the seed of every random draw: the same seed gives the same run"),
        Entry("engine", "text", "", "numba (fast) or python (the reference engine)"),
        Entry("steps", "integer", "steps", f"steps run ({step_unit} each)"),
        Entry("wall_seconds", "number", "s", "wall-clock time of set-up and stepping (writing the folder not "
                                             "included)"),
        Entry("setup_seconds", "number", "s", "wall-clock time building the model"),
        Entry("run_seconds", "number", "s", "wall-clock time stepping"),
        Entry("agent_steps_per_second", "number", "1/s", "agents times steps, per wall-clock second of stepping"),
    )


@dataclass(frozen=True)
class Dictionary:
    """A model kind's outputs: an introduction and the entries of each data file."""

    kind: str
    about: str  # one paragraph: what a run of this kind writes
    files: dict[str, tuple[str, tuple[Entry, ...]]]  # file -> (what the file is, its entries)

    def entry(self, file: str, name: str | tuple[str, ...]) -> Entry | None:
        """The entry describing column ``name`` (or the summary path, a tuple of keys), if any."""
        parts = name if isinstance(name, tuple) else (name,)
        for entry in self.files[file][1]:
            pattern = entry.name.split(".") if isinstance(name, tuple) else [entry.name]
            if len(pattern) == len(parts) and all(_match(p).fullmatch(k) for p, k in zip(pattern, parts)):
                return entry
        return None


@lru_cache(maxsize=None)
def _match(pattern: str) -> re.Pattern:
    pieces = _WORD.split(pattern)
    return re.compile(".+".join(re.escape(p) for p in pieces), re.DOTALL)


def _filled(entry: Entry, name: str) -> str:
    """The entry's meaning with its ``<word>`` replaced by what it stands for in ``name``."""
    words = _WORD.findall(entry.name)
    if not words:
        return entry.meaning
    groups = re.compile("(.+)".join(re.escape(p) for p in _WORD.split(entry.name)), re.DOTALL).fullmatch(name)
    meaning = entry.meaning
    for word, value in zip(words, groups.groups() if groups else ()):
        meaning = meaning.replace(word, value)
    return meaning


def summary_paths(summary: dict, dictionary: Dictionary, file: str = "summary.json") -> list[tuple[str, ...]]:
    """The key paths of ``summary`` to describe: a path the dictionary names, else each key under it
    (an empty object whose keys the dictionary describes has none)."""
    found: list[tuple[str, ...]] = []

    entries = [e.name.split(".") for e in dictionary.files[file][1]]

    def parent(path: tuple[str, ...]) -> bool:  # some entry describes keys under ``path``
        return any(len(e) > len(path) and all(_match(p).fullmatch(k) for p, k in zip(e, path)) for e in entries)

    def walk(node: dict, prefix: tuple[str, ...]) -> None:
        for key, value in node.items():
            path = (*prefix, str(key))
            if dictionary.entry(file, path) is not None or not isinstance(value, dict):
                found.append(path)
            elif value:
                walk(value, path)
            elif not parent(path):  # an empty object no entry expects
                found.append(path)

    walk(summary, ())
    return found


def undescribed(dictionary: Dictionary, *, timeseries=None, events=None, summary: dict | None = None) -> list[str]:
    """What a run wrote that ``dictionary`` does not describe: "file: name" for each."""
    missing = []
    for file, frame in (("timeseries.parquet", timeseries), ("events.csv", events)):
        if frame is not None:
            missing += [f"{file}: {c}" for c in frame.columns if dictionary.entry(file, str(c)) is None]
    if summary is not None:
        missing += [f"summary.json: {'.'.join(p)}" for p in summary_paths(summary, dictionary)
                    if dictionary.entry("summary.json", p) is None]
    return missing


def _described(entry: Entry | None, name: str) -> dict:
    if entry is None:
        return {"type": "", "unit": "", "meaning": "not described (tell the developers: a test should have caught it)"}
    return {"type": entry.type, "unit": entry.unit, "meaning": _filled(entry, name)}


def run_schema(dictionary: Dictionary, *, timeseries, events, summary: dict,
               more: dict[str, list[str]] | None = None) -> dict:
    """``schema.json``: each file's columns or keys as written by this run, with type, unit and meaning.
    ``more``: further tables the run wrote (``trajectories.parquet``), {file: its columns}."""
    files = {}
    tables = [("timeseries.parquet", list(timeseries.columns)), ("events.csv", list(events.columns))]
    for file, columns in tables + list((more or {}).items()):
        about, _ = dictionary.files[file]
        files[file] = {"about": about, "columns": {str(c): _described(dictionary.entry(file, str(c)), str(c))
                                                   for c in columns}}
    about, _ = dictionary.files["summary.json"]
    keys = {".".join(p): _described(dictionary.entry("summary.json", p), ".".join(p))
            for p in summary_paths(summary, dictionary)}
    files["summary.json"] = {"about": about, "keys": keys}
    return {"about": f"What every column and key of this run folder means. {dictionary.about} The same for "
                     "every model kind: docs/outputs.md.", "model": dictionary.kind, "files": files}


def column_types(schema: dict, file: str) -> dict[str, str]:
    """``{column: type}`` of ``file`` in a run's ``schema.json`` (empty if it has none)."""
    columns = schema.get("files", {}).get(file, {}).get("columns", {}) if isinstance(schema, dict) else {}
    return {c: d.get("type", "") for c, d in columns.items() if isinstance(d, dict)}


# --- docs/outputs.md --------------------------------------------------------------------------------
def markdown(dictionaries: list[Dictionary], *, intro: str) -> str:
    """The whole data dictionary as Markdown: one section per model kind, one table per file."""
    lines = [intro.rstrip(), ""]
    for d in dictionaries:
        lines += [f"## Model `{d.kind}`", "", d.about, ""]
        for file, (about, entries) in d.files.items():
            lines += [f"### `{file}`", "", about, "", "| name | type | unit | meaning |", "| --- | --- | --- | --- |"]
            for e in entries:
                meaning = _WORD.sub(lambda m: f"`{m.group(0)}`", e.meaning.replace("|", "/"))  # not an HTML tag
                lines.append(f"| `{e.name}` | {e.type} | {e.unit} | {meaning} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
